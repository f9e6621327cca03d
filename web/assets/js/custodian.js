// `/tenders/{id}/custodian`: what the CLI shows (opening time, countdown,
// release deadline, bid count, threshold); a custodian loads its key file
// (unlocked in this browser only), and once the opening has started
// decrypts its share of every bid locally (HPKE), checks each against its
// commitment, and — after a yes — releases them with its release token and
// a proof of its key: a fresh server challenge, HPKE-sealed to the
// registered key, opened here. Too early or too late, it says which.

import { b64url, concat, fromUtf8, hex, label, sha256, unb64url, utf8, uuidBytes } from "./protocol/bytes.js";
import { api, el, initPage, nn, requireSecureContext, serverClock, showError, showStatus, tenderIdFromPath } from "./common.js";
import * as hpke from "./protocol/hpke.js";
import { fmtDuration, fmtTime, onLanguageChange, t } from "./i18n.js";
import { WrongPassphrase, importCustodianKey } from "./protocol/keyfile.js";
import { forEachEnvelope } from "./envelopes.js";
import { followStage } from "./stage.js";

const id = tenderIdFromPath();
const main = document.getElementById("main");
let tender = null;
let custodian = null; // {key, index, id}

/** Decrypts this custodian's share of each public bid; throws on a share that does not match. */
async function decryptShares(key, index) {
  const t16 = uuidBytes(id);
  const out = [];
  await forEachEnvelope(id, async (pub) => {
    const env = JSON.parse(fromUtf8(unb64url(pub.envelope)));
    const entry = env.shares.find((s) => s.index === index);
    const b16 = uuidBytes(env.bid_id);
    const idx = new Uint8Array([index]);
    const info = concat(label("bidroom/v1/share-info"), t16, b16, idx);
    const aad = concat(label("bidroom/v1/share-aad"), key.pub);
    const share = await hpke.open(unb64url(entry.enc), key.privateKey, key.pub, info, aad, unb64url(entry.ct));
    const commitment = hex(await sha256(concat(label("bidroom/v1/share-commitment"), t16, b16, idx, share)));
    if (share[0] !== index || commitment !== entry.commitment) throw new Error(`the share of bid ${env.bid_id} does not match its commitment`);
    out.push({ bid_id: env.bid_id, share: b64url(share) });
  });
  return out;
}

/** Answers a `release` challenge for this tender: the nonce the server sealed to the registered key. */
async function prove(key, custodianId) {
  const tenderId = id.toLowerCase();
  const ch = await api("POST", `/custodians/${encodeURIComponent(custodianId)}/challenges`, { body: { purpose: "release", tender: tenderId } });
  const info = concat(label("bidroom/v1/custodian-challenge"), label(custodianId), label("release"), utf8(tenderId));
  const nonce = await hpke.open(unb64url(ch.enc), key.privateKey, key.pub, info, new Uint8Array(0), unb64url(ch.ciphertext));
  return { challenge_id: ch.challenge_id, response: b64url(nonce) };
}

/** When bids open: the stated opening time, or the deadline. */
const openingAt = () => tender.opening_at || tender.deadline;

/** "early", "open" or "late" for a release now, from the tender's state and the session's window. */
function releasePhase(view) {
  if (["draft", "published", "closed"].includes(tender.state)) return "early";
  if (tender.state !== "opening") return "late";
  if (view && view.release_until && serverClock.now() > Date.parse(view.release_until)) return "late";
  return "open";
}

