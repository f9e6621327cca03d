// Events in words, shared by the public room and the staff console.

import { fmtDuration, fmtTime, lang, t } from "./i18n.js";

/** A session stage's name. */
export const stageName = (s) => (s ? t(`stage.${s}`) : "");

/** A custodian's name from the public list, or its id. */
export function custodianLabel(cid, custodians) {
  if (cid === "server") return t("room.custody.server");
  if (cid === "bidder") return t("room.custody.bidder");
  const c = custodians.find((x) => x.id === cid);
  return c && c.name ? t("custodian.named", { name: c.name, id: cid }) : cid;
}

/** A bidder as the record names it. */
export const bidderName = (b) => (b ? b.name || b.id : "?");

/** One event in words, in the page's language. */
export function describe(ev, custodians = []) {
  const d = ev.data || {};
  const hash = (d.envelope_hash || "").slice(0, 12);
  switch (ev.type) {
    case "tender.published":
      return t("ev.tender.published");
    case "tender.amended":
      return t("ev.tender.amended", { deadline: fmtTime(d.deadline.to), opening: fmtTime(d.opening_at.to), reason: d.reason });
    case "tender.closed":
      return t("ev.tender.closed");
    case "tender.cancelled":
      return t("ev.tender.cancelled", { reason: d.reason });
    case "bid.received":
      return t(d.replaces ? "ev.bid.received.replaces" : "ev.bid.received", { lot: d.lot, hash, count: d.bids_received });
    case "bid.withdrawn":
      return t("ev.bid.withdrawn", { lot: d.lot, hash, count: d.bids_received });
    case "opening.started":
      return t("ev.opening.started", { until: fmtTime(d.release_until) });
    case "custodian.released":
      return d.bad_shares && d.bad_shares.length
        ? t("ev.custodian.released.bad", { custodian: custodianLabel(d.custodian, custodians), shares: d.shares, bad: d.bad_shares.length })
        : d.custodian === "server"
          ? t("ev.custodian.released.server", { shares: d.shares })
          : t("ev.custodian.released", { custodian: custodianLabel(d.custodian, custodians), shares: d.shares });
    case "bidder.released":
      return t(d.good ? "ev.bidder.released" : "ev.bidder.released.bad", { hash });
    case "bid.rejected":
      if (d.bidder_share) return t(`ev.bid.rejected.${d.bidder_share}`, { position: d.position, bidder: bidderName(d.bidder) });
      return t("ev.bid.rejected", { position: d.position, bidder: bidderName(d.bidder), lot: d.lot, reason: d.reason });
    case "bid.opened":
    case "bid.unopened":
      return t(`ev.${ev.type}`, { position: d.position, bidder: bidderName(d.bidder), lot: d.lot, reason: d.reason });
    case "record.published":
      return t("ev.record.published", { opened: d.opened, rejected: d.rejected, unopened: d.unopened });
    case "documents.accessed":
      return t("ev.documents.accessed");
    case "room.signed_in":
      return t("ev.room.signed_in", { bidder: d.bidder, count: d.signed_in });
    case "custodian.token_rotated":
      return t("ev.custodian.token_rotated", { custodian: custodianLabel(d.custodian, custodians) });
    case "tender.stream_changed":
      return d.stream ? t("ev.stream.set", { url: d.stream.url }) : t("ev.stream.removed");
    case "session.stage":
      return d.ends_at
        ? t("ev.session.stage.ends", { stage: stageName(d.stage), ends: fmtTime(d.ends_at) })
        : t("ev.session.stage.open", { stage: stageName(d.stage) });
    case "session.paused":
      return t("ev.session.paused", { stage: stageName(d.stage), left: fmtDuration(d.time_left_ms || 0) });
    case "session.suspended":
      return t("ev.session.suspended", { stage: stageName(d.stage), notice: d.notice });
    case "session.resumed":
      return t("ev.session.resumed", { stage: stageName(d.stage), held: fmtDuration(d.held_ms), ends: fmtTime(d.ends_at) });
    case "session.extended":
      return t("ev.session.extended", { stage: stageName(d.stage), minutes: d.minutes, reason: d.reason });
    case "session.terminated":
      return t("ev.session.terminated", { reason: d.reason });
    case "tender.failed": {
      const lots = (d.lots || []).map((l) => t("ev.tender.failed.lot", { lot: l.lot, count: l.bidders }));
      return t("ev.tender.failed", { lots: lots.join(lang === "zh" ? "；" : "; "), min: d.min_bids });
    }
    // --- session (issue 12) ---
    case "objection.raised":
      return t(d.on_record ? "ev.objection.raised.on_record" : "ev.objection.raised", { bidder: bidderName(d.bidder), text: d.text });
    case "objection.answered":
      return t("ev.objection.answered", { by: d.by ? d.by.name : "?", answer: d.answer });
    case "record.confirmed":
      return t("ev.record.confirmed", { bidder: bidderName(d.bidder), hash: (d.record_hash || "").slice(0, 12) });
    case "announcement.posted":
      return t("ev.announcement.posted", { text: d.text });
    case "session.ended":
      return t("ev.session.ended", { hash: (d.final_hash || "").slice(0, 12), silent: (d.responses || []).filter((r) => r.response === "did_not_respond").length });
    // --- draws ---
    case "draw.committed":
      return t("ev.draw.committed", { c: (d.commitment || "").slice(0, 16), minutes: d.reveal_minutes });
    case "draw.revealed":
      return t("ev.draw.revealed", { by: (d.by || {}).name });
    case "draw.result":
      return t("ev.draw.result", { results: (d.draws || []).map((r) => `${r.id} = ${r.values.join(" → ")}`).concat((d.prices || []).map((p) => `${p.id} = ${p.amount ?? "—"}`)).join(lang === "zh" ? "；" : "; ") });
    case "draw.failed":
      return t("ev.draw.failed");
    default:
      return t("ev.other", { type: ev.type });
  }
}

