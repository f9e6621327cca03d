// HPKE (RFC 9180) base mode over WebCrypto, for DHKEM(P-256, HKDF-SHA256) /
// HKDF-SHA256 / AES-GCM (AES-256-GCM is what bidroom uses; AES-128-GCM is
// here for the RFC's own A.3 vector). HKDF Extract and Expand are written
// out with WebCrypto HMAC because HPKE labels them separately.

import { b64url, concat, fromBigInt, toBigInt, unb64url, utf8 } from "./bytes.js";

const KEM_ID = 0x0010;
const KDF_ID = 0x0001;
export const AES_256_GCM = 0x0002;
export const AES_128_GCM = 0x0001;
const N_SECRET = 32;
const N_N = 12;
/** P-256 group order. */
export const ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

const i2osp = (n, len) => fromBigInt(BigInt(n), len);
const V1 = utf8("HPKE-v1");
const kemSuite = concat(utf8("KEM"), i2osp(KEM_ID, 2));
const hpkeSuite = (aead) => concat(utf8("HPKE"), i2osp(KEM_ID, 2), i2osp(KDF_ID, 2), i2osp(aead, 2));
const nk = (aead) => (aead === AES_256_GCM ? 32 : 16);

async function hmac(key, data) {
  // An empty HMAC key equals a key of zero bytes (RFC 2104 pads with zeros);
  // WebCrypto refuses empty keys, so use 32 zero bytes (RFC 5869's default salt).
  const k = await crypto.subtle.importKey("raw", key.length ? key : new Uint8Array(32), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, data));
}

/** HKDF-Extract (RFC 5869). */
export const extract = (salt, ikm) => hmac(salt, ikm);

/** HKDF-Expand (RFC 5869). */
export async function expand(prk, info, len) {
  let t = new Uint8Array();
  const out = [];
  let have = 0;
  for (let i = 1; have < len; i++) {
    t = await hmac(prk, concat(t, info, new Uint8Array([i])));
    out.push(t);
    have += t.length;
  }
  return concat(...out).slice(0, len);
}

const labeledExtract = (suite, salt, label, ikm) => extract(salt, concat(V1, suite, utf8(label), ikm));
const labeledExpand = (suite, prk, label, info, len) => expand(prk, concat(i2osp(len, 2), V1, suite, utf8(label), info), len);

/** PKCS#8 of a P-256 private key without its public key: WebCrypto computes it. */
function pkcs8FromScalar(d) {
  const head = [
    0x30, 0x41, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86,
    0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x27, 0x30, 0x25, 0x02, 0x01, 0x01, 0x04, 0x20,
  ];
  return concat(new Uint8Array(head), d);
}

