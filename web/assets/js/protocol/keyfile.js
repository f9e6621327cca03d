// Identity and custodian keys in the browser, and the passphrase-protected
// key file of docs/PROTOCOL.md (PBKDF2-HMAC-SHA256 + AES-256-GCM), readable
// and writable by `bidroom` as well.

import { b64url, concat, hex, label, random, sha256, unb64url, utf8, equal } from "./bytes.js";
import { importPrivate, publicFromScalar } from "./hpke.js";
import { idbStore } from "./idb.js";

export const DEFAULT_ITERATIONS = 600000;
const ECDSA = { name: "ECDSA", namedCurve: "P-256" };

/** Key id: hex of the first 8 bytes of SHA-256(65-byte public key). */
export const keyId = async (pub) => hex((await sha256(pub)).slice(0, 8));

/** The 65-byte public key of an ECDSA private key (from its JWK). */
async function publicOfPrivate(privateKey) {
  const jwk = await crypto.subtle.exportKey("jwk", privateKey);
  return concat(new Uint8Array([4]), unb64url(jwk.x), unb64url(jwk.y));
}

/** A fresh bidder identity: {privateKey (extractable, to save it), pub, id}. */
export async function generateBidderKey() {
  const pair = await crypto.subtle.generateKey(ECDSA, true, ["sign", "verify"]);
  const pub = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  return { privateKey: pair.privateKey, pub, id: await keyId(pub) };
}

/** Signs `msg` with ECDSA P-256 SHA-256: the 64-byte r ‖ s. */
export async function sign(privateKey, msg) {
  return new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, msg));
}

async function wrappingKey(passphrase, salt, iterations) {
  if (!(iterations >= 1 && iterations <= 10000000)) throw new Error("key file iteration count out of range");
  const base = await crypto.subtle.importKey("raw", utf8(passphrase), "PBKDF2", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    base,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

const fileAad = (kind, pub) => concat(label("bidroom/v1/key-file"), utf8(kind), new Uint8Array([0]), pub);

async function sealFile(kind, pub, secret, passphrase, iterations) {
  const salt = random(16);
  const nonce = random(12);
  const key = await wrappingKey(passphrase, salt, iterations);
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce, additionalData: fileAad(kind, pub) }, key, secret));
  const file = {
    type: "bidroom.key.v1",
    kind,
    public: b64url(pub),
    kdf: { alg: "PBKDF2-HMAC-SHA256", iterations, salt: b64url(salt) },
    sealed: b64url(concat(nonce, ct)),
  };
  return JSON.stringify(file, null, 2);
}

/** The key file JSON of a bidder key (its private key must be extractable). */
export async function exportBidderKey(privateKey, passphrase, iterations = DEFAULT_ITERATIONS) {
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", privateKey));
  return sealFile("bidder", await publicOfPrivate(privateKey), pkcs8, passphrase, iterations);
}

/** The key file JSON of a custodian scalar (32 bytes). */
export async function exportCustodianKey(scalar, passphrase, iterations = DEFAULT_ITERATIONS) {
  return sealFile("custodian", await publicFromScalar(scalar), scalar, passphrase, iterations);
}

/** Thrown when the passphrase is wrong (or the file damaged). */
export class WrongPassphrase extends Error {}

async function unlock(text, kind, passphrase) {
  const file = JSON.parse(text);
  const known = ["type", "kind", "public", "kdf", "sealed"];
  if (file.type !== "bidroom.key.v1" || Object.keys(file).some((k) => !known.includes(k))) throw new Error("not a bidroom.key.v1 file");
  if (file.kind !== kind) throw new Error(`this file holds a ${file.kind} key, not a ${kind} key`);
  if (!file.kdf || file.kdf.alg !== "PBKDF2-HMAC-SHA256") throw new Error("unsupported key file KDF");
  const pub = unb64url(file.public);
  const sealed = unb64url(file.sealed);
  const key = await wrappingKey(passphrase, unb64url(file.kdf.salt), file.kdf.iterations);
  try {
    const pt = await crypto.subtle.decrypt({ name: "AES-GCM", iv: sealed.slice(0, 12), additionalData: fileAad(kind, pub) }, key, sealed.slice(12));
    return { pub, secret: new Uint8Array(pt) };
  } catch {
    throw new WrongPassphrase("wrong passphrase, or the file is damaged");
  }
}

/** Unlocks a bidder key file: {privateKey (extractable), pub, id}. */
export async function importBidderKey(text, passphrase) {
  const { pub, secret } = await unlock(text, "bidder", passphrase);
  const privateKey = await crypto.subtle.importKey("pkcs8", secret, ECDSA, true, ["sign"]);
  if (!equal(await publicOfPrivate(privateKey), pub)) throw new Error("key file public key does not match");
  return { privateKey, pub, id: await keyId(pub) };
}

/** Unlocks a custodian key file: {privateKey (ECDH), pub, scalar, id}. */
export async function importCustodianKey(text, passphrase) {
  const { pub, secret } = await unlock(text, "custodian", passphrase);
  if (secret.length !== 32 || !equal(await publicFromScalar(secret), pub)) throw new Error("key file public key does not match");
  return { privateKey: await importPrivate(secret, pub), pub, scalar: secret, id: await keyId(pub) };
}

// The browser's own copy of the bidder key: IndexedDB holds the CryptoKey
// itself (structured clone), so the private key never leaves the browser.
const tx = idbStore("bidroom", "keys");

/** Saves the bidder key in this browser. */
export const storeBidderKey = (k) => tx("readwrite", (s) => s.put({ privateKey: k.privateKey, pub: k.pub, id: k.id }, "bidder"));
/** The bidder key saved in this browser, or undefined. */
export const loadBidderKey = () => tx("readonly", (s) => s.get("bidder"));
/** Forgets the bidder key saved in this browser. */
export const forgetBidderKey = () => tx("readwrite", (s) => s.delete("bidder"));

// The bidder's decryption key (bidder-held custody, PROTOCOL.md "Bidder-held
// shares"): an HPKE P-256 key whose scalar stays in this browser's IndexedDB
// or in a passphrase-protected key file of kind "decryption".

/** A fresh decryption key: {scalar (32 bytes), pub (65 bytes)}. */
export async function generateDecryptionKey() {
  const pair = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"]);
  const jwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
  const scalar = unb64url(jwk.d);
  return { scalar, pub: await publicFromScalar(scalar) };
}

/** The key file JSON of a decryption key. */
export const exportDecryptionKey = (k, passphrase, iterations = DEFAULT_ITERATIONS) => sealFile("decryption", k.pub, k.scalar, passphrase, iterations);

/** Unlocks a decryption key file: {scalar, pub}. */
export async function importDecryptionKey(text, passphrase) {
  const { pub, secret } = await unlock(text, "decryption", passphrase);
  if (secret.length !== 32 || !equal(await publicFromScalar(secret), pub)) throw new Error("key file public key does not match");
  return { scalar: secret, pub };
}

/** Saves the decryption key in this browser. */
export const storeDecryptionKey = (k) => tx("readwrite", (s) => s.put({ scalar: k.scalar, pub: k.pub }, "decryption"));
/** The decryption key saved in this browser, or undefined. */
export const loadDecryptionKey = () => tx("readonly", (s) => s.get("decryption"));
