// Verification of the transparency log in the browser: RFC 9162 leaf and
// node hashes, inclusion and consistency proofs, C2SP signed-note
// checkpoints signed with Ed25519 (WebCrypto). See docs/LEDGER.md.

import { b64, concat, equal, hex, sha256, unb64, unhex, utf8, fromUtf8 } from "./bytes.js";

/** RFC 6962 leaf hash: SHA-256(0x00 ‖ entry). */
export const leafHash = (entry) => sha256(concat(new Uint8Array([0]), entry));
const node = (l, r) => sha256(concat(new Uint8Array([1]), l, r));
const half = (n) => Math.floor(n / 2);
const odd = (n) => n % 2 === 1;

/** RFC 9162 §2.1.3.2: is `leaf` at `index` in the tree of `size` with `root`? */
export async function verifyInclusion(index, size, leaf, proof, root) {
  if (index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      r = await node(p, r);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = await node(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && equal(r, root);
}

/** RFC 9162 §2.1.4.2: is the tree (`size2`, `root2`) an extension of (`size1`, `root1`)? */
export async function verifyConsistency(size1, size2, root1, root2, proof) {
  if (size1 > size2) return false;
  if (size1 === size2) return proof.length === 0 && equal(root1, root2);
  if (size1 === 0) return proof.length === 0 && equal(root1, await sha256(new Uint8Array()));
  let path = proof;
  if ((size1 & (size1 - 1)) === 0 && size1 < 2 ** 31) path = [root1, ...proof];
  if (path.length === 0) return false;
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      fr = await node(c, fr);
      sr = await node(c, sr);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = await node(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return equal(fr, root1) && equal(sr, root2) && sn === 0;
}

/** Parses and imports a signed-note verifier key `name+keyid+base64(0x01 ‖ pk)`. */
export async function parseVerifierKey(text) {
  // The base64 key may itself contain '+': split at the first two only.
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+(\S+)$/.exec(text.trim());
  if (!m) throw new Error("verifier key: expected name+id+key");
  const [, name, idHex, keyB64] = m;
  const raw = unb64(keyB64);
  if (raw.length !== 33 || raw[0] !== 1) throw new Error("verifier key: not an Ed25519 key");
  const publicKey = raw.slice(1);
  const id = (await sha256(concat(utf8(name), new Uint8Array([0x0a, 0x01]), publicKey))).slice(0, 4);
  if (hex(id) !== idHex) throw new Error("verifier key: key id does not match the key");
  const key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
  return { name, keyId: id, publicKey, key };
}

/**
 * Opens a C2SP signed-note checkpoint with a verifier from parseVerifierKey:
 * returns {origin, size, root, note} or throws saying what failed.
 */
export async function openCheckpoint(note, verifier) {
  const split = note.indexOf("\n\n");
  if (split < 0) throw new Error("checkpoint: no signature block");
  const text = note.slice(0, split + 1);
  const lines = text.split("\n").slice(0, -1);
  if (lines.length !== 3) throw new Error("checkpoint: expected exactly three lines");
  const [origin, sizeText, rootB64] = lines;
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText)) throw new Error("checkpoint: bad tree size");
  const root = unb64(rootB64);
  if (root.length !== 32) throw new Error("checkpoint: bad root");
  if (origin !== verifier.name) throw new Error(`checkpoint: origin ${origin} is not the log ${verifier.name}`);
  let verified = false;
  for (const line of note.slice(split + 2).split("\n")) {
    if (!line) continue;
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m) throw new Error("checkpoint: malformed signature line");
    const sig = unb64(m[2]);
    if (m[1] !== verifier.name || sig.length < 4 || !equal(sig.slice(0, 4), verifier.keyId)) continue;
    const ok = await crypto.subtle.verify({ name: "Ed25519" }, verifier.key, sig.slice(4), utf8(text));
    if (!ok) throw new Error("checkpoint: the log's signature does not verify");
    verified = true;
  }
  if (!verified) throw new Error("checkpoint: no signature by the log's key");
  return { origin, size: Number(sizeText), root, note };
}

async function getText(path) {
  const r = await fetch(path, { cache: "no-store" });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return r.text();
}

async function getJson(path) {
  const r = await fetch(path, { cache: "no-store" });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return r.json();
}

/**
 * Follows the server's log: keeps the latest verified checkpoint, checks
 * each new one is consistent with the last (also across visits, through
 * localStorage), and verifies events against it.
 */
export class LogFollower {
  constructor() {
    this.verifier = null;
    this.checkpoint = null;
    this.consistencyChecks = 0;
    this.pending = null;
    this.queue = Promise.resolve();
  }

  async init() {
    this.verifier = await parseVerifierKey(await getText("/log/key"));
    return this;
  }

