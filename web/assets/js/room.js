// `/tenders/{id}`: the public room. Facts, custody policy in words, a
// countdown on the server's clock, the bid count, the event timeline, and
// a mark saying what this browser verified against the signed log.

import { api, el, initPage, nn, serverClock, showError, tenderIdFromPath } from "./common.js";
import { fmtDuration, fmtTime, onLanguageChange, pick, t, viewerZone } from "./i18n.js";
import { verifyOpenedBid } from "./record.js";
import { LogFollower } from "./verify.js";

const POLL_MS = 2000;
const id = tenderIdFromPath();
const main = document.getElementById("main");
const state = {
  tender: null,
  custodians: [],
  events: [],
  checks: new Map(), // seq -> {ok, error}
  bids: null,
  record: null,
  envelopes: new Map(), // bid id -> public bid
  rowChecks: new Map(), // bid id -> {ok, error}
  failure: null,
  follower: new LogFollower(),
};

function custodyText(tender) {
  const policy = tender.custody;
  const names = policy.custodians.map((cid) => {
    if (cid === "server") return t("room.custody.server");
    const c = state.custodians.find((x) => x.id === cid);
    return c && c.name ? `${c.name} (${cid})` : cid;
  });
  const list = names.join(", ");
  const k = policy.threshold;
  const n = policy.custodians.length;
  return `${n === 1 ? t("room.custody.one", { list }) : t("room.custody.text", { k, n, list })} ${t("room.custody.window", { m: policy.release_window_minutes })}`;
}

function renderFacts() {
  const x = state.tender;
  document.title = `${x.title} · bidroom`;
  const lots = el(
    "ul",
    {},
    x.lots.map((lot) =>
      el(
        "li",
        {},
        t("room.lot", { id: lot.id, title: lot.title }),
        el(
          "ul",
          {},
          lot.fields.map((f) => el("li", {}, pick(f.label), f.required ? ` (${t("room.required")})` : "", " — ", t(`type.${f.type}`))),
        ),
      ),
    ),
  );
  document.getElementById("facts").replaceChildren(
    ...nn(el("h2", { id: "h-facts" }, t("room.facts")),
    x.description ? el("p", {}, x.description) : null,
    el(
      "dl",
      { class: "facts" },
      el("dt", {}, t("state")),
      el("dd", {}, el("span", { class: `badge ${x.state}`, id: "state" }, t(`state.${x.state}`))),
      el("dt", {}, t("room.reference")),
      el("dd", {}, x.reference),
      el("dt", {}, t("room.buyer")),
      el("dd", {}, x.buyer),
      el("dt", {}, t("room.deadline")),
      el("dd", {}, fmtTime(x.deadline)),
      el("dt", {}, t("room.opening")),
      el("dd", {}, fmtTime(x.opening_at)),
      el("dt", {}, t("room.currency")),
      el("dd", {}, x.currency),
      el("dt", {}, t("room.registration")),
      el("dd", {}, t(`registration.${x.registration}`)),
    ),
    el("h3", {}, t("room.lots")),
    lots),
  );
  document.getElementById("custody").replaceChildren(
    el("h2", {}, t("room.custody")),
    el("p", { id: "custody-text" }, custodyText(x)),
  );
  const actions = [];
  if (x.state === "published") actions.push(el("a", { class: "button", href: `/tenders/${id}/bid`, id: "bid-link" }, t("room.bid.link")));
  if (x.state !== "cancelled") actions.push(el("a", { class: "button secondary", href: `/tenders/${id}/custodian` }, t("room.custodian.link")));
  document.getElementById("actions").replaceChildren(...(actions.length ? [el("h2", {}, t("room.actions")), el("div", { class: "actions" }, actions)] : []));
}

function renderClock() {
  const x = state.tender;
  if (!x) return;
  const now = serverClock.now();
  const deadline = Date.parse(x.deadline);
  const opening = Date.parse(x.opening_at);
  let heading;
  let value = "";
  if (x.state === "cancelled") heading = t("room.countdown.cancelled");
  else if (x.state === "published" && now < deadline) {
    heading = t("room.countdown.deadline");
    value = fmtDuration(deadline - now);
  } else if (now < opening) {
    heading = `${t("room.countdown.closed")} ${t("room.countdown.opening")}`;
    value = fmtDuration(opening - now);
  } else if (x.state === "opened") heading = t("room.countdown.opened");
  else heading = x.state === "published" ? t("room.countdown.closed") : t("room.countdown.due");
  document.getElementById("countdown-label").textContent = heading;
  document.getElementById("countdown").textContent = value;
  document.getElementById("servertime").textContent = `${t("room.servertime")}: ${fmtTime(new Date(now))}`;
  document.getElementById("zone").textContent = t("room.zone", { zone: viewerZone(), server: serverClock.zone });
}

