// The tender form's draws (docs/DRAWS.md): staff declare draws and
// reference-price formulas as JSON with a preview of what will be drawn
// from; the host's secret is made here, in the browser, and only its
// SHA-256 commitment goes into the draft.

import { el } from "./common.js";
import { concat, hex, label, random, sha256 } from "./protocol/bytes.js";
import { t } from "./i18n.js";
import { formulaOf, ruleOf } from "./draws.js";

const EXAMPLE = {
  draws: [{ id: "k", label: { zh: "下浮系数", en: "Coefficient K" }, type: "value", values: ["0.92", "0.93", "0.94", "0.95", "0.96", "0.97", "0.98"] }],
  formulas: [{ id: "base", label: { zh: "评标基准价", en: "Reference price" }, lot: "1", field: "price", drop_extremes_from: 5, coefficient: { draw: "k", apply: "times" }, rounding: "half_up" }],
  reveal_minutes: 30,
};

/** Adds the draws fieldset to the tender form (before its actions). */
export function drawForm(form, draft) {
  const existing = ((draft || {}).session || {}).draws;
  const text = el("textarea", { id: "draws-json", rows: 8, spellcheck: false, placeholder: JSON.stringify(EXAMPLE, null, 2) }, existing ? JSON.stringify({ ...existing, commitment: undefined }, null, 2) : "");
  const preview = el("ul", { id: "draws-preview" });
  const status = el("p", { id: "draws-status", class: "help", role: "status" });
  const secretOut = el("p", { id: "draws-secret", class: "warning", hidden: true });
  let commitment = existing ? existing.commitment : null;
  const parsed = () => {
    if (!text.value.trim()) return null;
    return JSON.parse(text.value);
  };
  const show = () => {
    try {
      const d = parsed();
      status.textContent = "";
      preview.replaceChildren(...(d ? [...(d.draws || []).map(ruleOf), ...(d.formulas || []).map(formulaOf)] : []));
    } catch (e) {
      preview.replaceChildren();
      status.textContent = t("draws.form.invalid", { error: e.message });
    }
  };
  const makeSecret = async () => {
    const secret = random(32);
    commitment = hex(await sha256(concat(label("bidroom/v1/draw-commitment"), secret)));
    secretOut.hidden = false;
    secretOut.textContent = t("draws.form.secret.keep", { secret: hex(secret) });
  };
  text.addEventListener("input", show);
  const box = el(
    "fieldset",
    { id: "draws-fieldset" },
    el("legend", {}, t("draws.form.title")),
    el("p", { class: "help" }, t("draws.form.help")),
    text,
    el("div", { class: "actions" },
      el("button", { type: "button", class: "secondary", id: "draws-secret-make", onclick: makeSecret }, t("draws.form.secret")),
      el("button", { type: "button", class: "secondary", id: "draws-preview-show", onclick: show }, t("draws.form.preview"))),
    secretOut,
    preview,
    status,
  );
  const actions = form.querySelector("#save")?.closest(".actions");
  if (actions) actions.before(box);
  else form.append(box);
  show();
  // The draft's session terms with the draws, or nothing when none are declared.
  form.drawSession = () => {
    let d;
    try {
      d = parsed();
    } catch {
      return {};
    }
    return d ? { session: { draws: { ...d, commitment: commitment || "" } } } : {};
  };
}

/** What the form's draws add to the draft body. */
export const drawSession = (form) => (form.drawSession ? form.drawSession() : {});
