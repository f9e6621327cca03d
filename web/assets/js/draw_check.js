// The page's own reading of the draws' rules (src/domain/draw.rs), so the
// tender form says what is wrong, in the page's language, before saving.
// The server checks again and stays the judge; this only mirrors it.

import { t } from "./i18n.js";
import { LIST_KEY, nameOf } from "./draw_rows.js";

const ID = /^[a-z][a-z0-9_]{0,39}$/;
// A coefficient: at most two whole digits and four fraction digits, above 0, at most 10.
const VALUE = /^\d{1,2}(\.\d{1,4})?$/;
const units = (v) => {
  const [w, f = ""] = v.split(".");
  return Number(w) * 10000 + Number(f.padEnd(4, "0"));
};
const valueOk = (v) => VALUE.test(v) && units(v) > 0 && units(v) <= 100000;

/**
 * The first problem of one draw: `{ control, message }`, or null.
 * `taken` are the ids declared before it.
 */
export function drawProblem(d, n, taken) {
  const what = t("drawsui.draw.legend", { n });
  if (!ID.test(d.id)) return { control: "id", message: t("drawsui.err.id", { what }) };
  if (taken.includes(d.id)) return { control: "id", message: t("drawsui.err.id.twice", { what, id: d.id }) };
  if (!d.label.zh || !d.label.en) return { control: d.label.zh ? "en" : "zh", message: t("drawsui.err.label", { what }) };
  const items = d[LIST_KEY[d.type]];
  const min = d.type === "order" ? 2 : 1;
  if (items.length < min || items.length > 1000) return { control: "items", message: t("drawsui.err.count", { what, min }) };
  for (const [j, item] of items.entries()) {
    if ([...item].length > 100) return { control: "items", message: t("drawsui.err.long", { what, item: `${item.slice(0, 20)}…` }) };
    if (items.indexOf(item) !== j) return { control: "items", message: t("drawsui.err.twice", { what, item }) };
    if (d.type === "value" && !valueOk(item)) return { control: "items", message: t("drawsui.err.value", { what, item }) };
  }
  return null;
}

/**
 * The first problem of one formula, or null. `lots` are the form's lots
 * (`{ id, fields: [{ key, type }] }`), `draws` the declared draws, `taken`
 * the ids used before it.
 */
export function formulaProblem(f, n, { lots, draws, taken }) {
  const what = t("drawsui.formula.legend", { n });
  if (!ID.test(f.id)) return { control: "id", message: t("drawsui.err.id", { what }) };
  if (taken.includes(f.id)) return { control: "id", message: t("drawsui.err.id.twice", { what, id: f.id }) };
  if (!f.label.zh || !f.label.en) return { control: f.label.zh ? "en" : "zh", message: t("drawsui.err.label", { what }) };
  const lot = lots.find((l) => l.id === f.lot);
  if (!lot) return { control: "lot", message: t("drawsui.err.lot", { what, lot: f.lot }) };
  if (!lot.fields.some((x) => x.key === f.field && x.type === "money")) return { control: "field", message: t("drawsui.err.field", { what, lot: f.lot, field: f.field }) };
  if (f.drop_extremes_from != null && !(Number.isInteger(f.drop_extremes_from) && f.drop_extremes_from >= 3)) {
    return { control: "dropN", message: t("drawsui.err.drop", { what }) };
  }
  if (f.coefficient) {
    const d = draws.find((x) => x.id === f.coefficient.draw && x.type === "value");
    if (!d) return { control: "coef", message: t("drawsui.err.coef", { what }) };
    if (f.coefficient.apply === "one_minus" && d.values.some((v) => !valueOk(v) || units(v) > 10000)) {
      return { control: "apply", message: t("drawsui.err.one_minus", { what, draw: nameOf(d) }) };
    }
  }
  return null;
}
