// Objections (异议), answers, announcements and each bidder's confirmation
// status, as the hall's screen shows them (room), and the bidder's side:
// sign in, raise an objection, confirm or object to the record it signs
// (bid page). Signed bytes: docs/PROTOCOL.md, "Objections, confirmations
// and the record's bytes".

import { b64url, concat, label, unb64url, unhex, utf8, uuidBytes } from "./protocol/bytes.js";
import { api, el, showError, showStatus } from "./common.js";
import { fmtTime, t } from "./i18n.js";
import { bidderName } from "./events.js";
import * as keys from "./protocol/keyfile.js";

/** Kinds that change the panel: the room re-renders it only for these. */
const KINDS = new Set(["objection.raised", "objection.answered", "record.confirmed", "announcement.posted", "session.ended", "bid.opened", "session.stage"]);

/** Does this batch of events change what the panel shows? */
export const touchesObjections = (events) => events.some((e) => KINDS.has(e.type));

/** What the room shows: objections with answers, announcements, and the confirmation status per bidder. */
export function summarize(events) {
  const objections = [];
  const answers = new Map();
  const announcements = [];
  const bidders = new Map();
  const status = new Map();
  let ended = null;
  for (const e of events) {
    const d = e.data || {};
    if (e.type === "objection.raised") objections.push({ ...d, log_index: e.log_index });
    if (e.type === "objection.answered") answers.set(d.objection, { ...d, log_index: e.log_index });
    if (e.type === "announcement.posted") announcements.push({ ...d, log_index: e.log_index });
    if (e.type === "bid.opened" && d.bidder) bidders.set(d.bidder.id, d.bidder);
    if (e.type === "record.confirmed") status.set(d.bidder.id, "confirmed");
    if (e.type === "objection.raised" && d.on_record) status.set(d.bidder.id, "objected");
    if (e.type === "session.ended") ended = d;
  }
  if (ended) for (const r of ended.responses || []) status.set(r.bidder, r.response);
  return { objections, answers, announcements, bidders, status, ended };
}

/** An announcement's words; a reply quotes the bidder's question first. */
export const announcementText = (a) => (a.reply_to ? `${t("ann.reply", { question: a.reply_to.text })}${a.text}` : a.text);

function objectionItem(o, answers) {
  const a = answers.get(o.objection);
  return el(
    "li",
    { class: a ? "objection answered" : "objection waiting", dataset: { objection: o.objection } },
    el("p", {}, el("strong", {}, bidderName(o.bidder)), ` · ${fmtTime(o.at)} · #${o.log_index}`),
    o.row ? el("p", { class: "row-ref" }, t("obj.row", { row: o.row.log_index ?? o.row.bid_id })) : "",
    el("blockquote", {}, o.text),
    a ? el("p", { class: "answer" }, t("obj.answer", { by: a.by ? a.by.name : "?", answer: a.answer })) : el("p", { class: "waiting" }, t("obj.waiting")),
  );
}

/** The public panel: objections, announcements, confirmation status. */
export function renderPanel(box, events) {
  const s = summarize(events);
  const statusRows = [...s.bidders.values()].map((b) =>
    el("tr", { dataset: { bidder: b.id } }, el("td", {}, bidderName(b)), el("td", { class: "conf-status" }, t(`conf.status.${s.status.get(b.id) || (s.ended ? "did_not_respond" : "waiting")}`))),
  );
  box.replaceChildren(
    el("h2", { id: "h-objections" }, t("obj.title")),
    s.objections.length ? el("ul", { class: "objections" }, ...s.objections.map((o) => objectionItem(o, s.answers))) : el("p", {}, t("obj.none")),
    el("h3", {}, t("ann.title")),
    s.announcements.length
      ? el("ul", { class: "announcements" }, ...s.announcements.map((a) => el("li", { class: a.reply_to ? "reply" : null }, `${fmtTime(a.at)} · ${announcementText(a)}`)))
      : el("p", {}, t("ann.none")),
    el("h3", {}, t("conf.title")),
    statusRows.length ? el("table", { class: "confirmations" }, el("tbody", {}, ...statusRows)) : el("p", {}, t("conf.none")),
    s.ended ? el("p", {}, el("a", { href: `/tenders/${box.dataset.tender}/record/print` }, t("final.print"))) : "",
  );
}

