// The tender form's draws (docs/DRAWS.md): staff add draws and
// reference-price formulas with form controls (draw_rows.js), each with a
// live preview of what will be drawn from, checked in the page's language
// before saving (draw_check.js) and again by the server, whose errors are
// shown by code next to the row they name. The JSON the API takes is shown
// and can be edited under "advanced". The host's secret is made here, in
// the browser; only its SHA-256 commitment goes into the draft.

import { el, errorContent } from "./common.js";
import { concat, hex, label, random, sha256 } from "./protocol/bytes.js";
import { t } from "./i18n.js";
import { LIST_KEY, TYPES, drawBox, formulaBox } from "./draw_rows.js";
import { drawProblem, formulaProblem } from "./draw_check.js";

const HEX64 = /^[0-9a-f]{64}$/;
const text = (v) => (v === undefined || v === null ? "" : String(v));
const labelOf = (x) => ({ zh: text((x.label || {}).zh), en: text((x.label || {}).en) });

/** A draw as the rows take it, from whatever JSON was given. */
function drawRow(x, n) {
  const type = TYPES.includes(x.type) ? x.type : "value";
  const list = x[LIST_KEY[type]];
  return { id: text(x.id ?? (n === 1 ? "k" : `draw_${n}`)), label: x.label ? labelOf(x) : n === 1 ? { zh: "下浮系数", en: "Coefficient K" } : { zh: "", en: "" }, type, [LIST_KEY[type]]: Array.isArray(list) ? list.map(text) : [] };
}

/** A formula as the rows take it. */
function formulaRow(x, n) {
  return {
    id: text(x.id ?? (n === 1 ? "base" : `price_${n}`)),
    label: x.label ? labelOf(x) : n === 1 ? { zh: "评标基准价", en: "Reference price" } : { zh: "", en: "" },
    lot: text(x.lot ?? "1"),
    field: text(x.field ?? "price"),
    drop_extremes_from: x.drop_extremes_from ?? null,
    coefficient: x.coefficient || null,
    rounding: x.rounding === "down" ? "down" : "half_up",
    when: x.when || null,
  };
}

/** The form's lots as the checks read them (staff.js's lot rows). */
const lotsOf = (form) =>
  [...form.querySelectorAll("fieldset.lot")].map((box) => ({
    id: box.querySelector(".lot-id").value.trim(),
    fields: [...box.querySelectorAll(".field-row")].map((r) => ({
      key: r.querySelector(".f-key").value.trim(),
      type: r.querySelector(".f-type").value,
      label: { zh: r.querySelector(".f-zh").value.trim(), en: r.querySelector(".f-en").value.trim() },
    })),
  }));

// Which row control a server error's field names (`session.draws.draws[0].values[2]`).
const CONTROL = { id: "id", label: "zh", "label.zh": "zh", "label.en": "en", values: "items", methods: "items", items: "items", choices: "items", lot: "lot", field: "field", drop_extremes_from: "dropN", coefficient: "coef", "coefficient.draw": "coef", "coefficient.apply": "apply", when: "when" };