function custodianName(cid) {
  if (cid === "server") return t("room.custody.server");
  const c = state.custodians.find((x) => x.id === cid);
  return c && c.name ? `${c.name} (${cid})` : cid;
}

const bidderName = (b) => (b ? b.name || b.id : "?");

function fieldText(row) {
  const lot = state.tender.lots.find((l) => l.id === row.lot);
  const values = row.fields || {};
  // In the lot's field order, as on the paper 开标记录表.
  const keys = [...(lot ? lot.fields.map((f) => f.key) : []), ...Object.keys(values)].filter((k, i, all) => k in values && all.indexOf(k) === i);
  return keys
    .map((k) => {
      const f = lot && lot.fields.find((x) => x.key === k);
      return `${f ? pick(f.label) : k}: ${values[k]}`;
    })
    .join("; ");
}

function renderRecord() {
  const box = document.getElementById("record");
  const r = state.record;
  if (!r) {
    box.replaceChildren();
    box.hidden = true;
    return;
  }
  box.hidden = false;
  const rows = r.rows.map((row) => {
    const check = state.rowChecks.get(row.bid_id);
    const checkText = row.status !== "opened" ? "—" : !check ? "…" : check.ok ? t("record.check.ok") : t("record.check.fail", { reason: check.error });
    return el(
      "tr",
      { dataset: { bid: row.bid_id, status: row.status } },
      el("td", {}, String(row.position)),
      el("td", {}, bidderName(row.bidder)),
      el("td", {}, row.lot),
      el("td", {}, fmtTime(row.received_at)),
      el("td", {}, t(`record.status.${row.status}`)),
      el("td", { class: "fields" }, row.status === "opened" ? fieldText(row) : row.reason || ""),
      el("td", { class: `check ${check ? (check.ok ? "ok" : "bad") : ""}` }, checkText),
    );
  });
  box.replaceChildren(
    el("h2", {}, t("record.title")),
    el(
      "div",
      { class: "table-wrap" },
      el(
        "table",
        { id: "record-table" },
        el("thead", {}, el("tr", {}, ["record.no", "record.bidder", "record.lot", "record.received", "record.status", "room.lots", "record.check"].map((k) => el("th", { scope: "col" }, k === "room.lots" ? pick({ zh: "开标记录表字段", en: "Fields" }) : t(k))))),
        el("tbody", {}, rows),
      ),
    ),
    el("p", { class: "help" }, r.complete ? t("record.final") : t("record.pending", { n: r.pending })),
  );
}

async function refreshRecord() {
  if (!["opening", "opened"].includes(state.tender.state)) return;
  state.record = await api("GET", `/tenders/${id}/record`);
  const need = state.record.rows.filter((r) => r.status === "opened" && !state.rowChecks.has(r.bid_id));
  if (need.length && need.some((r) => !state.envelopes.has(r.bid_id))) {
    for (const b of await api("GET", `/tenders/${id}/envelopes`)) state.envelopes.set(b.bid_id, b);
  }
  for (const row of need) {
    const pub = state.envelopes.get(row.bid_id);
    try {
      if (!pub) throw new Error("the envelope is not public");
      await verifyOpenedBid(id, row, pub);
      state.rowChecks.set(row.bid_id, { ok: true });
    } catch (e) {
      state.rowChecks.set(row.bid_id, { ok: false, error: e.message });
    }
  }
}

function describe(ev) {
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
        ? t("ev.custodian.released.bad", { custodian: custodianName(d.custodian), shares: d.shares, bad: d.bad_shares.length })
        : t("ev.custodian.released", { custodian: custodianName(d.custodian), shares: d.shares });
    case "bid.opened":
    case "bid.rejected":
    case "bid.unopened":
      return t(`ev.${ev.type}`, { position: d.position, bidder: bidderName(d.bidder), lot: d.lot, reason: d.reason });
    case "record.published":
      return t("ev.record.published", { opened: d.opened, rejected: d.rejected, unopened: d.unopened });
    case "documents.accessed":
      return t("ev.documents.accessed");
    default:
      return t("ev.other", { type: ev.type });
  }
}

function renderTimeline() {
  const items = state.events.map((ev) => {
    const check = state.checks.get(ev.seq);
    const cls = check ? (check.ok ? "ok" : "bad") : "";
    return el(
      "li",
      { class: cls, dataset: { seq: ev.seq, type: ev.type } },
      el("time", { datetime: ev.at }, `#${ev.seq} · ${fmtTime(ev.at)}`),
      el("span", {}, describe(ev)),
      check ? el("span", { class: "check" }, ` — ${check.ok ? "✓ " + t("room.verify.event.ok") : "✗ " + t("room.verify.event.fail") + ": " + check.error}`) : null,
    );
  });
  document.getElementById("timeline").replaceChildren(
    el("h2", {}, t("room.timeline")),
    items.length ? el("ol", { class: "timeline", id: "events" }, items) : el("p", {}, t("room.timeline.none")),
  );
}