/** Mounts the room's panel in `parent` (one hook in room.js); the room
 * calls `render(events)` with its own socket's events, so the panel is as
 * live as the timeline (no polling of its own). */
export function mountRoomObjections(parent, tenderId) {
  const box = el("section", { class: "panel", id: "objections", "aria-labelledby": "h-objections", "aria-live": "polite", dataset: { tender: tenderId } });
  parent.append(box);
  renderPanel(box, []);
  return { box, render: (events) => renderPanel(box, events) };
}

const be64 = (n) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigInt64(0, BigInt(n)); return b; };
const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));

async function serverSeconds() {
  const v = await api("GET", "/time");
  return Math.floor(v.unix_ms / 1000);
}

/** The bidder's panel (one hook in bid.js): object, confirm. Signing in
 * to the room is the bid page's own panel (signin.js). */
export function mountBidObjections(parent, tenderId, getIdentity) {
  const box = el("section", { class: "panel", id: "bidder-objections", "aria-labelledby": "h-bidder-objections" });
  parent.append(box);
  const status = el("div", { id: "bidder-objections-status", "aria-live": "polite" });
  const text = el("textarea", { id: "objection-text", maxlength: "2000", rows: "4" });
  const hashLine = el("p", { id: "record-hash" });
  let recordHash = null;
  const refreshRecord = async () => {
    try {
      const r = await api("GET", `/tenders/${tenderId}/record`);
      recordHash = r.record_hash;
      hashLine.textContent = t("conf.hash", { hash: recordHash });
    } catch {
      recordHash = null;
      hashLine.textContent = "";
    }
  };
  const act = (f) => async () => {
    const identity = getIdentity();
    if (!identity) return showStatus(status, t("obj.need.key"), "error");
    try {
      await f(identity);
    } catch (e) {
      showError(status, e);
    }
  };
  const raise = (onRecord) => act(async (identity) => {
    const body = text.value;
    const at = await serverSeconds();
    const msg = concat(label("bidroom/v1/objection"), uuidBytes(tenderId), await sha256(utf8(body)), be64(at));
    const sig = await keys.sign(identity.privateKey, msg);
    const r = await api("POST", `/tenders/${tenderId}/objections`, { body: { bidder: identity.id, text: body, on_record: onRecord, signed_at: at, signature: b64url(sig) } });
    text.value = "";
    showStatus(status, t("obj.sent", { index: r.log_index }));
  });
  box.append(
    el("h2", { id: "h-bidder-objections" }, t("obj.bidder.title")),
    el("label", { for: "objection-text" }, t("obj.text")),
    text,
    el("div", { class: "actions" }, el("button", { type: "button", id: "raise-objection", onclick: raise(false) }, t("obj.raise"))),
    el("h3", {}, t("conf.title")),
    hashLine,
    el(
      "div",
      { class: "actions" },
      el("button", { type: "button", id: "confirm-record", onclick: act(async (identity) => {
        await refreshRecord();
        if (!recordHash) throw new Error(t("conf.no.record"));
        const at = await serverSeconds();
        const msg = concat(label("bidroom/v1/record-confirm"), uuidBytes(tenderId), unhex(recordHash), be64(at));
        const sig = await keys.sign(identity.privateKey, msg);
        const r = await api("POST", `/tenders/${tenderId}/record/confirm`, { body: { bidder: identity.id, record_hash: recordHash, signed_at: at, signature: b64url(sig) } });
        showStatus(status, t("conf.done", { index: r.log_index }));
      }) }, t("conf.confirm")),
      el("button", { type: "button", class: "danger", id: "object-record", onclick: raise(true) }, t("conf.object")),
    ),
    status,
  );
  refreshRecord();
  return box;
}


