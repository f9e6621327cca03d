// The room's draws (docs/DRAWS.md): the declared rule from publication on,
// the host's commitment, then each result and reference price, recomputed
// here with WebCrypto (commitment, nonces from the published form keys,
// seed, the rejection-sampled streams, exact prices) and marked "verified
// in your browser" only when everything agrees with the log.

import { api, el } from "./common.js";
import { concat, equal, hex, label, sha256, u32be, unb64url, unhex, uuidBytes } from "./protocol/bytes.js";
import { onLanguageChange, pick, t } from "./i18n.js";
import { formulaPreview } from "./draw_rows.js";

const u64be = (n) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n));
  return b;
};

/** HKDF-SHA256(form key, salt = tender ‖ bid, L("bidroom/v1/draw-nonce")). */
async function nonce(tender, bid, formKey) {
  const key = await crypto.subtle.importKey("raw", formKey, "HKDF", false, ["deriveBits"]);
  const salt = concat(uuidBytes(tender), uuidBytes(bid));
  const bits = await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info: label("bidroom/v1/draw-nonce") }, key, 256);
  return new Uint8Array(bits);
}

/** A draw's stream: uniform(n) by rejection, Fisher–Yates permutations. */
function stream(seed, index) {
  let counter = 0;
  let block = new Uint8Array(0);
  let at = 32;
  const next = async () => {
    if (at === 32) {
      block = await sha256(concat(label("bidroom/v1/draw-stream"), seed, u32be(index), u64be(counter)));
      counter += 1;
      at = 0;
    }
    const x = new DataView(block.buffer, block.byteOffset).getUint32(at);
    at += 4;
    return x;
  };
  const uniform = async (n) => {
    if (n <= 1) return 0;
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const x = await next();
      if (x < limit) return x % n;
    }
  };
  const permutation = async (m) => {
    const a = [...Array(m).keys()];
    for (let i = m - 1; i >= 1; i--) {
      const j = await uniform(i + 1);
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  };
  return { uniform, permutation };
}

// Exact decimals: cents and ten-thousandths as BigInt.
function units(s, digits, maxWhole) {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(s || "");
  if (!m || m[1].length > maxWhole || (m[2] || "").length > digits) return null;
  return BigInt(m[1] + (m[2] || "").padEnd(digits, "0"));
}
const fmt = (v, digits) => {
  const s = v.toString().padStart(digits + 1, "0");
  return `${s.slice(0, -digits)}.${s.slice(-digits)}`;
};

function price(f, rows, drawn) {
  const prices = rows
    .filter((r) => r.lot === f.lot && r.above_ceiling !== true)
    .map((r) => units((r.fields || {})[f.field], 2, 30))
    .filter((v) => v !== null)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const valid = prices.length;
  const dropped = f.drop_extremes_from != null && valid >= f.drop_extremes_from && valid >= 3;
  const used = dropped ? prices.slice(1, -1) : prices;
  const sum = used.reduce((a, b) => a + b, 0n);
  let factor = null;
  if (f.coefficient && drawn[f.coefficient.draw] != null) {
    const k = units(drawn[f.coefficient.draw], 4, 2);
    factor = f.coefficient.apply === "one_minus" ? 10000n - k : k;
  }
  const out = { id: f.id, lot: f.lot, valid, used: used.length, dropped_extremes: dropped, sum: fmt(sum, 2), amount: null };
  if (factor !== null) out.factor = fmt(factor, 4);
  if (used.length === 0) return out;
  const num = sum * (factor === null ? 10000n : factor);
  const den = BigInt(used.length) * 10000n;
  const rem = num % den;
  const cents = num / den + (f.rounding === "down" ? 0n : rem >= den - rem ? 1n : 0n);
  out.amount = fmt(cents, 2);
  if (f.when && drawn[f.when.draw] !== f.when.method) out.amount = null;
  return out;
}

