// The printable final opening record (开标记录表): what `session.ended`
// sealed, rendered for A4 in the page's language, with the log index and a
// short link to the sealing entry so a paper copy can be checked.

import { api, el, initPage, showError, tenderIdFromPath } from "./common.js";
import { fmtTime, t } from "./i18n.js";
import { bidderName } from "./events.js";
import { announcementText } from "./objections.js";

const main = document.getElementById("main");
const id = tenderIdFromPath();

const table = (head, rows) =>
  el("table", {}, el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))), el("tbody", {}, ...rows.map((r) => el("tr", {}, ...r.map((c) => el("td", {}, c))))));

function render(fin) {
  const r = fin.record;
  const fields = (row) => Object.entries(row.fields || {}).map(([k, v]) => `${k}: ${v}`).join("; ");
  const link = `${location.origin}${fin.entry_url}`;
  main.replaceChildren(
    el("p", { class: "noprint" }, el("button", { type: "button", onclick: () => window.print() }, t("print.button"))),
    el("h1", {}, t("print.title")),
    el("p", { class: "meta" }, `${r.title} · ${r.reference} · ${r.buyer}`),
    ...r.lots.map((lot) => el("section", {},
      el("h2", {}, t("print.lot", { lot: lot.lot })),
      lot.failed ? el("p", {}, t("print.failed")) : "",
      ...lot.prices.map((p) => el("p", {}, t(`record.${p.kind}`, { lot: p.lot, amount: p.amount }))),
      table([t("print.col.no"), t("print.col.bidder"), t("print.col.fields"), t("print.col.status"), t("print.col.index")],
        lot.rows.map((row) => [String(row.position), bidderName(row.bidder), fields(row), row.status, String(row.log_index)])))),
    el("h2", {}, t("print.attendance")),
    table([t("print.col.bidder"), t("print.col.pseudonym"), t("print.col.time")], r.attendance.map((a) => [a.name || a.bidder || "—", a.pseudonym, fmtTime(a.signed_in_at)])),
    el("h2", {}, t("obj.title")),
    r.objections.length
      ? table([t("print.col.bidder"), t("print.col.time"), t("print.col.objection"), t("print.col.answer")],
        r.objections.map((o) => [bidderName(o.bidder), fmtTime(o.at), o.text, o.answer ? `${o.answer.answer} (${o.answer.by.name})` : "—"]))
      : el("p", {}, t("obj.none")),
    el("h2", {}, t("conf.title")),
    table([t("print.col.bidder"), t("print.col.status")], r.responses.map((x) => [x.name || x.bidder, t(`conf.status.${x.response}`)])),
    el("p", {}, t(fin.silence_is_acceptance ? "print.silence.yes" : "print.silence.no")),
    el("h2", {}, t("ann.title")),
    r.announcements.length ? table([t("print.col.time"), t("print.col.text")], r.announcements.map((a) => [fmtTime(a.at), announcementText(a)])) : el("p", {}, t("ann.none")),
    el("h2", {}, t("print.stages")),
    table([t("print.col.event"), t("print.col.time")], r.stages.map((s) => [s.stage ? t(`stage.${s.stage}`) : "—", fmtTime(s.at)])),
    el("div", { class: "seal" },
      el("p", {}, t("print.sealed", { index: fin.log_index, size: fin.tree_size })),
      el("p", {}, t("print.hash"), " ", el("code", {}, fin.final_hash)),
      el("p", {}, t("print.link"), " ", el("code", {}, link)),
      // The same link as a QR code, served by this server (no outside resource).
      el("figure", { class: "qr" }, el("img", { id: "record-qr", src: `/tenders/${id}/record/qr.svg`, width: "160", height: "160", alt: link }), el("figcaption", {}, t("print.qr")))),
  );
}

async function start() {
  initPage();
  try {
    render(await api("GET", `/tenders/${id}/record/final`));
  } catch (e) {
    showError(main, e);
  }
}

start();
