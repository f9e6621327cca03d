// "My bids" on the bid page: every bid this browser sealed for the tender
// under the loaded key, per lot, each with its receipt, what became of it
// (stands, replaced, withdrawn) and a button to check it again.
//
// The receipts are kept here (IndexedDB), never asked of the server: the
// server does not say which bids a bidder sent before the opening, and
// need not. What became of each is read from the tender's public events,
// which name envelopes only (`bid.received` with `replaces`,
// `bid.withdrawn`), so nothing new is learnt about anyone.

import { b64url, concat, label, uuidBytes } from "./protocol/bytes.js";
import { api, download, el, showError } from "./common.js";
import { idbStore } from "./protocol/idb.js";
import { fmtTime, lang, t } from "./i18n.js";
import { fmtMoney } from "./amount.js";
import * as keys from "./protocol/keyfile.js";
import { parseVerifierKey, verifyReceipt } from "./protocol/verify.js";

const tx = idbStore("bidroom-mybids", "bids");
const keyOf = (tenderId, bidId) => `${tenderId}/${bidId}`;

/** Keeps a bid's receipt: `{tender_id, bid_id, bidder_id, lot, envelope_hash, receipt, fields}`. */
export const rememberBid = (bid) => tx("readwrite", (s) => s.put({ ...bid, kept_at: Date.now() }, keyOf(bid.tender_id, bid.bid_id)));

/** The bids kept for this tender under this bidder key, oldest first. */
export async function keptBids(tenderId, bidderId) {
  const all = (await tx("readonly", (s) => s.getAll())) || [];
  return all.filter((b) => b.tender_id === tenderId && b.bidder_id === bidderId).sort((a, b) => a.kept_at - b.kept_at);
}

/** Moves the one receipt older pages kept in localStorage into the list. */
export async function adoptOldReceipt(tenderId, bidderId) {
  const old = localStorage.getItem(`bidroom.bid.${tenderId}`);
  if (!old) return;
  try {
    const saved = JSON.parse(old);
    await rememberBid({ tender_id: tenderId, bid_id: saved.bid_id, bidder_id: bidderId, lot: null, envelope_hash: saved.envelope_hash, receipt: saved.receipt, fields: null });
    localStorage.removeItem(`bidroom.bid.${tenderId}`);
  } catch {
    // Unreadable: leave it where it is.
  }
}

/** What the public log says of each envelope: `{received: hash → {lot, replaces}, replacedBy: hash → hash, withdrawn: Set}`. */
export async function bidFates(tenderId) {
  const received = new Map();
  const replacedBy = new Map();
  const withdrawn = new Set();
  let after = 0;
  for (;;) {
    const page = await api("GET", `/tenders/${tenderId}/events?after=${after}`);
    const events = page.events || [];
    for (const e of events) {
      const d = e.data || {};
      if (e.type === "bid.received") {
        received.set(d.envelope_hash, { lot: d.lot, replaces: d.replaces || null });
        if (d.replaces) replacedBy.set(d.replaces, d.envelope_hash);
      } else if (e.type === "bid.withdrawn") withdrawn.add(d.envelope_hash);
    }
    if (!events.length || events[events.length - 1].seq >= page.last_seq) break;
    after = events[events.length - 1].seq;
  }
  return { received, replacedBy, withdrawn };
}

/** "stands", "replaced", "withdrawn" or "unknown" (not in the public log). */
export function fateOf(bid, fates) {
  if (fates.withdrawn.has(bid.envelope_hash)) return "withdrawn";
  if (fates.replacedBy.has(bid.envelope_hash)) return "replaced";
  return fates.received.has(bid.envelope_hash) ? "stands" : "unknown";
}

/** The money fields of a kept bid, as a short line ("投标报价 1,234.50元"). */
function summary(bid, tender) {
  const lot = tender.lots.find((l) => l.id === bid.lot);
  if (!lot || !bid.fields) return "";
  return lot.fields
    .filter((f) => f.type === "money" && bid.fields[f.key] !== undefined)
    .map((f) => t("mybids.value", { label: (f.label && (f.label[lang] || f.label.en)) || f.key, value: fmtMoney(bid.fields[f.key], tender.currency, lang) }))
    .join(lang === "zh" ? "，" : ", ");
}

let verifier = null;
const logVerifier = async () => (verifier ||= await parseVerifierKey(await (await fetch("/log/key")).text()));

/**
 * The "my bids" panel. `open` says whether bids may still be withdrawn;
 * `changed()` runs after a withdrawal (the page may show more).
 */