  /** Keeps a checkpoint the live socket pushed; it is verified when it is used. */
  offer(note, size) {
    if (!this.pending || size > this.pending.size) this.pending = { note, size };
  }

  /**
   * Moves to a newer checkpoint covering at least `minSize` entries: the
   * pushed one if it does, else the server's latest. Verifies its signature
   * and its consistency with the one before.
   */
  refresh(minSize = 0) {
    // One at a time: two overlapping moves could otherwise land out of order.
    const run = this.queue.then(() => this.refreshNow(minSize));
    this.queue = run.catch(() => {});
    return run;
  }

  async refreshNow(minSize) {
    const pending = this.pending;
    this.pending = null;
    const cp = this.checkpoint;
    if (pending && pending.size >= minSize && (!cp || pending.size > cp.size)) return this.adopt(pending.note);
    if (cp && minSize > 0 && cp.size >= minSize) return cp;
    return this.adopt(await getText("/log/checkpoint"));
  }

  async adopt(note) {
    const cp = await openCheckpoint(note, this.verifier);
    const storeKey = `bidroom.checkpoint.${this.verifier.name}.${hex(this.verifier.keyId)}`;
    let previous = this.checkpoint;
    if (!previous) {
      try {
        const saved = JSON.parse(localStorage.getItem(storeKey) || "null");
        if (saved) previous = { size: saved.size, root: unb64(saved.root) };
      } catch {
        previous = null;
      }
    }
    if (previous && previous.size > cp.size) {
      throw new Error(`the log shrank from ${previous.size} to ${cp.size} entries`);
    }
    if (previous && previous.size > 0 && previous.size < cp.size) {
      const p = await getJson(`/api/v1/log/consistency?old=${previous.size}&new=${cp.size}`);
      const ok = await verifyConsistency(previous.size, cp.size, previous.root, cp.root, p.proof.map(unhex));
      if (!ok) throw new Error(`the log at ${cp.size} entries is not an extension of the log at ${previous.size}`);
      this.consistencyChecks++;
    } else if (previous && previous.size === cp.size && !equal(previous.root, cp.root)) {
      throw new Error(`two different logs of ${cp.size} entries`);
    }
    this.checkpoint = cp;
    try {
      localStorage.setItem(storeKey, JSON.stringify({ size: cp.size, root: b64(cp.root) }));
    } catch {
      // Private mode: consistency is then checked within this visit only.
    }
    return cp;
  }

  /**
   * Verifies one API event: the logged entry's bytes hash to the event's
   * leaf hash, say the same as the event, and are included in the latest
   * signed checkpoint. Throws saying what failed.
   */
  async verifyEvent(ev) {
    if (!this.checkpoint || ev.log_index >= this.checkpoint.size) await this.refresh(ev.log_index + 1);
    const cp = this.checkpoint;
    const e = await getJson(`/api/v1/log/entries/${ev.log_index}`);
    const entry = unb64(e.entry);
    const leaf = await leafHash(entry);
    if (hex(leaf) !== ev.leaf_hash) throw new Error("the entry's leaf hash differs from the event's");
    const logged = JSON.parse(fromUtf8(entry));
    if (
      logged.tender !== ev.tender_id ||
      logged.seq !== ev.seq ||
      logged.event !== ev.type ||
      JSON.stringify(logged.data) !== JSON.stringify(ev.data)
    ) {
      throw new Error("the logged entry says something else than the event");
    }
    const p = await getJson(`/api/v1/log/inclusion?index=${ev.log_index}&size=${cp.size}`);
    if (!(await verifyInclusion(ev.log_index, cp.size, leaf, p.proof.map(unhex), cp.root))) {
      throw new Error("the inclusion proof does not lead to the signed root");
    }
    return { size: cp.size };
  }
}

/**
 * Verifies a submission receipt (docs/LEDGER.md): the checkpoint is signed
 * by the log, the entry is included at leaf_index, and names the envelope.
 */
export async function verifyReceipt(receipt, verifier, envelopeHash) {
  const cp = await openCheckpoint(receipt.checkpoint, verifier);
  if (cp.size !== receipt.tree_size) throw new Error("receipt tree size differs from its checkpoint");
  const entry = unb64(receipt.entry);
  const leaf = await leafHash(entry);
  const proof = receipt.inclusion.map(unb64);
  if (!(await verifyInclusion(receipt.leaf_index, cp.size, leaf, proof, cp.root))) {
    throw new Error("receipt inclusion proof does not verify");
  }
  const logged = JSON.parse(fromUtf8(entry));
  if (!logged.data || logged.data.envelope_hash !== receipt.envelope_hash) {
    throw new Error("the logged entry names another envelope");
  }
  if (envelopeHash && receipt.envelope_hash !== envelopeHash) {
    throw new Error("the receipt is for another envelope than the one sealed here");
  }
  return cp;
}
