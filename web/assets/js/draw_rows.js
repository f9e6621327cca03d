// The tender form's rows for draws and reference-price formulas
// (docs/DRAWS.md): one fieldset per draw (what is drawn, its names, its
// list one item per line) and per formula (lot, price field, dropping the
// extremes, a drawn coefficient, rounding), each with a live preview and
// the page's own check of the server's rules, so staff see what is wrong
// before saving. The server stays the judge: these checks only mirror it.

import { el } from "./common.js";
import { lang, t } from "./i18n.js";

export const TYPES = ["value", "method", "order"];
/** The key of a draw's list in the API, by its type. */
export const LIST_KEY = { value: "values", method: "methods", order: "items" };

let uid = 0;
const fresh = () => `draw-ctl-${++uid}`;

function labelled(key, control) {
  control.id = control.id || fresh();
  return el("div", {}, el("label", { for: control.id }, t(key)), control);
}

/** Non-empty trimmed lines. */
export const linesOf = (text) => text.split("\n").map((s) => s.trim()).filter(Boolean);

/** A name in the page's language, else the other one, else the id. */
export const nameOf = (x) => (lang === "zh" ? x.label.zh || x.label.en : x.label.en || x.label.zh) || x.id;

/** All items when few, else the first two, an ellipsis and the last. */
export function shortList(items) {
  const sep = t("drawsui.list.sep");
  if (items.length <= 4) return items.join(sep);
  return `${items[0]}${sep}${items[1]}${t("drawsui.list.more")}${items[items.length - 1]}`;
}

/** What a draw will be drawn from, in one sentence. */
export function drawPreview(d) {
  const items = d[LIST_KEY[d.type]] || [];
  if (!items.length) return t("drawsui.preview.empty", { label: nameOf(d) });
  return t(`drawsui.preview.${d.type}`, { label: nameOf(d), list: shortList(items), n: items.length });
}

/** A fieldset declaring one draw; `box.read()` is its API object. */
export function drawBox(d, changed) {
  const type = el("select", { class: "d-type" }, TYPES.map((x) => el("option", { value: x, selected: x === d.type }, t(`drawsui.type.${x}`))));
  const id = el("input", { class: "d-id", value: d.id, maxlength: 40, spellcheck: false, autocomplete: "off" });
  const zh = el("input", { class: "d-zh", value: d.label.zh, lang: "zh-CN", maxlength: 100 });
  const en = el("input", { class: "d-en", value: d.label.en, lang: "en", maxlength: 100 });
  const items = el("textarea", { class: "d-items", rows: 4, spellcheck: false }, (d[LIST_KEY[d.type]] || []).join("\n"));
  const itemsField = labelled(`drawsui.items.${d.type}`, items);
  const preview = el("p", { class: "d-preview help" });
  const problem = el("div", { class: "d-problem error", role: "alert", hidden: true });
  const box = el(
    "fieldset",
    { class: "draw" },
    el("legend", {}),
    el("div", { class: "row" }, labelled("drawsui.draw.type", type), labelled("drawsui.id", id)),
    el("div", { class: "row" }, labelled("drawsui.label.zh", zh), labelled("drawsui.label.en", en)),
    itemsField,
    preview,
    problem,
    el("div", { class: "actions" }, el("button", { type: "button", class: "secondary d-remove", onclick: () => { box.remove(); changed(); } }, t("drawsui.remove"))),
  );
  box.read = () => ({ id: id.value.trim(), label: { zh: zh.value.trim(), en: en.value.trim() }, type: type.value, [LIST_KEY[type.value]]: linesOf(items.value) });
  box.show = (n) => {
    box.querySelector("legend").textContent = t("drawsui.draw.legend", { n });
    itemsField.querySelector("label").textContent = t(`drawsui.items.${type.value}`);
    preview.textContent = drawPreview(box.read());
  };
  box.controls = { id, zh, en, items, type };
  box.addEventListener("input", changed);
  box.addEventListener("change", changed);
  return box;
}

/** Options of a select, keeping the wanted value when it is still offered. */
function offer(select, options, want) {
  select.replaceChildren(...options.map(([value, text]) => el("option", { value, selected: value === want }, text)));
  if (options.some(([value]) => value === want)) select.value = want;
}

