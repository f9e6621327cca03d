// The opening record (开标记录表) as procurement staff print it, drawn by
// one renderer for the room, the staff session view and the print page:
// one table per lot, one column per declared field in the tender's order,
// amounts grouped with their currency (and in 大写 in Chinese), times in
// the tender's time zone with its name. At phone width the CSS shows each
// bid as a card (every cell carries its column's name in `data-label`).
//
// It also checks an opened bid from public data alone (docs/PROTOCOL.md
// "Opening"): the envelope hashes to what was logged at receipt, its
// signature verifies under the bidder key it names, the published form key
// matches the envelope's commitment, the form ciphertext matches the
// envelope, and it decrypts to exactly the fields the record shows.

import { capitalYuan, decimalsOf, fmtDate, fmtMoney, groupDigits, tenderZone, withDecimals, zonedParts, zoneName } from "./amount.js";
import { concat, fromUtf8, hex, label, sha256, unb64url, uuidBytes } from "./protocol/bytes.js";
import { el } from "./common.js";
import { lang, pick, t } from "./i18n.js";

/** One field's value as a cell's content; `places` is the column's decimals. */
function fieldCell(field, value, currency, places) {
  if (value === undefined || value === null || value === "") return "—";
  switch (field && field.type) {
    case "money": {
      const capital = lang === "zh" && currency === "CNY" ? capitalYuan(value) : null;
      return [
        el("span", { class: "amount" }, fmtMoney(value, currency, lang)),
        capital ? el("span", { class: "capital" }, t("record.capital", { text: capital })) : null,
      ];
    }
    case "integer":
      return el("span", { class: "amount" }, groupDigits(String(value)));
    case "decimal":
      return el("span", { class: "amount" }, groupDigits(withDecimals(value, places)));
    case "date":
      return el("span", { class: "nowrap" }, fmtDate(value, lang));
    default:
      return String(value);
  }
}

/**
 * The record's tables, one per lot that has rows (in the tender's lot order).
 * `rows` are rows of `GET …/record` (or built from the outcome events);
 * `id` names the block; `bidderName(bidder)` names a bidder; `reading` is the row being read out
 * (highlighted); `extra` adds columns: `[{head, cell(row) → Node|string, cls}]`.
 */