/** Adds the draws fieldset to the tender form (before its actions). */
export function drawForm(form, draft) {
  const existing = ((draft || {}).session || {}).draws || null;
  let commitment = existing && HEX64.test(existing.commitment || "") ? existing.commitment : null;
  let checked = false; // after the first save, problems are re-checked as staff type
  const draws = el("div", { id: "draws-list" });
  const formulas = el("div", { id: "formulas-list" });
  const reveal = el("input", { id: "draws-reveal-minutes", type: "number", min: 1, max: 10080, value: existing ? existing.reveal_minutes : 30 });
  const secretOut = el("p", { id: "draws-secret", class: "warning", hidden: true });
  const json = el("textarea", { id: "draws-json", rows: 10, spellcheck: false });
  const jsonStatus = el("div", { id: "draws-json-status", role: "status" });
  const problems = el("div", { id: "draws-problems" });
  const secretButton = el("button", { type: "button", class: "secondary", id: "draws-secret-make" }, t("draws.form.secret"));
  const drawBoxes = () => [...draws.children];
  const formulaBoxes = () => [...formulas.children];
  const terms = () => {
    const ds = drawBoxes().map((b) => b.read());
    const fs = formulaBoxes().map((b) => b.read());
    if (!ds.length && !fs.length) return null;
    return { draws: ds, formulas: fs, commitment: commitment || "", reveal_minutes: Number(reveal.value) };
  };
  const showSecretState = (secret) => {
    secretOut.hidden = !commitment;
    if (secret) secretOut.textContent = t("draws.form.secret.keep", { secret });
    else if (commitment) secretOut.textContent = t("drawsui.secret.kept", { c: commitment.slice(0, 16) });
  };
  const refresh = () => {
    const ds = drawBoxes().map((b) => b.read());
    drawBoxes().forEach((b, i) => b.show(i + 1));
    const lots = lotsOf(form);
    formulaBoxes().forEach((b, i) => b.show(i + 1, ds, lots));
    const now = terms();
    if (document.activeElement !== json) json.value = now ? JSON.stringify(now, null, 2) : "";
    if (checked) check();
  };
  const load = (d) => {
    draws.replaceChildren(...(d.draws || []).map((x, i) => drawBox(drawRow(x, i + 1), refresh)));
    formulas.replaceChildren(...(d.formulas || []).map((x, i) => formulaBox(formulaRow(x, i + 1), refresh)));
    if (d.reveal_minutes !== undefined) reveal.value = d.reveal_minutes;
    if (HEX64.test(d.commitment || "") && d.commitment !== commitment) {
      commitment = d.commitment;
      showSecretState(null);
    }
    refresh();
  };
  const mark = (box, problem) => {
    const out = box.querySelector(".d-problem, .p-problem");
    for (const c of Object.values(box.controls)) c.removeAttribute("aria-invalid");
    out.hidden = !problem;
    out.replaceChildren(...(problem ? problem.content || [problem.message] : []));
    if (problem && box.controls[problem.control]) {
      problem.focus = box.controls[problem.control];
      problem.focus.setAttribute("aria-invalid", "true");
    }
  };
  // Every problem the page can see, shown by its row and listed together.
  const check = () => {
    const found = [];
    const taken = [];
    const ds = drawBoxes().map((b) => b.read());
    drawBoxes().forEach((b, i) => {
      const p = drawProblem(ds[i], i + 1, taken);
      taken.push(ds[i].id);
      mark(b, p);
      if (p) found.push(p);
    });
    const lots = lotsOf(form);
    formulaBoxes().forEach((b, i) => {
      const f = b.read();
      const p = formulaProblem(f, i + 1, { lots, draws: ds, taken });
      taken.push(f.id);
      mark(b, p);
      if (p) found.push(p);
    });
    if (terms()) {
      const r = Number(reveal.value);
      if (!Number.isInteger(r) || r < 1 || r > 10080) found.push({ message: t("drawsui.err.reveal"), focus: reveal });
      if (!commitment) found.push({ message: t("drawsui.err.secret"), focus: secretButton });
    }
    problems.replaceChildren(...found.map((p) => el("p", { class: "error", role: "alert" }, p.message)));
    return found;
  };
  secretButton.addEventListener("click", async () => {
    const secret = random(32);
    commitment = hex(await sha256(concat(label("bidroom/v1/draw-commitment"), secret)));
    showSecretState(hex(secret));
    refresh();
  });
  const addDraw = () => {
    const n = draws.children.length + 1;
    draws.append(drawBox(drawRow({}, n), refresh));
    refresh();
    draws.lastChild.querySelector(".d-items").focus();
  };
  const addFormula = () => {
    const n = formulas.children.length + 1;
    const k = drawBoxes().map((b) => b.read()).find((d) => d.type === "value" && d.id);
    const lot = lotsOf(form)[0];
    formulas.append(formulaBox(formulaRow({ lot: lot ? lot.id : "1", coefficient: k ? { draw: k.id, apply: "times" } : null }, n), refresh));
    refresh();
    formulas.lastChild.querySelector(".p-id").focus();
  };
  const applyJson = () => {
    const s = json.value.trim();
    try {
      const d = s ? JSON.parse(s) : {};
      if (typeof d !== "object" || d === null || Array.isArray(d)) throw new Error(t("drawsui.json.object"));
      load(d);
      jsonStatus.replaceChildren();
    } catch (e) {
      jsonStatus.replaceChildren(el("p", { class: "error", role: "alert" }, t("draws.form.invalid", { error: e.message })));
    }
  };
  reveal.addEventListener("input", refresh);
  const box = el(
    "fieldset",
    { id: "draws-fieldset" },
    el("legend", {}, t("draws.form.title")),
    el("p", { class: "help" }, t("drawsui.help")),
    draws,
    formulas,
    el("div", { class: "actions" },
      el("button", { type: "button", class: "secondary", id: "draw-add", onclick: addDraw }, t("drawsui.draw.add")),
      el("button", { type: "button", class: "secondary", id: "formula-add", onclick: addFormula }, t("drawsui.formula.add"))),
    el("div", { class: "row" }, el("div", {}, el("label", { for: reveal.id }, t("drawsui.reveal")), reveal)),
    el("div", { class: "actions" }, secretButton),
    secretOut,
    problems,
    el("details", { id: "draws-advanced" },
      el("summary", {}, t("drawsui.advanced")),
      el("p", { class: "help" }, t("drawsui.advanced.help")),
      json,
      el("div", { class: "actions" }, el("button", { type: "button", class: "secondary", id: "draws-json-apply", onclick: applyJson }, t("drawsui.json.apply"))),
      jsonStatus),
  );
  const actions = form.querySelector("#save")?.closest(".actions");
  if (actions) actions.before(box);
  else form.append(box);
  load(existing || {});
  showSecretState(null);

  form.drawSession = () => {
    const now = terms();
    return now ? { session: { draws: now } } : {};
  };
  form.drawsReady = () => {
    checked = true;
    const found = check();
    if (found.length) (found[0].focus || box).focus();
    return found.length === 0;
  };
  form.drawServerError = (err) => {
    const m = /^session\.draws\.(draws|formulas)\[(\d+)\](?:\.([a-z_]+(?:\.[a-z_]+)?))?/.exec(err.field || "");
    const target = m ? (m[1] === "draws" ? drawBoxes() : formulaBoxes())[Number(m[2])] : null;
    if (target) {
      const problem = { control: CONTROL[m[3]] || "id", content: errorContent(err) };
      mark(target, problem);
      if (problem.focus) problem.focus.focus();
      return true;
    }
    const control = { "session.draws.commitment": secretButton, "session.draws.reveal_minutes": reveal }[err.field];
    if (!control) return false;
    control.focus();
    return true;
  };
}

/** What the form's draws add to the draft body. */
export const drawSession = (form) => (form.drawSession ? form.drawSession() : {});

/** Whether the draws pass the page's checks; if not, shows why and focuses the first problem. */
export const drawsReady = (form) => (form.drawsReady ? form.drawsReady() : true);

/** Shows a server error naming a draw or formula by that row; whether it did. */
export const drawServerError = (form, err) => (form.drawServerError ? form.drawServerError(err) : false);