/** Public key (65-byte SEC1) of a 32-byte P-256 scalar, computed by WebCrypto. */
export async function publicFromScalar(d) {
  const k = await crypto.subtle.importKey("pkcs8", pkcs8FromScalar(d), { name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"]);
  const jwk = await crypto.subtle.exportKey("jwk", k);
  return concat(new Uint8Array([4]), unb64url(jwk.x), unb64url(jwk.y));
}

/** An ECDH private CryptoKey from a scalar and its public key. */
export async function importPrivate(d, pub) {
  return crypto.subtle.importKey(
    "jwk",
    { kty: "EC", crv: "P-256", d: b64url(d), x: b64url(pub.slice(1, 33)), y: b64url(pub.slice(33, 65)), ext: false },
    { name: "ECDH", namedCurve: "P-256" },
    false,
    ["deriveBits"],
  );
}

const importPublic = (pub) => crypto.subtle.importKey("raw", pub, { name: "ECDH", namedCurve: "P-256" }, false, []);

async function dh(privateKey, pub) {
  return new Uint8Array(await crypto.subtle.deriveBits({ name: "ECDH", public: await importPublic(pub) }, privateKey, 256));
}

/** RFC 9180 DeriveKeyPair for P-256: {sk (32 bytes), pk (65 bytes)}. For test vectors only. */
export async function deriveKeyPair(ikm) {
  const prk = await labeledExtract(kemSuite, new Uint8Array(), "dkp_prk", ikm);
  for (let counter = 0; counter < 256; counter++) {
    const bytes = await labeledExpand(kemSuite, prk, "candidate", new Uint8Array([counter]), 32);
    const sk = toBigInt(bytes);
    if (sk !== 0n && sk < ORDER) return { sk: bytes, pk: await publicFromScalar(bytes) };
  }
  throw new Error("DeriveKeyPair: no candidate");
}

async function extractAndExpand(dhBytes, kemContext) {
  const prk = await labeledExtract(kemSuite, new Uint8Array(), "eae_prk", dhBytes);
  return labeledExpand(kemSuite, prk, "shared_secret", kemContext, N_SECRET);
}

async function keySchedule(shared, info, aead) {
  const suite = hpkeSuite(aead);
  const pskIdHash = await labeledExtract(suite, new Uint8Array(), "psk_id_hash", new Uint8Array());
  const infoHash = await labeledExtract(suite, new Uint8Array(), "info_hash", info);
  const context = concat(new Uint8Array([0]), pskIdHash, infoHash);
  const secret = await labeledExtract(suite, shared, "secret", new Uint8Array());
  const key = await labeledExpand(suite, secret, "key", context, nk(aead));
  const baseNonce = await labeledExpand(suite, secret, "base_nonce", context, N_N);
  const aesKey = await crypto.subtle.importKey("raw", key, "AES-GCM", false, ["encrypt", "decrypt"]);
  return new Context(aesKey, baseNonce);
}

/** An HPKE encryption context (sequence numbers from 0). */
class Context {
  constructor(key, baseNonce) {
    this.key = key;
    this.baseNonce = baseNonce;
    this.seq = 0;
  }

  nonce() {
    const n = this.baseNonce.slice();
    const s = i2osp(this.seq++, N_N);
    for (let i = 0; i < N_N; i++) n[i] ^= s[i];
    return n;
  }

  async seal(aad, pt) {
    return new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv: this.nonce(), additionalData: aad }, this.key, pt));
  }

  async open(aad, ct) {
    return new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: this.nonce(), additionalData: aad }, this.key, ct));
  }
}

/**
 * SetupBaseS: encapsulates to `pkR` (65 bytes). `ephemeral` ({sk, pk}) is
 * for test vectors only; normally a fresh WebCrypto key pair is drawn.
 * Returns {enc, ctx}.
 */
export async function setupBaseS(pkR, info, aead = AES_256_GCM, ephemeral = null) {
  let skE;
  let enc;
  if (ephemeral) {
    skE = await importPrivate(ephemeral.sk, ephemeral.pk);
    enc = ephemeral.pk;
  } else {
    const pair = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, false, ["deriveBits"]);
    skE = pair.privateKey;
    enc = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  }
  const shared = await extractAndExpand(await dh(skE, pkR), concat(enc, pkR));
  return { enc, ctx: await keySchedule(shared, info, aead) };
}

/** SetupBaseR: `skR` is an ECDH private CryptoKey, `pkR` its 65-byte public key. */
export async function setupBaseR(enc, skR, pkR, info, aead = AES_256_GCM) {
  const shared = await extractAndExpand(await dh(skR, enc), concat(enc, pkR));
  return keySchedule(shared, info, aead);
}

/** Single-shot seal: {enc, ct}. */
export async function seal(pkR, info, aad, pt, aead = AES_256_GCM) {
  const { enc, ctx } = await setupBaseS(pkR, info, aead);
  return { enc, ct: await ctx.seal(aad, pt) };
}

/** Single-shot open (throws on a bad tag). */
export async function open(enc, skR, pkR, info, aad, ct, aead = AES_256_GCM) {
  const ctx = await setupBaseR(enc, skR, pkR, info, aead);
  return ctx.open(aad, ct);
}
