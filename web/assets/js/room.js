// `/tenders/{id}`: the public room. Facts, custody policy in words, a
// countdown on the server's clock, the bid count and who is watching, the
// video stream beside the log head, the event timeline and the record as
// they happen (live socket), and a mark saying what this browser verified
// against the signed log.

import { api, el, initPage, nn, serverClock, showError, tenderIdFromPath } from "./common.js";
import { awaitingBidders } from "./decrypt.js";
import { fmtDuration, fmtTime, onLanguageChange, pick, t, viewerZone } from "./i18n.js";
import { bidderName, describe } from "./events.js";
import { renderReleases, tickReleases } from "./releases.js";
import { LiveFeed } from "./live.js";
import { recordTables, verifyOpenedBid } from "./record.js";
import { renderStream } from "./stream.js";
import { LogFollower } from "./protocol/verify.js";
import { followStage, touchesSession } from "./stage.js";
import { mountRoomObjections, touchesObjections } from "./objections.js";
import { followDraws } from "./draws.js";
import { allEnvelopes } from "./envelopes.js";

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
  presence: null, // {viewers, bidders}
  live: { mode: "socket", connected: false },
  closedBids: null, // bids standing at the close
};

function custodyText(tender) {
  const policy = tender.custody;
  const names = policy.custodians.map((cid) => {
    if (cid === "server") return t("room.custody.server");
    if (cid === "bidder") return t("room.custody.bidder");
    const c = state.custodians.find((x) => x.id === cid);
    return c && c.name ? t("custodian.named", { name: c.name, id: cid }) : cid;
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
          lot.fields.map((f) => el("li", {}, pick(f.label), f.required ? t("ui.required.mark") : "", " — ", t(`type.${f.type}`))),
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
  renderAwaiting();
}

/** Bidder-held custody: how many bids still wait for their bidder to decrypt (decrypt.js). */
function renderAwaiting() {
  renderReleases(state);
  const box = document.getElementById("custody");
  if (!box || !state.tender) return;
  const held = state.tender.state === "opening" && state.tender.custody.custodians.includes("bidder");
  const n = held ? awaitingBidders(state.events) : null;
  let p = document.getElementById("decrypt-awaiting");
  if (n === null) return p?.remove();
  if (!p) box.append((p = el("p", { id: "decrypt-awaiting" })));
  p.textContent = t("dec.awaiting", { n });
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
    heading = t("room.countdown.closed.opening");
    value = fmtDuration(opening - now);
  } else if (x.state === "opened") heading = t("room.countdown.opened");
  else heading = x.state === "published" ? t("room.countdown.closed") : t("room.countdown.due");
  document.getElementById("countdown-label").textContent = heading;
  document.getElementById("countdown").textContent = value;
  document.getElementById("servertime").textContent = t("room.servertime.at", { at: fmtTime(new Date(now)) });
  document.getElementById("zone").textContent = t("room.zone", { zone: viewerZone(), server: serverClock.zone });
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
  const reading = state.stage && state.stage.view && state.stage.view.stage === "announcement" ? r.rows.filter((x) => x.status === "opened").pop() : null;
  const prices = ((state.tender.session || {}).prices || []).map((p) => el("p", { class: "price", dataset: { kind: p.kind } }, t(`record.${p.kind}`, { lot: p.lot, amount: p.amount })));
  const check = {
    head: t("record.check"),
    cls: "check",
    cell: (row) => {
      const c = state.rowChecks.get(row.bid_id);
      if (row.status !== "opened") return "—";
      if (!c) return "…";
      return el("span", { class: c.ok ? "ok" : "bad" }, c.ok ? t("record.check.ok") : t("record.check.fail", { reason: c.error }));
    },
  };
  box.replaceChildren(
    el("h2", {}, t("record.title")),
    ...prices,
    recordTables({ id: "record-table", tender: state.tender, rows: r.rows, bidderName, reading, extra: [check] }),
    el("p", { class: "help" }, r.complete ? t("record.final") : t("record.pending", { n: r.pending })),
  );
}

/** The record as far as the events tell it: each outcome event is a row, as in `GET …/record`. */
function recordFromEvents() {
  const rows = state.events
    .filter((e) => ["bid.opened", "bid.rejected", "bid.unopened"].includes(e.type))
    .map((e) => ({ ...e.data, status: e.type.slice(4), log_index: e.log_index }))
    .sort((x, y) => x.position - y.position);
  const started = state.events.some((e) => e.type === "opening.started");
  if (!started && !rows.length) return null;
  const complete = state.events.some((e) => e.type === "record.published");
  const pending = state.closedBids === null ? 0 : Math.max(0, state.closedBids - rows.length);
  return { rows, complete, pending };
}

/** Checks each opened row's form in this browser against the public envelopes. */
async function checkRows() {
  if (!state.record) return;
  const need = state.record.rows.filter((r) => r.status === "opened" && !state.rowChecks.has(r.bid_id));
  if (need.length && need.some((r) => !state.envelopes.has(r.bid_id))) {
    for (const b of await allEnvelopes(id)) state.envelopes.set(b.bid_id, b);
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

function renderTimeline() {
  // Newest first: a viewer joining late sees what just happened at the top.
  const items = state.events.slice().reverse().map((ev) => {
    const check = state.checks.get(ev.seq);
    const cls = check ? (check.ok ? "ok" : "bad") : "";
    return el(
      "li",
      { class: cls, dataset: { seq: ev.seq, type: ev.type } },
      el("time", { datetime: ev.at }, `#${ev.seq} · ${fmtTime(ev.at)}`),
      el("span", {}, describe(ev, state.custodians)),
      check ? el("span", { class: "check" }, ` — ${check.ok ? "✓ " + t("room.verify.event.ok") : "✗ " + t("ui.pair", { label: t("room.verify.event.fail"), value: check.error })}`) : null,
    );
  });
  document.getElementById("timeline").replaceChildren(
    el("h2", {}, t("room.timeline")),
    items.length ? el("ol", { class: "timeline", id: "events", reversed: true }, items) : el("p", {}, t("room.timeline.none")),
  );
}

function renderBids() {
  const p = state.presence;
  document.getElementById("bids").replaceChildren(
    ...nn(el("h2", {}, t("room.bids")),
    el("p", { class: "bigcount", id: "bid-count" }, state.bids === null ? "…" : String(state.bids)),
    // Before the opening only the count is public; once it runs, the record says who.
    ["draft", "published", "closed"].includes(state.tender.state)
      ? el("p", { class: "help", id: "bids-note" }, t("room.bids.note"))
      : ["opening", "opened"].includes(state.tender.state)
        ? el("p", { class: "help", id: "bids-note" }, t("room.bids.note.after"))
        : null,
    p ? el("p", { id: "presence" }, t("room.presence", { viewers: p.viewers, bidders: p.bidders })) : null),
  );
}

function renderLive() {
  const box = document.getElementById("live-status");
  if (!box) return;
  const l = state.live;
  let text;
  if (l.mode === "poll") text = t(l.connected ? "room.live.poll" : "error.network");
  else if (l.connected) text = t("room.live.on");
  else if (l.retryIn) text = t("room.live.retry", { s: Math.max(1, Math.round(l.retryIn / 1000)) });
  else text = t("room.live.connecting");
  box.dataset.mode = l.mode;
  box.dataset.connected = String(!!l.connected);
  box.textContent = text;
}

function renderHead() {
  renderStream(document.getElementById("stream"), state.tender.stream, state.follower.checkpoint);
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
    // One plain sentence; how it was checked is folded away (it would fill a phone's first screen).
    box.replaceChildren(
      el("p", { class: "mark" }, "✓ " + t("room.verify.ok", { n })),
      el(
        "details",
        { id: "verify-details" },
        el("summary", {}, t("room.verify.how")),
        ...nn(el("p", {}, t("room.verify.detail", { size: cp.size, log: state.follower.verifier.name })),
        state.follower.consistencyChecks ? el("p", {}, t("room.verify.consistency", { checks: state.follower.consistencyChecks })) : null,
        opened ? el("p", { id: "record-verified" }, t("room.verify.record", { n: opened })) : null),
      ),
    );
  } else {
    box.className = "verify";
    box.dataset.status = "pending";
    box.replaceChildren(el("p", {}, t("room.verify.pending")));
  }
  box.append(evidenceLink());
}

// The evidence bundle: every public artifact in one file, for checking
// offline later (`bidroom verify --bundle FILE`).
function evidenceLink() {
  const id = state.tender.id;
  return el("p", { class: "evidence" },
    el("a", { id: "evidence-download", href: `/api/v1/tenders/${id}/evidence`, download: `evidence-${id}.tar` }, t("room.evidence")),
    " ", t("room.evidence.hint"));
}

function renderAll() {
  if (!state.tender) return;
  renderFacts();
  renderClock();
  renderBids();
  renderLive();
  renderHead();
  renderTimeline();
  renderRecord();
  renderVerify();
  if (state.objections) state.objections.render(state.events);
}

// Events that change the tender's facts: read them again (debounced).
const FACT_EVENTS = new Set(["tender.amended", "tender.closed", "tender.cancelled", "opening.started", "record.published", "tender.stream_changed", "tender.failed", "session.terminated"]);
let factsTimer = null;
function refetchTender() {
  clearTimeout(factsTimer);
  factsTimer = setTimeout(async () => {
    try {
      state.tender = await api("GET", `/tenders/${id}`);
      renderFacts();
      renderClock();
      renderHead();
    } catch {
      // The next fact event retries; the timeline is already current.
    }
  }, 200);
}

function onEvents(events) {
  let facts = false;
  for (const ev of events) {
    state.events.push(ev);
    const d = ev.data || {};
    if (ev.type === "bid.received" || ev.type === "bid.withdrawn") state.bids = d.bids_received;
    if (ev.type === "tender.closed") {
      state.closedBids = d.bids;
      state.bids = d.bids;
    }
    if (FACT_EVENTS.has(ev.type)) facts = true;
    // The state at once; the other facts follow with the re-read.
    const next = { "tender.closed": "closed", "tender.cancelled": "cancelled", "opening.started": "opening", "record.published": "opened", "session.terminated": "terminated" }[ev.type] || (ev.type === "tender.failed" && d.whole ? "failed" : undefined);
    if (next && state.tender) state.tender.state = next;
  }
  if (facts) {
    renderFacts();
    refetchTender();
  }
  if (state.stage && events.some(touchesSession)) state.stage.refresh();
  if (state.objections && touchesObjections(events)) state.objections.render(state.events);
  state.record = recordFromEvents();
  renderAwaiting();
  renderBids();
  renderTimeline();
  renderRecord();
  renderVerify();
  scheduleVerify();
}

// One verification pass at a time, in order; the short delay lets the
// checkpoint frame that follows a batch of events arrive first.
let verifying = false;
let verifyAgain = false;
function scheduleVerify() {
  if (verifying) {
    verifyAgain = true;
    return;
  }
  verifying = true;
  setTimeout(async () => {
    do {
      verifyAgain = false;
      for (const ev of state.events) {
        if (state.checks.has(ev.seq)) continue;
        try {
          await state.follower.verifyEvent(ev);
          state.checks.set(ev.seq, { ok: true });
        } catch (e) {
          state.checks.set(ev.seq, { ok: false, error: e.message });
        }
        renderTimeline();
      }
      try {
        await checkRows();
      } catch (e) {
        state.failure = e.message;
      }
      renderTimeline();
      renderRecord();
      renderVerify();
      renderHead();
    } while (verifyAgain);
    verifying = false;
  }, 50);
}

const handlers = {
  hello(frame) {
    serverClock.fromHello(frame);
    if (frame.checkpoint) state.follower.offer(frame.checkpoint.note, frame.checkpoint.size);
  },
  events: onEvents,
  checkpoint(note, size) {
    state.follower.offer(note, size);
    // Keep the log head beside the video current, without a check per frame.
    scheduleHead();
  },
  presence(p) {
    state.presence = { viewers: p.viewers, bidders: p.bidders };
    renderBids();
  },
  status(s) {
    state.live = s;
    renderLive();
  },
};

let headTimer = null;
function scheduleHead() {
  if (headTimer) return;
  headTimer = setTimeout(async () => {
    headTimer = null;
    if (verifying || !state.follower.verifier || !state.follower.pending) return;
    try {
      await state.follower.refresh(0);
    } catch (e) {
      state.failure = e.message;
      renderVerify();
    }
    renderHead();
  }, 2000);
}

async function start() {
  initPage();
  try {
    await serverClock.sync();
    state.tender = await api("GET", `/tenders/${id}`);
    state.custodians = await api("GET", "/custodians").catch(() => []);
    state.bids = (await api("GET", `/tenders/${id}/bids`)).count;
  } catch (e) {
    showError(main, e);
    return;
  }
  main.replaceChildren(
    el("h1", { id: "title" }, state.tender.title),
    el("section", { class: "panel stage", id: "stage", hidden: true, "aria-live": "polite" }),
    el("div", { id: "net" }),
    // As the broadcast it is: stage and countdown, the video, the record being read, then the rest.
    el("section", { class: "panel", id: "stream", hidden: true }),
    el("section", { class: "panel", id: "record", hidden: true, "aria-live": "polite" }),
    el("section", { class: "verify", id: "verify", "aria-live": "polite" }),
    el(
      "section",
      { class: "panel", id: "clock", "aria-labelledby": "countdown-label" },
      el("h2", { id: "countdown-label" }),
      el("p", { class: "countdown", id: "countdown", role: "timer", "aria-live": "off" }),
      el("p", { id: "servertime" }),
      el("p", { class: "help", id: "zone" }),
      el("p", { class: "help", id: "live-status", role: "status" }),
    ),
    el("section", { class: "panel", id: "bids", "aria-live": "polite" }),
    el("section", { class: "panel", id: "custody" }),
    el("section", { id: "actions" }),
    el("section", { id: "timeline", "aria-live": "polite" }),
    el("section", { class: "panel", id: "facts", "aria-labelledby": "h-facts" }),
  );
  initPage();
  state.objections = mountRoomObjections(main, id);
  state.stage = followStage(document.getElementById("stage"), id);
  followDraws(main, id);
  renderAll();
  try {
    await state.follower.init();
  } catch (e) {
    state.failure = e.message;
  }
  setInterval(renderClock, 250);
  setInterval(() => tickReleases(state), 1000);
  setInterval(() => serverClock.sync().catch(() => {}), 60000);
  state.feed = new LiveFeed(id, handlers).start();
}

onLanguageChange(renderAll);
start();
