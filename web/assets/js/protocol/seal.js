// Sealing a bid in the browser, byte-compatible with `src/seal/` (see
// docs/PROTOCOL.md): K, HKDF-derived keys, the AES-256-GCM form and
// manifest, AES-256-GCM STREAM documents, Shamir shares HPKE-sealed to the
// custodians, commitments, and the signed envelope.

import { b64url, concat, hex, label, random, sha256, u32be, unb64url, utf8, uuidBytes } from "./bytes.js";
import * as hpke from "./hpke.js";
import { sign } from "./keyfile.js";
import { Sha256 } from "./sha256.js";
import { newBidKey, split } from "./shamir.js";

export const SEGMENT = 65536;

/** HKDF-SHA256(ikm, salt, info) → 32 bytes (one full extract + expand). */
export async function hkdf32(ikm, salt, info) {
  const key = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info }, key, 256));
}

const aesKey = (raw) => crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);

/** nonce ‖ AES-256-GCM(key, nonce, aad, pt) ‖ tag. */
async function aeadSeal(key, aad, pt) {
  const nonce = random(12);
  const ct = await crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce, additionalData: aad }, await aesKey(key), pt);
  return concat(nonce, new Uint8Array(ct));
}

/** The keys of one bid (docs/PROTOCOL.md "The bid key and derived keys"). */
export async function deriveKeys(tenderId, bidId, K) {
  const t = uuidBytes(tenderId);
  const b = uuidBytes(bidId);
  const salt = concat(t, b);
  const documents = await hkdf32(K, salt, label("bidroom/v1/documents-key"));
  return {
    t,
    b,
    salt,
    form: await hkdf32(K, salt, label("bidroom/v1/form-key")),
    documents,
    manifest: await hkdf32(documents, salt, label("bidroom/v1/manifest-key")),
    document: (i) => hkdf32(documents, salt, concat(label("bidroom/v1/document-key"), u32be(i))),
  };
}

/**
 * Encrypts a Blob/File as an AES-256-GCM STREAM of 64 KiB segments, reading
 * it slice by slice. Returns {blob, sha256 (hex), length}.
 */
export async function encryptStream(docKey, file, onProgress = () => {}) {
  const header = concat(utf8("BDRS"), new Uint8Array([1]), random(7));
  const key = await aesKey(docKey);
  const hash = new Sha256().update(header);
  const parts = [header];
  let length = header.length;
  const segments = Math.max(1, Math.ceil(file.size / SEGMENT));
  for (let j = 0; j < segments; j++) {
    const last = j === segments - 1;
    const pt = new Uint8Array(await file.slice(j * SEGMENT, Math.min(file.size, (j + 1) * SEGMENT)).arrayBuffer());
    const nonce = concat(header.slice(5), u32be(j), new Uint8Array([last ? 1 : 0]));
    const ct = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce, additionalData: header }, key, pt));
    hash.update(ct);
    parts.push(ct);
    length += ct.length;
    onProgress(Math.min(file.size, (j + 1) * SEGMENT));
  }
  return { blob: new Blob(parts, { type: "application/octet-stream" }), sha256: hex(hash.digest()), length };
}

/** The reserved custodian id of the bid's own bidder (PROTOCOL.md, "Bidder-held shares"). */
export const BIDDER_CUSTODIAN = "bidder";

/**
 * The policy one bidder seals to: the "bidder" slot, which has no key in the
 * published policy, takes the bidder's own decryption public key (65 bytes),
 * as `CustodyPolicy::with_bidder_key` does in Rust. The key comes from the
 * bidder's own store, never from the server's answer.
 */
export function withBidderKey(policy, decryptionKey) {
  const custodians = policy.custodians.map((c) => {
    if (c.id !== BIDDER_CUSTODIAN) return c;
    if (!decryptionKey) throw new Error("this tender needs the bidder's decryption key to seal");
    return { index: c.index, id: c.id, public_key: b64url(decryptionKey) };
  });
  return { threshold: policy.threshold, custodians };
}

/**
 * Seals a bid. `tender` is the API tender (its `custody_keys` is the policy
 * to seal to), `form` the opening-record values (an object), `documents`
 * Files, `signer` {privateKey, pub}. Returns what the submission needs.
 */