function renderBids() {
  document.getElementById("bids").replaceChildren(
    el("h2", {}, t("room.bids")),
    el("p", { class: "bigcount", id: "bid-count" }, state.bids === null ? "…" : String(state.bids)),
    el("p", { class: "help" }, t("room.bids.note")),
  );
}

function renderVerify() {
  const box = document.getElementById("verify");
  const n = state.events.length;
  const failed = [...state.checks.values(), ...state.rowChecks.values()].filter((c) => !c.ok);
  const opened = [...state.rowChecks.values()].filter((c) => c.ok).length;
  const cp = state.follower.checkpoint;
  if (state.failure || failed.length) {
    box.className = "verify bad";
    box.dataset.status = "failed";
    box.replaceChildren(el("p", { class: "mark" }, "✗ " + t("room.verify.fail", { reason: state.failure || failed[0].error })));
  } else if (n > 0 && state.checks.size === n && cp) {
    box.className = "verify ok";
    box.dataset.status = "verified";
    box.replaceChildren(
      ...nn(el("p", { class: "mark" }, "✓ " + t("room.verify.ok", { n })),
      el("p", {}, t("room.verify.detail", { size: cp.size, log: state.follower.verifier.name })),
      state.follower.consistencyChecks ? el("p", {}, t("room.verify.consistency", { checks: state.follower.consistencyChecks })) : null,
      opened ? el("p", { id: "record-verified" }, t("room.verify.record", { n: opened })) : null),
    );
  } else {
    box.className = "verify";
    box.dataset.status = "pending";
    box.replaceChildren(el("p", {}, t("room.verify.pending")));
  }
}

function renderAll() {
  if (!state.tender) return;
  renderFacts();
  renderClock();
  renderBids();
  renderTimeline();
  renderRecord();
  renderVerify();
}

async function verifyNew() {
  for (const ev of state.events) {
    if (state.checks.has(ev.seq)) continue;
    try {
      await state.follower.verifyEvent(ev);
      state.checks.set(ev.seq, { ok: true });
    } catch (e) {
      state.checks.set(ev.seq, { ok: false, error: e.message });
    }
  }
}

async function poll() {
  const after = state.events.length ? state.events[state.events.length - 1].seq : 0;
  const page = await api("GET", `/tenders/${id}/events?after=${after}`);
  const fresh = page.events.filter((e) => e.seq > after);
  const summary = await api("GET", `/tenders/${id}/bids`);
  state.bids = summary.count;
  if (fresh.length || page.last_seq !== (state.tender && state.tender.last_seq)) {
    state.tender = await api("GET", `/tenders/${id}`);
    state.events.push(...fresh);
    renderFacts();
    renderTimeline();
    if (fresh.length && state.follower.verifier) {
      try {
        await state.follower.refresh();
      } catch (e) {
        state.failure = e.message;
      }
      await verifyNew();
    }
    renderTimeline();
    await refreshRecord();
    renderRecord();
  }
  renderBids();
  renderVerify();
}

async function loop() {
  try {
    await poll();
    document.getElementById("net").replaceChildren();
  } catch (e) {
    showError(document.getElementById("net"), e.status ? e : new Error(t("error.network")));
  }
  setTimeout(loop, POLL_MS);
}

async function start() {
  initPage();
  try {
    await serverClock.sync();
    state.tender = await api("GET", `/tenders/${id}`);
    state.custodians = await api("GET", "/custodians").catch(() => []);
  } catch (e) {
    showError(main, e);
    return;
  }
  main.replaceChildren(
    el("h1", { id: "title" }, state.tender.title),
    el("div", { id: "net" }),
    el("section", { class: "verify", id: "verify", "aria-live": "polite" }),
    el("section", { class: "panel", id: "record", hidden: true, "aria-live": "polite" }),
    el(
      "section",
      { class: "panel", id: "clock", "aria-labelledby": "countdown-label" },
      el("h2", { id: "countdown-label" }),
      el("p", { class: "countdown", id: "countdown", role: "timer", "aria-live": "off" }),
      el("p", { id: "servertime" }),
      el("p", { class: "help", id: "zone" }),
      el("p", { class: "help" }, el("span", { "data-i18n": "room.live.poll" })),
    ),
    el("section", { class: "panel", id: "bids", "aria-live": "polite" }),
    el("section", { class: "panel", id: "custody" }),
    el("section", { id: "actions" }),
    el("section", { id: "timeline", "aria-live": "polite" }),
    el("section", { class: "panel", id: "facts", "aria-labelledby": "h-facts" }),
  );
  initPage();
  renderAll();
  try {
    await state.follower.init();
  } catch (e) {
    state.failure = e.message;
  }
  setInterval(renderClock, 250);
  setInterval(() => serverClock.sync().catch(() => {}), 60000);
  loop();
}

onLanguageChange(renderAll);
start();
