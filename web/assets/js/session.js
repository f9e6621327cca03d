// The staff console's session view of one tender: the live timeline (the
// same socket as the public room), bids received, each custodian's release,
// warnings, the record with document downloads for evaluators, and the
// record's export (CSV for spreadsheets, JSON), plus the room's video stream.

import { api, el, nn, serverClock, showError, showStatus } from "./common.js";
import { bidderName, custodianLabel, describe } from "./events.js";
import { fmtDuration, fmtTime, t } from "./i18n.js";
import { LiveFeed } from "./live.js";
import { recordTables } from "./record.js";
import { hostControls, stageStrip, touchesSession } from "./stage.js";
import { summarize } from "./objections.js";
import { drawRevealPanel } from "./draw_reveal.js";
import { mountHostQuestions } from "./questions.js";

const STREAM_STATES = ["draft", "published", "closed", "opening"];

/** Opens the session view of `tender` in `box`; returns a function that stops it. */
export function openSession(box, tender, { token, me, custodians, onChange }) {
  const s = { tender, events: [], presence: null, live: null, manifests: new Map(), shown: new Set(), session: null };
  // The session's stage and the host's controls (officers and admins only).
  const readSession = async () => {
    s.session = await call("GET", `/tenders/${tender.id}/session`).catch(() => s.session);
    renderStage();
    if (box.querySelector("#session-body")) render();
  };
  function renderStage() {
    const holder = box.querySelector("#session-stage");
    if (holder) holder.replaceChildren(...stageStrip(s.session), ...nn(hostControls(s.session, { token, me, onDone: readSession })));
  }
  const call = (method, path, body) => api(method, path, { body, token });
  const isEvaluator = me.role === "evaluator" || me.role === "admin";
  const manages = me.role === "officer" || me.role === "admin";
  // Kept across renders: what the host typed stays (draw_reveal.js).
  const drawPanel = drawRevealPanel(tender, { token, me });

  const outcomes = () => s.events.filter((e) => ["bid.opened", "bid.rejected", "bid.unopened"].includes(e.type));
  const closed = () => s.events.find((e) => e.type === "tender.closed");
  const bidsNow = () => {
    let n = 0;
    for (const e of s.events) {
      if (e.type === "bid.received" || e.type === "bid.withdrawn") n = e.data.bids_received;
      if (e.type === "tender.closed") n = e.data.bids;
    }
    return n;
  };

  function releases() {
    return s.tender.custody.custodians.map((cid) => {
      if (cid === "bidder") {
        // Bidder-held shares: one `bidder.released` per bid.
        const ev = s.events.filter((e) => e.type === "bidder.released");
        return { cid, at: ev.length ? ev[ev.length - 1].at : null, shares: ev.length, bad: ev.filter((e) => !e.data.good).length };
      }
      const ev = s.events.filter((e) => e.type === "custodian.released" && e.data.custodian === cid);
      const shares = ev.reduce((a, e) => a + (e.data.shares || 0), 0);
      const bad = ev.reduce((a, e) => a + ((e.data.bad_shares || []).length), 0);
      return { cid, at: ev.length ? ev[ev.length - 1].at : null, shares, bad };
    });
  }

  function warnings() {
    const out = [];
    const c = closed();
    if (c && c.data.bids < 3) out.push(t("session.warn.fewreceived", { n: c.data.bids }));
    const opened = outcomes().filter((e) => e.type === "bid.opened").length;
    const done = s.events.some((e) => e.type === "record.published");
    if (done && opened < 3) out.push(t("session.warn.fewopened", { n: opened }));
    const started = s.events.find((e) => e.type === "opening.started");
    if (started && !done) {
      const missing = releases().filter((r) => !r.at).map((r) => custodianLabel(r.cid, custodians));
      if (missing.length) {
        const until = Date.parse(started.data.release_until);
        const left = until - serverClock.now();
        out.push(
          left > 0
            ? t("session.warn.norelease", { list: missing.join(", "), until: fmtTime(started.data.release_until), left: fmtDuration(left) })
            : t("session.warn.windowover", { list: missing.join(", ") }),
        );
      }
    }
    return out;
  }

  function streamForm() {
    if (!manages || !STREAM_STATES.includes(s.tender.state)) return null;
    const cur = s.tender.stream;
    const url = el("input", { id: "stream-url", type: "url", inputmode: "url", value: cur ? cur.url : "", required: true, pattern: "https:.+" });
    const kind = el("select", { id: "stream-kind" }, ["video", "embed"].map((k) => el("option", { value: k, selected: cur ? cur.kind === k : k === "video" }, t(`session.stream.kind.${k}`))));
    const status = el("div", { id: "stream-status" });
    const form = el(
      "form",
      { id: "stream-form", class: "panel" },
      el("h3", {}, t("session.stream")),
      el("p", { class: "help" }, t("session.stream.help")),
      el("div", { class: "row" }, el("div", {}, el("label", { for: "stream-url" }, t("session.stream.url")), url), el("div", { class: "shrink" }, el("label", { for: "stream-kind" }, t("session.stream.kind")), kind)),
      el(
        "div",
        { class: "actions" },
        el("button", { type: "submit", id: "stream-save" }, t("session.stream.save")),
        cur ? el("button", { type: "button", class: "secondary", id: "stream-remove", onclick: () => change("DELETE") }, t("session.stream.remove")) : null,
      ),
      status,
    );
    async function change(method) {
      try {
        s.tender = await call(method, `/tenders/${s.tender.id}/stream`, method === "PUT" ? { url: url.value.trim(), kind: kind.value } : undefined);
        render();
        renderForm();
        showStatus(box.querySelector("#stream-status"), t(method === "PUT" ? "session.stream.saved" : "session.stream.removed"));
        if (onChange) onChange();
      } catch (err) {
        showError(status, err);
        if (err.field === "url") url.focus();
      }
    }
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      change("PUT");
    });
    return form;
  }

  function docList(row, cell) {
    const m = s.manifests.get(row.bid_id);
    cell.replaceChildren(
      m.documents.length
        ? el("ul", { class: "docs" }, m.documents.map((d) => el("li", {}, el("button", { type: "button", class: "secondary doc", dataset: { index: d.index }, onclick: () => fetchDocument(row, d, cell) }, t("session.docs.download", { name: d.name, size: Math.ceil(d.length / 1024) })))))
        : el("span", {}, t("session.docs.none")),
    );
  }

  async function showDocuments(row, cell) {
    try {
      if (!s.manifests.has(row.bid_id)) s.manifests.set(row.bid_id, await call("GET", `/tenders/${s.tender.id}/bids/${row.bid_id}/documents`));
      s.shown.add(row.bid_id);
      docList(row, cell);
      cell.querySelector("button")?.focus();
    } catch (err) {
      showError(cell, err);
    }
  }

  // A plain link cannot carry the staff token: ask for a one-minute link
  // and let the browser stream the document straight to disk.
  async function fetchDocument(row, d, cell) {
    try {
      const link = await call("POST", `/tenders/${s.tender.id}/bids/${row.bid_id}/documents/${d.index}/link`);
      const a = el("a", { href: link.url, download: d.name, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
    } catch (err) {
      showError(cell, err);
    }
  }

  function recordTable() {
    const rows = outcomes().map((e) => ({ ...e.data, status: e.type.slice(4) }));
    if (!rows.length) return el("p", { class: "help" }, t("session.record.none"));
    const docs = {
      head: t("session.docs"),
      cls: "docs-cell",
      cell: (row) => {
        const cell = el("div");
        if (row.status === "opened" && s.shown.has(row.bid_id)) docList(row, cell);
        else if (row.status === "opened") cell.append(el("button", { type: "button", class: "secondary show-docs", onclick: () => showDocuments(row, cell) }, t("session.docs.show")));
        return cell;
      },
    };
    return recordTables({ id: "session-record", tender: s.tender, rows, bidderName, extra: isEvaluator ? [docs] : [] });
  }

  function liveLine() {
    const line = box.querySelector("#session-live");
    if (!line) return;
    const state = s.live && s.live.connected ? t("room.live.on") : t("room.live.connecting");
    line.textContent = s.presence ? `${state} · ${t("room.presence", { viewers: s.presence.viewers, bidders: s.presence.bidders })}` : state;
  }

  /** The stream form apart from the rest, so live updates keep what is being typed. */
  function renderForm() {
    const holder = box.querySelector("#session-stream");
    if (holder) holder.replaceChildren(...nn(streamForm()));
  }

  // --- session (issue 12): the objection queue, answers, announcements, the end ---
  const drafts = new Map();
  const draftBox = (key, attrs) => {
    const area = el("textarea", { ...attrs, rows: "2" });
    area.value = drafts.get(key) || "";
    area.addEventListener("input", () => drafts.set(key, area.value));
    return area;
  };
  function objectionPanel() {
    const stage = s.session && s.session.stage;
    if (!["announcement", "confirmation", "closed"].includes(stage)) return null;
    const sum = summarize(s.events);
    const open = sum.objections.filter((o) => !sum.answers.has(o.objection));
    const status = el("div", { id: "host-objections-status", "aria-live": "polite" });
    const send = (f) => async () => {
      try {
        await f();
        await readSession();
      } catch (e) {
        showError(status, e);
      }
    };
    const queue = open.map((o) => {
      const key = `answer:${o.objection}`;
      return el("li", { class: "objection waiting", dataset: { objection: o.objection } },
        el("p", {}, el("strong", {}, bidderName(o.bidder)), " · ", t("host.obj.waited", { time: fmtDuration(Math.max(0, serverClock.now() - Date.parse(o.at))) })),
        el("blockquote", {}, o.text),
        manages && stage !== "closed"
          ? el("div", {}, draftBox(key, { class: "answer-text", "aria-label": t("host.obj.answer") }),
            el("button", { type: "button", class: "answer-send", onclick: send(async () => {
              await call("POST", `/tenders/${s.tender.id}/objections/${o.objection}/answer`, { answer: drafts.get(key) || "" });
              drafts.delete(key);
            }) }, t("host.obj.answer.send")))
          : null);
    });
    const canEnd = manages && stage === "confirmation" && open.length === 0;
    return el("section", { class: "panel", id: "session-objections" },
      el("h3", {}, t("host.obj.title", { n: open.length })),
      open.length ? el("ol", { class: "objections", id: "objection-queue" }, queue) : el("p", {}, t("host.obj.none")),
      manages && stage !== "closed"
        ? el("div", {}, el("h4", {}, t("ann.title")), draftBox("announcement", { id: "announcement-text", maxlength: "500", "aria-label": t("host.ann.text") }),
          el("button", { type: "button", id: "announcement-send", onclick: send(async () => {
            await call("POST", `/tenders/${s.tender.id}/announcements`, { text: drafts.get("announcement") || "" });
            drafts.delete("announcement");
          }) }, t("host.ann.send")))
        : null,
      manages && stage === "confirmation"
        ? el("p", { class: "actions" }, el("button", { type: "button", id: "session-end", disabled: !canEnd, title: canEnd ? "" : t("host.end.waiting"), onclick: send(async () => {
          if (!confirm(t("host.end.confirm"))) return;
          await call("POST", `/tenders/${s.tender.id}/session`, { action: "end" });
        }) }, t("host.end")))
        : null,
      stage === "closed" && sum.ended ? el("p", {}, el("a", { href: `/tenders/${s.tender.id}/record/print`, id: "print-record" }, t("final.print"))) : null,
      status);
  }

  function render() {
    if (!box.querySelector("#session-body")) {
      box.replaceChildren(el("div", { id: "session-head" }), el("section", { class: "panel stage", id: "session-stage" }), el("div", { id: "session-stream" }), el("div", { id: "session-questions-box" }), el("div", { id: "session-body" }));
      renderStage();
      renderForm();
      // Bidders' questions: private, so polled with the staff token (no event).
      if (tender.state !== "draft") stopQuestions = mountHostQuestions(box.querySelector("#session-questions-box"), tender.id, { call, manages });
    }
    const body = box.querySelector("#session-body");
    const x = s.tender;
    const ref = encodeURIComponent(x.reference);
    const sessionOn = ["closed", "opening", "opened"].includes(x.state);
    const warns = sessionOn ? warnings() : [];
    box.querySelector("#session-head").replaceChildren(
      el("h2", { id: "session-title", tabindex: "-1" }, t("session.title", { title: x.title }), " ", el("span", { class: `badge ${x.state}` }, t(`state.${x.state}`))),
      el("p", { class: "help", id: "session-live", role: "status" }),
    );
    body.replaceChildren(
      ...nn(
        sessionOn && warns.length ? el("div", { class: "warnings", id: "session-warnings", role: "alert" }, el("ul", {}, warns.map((w) => el("li", {}, "⚠ ", w)))) : null,
        x.state === "draft" ? null : el("div", { class: "row" },
          el("section", { class: "panel" }, el("h3", {}, t("room.bids")), el("p", { class: "bigcount", id: "session-bids" }, String(bidsNow()))),
          el("section", { class: "panel" }, el("h3", {}, t("session.custodians")),
            el("ul", { id: "session-custodians" }, releases().map((r) => el("li", { dataset: { custodian: r.cid, released: String(!!r.at) } },
              custodianLabel(r.cid, custodians), ": ",
              r.at ? t(r.bad ? "session.released.bad" : "session.released", { at: fmtTime(r.at), shares: r.shares, bad: r.bad }) : t("session.notreleased")))))),
        sessionOn
          ? el("section", { class: "panel", id: "session-record-box" },
            el("h3", {}, t("record.title")),
            recordTable(),
            ["opening", "opened"].includes(x.state)
              ? el("p", { class: "actions" },
                el("a", { class: "button secondary", id: "export-csv", href: `/api/v1/tenders/${x.id}/record.csv`, download: `record-${ref}.csv` }, t("session.export.csv")),
                el("a", { class: "button secondary", id: "export-json", href: `/api/v1/tenders/${x.id}/record`, download: `record-${ref}.json` }, t("session.export.json")))
              : null)
          : null,
        objectionPanel(),
        x.state === "opened" ? drawPanel : null,
        el("section", { class: "panel" }, el("h3", {}, t("room.timeline")),
          s.events.length
            ? el("ol", { class: "timeline", id: "session-events" }, s.events.map((ev) => el("li", { dataset: { seq: ev.seq, type: ev.type } }, el("time", { datetime: ev.at }, `#${ev.seq} · ${fmtTime(ev.at)}`), el("span", {}, describe(ev, custodians)))))
            : el("p", {}, t("room.timeline.none"))),
      ),
    );
    liveLine();
  }

  let stopQuestions = null;
  let feed = null;
  // Drafts are not public and have no live stream of events.
  if (tender.state !== "draft") {
    feed = new LiveFeed(tender.id, {
      hello: (h) => serverClock.fromHello(h),
      events: async (evs) => {
        s.events.push(...evs);
        if (evs.some(touchesSession)) readSession();
        if (evs.some((e) => e.type.startsWith("tender.") || e.type === "opening.started" || e.type === "record.published")) {
          s.tender = await call("GET", `/tenders/${s.tender.id}`).catch(() => s.tender);
          if (onChange) onChange();
          if (!evs.every((e) => e.type === "tender.stream_changed")) renderForm();
        }
        render();
      },
      presence: (p) => {
        s.presence = p;
        liveLine();
      },
      status: (st) => {
        s.live = st;
        liveLine();
      },
    }).start();
  }
  // Warnings count down the release window.
  const tick = setInterval(() => {
    if (s.tender.state === "opening") render();
  }, 15000);
  const stageTick = setInterval(renderStage, 1000);
  render();
  if (tender.state !== "draft") readSession();
  return () => {
    if (feed) feed.stop();
    if (stopQuestions) stopQuestions();
    clearInterval(tick);
    clearInterval(stageTick);
  };
}