/** Recomputes `result` (a draw.result's data); returns the problems found. */
export async function recompute(tender, terms, result, revealed, rows) {
  const problems = [];
  let secret = null;
  if (result.host === "revealed") {
    if (!revealed) return ["no reveal logged"];
    secret = unhex(revealed.secret);
    const c = hex(await sha256(concat(label("bidroom/v1/draw-commitment"), secret)));
    if (c !== terms.commitment) problems.push("the secret does not open the commitment");
  }
  const opened = rows.filter((r) => r.status === "opened").sort((a, b) => a.position - b.position);
  const nonces = [];
  for (const r of opened) nonces.push(await nonce(tender, r.bid_id, unb64url(r.form_key)));
  const logged = (result.nonces || []).map((n) => n.nonce).join();
  if (nonces.map(hex).join() !== logged) problems.push("nonces");
  const flag = new Uint8Array([secret ? 1 : 0]);
  const seed = await sha256(concat(
    label("bidroom/v1/draw-seed"), uuidBytes(tender), u64be(result.record_size), unhex(result.record_head),
    flag, secret || new Uint8Array(32), u32be(nonces.length), ...nonces,
  ));
  if (!equal(seed, unhex(result.seed))) problems.push("seed");
  const drawn = {};
  for (const [i, d] of terms.draws.entries()) {
    const choices = d.values || d.methods || d.items;
    const s = stream(seed, i);
    const indices = d.type === "order" ? await s.permutation(choices.length) : [await s.uniform(choices.length)];
    const got = (result.draws || [])[i] || {};
    if (JSON.stringify(indices) !== JSON.stringify(got.indices)) problems.push(`draw ${d.id}`);
    drawn[d.id] = choices[indices[0]];
  }
  for (const [i, f] of (terms.formulas || []).entries()) {
    const mine = price(f, opened, drawn);
    const theirs = (result.prices || [])[i] || {};
    if (mine.amount !== theirs.amount || mine.sum !== theirs.sum || mine.used !== theirs.used) problems.push(`formula ${f.id}`);
  }
  return problems;
}

const TRUST = { server_only: "draws.trust.server_only", custodians: "draws.trust.custodians", bidder_held: "draws.trust.bidder_held" };

export function ruleOf(d) {
  const choices = d.values || d.methods || d.items;
  return el("li", {}, t(`draws.kind.${d.type}`, { label: pick(d.label), choices: choices.join(t("drawsui.list.sep")) }));
}

/** A formula as the room states it, naming drawn coefficients by their names. */
export function formulaOf(f, draws = [], lots = []) {
  return el("li", {}, formulaPreview({ ...f, rounding: f.rounding || "half_up" }, draws, lots));
}

/** Shows the tender's draws in a section after the record; polls until drawn. */
export function followDraws(main, tender) {
  const section = el("section", { class: "panel", id: "draws", hidden: true, "aria-live": "polite" });
  const record = main.querySelector("#record");
  if (record) record.after(section);
  else main.append(section);
  let view = null;
  let lots = []; // the tender's lots, to name a formula's price field
  let check = null; // { ok, problems } of the logged result
  const render = () => {
    if (!view || !view.terms) return;
    section.hidden = false;
    const terms = view.terms;
    const ev = (kind) => view.events.find((e) => e.type === kind);
    const result = ev("draw.result");
    const parts = [
      el("h2", {}, t("draws.title")),
      el("p", { class: "help", id: "draws-trust" }, t(TRUST[view.trust])),
      el("ul", { id: "draws-rules" }, ...terms.draws.map(ruleOf), ...(terms.formulas || []).map((f) => formulaOf(f, terms.draws, lots))),
      el("p", { class: "help" }, t("draws.commitment", { c: terms.commitment })),
    ];
    if (ev("draw.failed")) parts.push(el("p", { class: "warning", id: "draws-failed" }, t("draws.failed")));
    if (!result) {
      parts.push(el("p", {}, view.state ? t("draws.awaiting", { due: new Date(view.state.due_at).toLocaleString() }) : t("draws.before")));
    } else {
      const d = result.data;
      parts.push(el("ul", { id: "draws-results" },
        ...d.draws.map((r, i) => el("li", {}, `${pick(terms.draws[i].label)}${t("draws.colon")}${r.values.join(" → ")}`)),
        ...d.prices.map((p, i) => el("li", { class: "price" }, `${pick(terms.formulas[i].label)}${t("draws.colon")}${p.amount === null ? t("draws.price.none", { note: p.note || "" }) : p.amount}`)),
      ));
      parts.push(el("p", { class: "help" }, t("draws.seed", { seed: d.seed, host: t(`draws.host.${d.host}`) })));
      const mark = check === null ? t("draws.checking") : check.ok ? t("draws.verified") : t("draws.mismatch", { what: check.problems.join(", ") });
      parts.push(el("p", { id: "draws-check", class: check && check.ok ? "ok" : check ? "bad" : "" }, mark));
    }
    section.replaceChildren(...parts);
  };
  const load = async () => {
    try {
      view = await api("GET", `/tenders/${tender}/draws`);
      if (!lots.length && view.terms) lots = (await api("GET", `/tenders/${tender}`)).lots || [];
    } catch {
      return false;
    }
    const result = view.events.find((e) => e.type === "draw.result");
    if (result && check === null) {
      render();
      try {
        const rows = (await api("GET", `/tenders/${tender}/record`)).rows;
        const revealed = view.events.find((e) => e.type === "draw.revealed");
        const problems = await recompute(tender, view.terms, result.data, revealed && revealed.data, rows);
        check = { ok: problems.length === 0, problems };
      } catch (e) {
        check = { ok: false, problems: [e.message] };
      }
    }
    render();
    return Boolean(result) || !view.terms;
  };
  const poll = async () => {
    if (!(await load())) setTimeout(poll, 5000);
  };
  onLanguageChange(render);
  poll();
}
