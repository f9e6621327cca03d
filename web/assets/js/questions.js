// Bidders' private questions to the host (issue 12): the bid page's "ask
// the host" box with the bidder's own questions, and the staff session
// view's queue, each answered publicly as an announcement quoting it.
// Questions are not events: only staff and the asker read them, by a
// staff token or a signed request (docs/PROTOCOL.md, "Questions").

import { b64url, concat, label, utf8, uuidBytes } from "./protocol/bytes.js";
import { api, el, serverClock, showError, showStatus } from "./common.js";
import { fmtDuration, fmtTime, t } from "./i18n.js";
import * as keys from "./protocol/keyfile.js";

/** How often the staff view looks for new questions (they have no live event). */
const STAFF_POLL_MS = 5000;

const be64 = (n) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigInt64(0, BigInt(n)); return b; };
const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
const serverSeconds = async () => Math.floor((await api("GET", "/time")).unix_ms / 1000);

/** The bid page's box (one hook in bid.js). */
export function mountBidQuestions(parent, tenderId, getIdentity) {
  const box = el("section", { class: "panel", id: "bidder-questions", "aria-labelledby": "h-bidder-questions" });
  parent.append(box);
  const text = el("textarea", { id: "question-text", maxlength: "2000", rows: "3" });
  const status = el("div", { id: "question-status", "aria-live": "polite" });
  const list = el("div", { id: "my-questions" });
  const refresh = async () => {
    const identity = getIdentity();
    if (!identity) return list.replaceChildren(el("p", { class: "help" }, t("obj.need.key")));
    try {
      const at = await serverSeconds();
      const sig = await keys.sign(identity.privateKey, concat(label("bidroom/v1/questions-read"), uuidBytes(tenderId), be64(at)));
      const mine = await api("POST", `/tenders/${tenderId}/questions/mine`, { body: { bidder: identity.id, signed_at: at, signature: b64url(sig) } });
      list.replaceChildren(
        mine.length
          ? el("ul", { class: "questions" }, ...mine.map((q) => el("li", { class: q.answer ? "question answered" : "question waiting", dataset: { question: q.id } },
            `${fmtTime(q.asked_at)} · `, el("span", {}, q.text), " — ", el("strong", {}, t(q.answer ? "q.answered" : "q.waiting")))))
          : el("p", {}, t("q.none")),
      );
    } catch (e) {
      showError(list, e);
    }
  };
  const send = async () => {
    const identity = getIdentity();
    if (!identity) return showStatus(status, t("obj.need.key"), "error");
    try {
      const body = text.value;
      const at = await serverSeconds();
      const msg = concat(label("bidroom/v1/question"), uuidBytes(tenderId), await sha256(utf8(body)), be64(at));
      const sig = await keys.sign(identity.privateKey, msg);
      await api("POST", `/tenders/${tenderId}/questions`, { body: { bidder: identity.id, text: body, signed_at: at, signature: b64url(sig) } });
      text.value = "";
      showStatus(status, t("q.sent"));
      await refresh();
    } catch (e) {
      showError(status, e);
    }
  };
  box.append(
    el("h2", { id: "h-bidder-questions" }, t("q.title")),
    el("p", { class: "help" }, t("q.help")),
    el("label", { for: "question-text" }, t("q.text")),
    text,
    el("div", { class: "actions" },
      el("button", { type: "button", id: "ask-question", onclick: send }, t("q.send")),
      el("button", { type: "button", class: "secondary", id: "refresh-questions", onclick: refresh }, t("q.refresh"))),
    status,
    el("h3", {}, t("q.mine")),
    list,
  );
  refresh();
  return box;
}

/** The staff view's queue in `holder`: waiting questions with their wait
 * time and, for the host, an answer box each. Returns a function that stops it. */
export function mountHostQuestions(holder, tenderId, { call, manages }) {
  const drafts = new Map();
  let questions = [];
  let failed = null;
  const render = () => {
    const open = questions.filter((q) => !q.answer);
    const status = el("div", { id: "host-questions-status", "aria-live": "polite" });
    if (failed) showError(status, failed);
    const item = (q) => {
      const area = el("textarea", { class: "question-answer", rows: "2", maxlength: "500", "aria-label": t("host.q.answer") });
      area.value = drafts.get(q.id) || "";
      area.addEventListener("input", () => drafts.set(q.id, area.value));
      return el("li", { class: "question waiting", dataset: { question: q.id } },
        el("p", {}, t("host.obj.waited", { time: fmtDuration(Math.max(0, serverClock.now() - Date.parse(q.asked_at))) })),
        el("blockquote", {}, q.text),
        manages ? el("div", {}, area, el("button", { type: "button", class: "question-send", onclick: async () => {
          try {
            await call("POST", `/tenders/${tenderId}/questions/${q.id}/answer`, { text: drafts.get(q.id) || "" });
            drafts.delete(q.id);
            await load();
          } catch (e) {
            showError(status, e);
          }
        } }, t("host.q.send"))) : null);
    };
    // Keep what the host is typing: only re-render when nothing has focus inside.
    if (holder.contains(document.activeElement) && document.activeElement.tagName === "TEXTAREA") return;
    holder.replaceChildren(el("section", { class: "panel", id: "session-questions" },
      el("h3", {}, t("host.q.title", { n: open.length })),
      open.length ? el("ol", { class: "questions", id: "question-queue" }, open.map(item)) : el("p", {}, t("host.q.none")),
      status));
  };
  const load = async () => {
    try {
      questions = await call("GET", `/tenders/${tenderId}/questions`);
      failed = null;
    } catch (e) {
      failed = e;
    }
    render();
  };
  load();
  const timer = setInterval(load, STAFF_POLL_MS);
  return () => clearInterval(timer);
}
