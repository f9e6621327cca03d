// The host's reveal in the staff session view (docs/DRAWS.md): after the
// record, the host pastes the secret the tender form made; the server
// checks it against the commitment logged at publication and logs the
// draws with it. One panel element for the view's life, so what the host
// typed survives the view's re-rendering on every event.

import { api, el, showError, showStatus } from "./common.js";
import { t } from "./i18n.js";

const HEX64 = /^[0-9a-f]{64}$/;

/** The reveal panel of `tender`, or null when it declares no draws or `me` may not reveal. */
export function drawRevealPanel(tender, { token, me }) {
  const manages = me.role === "officer" || me.role === "admin";
  if (!manages || !((tender.session || {}).draws)) return null;
  const input = el("input", { id: "draw-reveal-secret", class: "mono", autocomplete: "off", spellcheck: false, maxlength: 64 });
  const status = el("div", { id: "draw-reveal-status", role: "status" });
  const button = el("button", { type: "button", id: "draw-reveal" }, t("drawsui.reveal.go"));
  const form = el("div", {}, el("label", { for: input.id }, t("drawsui.reveal.secret")), input, el("div", { class: "actions" }, button));
  const panel = el("section", { class: "panel", id: "session-draws" }, el("h3", {}, t("drawsui.reveal.title")), el("p", { class: "help" }, t("drawsui.reveal.help")), form, status);
  const done = () => {
    form.hidden = true;
    showStatus(status, t("drawsui.reveal.done"));
  };
  button.addEventListener("click", async () => {
    const secret = input.value.trim().toLowerCase();
    if (!HEX64.test(secret)) {
      status.replaceChildren(el("p", { class: "error", role: "alert" }, t("drawsui.reveal.bad")));
      input.focus();
      return;
    }
    button.disabled = true;
    try {
      await api("POST", `/tenders/${tender.id}/draws/reveal`, { body: { secret }, token });
      done();
    } catch (err) {
      showError(status, err);
      if (err.code === "draw_done") form.hidden = true;
    } finally {
      button.disabled = false;
    }
  });
  api("GET", `/tenders/${tender.id}/draws`, { token })
    .then((v) => {
      if (v.state && v.state.drawn_at) done();
    })
    .catch(() => {});
  return panel;
}