/** A fieldset declaring one reference-price formula; `box.read()` is its API object. */
export function formulaBox(f, changed) {
  const id = el("input", { class: "p-id", value: f.id, maxlength: 40, spellcheck: false, autocomplete: "off" });
  const zh = el("input", { class: "p-zh", value: f.label.zh, lang: "zh-CN", maxlength: 100 });
  const en = el("input", { class: "p-en", value: f.label.en, lang: "en", maxlength: 100 });
  const lot = el("input", { class: "p-lot", value: f.lot, maxlength: 20 });
  const field = el("input", { class: "p-field", value: f.field, maxlength: 40, spellcheck: false });
  const dropOn = el("input", { type: "checkbox", class: "p-drop", checked: f.drop_extremes_from != null, id: fresh() });
  const dropN = el("input", { type: "number", class: "p-drop-n", min: 3, value: f.drop_extremes_from ?? 5 });
  const coef = el("select", { class: "p-coef" });
  const apply = el("select", { class: "p-apply" }, ["times", "one_minus"].map((x) => el("option", { value: x, selected: f.coefficient && f.coefficient.apply === x }, t(`drawsui.apply.${x}`))));
  const rounding = el("select", { class: "p-round" }, ["half_up", "down"].map((x) => el("option", { value: x, selected: (f.rounding || "half_up") === x }, t(`drawsui.rounding.${x}`))));
  const when = el("select", { class: "p-when" });
  // What the selects should show once the draws they name exist.
  const want = { coef: f.coefficient ? f.coefficient.draw : "", when: f.when ? JSON.stringify([f.when.draw, f.when.method]) : "" };
  coef.addEventListener("change", () => { want.coef = coef.value; });
  when.addEventListener("change", () => { want.when = when.value; });
  const preview = el("p", { class: "p-preview help" });
  const problem = el("div", { class: "p-problem error", role: "alert", hidden: true });
  const box = el(
    "fieldset",
    { class: "formula" },
    el("legend", {}),
    el("div", { class: "row" }, labelled("drawsui.id", id), labelled("drawsui.label.zh", zh), labelled("drawsui.label.en", en)),
    el("div", { class: "row" }, labelled("drawsui.formula.lot", lot), labelled("drawsui.formula.field", field)),
    el("div", { class: "row" },
      el("div", {}, el("label", { class: "inline", for: dropOn.id }, dropOn, t("drawsui.formula.drop"))),
      labelled("drawsui.formula.drop.n", dropN)),
    el("div", { class: "row" }, labelled("drawsui.formula.coef", coef), labelled("drawsui.formula.apply", apply), labelled("drawsui.formula.rounding", rounding)),
    labelled("drawsui.formula.when", when),
    preview,
    problem,
    el("div", { class: "actions" }, el("button", { type: "button", class: "secondary p-remove", onclick: () => { box.remove(); changed(); } }, t("drawsui.remove"))),
  );
  box.read = () => {
    const out = { id: id.value.trim(), label: { zh: zh.value.trim(), en: en.value.trim() }, lot: lot.value.trim(), field: field.value.trim() };
    if (dropOn.checked) out.drop_extremes_from = Number(dropN.value);
    if (coef.value) out.coefficient = { draw: coef.value, apply: apply.value };
    out.rounding = rounding.value;
    if (when.value) {
      const [draw, method] = JSON.parse(when.value);
      out.when = { draw, method };
    }
    return out;
  };
  /** Offers the declared draws as coefficients and gates; refreshes the preview. */
  box.show = (n, draws, lots) => {
    box.querySelector("legend").textContent = t("drawsui.formula.legend", { n });
    offer(coef, [["", t("drawsui.formula.coef.none")], ...draws.filter((d) => d.type === "value" && d.id).map((d) => [d.id, nameOf(d)])], want.coef);
    const gates = draws.filter((d) => d.type === "method" && d.id).flatMap((d) => d.methods.map((m) => [JSON.stringify([d.id, m]), t("drawsui.formula.when.method", { draw: nameOf(d), method: m })]));
    offer(when, [["", t("drawsui.formula.when.always")], ...gates], want.when);
    apply.disabled = !coef.value;
    dropN.disabled = !dropOn.checked;
    preview.textContent = formulaPreview(box.read(), draws, lots);
  };
  box.controls = { id, zh, en, lot, field, dropN, coef, apply, when };
  box.addEventListener("input", changed);
  box.addEventListener("change", changed);
  return box;
}

/** The formula in one sentence, naming draws and the price field by their names. */
export function formulaPreview(f, draws, lots = []) {
  const named = (id) => { const d = draws.find((x) => x.id === id); return d ? nameOf(d) : id; };
  const lot = lots.find((l) => l.id === f.lot);
  const field = lot && lot.fields.find((x) => x.key === f.field && x.label);
  const parts = [t("draws.formula.mean", { lot: f.lot, field: field ? nameOf({ id: f.field, label: field.label }) : f.field })];
  if (f.drop_extremes_from != null) parts.push(t("draws.formula.drop", { n: f.drop_extremes_from }));
  if (f.coefficient) parts.push(t(`draws.formula.${f.coefficient.apply}`, { draw: named(f.coefficient.draw) }));
  parts.push(t(`draws.formula.${f.rounding}`));
  if (f.when) parts.push(t("draws.formula.when", { draw: named(f.when.draw), method: f.when.method }));
  return `${nameOf(f)}${t("draws.colon")}${parts.join(t("draws.sep"))}`;
}
