// Follows a tender's live socket (docs/LIVE.md): hello, the replay after
// the last seq this page holds, live events, checkpoint and presence frames.
// Reconnects with backoff and resumes from the last seq, so the page sees
// every event exactly once and in order. Falls back to polling the events
// API only where WebSockets are unavailable.

import { api } from "./common.js";

const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];
const POLL_MS = 2000;
// Sockets that never open in a row before we decide the network blocks them.
const FAILS_BEFORE_POLLING = 4;

/**
 * `handlers`: `hello(frame)`, `events([event])` (in order, no gaps, no
 * repeats), `checkpoint(note, size)`, `presence({viewers, bidders})`,
 * `status({mode, connected, retryIn})` where mode is "socket" or "poll",
 * `other(frame)` for any other frame (the answers to a sign-in).
 */
export class LiveFeed {
  constructor(tenderId, handlers, { after = 0 } = {}) {
    this.id = tenderId;
    this.h = handlers;
    this.lastSeq = after;
    this.attempt = 0;
    this.neverOpened = 0;
    this.mode = typeof WebSocket === "function" ? "socket" : "poll";
    this.ws = null;
    this.timer = null;
    this.stopped = false;
  }

  start() {
    if (this.mode === "socket") this.connect();
    else this.poll();
    return this;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close(1000);
  }

  /** Sends a message on the socket; false when there is none open. */
  send(message) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  status(extra = {}) {
    if (this.h.status) this.h.status({ mode: this.mode, connected: false, ...extra });
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}/api/v1/tenders/${this.id}/live?after=${this.lastSeq}`;
  }

  connect() {
    if (this.stopped) return;
    let opened = false;
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch {
      this.mode = "poll";
      this.poll();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      opened = true;
      this.neverOpened = 0;
    };
    ws.onmessage = (m) => {
      let frame;
      try {
        frame = JSON.parse(m.data);
      } catch {
        return;
      }
      this.onFrame(frame, ws);
    };
    ws.onclose = () => {
      if (this.ws !== ws || this.stopped) return;
      this.ws = null;
      if (!opened) this.neverOpened++;
      if (this.neverOpened >= FAILS_BEFORE_POLLING) {
        this.mode = "poll";
        this.poll();
        return;
      }
      const base = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
      this.attempt++;
      // Jitter so that a restarted server is not hit by every viewer at once.
      const delay = Math.round(base * (0.75 + Math.random() * 0.5));
      this.status({ retryIn: delay });
      this.timer = setTimeout(() => this.connect(), delay);
    };
  }

  onFrame(frame, ws) {
    switch (frame.type) {
      case "hello":
        this.attempt = 0;
        if (this.h.hello) this.h.hello(frame);
        if (this.h.status) this.h.status({ mode: "socket", connected: true });
        break;
      case "event":
        this.accept([frame.event], ws);
        break;
      case "checkpoint":
        if (this.h.checkpoint) this.h.checkpoint(frame.note, frame.size);
        break;
      case "presence":
        if (this.h.presence) this.h.presence(frame);
        break;
      default:
        // Answers to what this page sent (`signed_in`, `error`).
        if (this.h.other) this.h.other(frame);
        break;
    }
  }

  /** Hands on events in order; drops repeats; a gap means a missed frame, so resume. */
  accept(events, ws) {
    const fresh = [];
    for (const ev of events) {
      if (ev.seq <= this.lastSeq) continue;
      if (ev.seq !== this.lastSeq + 1) {
        if (ws) ws.close(4001, "gap");
        break;
      }
      fresh.push(ev);
      this.lastSeq = ev.seq;
    }
    if (fresh.length && this.h.events) this.h.events(fresh);
  }

  async poll() {
    if (this.stopped) return;
    try {
      const page = await api("GET", `/tenders/${this.id}/events?after=${this.lastSeq}`);
      if (this.h.status) this.h.status({ mode: "poll", connected: true });
      this.accept(page.events, null);
      if (this.h.checkpoint) {
        const cp = await api("GET", "/log/checkpoint").catch(() => null);
        if (cp && cp.note) this.h.checkpoint(cp.note, cp.size);
      }
    } catch {
      this.status({ retryIn: POLL_MS });
    }
    this.timer = setTimeout(() => this.poll(), POLL_MS);
  }
}
