// The bid page's "decrypt my bid" (bidder-held custody, 远程解密): the
// bidder's decryption key (made here, kept in this browser or a key file,
// bound to its identity by a signature), and during the decryption window
// the bidder's own share opened here with WebCrypto and released signed.
// The private keys never leave the browser. PROTOCOL.md, "Bidder-held shares".

import { b64url, concat, equal, fromUtf8, hex, label, sha256, unb64url, uuidBytes } from "./protocol/bytes.js";
import { api, download, el, nn, serverClock, showError, showStatus } from "./common.js";
import * as hpke from "./protocol/hpke.js";
import { fmtTime, t } from "./i18n.js";
import * as keys from "./protocol/keyfile.js";
import { BIDDER_CUSTODIAN } from "./protocol/seal.js";
import { allEnvelopes } from "./envelopes.js";

/** Does this tender's policy give each bidder a share of its own bid? */
export const bidderHeld = (tender) => !!(tender.custody_keys && tender.custody_keys.custodians.some((c) => c.id === BIDDER_CUSTODIAN));

/**
 * How many standing bids still wait for their bidder's share, from the
 * tender's events (never more than the bids standing at the close).
 */
export function awaitingBidders(events) {
  const closed = events.find((e) => e.type === "tender.closed");
  if (!closed) return null;
  const released = new Set(events.filter((e) => e.type === "bidder.released").map((e) => e.data.envelope_hash));
  const decided = new Set(events.filter((e) => ["bid.opened", "bid.rejected", "bid.unopened"].includes(e.type)).map((e) => e.data.envelope_hash));
  const done = new Set([...released, ...decided]);
  return Math.max(0, closed.data.bids - done.size);
}

const i64be = (n) => {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigInt64(0, BigInt(n));
  return out;
};

/** Signs and registers `key` as the bidder's decryption key (replacing `current`, if any). */
async function registerKey(identity, key, current) {
  const previous = current ? unb64url(current.public_key) : null;
  const msg = concat(label("bidroom/v1/bidder-decryption-key"), identity.pub, key.pub, previous || new Uint8Array(65));
  const signature = await keys.sign(identity.privateKey, msg);
  return api("PUT", `/bidders/${identity.id}/decryption-key`, {
    body: { public_key: b64url(key.pub), previous: previous ? b64url(previous) : null, signature: b64url(signature) },
  });
}

/** Opens this bidder's share of one served bid; throws if it does not open or match its commitment. */
async function openOwnShare(tenderId, served, key) {
  const env = JSON.parse(fromUtf8(unb64url(served.envelope)));
  const slot = env.custody.custodians.find((c) => c.id === BIDDER_CUSTODIAN);
  if (!slot || !equal(unb64url(slot.public_key), key.pub)) throw new Error(t("dec.otherkey"));
  const entry = env.shares.find((s) => s.index === slot.index);
  const bound = (l) => concat(label(l), uuidBytes(tenderId), uuidBytes(served.bid_id));
  const idx = new Uint8Array([slot.index]);
  const skR = await hpke.importPrivate(key.scalar, key.pub);
  const share = await hpke.open(unb64url(entry.enc), skR, key.pub, concat(bound("bidroom/v1/share-info"), idx), concat(label("bidroom/v1/share-aad"), key.pub), unb64url(entry.ct));
  const commitment = hex(await sha256(concat(bound("bidroom/v1/share-commitment"), idx, share)));
  if (commitment !== entry.commitment) throw new Error(t("dec.badshare"));
  return share;
}

/** Decrypts and releases this bidder's shares of the tender's bids; returns how many. */
async function decryptMine(tender, identity, key) {
  const served = await allEnvelopes(tender.id);
  const mine = served.filter((b) => JSON.parse(fromUtf8(unb64url(b.envelope))).bidder_public_key === b64url(identity.pub));
  await serverClock.sync();
  let released = 0;
  for (const b of mine) {
    const share = await openOwnShare(tender.id, b, key);
    const signedAt = Math.floor(serverClock.now() / 1000);
    const msg = concat(label("bidroom/v1/bidder-release"), uuidBytes(tender.id), uuidBytes(b.bid_id), share, i64be(signedAt));
    const signature = await keys.sign(identity.privateKey, msg);
    try {
      await api("POST", `/tenders/${tender.id}/bids/${b.bid_id}/bidder-release`, { body: { share: b64url(share), signed_at: signedAt, signature: b64url(signature) } });
      released++;
    } catch (e) {
      if (e.code !== "already_released") throw e;
    }
  }
  return { mine: mine.length, released };
}