export function myBidsSection({ tender, identity, open, changed = () => {} }) {
  const box = el("section", { class: "panel", id: "my-bids", "aria-labelledby": "h-my-bids" }, el("h2", { id: "h-my-bids" }, t("mybids.title")));
  const body = el("div", { id: "my-bids-body", "aria-live": "polite" }, el("p", { class: "help" }, t("loading")));
  box.append(body, el("p", { class: "help" }, t("mybids.help")));
  if (!identity) {
    body.replaceChildren(el("p", { class: "help" }, t("mybids.nokey")));
    return box;
  }
  const draw = async () => {
    let bids;
    let fates;
    try {
      await adoptOldReceipt(tender.id, identity.id);
      bids = await keptBids(tender.id, identity.id);
      fates = await bidFates(tender.id);
    } catch (e) {
      showError(body, e);
      return;
    }
    if (!bids.length) {
      body.replaceChildren(el("p", { id: "my-bids-none" }, t("mybids.none")));
      return;
    }
    for (const b of bids) if (!b.lot && fates.received.has(b.envelope_hash)) b.lot = fates.received.get(b.envelope_hash).lot;
    const lots = [...tender.lots.map((l) => l.id), ...bids.map((b) => b.lot)].filter((l, i, all) => l && all.indexOf(l) === i && bids.some((b) => b.lot === l));
    body.replaceChildren(
      ...lots.map((lotId) => {
        const lot = tender.lots.find((l) => l.id === lotId);
        return el(
          "div",
          { class: "my-lot", id: `my-lot-${lotId}` },
          el("h3", {}, lot ? t("record.lot.caption", { lot: lotId, title: lot.title }) : t("record.lot.only", { lot: lotId })),
          el("ul", { class: "my-bids" }, bids.filter((b) => b.lot === lotId).reverse().map((b) => bidItem(b, fateOf(b, fates)))),
        );
      }),
    );
  };
  const bidItem = (bid, fate) => {
    const status = el("div", { class: "my-bid-status", "aria-live": "polite" });
    const item = el(
      "li",
      { class: `my-bid fate-${fate}`, dataset: { bid: bid.bid_id, fate } },
      el("p", {}, el("strong", { class: "fate" }, t(`mybids.fate.${fate}`)), " ", summary(bid, tender)),
      el("p", { class: "help" }, t("mybids.received", { at: fmtTime(bid.receipt.received_at) }), " ", el("code", { class: "hash" }, bid.bid_id)),
      bid.withdrawal ? el("p", { class: "help" }, t("mybids.withdrawn.at", { at: fmtTime(bid.withdrawal.receipt.received_at) })) : null,
    );
    const actions = el(
      "div",
      { class: "actions" },
      el("button", { type: "button", class: "secondary download-receipt", onclick: () => download(`bidroom-receipt-${bid.bid_id}.json`, JSON.stringify(bid.receipt, null, 2)) }, t("bid.receipt.download")),
      el("button", { type: "button", class: "secondary recheck", onclick: () => recheck(bid, status) }, t("mybids.recheck")),
      bid.withdrawal
        ? el("button", { type: "button", class: "secondary download-withdrawal", onclick: () => download(`bidroom-withdrawal-${bid.bid_id}.json`, JSON.stringify(bid.withdrawal.receipt, null, 2)) }, t("mybids.withdrawal.download"))
        : null,
      fate === "stands" && open() ? el("button", { type: "button", class: "danger withdraw", onclick: () => withdraw(bid, status) }, t("bid.withdraw")) : null,
    );
    item.append(actions, status);
    return item;
  };
  const recheck = async (bid, status) => {
    status.replaceChildren(el("p", { class: "help" }, t("mybids.checking")));
    try {
      await verifyReceipt(bid.receipt, await logVerifier(), bid.envelope_hash);
      const fate = fateOf(bid, await bidFates(tender.id));
      status.replaceChildren(el("p", { class: fate === "unknown" ? "error" : "ok", role: "status" }, fate === "unknown" ? `✗ ${t("mybids.check.missing")}` : `✓ ${t("mybids.check.ok", { fate: t(`mybids.fate.${fate}`) })}`));
    } catch (e) {
      status.replaceChildren(el("p", { class: "error", role: "alert" }, `✗ ${t("mybids.check.bad")} ${e.message}`));
    }
  };
  const withdraw = async (bid, status) => {
    if (!confirm(t("bid.withdraw.confirm"))) return;
    try {
      const msg = concat(label("bidroom/v1/withdraw"), uuidBytes(tender.id), uuidBytes(bid.bid_id));
      const sig = await keys.sign(identity.privateKey, msg);
      const answer = await api("POST", `/tenders/${tender.id}/bids/${bid.bid_id}/withdraw`, { body: { signature: b64url(sig) } });
      // The withdrawal's own receipt: its log entry names this envelope.
      await verifyReceipt(answer.receipt, await logVerifier(), bid.envelope_hash);
      await rememberBid({ ...bid, withdrawal: { receipt: answer.receipt } });
      await draw();
      const shown = document.querySelector(`#my-bids li[data-bid="${bid.bid_id}"] .my-bid-status`);
      (shown || status).replaceChildren(el("p", { class: "ok", role: "status", id: "withdrawal-receipt" }, `✓ ${t("mybids.withdrawn", { at: fmtTime(answer.receipt.received_at), hash: bid.envelope_hash })}`));
      changed();
    } catch (e) {
      showError(status, e);
    }
  };
  draw();
  box.refresh = draw;
  return box;
}