/** What the CLI prints before it asks: opening time, countdown, release deadline, bids, the threshold. */
function factsPanel() {
  return el(
    "section",
    { class: "panel", id: "cust-facts", "aria-labelledby": "h-cust-facts" },
    el("h2", { id: "h-cust-facts" }, t("cust.facts")),
    el(
      "dl",
      { class: "facts" },
      el("dt", {}, t("cust.opening")),
      el("dd", { id: "cust-opening" }, fmtTime(openingAt())),
      el("dt", {}, t("cust.countdown")),
      el("dd", { id: "cust-countdown", class: "countdown-line" }),
      el("dt", {}, t("cust.until")),
      el("dd", { id: "cust-until" }),
      el("dt", {}, t("cust.bids")),
      el("dd", { id: "cust-bids" }, "…"),
      el("dt", {}, t("cust.threshold")),
      el("dd", { id: "cust-threshold" }, t("cust.threshold.text", { k: tender.custody.threshold, n: tender.custody.custodians.length })),
    ),
  );
}

/** Fills the changing facts (every second, on the server clock). */
function tickFacts(view) {
  const left = Date.parse(openingAt()) - serverClock.now();
  const countdown = document.getElementById("cust-countdown");
  if (!countdown) return;
  const phase = releasePhase(view);
  countdown.textContent = phase === "early" ? (left > 0 ? fmtDuration(left) : t("cust.countdown.due")) : phase === "open" ? t("cust.countdown.open") : t("cust.countdown.over");
  // Before the opening the window is the stated one; once it runs, the session's (holds and extensions move it).
  const until = view && view.release_until ? Date.parse(view.release_until) : Date.parse(openingAt()) + tender.custody.release_window_minutes * 60000;
  const untilLeft = until - serverClock.now();
  document.getElementById("cust-until").textContent =
    phase === "open" && untilLeft > 0 ? t("cust.until.left", { at: fmtTime(new Date(until)), left: fmtDuration(untilLeft) }) : t(phase === "early" ? "cust.until.planned" : "cust.until.at", { at: fmtTime(new Date(until)), minutes: tender.custody.release_window_minutes });
}

async function countBids() {
  const box = document.getElementById("cust-bids");
  try {
    const s = await api("GET", `/tenders/${id}/bids`);
    if (box) box.textContent = t("cust.bids.n", { n: s.count });
  } catch {
    // Left as it was; the next tick tries again.
  }
}

let stage = null;

