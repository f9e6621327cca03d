// The bid form's parts: the lot's inputs, reading what was typed (numbers
// as people type them), and the review shown before sealing.

import { fmtMoney } from "./amount.js";
import { el } from "./common.js";
import { lang, pick, t } from "./i18n.js";

/** A number as people type it: thousands separators (, ， and spaces) and
 * full-width digits accepted; the canonical form is what is sealed. */
export function canonicalNumber(v) {
  const half = v.replace(/[０-９．－]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0));
  const bare = half.replace(/[,，\s\u00a0\u2009\u202f]/g, "");
  // Separators only between digits of the integer part, in groups of three.
  const grouped = /^-?\d{1,3}([,，\s\u00a0\u2009\u202f]\d{3})+(\.\d+)?$/.test(half);
  return grouped || bare === half ? bare : half;
}

/** Checks one value against its field type; returns [value, error key]. */
export function parseValue(field, raw) {
  const typed = raw.trim();
  if (!typed) return [undefined, field.required ? "bid.invalid.required" : null];
  const v = ["money", "integer", "decimal"].includes(field.type) ? canonicalNumber(typed) : typed;
  switch (field.type) {
    case "money":
      return /^\d{1,18}(\.\d{1,2})?$/.test(v) ? [v, null] : [undefined, "bid.invalid.money"];
    case "integer":
      return /^-?\d{1,15}$/.test(v) ? [Number(v), null] : [undefined, "bid.invalid.integer"];
    case "decimal":
      return /^-?\d{1,18}(\.\d{1,18})?$/.test(v) ? [v, null] : [undefined, "bid.invalid.decimal"];
    case "date": {
      const ok = /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(`${v}T00:00:00Z`)) && new Date(`${v}T00:00:00Z`).toISOString().startsWith(v);
      return ok ? [v, null] : [undefined, "bid.invalid.date"];
    }
    default:
      return [...raw].length <= 2000 ? [raw, null] : [undefined, "bid.invalid.text"];
  }
}

/** The lot's inputs, one per declared field, each with its error line. */
export function fieldInputs(lot) {
  return lot.fields.map((f) => {
    const input = el("input", {
      id: `field-${f.key}`,
      name: f.key,
      required: f.required,
      inputmode: f.type === "money" || f.type === "decimal" ? "decimal" : f.type === "integer" ? "numeric" : null,
      type: f.type === "date" ? "date" : "text",
      "aria-describedby": `err-${f.key}`,
      dataset: { type: f.type },
    });
    return el(
      "div",
      { class: "form-field" },
      el("label", { for: input.id }, pick(f.label), f.required ? t("ui.required.mark") : "", ` — ${t(`type.${f.type}`)}`),
      input,
      el("p", { class: "field-error", id: `err-${f.key}`, "aria-live": "polite" }),
    );
  });
}

/** A file's size as people read it. */
const sizeText = (n) => (n < 1048576 ? t("bid.size.kb", { n: Math.max(1, Math.ceil(n / 1024)) }) : t("bid.size.mb", { n: (n / 1048576).toFixed(1) }));

/** What is about to be sealed: lot, each value, the files by name and size; whether it replaces a standing bid. */
export function reviewContent({ tender, lot, values, files, replaces, actions }) {
  return [
    el("h3", {}, t("bid.review")),
    el(
      "dl",
      { class: "facts" },
      el("dt", {}, t("bid.lot")),
      el("dd", { id: "review-lot" }, `${lot.id} — ${lot.title}`),
      lot.fields.flatMap((f) => [
        el("dt", {}, pick(f.label)),
        el("dd", { class: "review-value" }, values[f.key] === undefined ? "—" : f.type === "money" ? fmtMoney(values[f.key], tender.currency, lang) : String(values[f.key])),
      ]),
      el("dt", {}, t("bid.documents")),
      el("dd", { id: "review-files" }, files.length ? el("ul", { class: "docs" }, files.map((f) => el("li", {}, t("bid.review.file", { name: f.name, size: sizeText(f.size) })))) : t("bid.review.nofiles")),
    ),
    replaces ? el("p", { class: "warn", id: "review-replaces" }, t("bid.review.replaces", { lot: lot.id })) : null,
    el("div", { class: "actions" }, actions),
  ].filter(Boolean);
}