export async function sealBid({ tender, lot, form, documents = [], signer, decryptionKey = null, bidId = crypto.randomUUID(), onProgress = () => {} }) {
  if (!tender.custody_keys) throw new Error("the tender has no published custody policy");
  const policy = withBidderKey(tender.custody_keys, decryptionKey);
  const K = newBidKey();
  const keys = await deriveKeys(tender.id, bidId, K);
  const bound = (l) => concat(label(l), keys.t, keys.b);

  const sealedDocs = [];
  const manifest = [];
  for (let i = 0; i < documents.length; i++) {
    const f = documents[i];
    const s = await encryptStream(await keys.document(i), f, (done) => onProgress({ document: i, done, total: f.size }));
    sealedDocs.push(s);
    manifest.push({ index: i, name: f.name, media_type: f.type || "application/octet-stream", length: f.size });
  }
  const manifestCt = await aeadSeal(keys.manifest, bound("bidroom/v1/manifest"), utf8(JSON.stringify({ documents: manifest })));
  const formCt = await aeadSeal(keys.form, bound("bidroom/v1/form"), utf8(JSON.stringify(form)));

  const shares = split(K, policy.threshold, policy.custodians.length);
  const entries = [];
  for (const c of policy.custodians) {
    const share = shares[c.index - 1];
    const pk = unb64url(c.public_key);
    const idx = new Uint8Array([c.index]);
    const { enc, ct } = await hpke.seal(pk, concat(bound("bidroom/v1/share-info"), idx), concat(label("bidroom/v1/share-aad"), pk), share);
    entries.push({
      index: c.index,
      enc: b64url(enc),
      ct: b64url(ct),
      commitment: hex(await sha256(concat(bound("bidroom/v1/share-commitment"), idx, share))),
    });
  }
  const envelope = {
    type: "bidroom.envelope.v1",
    suite: {
      hpke_kem: 16,
      hpke_kdf: 1,
      hpke_aead: 2,
      kdf: "HKDF-SHA256",
      aead: "AES-256-GCM",
      stream: "AES-256-GCM-STREAM-64KiB",
      sharing: "SHAMIR-P256-SCALAR",
      signature: "ECDSA-P256-SHA256",
    },
    tender_id: tender.id,
    bid_id: bidId,
    lot,
    bidder_public_key: b64url(signer.pub),
    created_at: new Date().toISOString(),
    custody: {
      threshold: policy.threshold,
      custodians: policy.custodians.map((c) => ({ index: c.index, id: c.id, public_key: c.public_key })),
    },
    key_commitment: hex(await sha256(concat(bound("bidroom/v1/key-commitment"), K))),
    form_key_commitment: hex(await sha256(concat(bound("bidroom/v1/form-key-commitment"), keys.form))),
    shares: entries,
    form: { sha256: hex(await sha256(formCt)), length: formCt.length },
    manifest: b64url(manifestCt),
    documents: sealedDocs.map((d, i) => ({ index: i, sha256: d.sha256, length: d.length })),
  };
  const envelopeBytes = utf8(JSON.stringify(envelope));
  const signature = await sign(signer.privateKey, envelopeBytes);
  K.fill(0);
  return {
    bidId,
    envelope: envelopeBytes,
    envelopeHash: hex(await sha256(envelopeBytes)),
    signature,
    formCiphertext: formCt,
    documents: sealedDocs.map((d) => d.blob),
  };
}

/**
 * Uploads a sealed bid (multipart: envelope, signature, form, document…)
 * with progress; resolves to the server's {bid_id, receipt}.
 */
export function upload(tenderId, sealed, onProgress = () => {}) {
  const body = new FormData();
  body.append("envelope", new Blob([sealed.envelope], { type: "application/json" }), "envelope.json");
  body.append("signature", new Blob([sealed.signature]), "signature.bin");
  body.append("form", new Blob([sealed.formCiphertext]), "form.bin");
  sealed.documents.forEach((d, i) => body.append("document", d, `document-${i}.bin`));
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/v1/tenders/${tenderId}/bids`);
    xhr.responseType = "json";
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded, e.total);
    xhr.onload = () => {
      if (xhr.status === 200 || xhr.status === 201) resolve(xhr.response);
      else {
        const err = new Error((xhr.response && xhr.response.message) || `HTTP ${xhr.status}`);
        err.status = xhr.status;
        err.code = xhr.response && xhr.response.code;
        reject(err);
      }
    };
    xhr.onerror = () => reject(new Error("the upload was interrupted; it is safe to try again"));
    xhr.send(body);
  });
}