/** The refusals of this panel, in the visitor's language (the server's sentence is English). */
const CODES = ["window_over", "not_opening", "already_released", "stale_release", "bad_signature", "stale_decryption_key", "decryption_key_taken"];
const localized = (e) => (e && CODES.includes(e.code) ? new Error(t(`dec.err.${e.code}`)) : e);

function countdown(until) {
  const out = el("strong", { id: "decrypt-countdown", "aria-live": "off" });
  const tick = () => {
    const left = Math.max(0, Math.floor((Date.parse(until) - serverClock.now()) / 1000));
    const m = Math.floor(left / 60);
    const s = String(left % 60).padStart(2, "0");
    out.textContent = left > 0 ? t("dec.left", { time: `${m}:${s}`, until: fmtTime(until) }) : t("dec.over");
    if (left > 0 && out.isConnected !== false) setTimeout(tick, 1000);
  };
  tick();
  return out;
}

/**
 * The "decrypt my bid" panel, or null when the tender's bidders hold no
 * share. `identity` and `bidder` as on the bid page.
 */
export function decryptSection({ tender, identity, bidder }) {
  if (!bidderHeld(tender)) return null;
  const box = el("section", { class: "panel", id: "decrypt", "aria-labelledby": "h-decrypt" });
  box.append(el("h2", { id: "h-decrypt" }, t("dec.title")), el("p", { class: "help" }, t("dec.help")));
  if (!identity || !bidder) return box;
  const status = el("div", { id: "decrypt-status", "aria-live": "polite" });
  const keyText = el("p", { id: "decrypt-key" });
  const actions = el("div", { class: "actions" });
  const pass = el("input", { type: "password", id: "dec-pass", autocomplete: "new-password" });
  const file = el("input", { type: "file", id: "dec-keyfile", accept: ".json,application/json" });
  box.append(keyText, el("label", { for: "dec-pass" }, t("bid.passphrase")), pass, el("label", { for: "dec-keyfile" }, t("dec.keyfile")), file, actions, status);

  const refresh = async () => {
    const local = (await keys.loadDecryptionKey().catch(() => undefined)) || null;
    const current = await api("GET", `/bidders/${identity.id}/decryption-key`).catch(() => null);
    const registered = local && current && current.public_key === b64url(local.pub);
    keyText.className = registered ? "ok" : "warn";
    keyText.textContent = registered ? t("dec.key.ready") : local ? t("dec.key.unregistered") : t("dec.key.none");
    const button = (idName, text, run, cls = "secondary") =>
      el("button", { type: "button", id: idName, class: cls, onclick: async () => {
        try {
          await run();
        } catch (e) {
          showError(status, e instanceof keys.WrongPassphrase ? new Error(t("bid.keyfile.wrong")) : localized(e));
        }
      } }, text);
    actions.replaceChildren(...nn(
      !local && button("dec-generate", t("dec.generate"), async () => {
        const k = await keys.generateDecryptionKey();
        await keys.storeDecryptionKey(k);
        await registerKey(identity, k, current);
        showStatus(status, t("dec.registered"));
        await refresh();
      }),
      button("dec-import", t("dec.import"), async () => {
        if (!file.files[0]) throw new Error(t("dec.keyfile"));
        const k = await keys.importDecryptionKey(await file.files[0].text(), pass.value);
        await keys.storeDecryptionKey(k);
        if (!current || current.public_key !== b64url(k.pub)) await registerKey(identity, k, current);
        showStatus(status, t("dec.registered"));
        await refresh();
      }),
      local && !registered && button("dec-register", t("dec.register"), async () => {
        await registerKey(identity, local, current);
        showStatus(status, t("dec.registered"));
        await refresh();
      }),
      local && button("dec-export", t("dec.export"), async () => {
        if (pass.value.length < 8) throw new Error(t("bid.passphrase.short"));
        download(`bidroom-decryption-${identity.id}.json`, await keys.exportDecryptionKey(local, pass.value));
      }),
      tender.state === "opening" && local && registered && button("decrypt-go", t("dec.go"), async () => {
        showStatus(status, t("dec.working"), "help");
        const { mine, released } = await decryptMine(tender, identity, local);
        showStatus(status, mine ? t("dec.done", { n: released, of: mine }) : t("dec.nobid"));
      }, ""),
    ));
  };
  refresh().catch((e) => showError(status, e));
  if (tender.state === "opening") {
    api("GET", `/tenders/${tender.id}/events`)
      .then(async (page) => {
        await serverClock.sync();
        const events = page.events || [];
        const started = events.find((e) => e.type === "opening.started");
        if (started) keyText.after(el("p", {}, countdown(started.data.release_until)));
        const left = awaitingBidders(events);
        if (left !== null) box.append(el("p", { id: "decrypt-awaiting" }, t("dec.awaiting", { n: left })));
      })
      .catch(() => {});
  }
  return box;
}