export function recordTables({ id, tender, rows, bidderName, reading = null, extra = [] }) {
  const zone = tenderZone(tender);
  const lots = [...tender.lots];
  for (const r of rows) if (!lots.some((l) => l.id === r.lot)) lots.push({ id: r.lot, title: "", fields: [] });
  const tables = lots
    .map((lot) => {
      const mine = rows.filter((r) => r.lot === lot.id).sort((a, b) => a.position - b.position);
      if (!mine.length) return null;
      // Fields the lot declares, then any the bids carry beyond them (never dropped).
      const extraKeys = mine.flatMap((r) => Object.keys(r.fields || {})).filter((k, i, all) => !lot.fields.some((f) => f.key === k) && all.indexOf(k) === i);
      const fields = [...lot.fields, ...extraKeys.map((k) => ({ key: k, label: { zh: k, en: k }, type: "text" }))];
      const places = Object.fromEntries(
        fields.filter((f) => f.type === "decimal").map((f) => [f.key, Math.max(0, ...mine.map((r) => decimalsOf((r.fields || {})[f.key] ?? "")))]),
      );
      const heads = [t("record.no"), t("record.bidder"), t("record.received"), ...fields.map((f) => pick(f.label)), t("record.status"), ...extra.map((x) => x.head)];
      // One wrapper per cell: on a phone the cell is a grid of its label and this.
      const cell = (i, content, cls) => el("td", { "data-label": heads[i], class: cls || null }, el("div", { class: "v" }, content));
      const body = mine.map((row) => {
        const opened = row.status === "opened";
        const outcome = [t(`record.status.${row.status}`), !opened && row.reason ? el("span", { class: "reason" }, `${t("record.reason.sep")}${row.reason}`) : null, row.above_ceiling ? el("strong", { class: "above" }, `${t("record.reason.sep")}${t("record.above")}`) : null];
        return el(
          "tr",
          { dataset: { bid: row.bid_id, status: row.status, above: row.above_ceiling ? "true" : null }, class: row === reading ? "reading" : null, "aria-current": row === reading ? "true" : null },
          cell(0, String(row.position), "num"),
          cell(1, bidderName(row.bidder), "bidder"),
          // Date, clock and zone each whole; a narrow column breaks between them only.
          cell(2, row.received_at ? zonedParts(row.received_at, zone, lang).flatMap((x, i) => [["", " ", lang === "zh" ? "" : " "][i], el("span", { class: "nowrap" }, x)]) : "—", "time"),
          ...fields.map((f, i) => cell(3 + i, opened ? fieldCell(f, (row.fields || {})[f.key], tender.currency, places[f.key] || 0) : "—", `field field-${f.type}`)),
          cell(3 + fields.length, outcome, "outcome"),
          ...extra.map((x, i) => cell(4 + fields.length + i, x.cell(row), x.cls)),
        );
      });
      return el(
        "div",
        { class: "table-wrap" },
        el(
          "table",
          { class: "record-table", id: `record-lot-${lot.id}`, dataset: { lot: lot.id } },
          el("caption", {}, lot.title ? t("record.lot.caption", { lot: lot.id, title: lot.title }) : t("record.lot.only", { lot: lot.id })),
          el("thead", {}, el("tr", {}, heads.map((h) => el("th", { scope: "col" }, h)))),
          el("tbody", {}, body),
        ),
      );
    })
    .filter(Boolean);
  return el("div", { class: "record-tables", id }, tables, tables.length ? el("p", { class: "help record-zone" }, t("record.zone", { zone: zoneName(zone, lang) })) : null);
}

/** Verifies one `bid.opened` row against the public bid from `/envelopes`; throws saying what failed. */
export async function verifyOpenedBid(tenderId, row, pub) {
  const envelopeBytes = unb64url(pub.envelope);
  if (hex(await sha256(envelopeBytes)) !== row.envelope_hash) throw new Error("the envelope's hash differs from the one logged at receipt");
  const env = JSON.parse(fromUtf8(envelopeBytes));
  if (env.tender_id !== tenderId || env.bid_id !== row.bid_id) throw new Error("the envelope names another tender or bid");
  const bidderKey = await crypto.subtle.importKey("raw", unb64url(env.bidder_public_key), { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
  const signed = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, bidderKey, unb64url(pub.signature), envelopeBytes);
  if (!signed) throw new Error("the bidder's signature over the envelope does not verify");
  const bound = (l) => concat(label(l), uuidBytes(tenderId), uuidBytes(row.bid_id));
  const formKey = unb64url(row.form_key);
  if (hex(await sha256(concat(bound("bidroom/v1/form-key-commitment"), formKey))) !== env.form_key_commitment) {
    throw new Error("the published form key does not match the envelope's commitment");
  }
  const ct = unb64url(pub.form);
  if (ct.length !== env.form.length || hex(await sha256(ct)) !== env.form.sha256) throw new Error("the form ciphertext differs from the envelope's");
  const key = await crypto.subtle.importKey("raw", formKey, "AES-GCM", false, ["decrypt"]);
  let plain;
  try {
    plain = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: ct.slice(0, 12), additionalData: bound("bidroom/v1/form") }, key, ct.slice(12)));
  } catch {
    throw new Error("the form does not decrypt with the published key");
  }
  const fields = JSON.parse(fromUtf8(plain));
  const same = (a, b) => JSON.stringify(Object.keys(a).sort().map((k) => [k, a[k]])) === JSON.stringify(Object.keys(b).sort().map((k) => [k, b[k]]));
  if (!same(fields, row.fields || {})) throw new Error("the decrypted form differs from the published fields");
  return fields;
}
