// `/tenders/{id}/custodian`: a custodian loads its key file (unlocked in
// this browser only), and once the opening has started decrypts its share
// of every bid locally (HPKE), checks each against its commitment, and
// releases them with its release token and a proof of its key: a fresh
// server challenge, HPKE-sealed to the registered key, opened here.

import { b64url, concat, fromUtf8, hex, label, sha256, unb64url, utf8, uuidBytes } from "./bytes.js";
import { api, el, initPage, nn, requireSecureContext, serverClock, showError, showStatus, tenderIdFromPath } from "./common.js";
import * as hpke from "./hpke.js";
import { onLanguageChange, t } from "./i18n.js";
import { WrongPassphrase, importCustodianKey } from "./keyfile.js";
import { followStage } from "./stage.js";

const id = tenderIdFromPath();
const main = document.getElementById("main");
let tender = null;
let custodian = null; // {key, index, id}

/** Decrypts this custodian's share of each public bid; throws on a share that does not match. */
async function decryptShares(key, index) {
  const t16 = uuidBytes(id);
  const out = [];
  for (const pub of await api("GET", `/tenders/${id}/envelopes`)) {
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
  }
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
  release.addEventListener("click", async () => {
    try {
      tender = await api("GET", `/tenders/${id}`);
      if (tender.state !== "opening") {
        showStatus(result, t("cust.waiting", { state: t(`state.${tender.state}`) }), "warn");
        return;
      }
      const shares = await decryptShares(custodian.key, custodian.index);
      if (!shares.length) return showStatus(result, t("cust.none"), "warn");
      const proof = await prove(custodian.key, custodian.id);
      const answer = await api("POST", `/tenders/${id}/opening/release`, { body: { shares, proof }, token: token.value.trim() });
      result.replaceChildren(
        ...nn(
          el("p", { class: "ok" }, t("cust.decrypted", { n: shares.length })),
          el("p", { class: answer.bad.length ? "error" : "ok", role: "status", id: "released" }, t("cust.released", { accepted: answer.accepted, duplicates: answer.duplicates, bad: answer.bad.length })),
          el("p", {}, el("a", { href: `/tenders/${id}` }, t("back"))),
        ),
      );
    } catch (err) {
      showError(result, err);
    }
  });
  main.replaceChildren(
    el("h1", {}, `${t("cust.title")}: ${tender.title}`),
    el("p", {}, el("a", { href: `/tenders/${id}` }, t("back")), " · ", el("span", { id: "tender-state" }, t(`state.${tender.state}`))),
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
  // The custodian sees the stage and the release window's time left.
  let stage = followStage(document.getElementById("stage"), id);
  onLanguageChange(() => {
    stage = followStage(document.getElementById("stage"), id);
  });
  setInterval(async () => {
    try {
      tender = await api("GET", `/tenders/${id}`);
      stage.refresh();
      const s = document.getElementById("tender-state");
      if (s) s.textContent = t(`state.${tender.state}`);
    } catch {
      // Shown on the next action.
    }
  }, 3000);
}

onLanguageChange(() => tender && render());
start();