function render() {
  const file = el("input", { type: "file", id: "keyfile", accept: ".json,application/json" });
  const pass = el("input", { type: "password", id: "passphrase", autocomplete: "current-password" });
  const token = el("input", { type: "password", id: "release-token", autocomplete: "off", "aria-describedby": "token-help" });
  const status = el("div", { id: "custodian-status", "aria-live": "polite" });
  const result = el("div", { id: "release-status", "aria-live": "polite" });
  const release = el("button", { type: "button", id: "release", hidden: true }, t("cust.decrypt"));
  const form = el(
    "form",
    { class: "panel", id: "load-key" },
    el("h2", {}, t("cust.key")),
    el("label", { for: "keyfile" }, t("bid.keyfile")),
    file,
    el("label", { for: "passphrase" }, t("bid.passphrase")),
    pass,
    el("div", { class: "actions" }, el("button", { type: "submit" }, t("cust.load"))),
    status,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      if (!file.files[0]) throw new Error(t("bid.keyfile"));
      const key = await importCustodianKey(await file.files[0].text(), pass.value);
      const pk = b64url(key.pub);
      const mine = (tender.custody_keys ? tender.custody_keys.custodians : []).find((c) => c.public_key === pk);
      custodian = mine ? { key, index: mine.index, id: mine.id } : null;
      status.replaceChildren(el("p", { class: mine ? "ok" : "error", role: "status", id: "key-status" }, mine ? t("cust.loaded", { id: key.id, index: mine.index }) : t("cust.notcustodian")));
      release.hidden = !mine;
    } catch (err) {
      showError(status, err instanceof WrongPassphrase ? new Error(t("bid.keyfile.wrong")) : err);
    }
  });
  // Two steps, as the CLI: decrypt and check here, then release only after a yes.
  release.addEventListener("click", async () => {
    try {
      tender = await api("GET", `/tenders/${id}`);
      const view = stage && stage.view;
      const phase = releasePhase(view);
      if (phase === "early") {
        const left = Date.parse(openingAt()) - serverClock.now();
        result.replaceChildren(el("p", { class: "warn", role: "status", id: "release-early" }, t("cust.early", { at: fmtTime(openingAt()), left: fmtDuration(Math.max(0, left)) })));
        return;
      }
      if (phase === "late") {
        result.replaceChildren(el("p", { class: "error", role: "status", id: "release-late" }, t("cust.late", { state: t(`state.${tender.state}`) })));
        return;
      }
      const shares = await decryptShares(custodian.key, custodian.index);
      if (!shares.length) return showStatus(result, t("cust.none"), "warn");
      const go = el("button", { type: "button", class: "danger", id: "release-confirm" }, t("cust.confirm.go", { n: shares.length }));
      const cancel = el("button", { type: "button", class: "secondary", id: "release-cancel", onclick: () => result.replaceChildren(el("p", { class: "help", id: "release-cancelled" }, t("cust.confirm.cancelled"))) }, t("cust.confirm.cancel"));
      go.addEventListener("click", async () => {
        go.disabled = true;
        try {
          const proof = await prove(custodian.key, custodian.id);
          const answer = await api("POST", `/tenders/${id}/opening/release`, { body: { shares, proof }, token: token.value.trim() });
          result.replaceChildren(
            ...nn(
              el("p", { class: "ok" }, t("cust.decrypted", { n: shares.length })),
              el("p", { class: answer.bad.length ? "error" : "ok", role: "status", id: "released" }, t("cust.released", { accepted: answer.accepted, duplicates: answer.duplicates, bad: answer.bad.length })),
              el("p", {}, el("a", { href: `/tenders/${id}` }, t("cust.watch"))),
            ),
          );
        } catch (err) {
          go.disabled = false;
          showError(result, err);
        }
      });
      result.replaceChildren(
        el(
          "div",
          { class: "warning", id: "release-question", role: "alert" },
          el("p", {}, t("cust.decrypted", { n: shares.length })),
          el("p", {}, el("strong", {}, t("cust.confirm", { n: shares.length, title: tender.title }))),
          el("div", { class: "actions" }, go, cancel),
        ),
      );
      go.focus();
    } catch (err) {
      showError(result, err);
    }
  });
  main.replaceChildren(
    el("h1", {}, t("cust.heading", { title: tender.title })),
    el("p", {}, el("a", { href: `/tenders/${id}` }, t("back")), " · ", el("span", { id: "tender-state" }, t(`state.${tender.state}`))),
    factsPanel(),
    el("section", { class: "panel stage", id: "stage", hidden: true, "aria-live": "polite" }),
    form,
    el(
      "section",
      { class: "panel" },
      el("label", { for: "release-token" }, t("cust.token")),
      token,
      el("p", { class: "help", id: "token-help" }, t("cust.token.help")),
      el("div", { class: "actions" }, release),
      result,
    ),
  );
  stage = followStage(document.getElementById("stage"), id);
  tickFacts(null);
  countBids();
}

async function start() {
  initPage();
  // Sealing and decrypting need WebCrypto: say so plainly rather than fail later.
  if (!requireSecureContext(main)) return;
  try {
    tender = await api("GET", `/tenders/${id}`);
  } catch (e) {
    showError(main, e);
    return;
  }
  await serverClock.sync().catch(() => {});
  render();
  setInterval(() => tickFacts(stage && stage.view), 1000);
  setInterval(async () => {
    try {
      tender = await api("GET", `/tenders/${id}`);
      stage.refresh();
      countBids();
      const s = document.getElementById("tender-state");
      if (s) s.textContent = t(`state.${tender.state}`);
    } catch {
      // Shown on the next action.
    }
  }, 3000);
}

onLanguageChange(() => tender && render());
start();
