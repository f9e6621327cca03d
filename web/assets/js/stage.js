// The opening session's stage strip (签到 → 解密 → 唱标 → 确认 → 结束) with a
// big countdown on the server's clock, frozen while the host holds the
// session; and the host's controls for the staff console, each behind a
// confirmation. Shared by the room, the custodian page and the staff view.

import { api, el, errorText, serverClock } from "./common.js";
import { stageName } from "./events.js";
import { fmtDuration, fmtTime, t } from "./i18n.js";

const STAGES = ["sign_in", "decryption", "announcement", "confirmation", "closed"];

/** Milliseconds left in the view's stage now, on the server clock. */
export function timeLeft(v) {
  if (!v) return null;
  if (v.paused || v.suspended) return v.time_left_ms;
  const end = v.stage ? v.ends_at : v.next_at;
  if (!end) return null;
  return Math.max(0, Date.parse(end) - serverClock.now());
}

/** The strip for session view `v` (from `GET …/session`). */
export function stageStrip(v) {
  if (!v) return [];
  const current = v.stage ? STAGES.indexOf(v.stage) : -1;
  const steps = STAGES.filter((s) => s !== "sign_in" || v.terms.sign_in_minutes > 0).map((s) =>
    el("li", { class: STAGES.indexOf(s) < current ? "done" : STAGES.indexOf(s) === current ? "current" : "", "aria-current": s === v.stage ? "step" : null, dataset: { stage: s } }, stageName(s)),
  );
  const left = timeLeft(v);
  let label;
  if (v.state === "failed") label = t("stage.failed", { min: v.terms.min_bids });
  else if (v.terminated) label = t("stage.terminated", { reason: v.terminated });
  else if (v.suspended) label = t("stage.suspended", { notice: v.notice || "" });
  else if (v.paused) label = t("stage.paused");
  else if (!v.stage && v.next_stage) label = t("stage.until", { stage: stageName(v.next_stage) });
  else if (v.stage && v.stage !== "closed") label = t("stage.left", { stage: stageName(v.stage) });
  else label = stageName("closed");
  const failedLots = v.failed_lots.length && v.state !== "failed" ? el("p", { class: "warnings", id: "stage-failed-lots" }, t("stage.failedlots", { lots: v.failed_lots.join(", "), min: v.terms.min_bids })) : null;
  return [
    el("ol", { class: "stages", id: "stage-steps" }, steps),
    el("p", { id: "stage-label", dataset: { paused: String(!!v.paused), suspended: String(!!v.suspended) } }, label),
    left === null || v.stage === "closed" ? null : el("p", { class: "countdown", id: "stage-countdown", role: "timer", "aria-live": "off" }, fmtDuration(left)),
    v.ends_at && v.stage !== "closed" ? el("p", { class: "help" }, t("stage.ends", { at: fmtTime(v.ends_at) })) : null,
    failedLots,
  ].filter(Boolean);
}

/** Follows a tender's session in `box`: call `refresh()` on session events. */
export function followStage(box, tenderId) {
  let view = null;
  const render = () => box.replaceChildren(...stageStrip(view));
  const refresh = async () => {
    try {
      view = await api("GET", `/tenders/${tenderId}/session`);
      box.hidden = false;
    } catch {
      // The next event or tick retries.
    }
    render();
  };
  setInterval(render, 250);
  refresh();
  return { refresh, get view() { return view; } };
}

/** Events after which the session view is read again. */
export const touchesSession = (ev) => ev.type.startsWith("session.") || ["tender.failed", "opening.started", "record.published", "tender.closed"].includes(ev.type);

/** The host's controls for officers and admins; nothing for other roles. */
export function hostControls(v, { token, me, onDone }) {
  if (!v || !(me.role === "officer" || me.role === "admin")) return null;
  const running = ["decryption", "announcement"].includes(v.stage) && v.state === "opening" && !v.terminated;
  const held = v.paused || v.suspended;
  const send = async (body, question) => {
    if (!window.confirm(question)) return;
    try {
      await api("POST", `/tenders/${v.tender}/session`, { body, token });
    } catch (e) {
      window.alert(errorText(e));
    }
    if (onDone) onDone();
  };
  const ask = (q) => (window.prompt(q) || "").trim();
  const buttons = [];
  if (running && !held) {
    buttons.push(el("button", { type: "button", id: "host-pause", onclick: () => send({ action: "pause" }, t("host.pause.confirm")) }, t("host.pause")));
    buttons.push(el("button", { type: "button", id: "host-suspend", onclick: () => { const notice = ask(t("host.suspend.notice")); if (notice) send({ action: "suspend", notice }, t("host.suspend.confirm")); } }, t("host.suspend")));
    if (!v.extended.includes(v.stage)) {
      buttons.push(el("button", { type: "button", id: "host-extend", onclick: () => {
        const minutes = Number(ask(t("host.extend.minutes")));
        const reason = minutes ? ask(t("host.extend.reason")) : "";
        if (minutes && reason) send({ action: "extend", minutes, reason }, t("host.extend.confirm", { minutes }));
      } }, t("host.extend")));
    }
  }
  if (running && held) buttons.push(el("button", { type: "button", id: "host-resume", onclick: () => send({ action: "resume" }, t("host.resume.confirm")) }, t("host.resume")));
  if (!v.terminated && ["opening", "closed"].includes(v.state)) {
    buttons.push(el("button", { type: "button", class: "danger", id: "host-terminate", onclick: () => { const reason = ask(t("host.terminate.reason")); if (reason) send({ action: "terminate", reason }, t("host.terminate.confirm")); } }, t("host.terminate")));
  }
  return buttons.length ? el("div", { class: "actions", id: "host-controls" }, el("h3", {}, t("host.title")), ...buttons) : null;
}
