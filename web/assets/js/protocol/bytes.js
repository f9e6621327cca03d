// Byte helpers shared by the pages: encodings, labels, hashing.

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

/** UTF-8 bytes of a string. */
export const utf8 = (s) => enc.encode(s);
/** String from UTF-8 bytes (throws on invalid UTF-8). */
export const fromUtf8 = (b) => dec.decode(b);

/** Concatenates byte arrays. */
export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Lowercase hex. */
export const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** Bytes from hex (even length, hex digits only). */
export function unhex(s) {
  if (s.length % 2 || /[^0-9a-fA-F]/.test(s)) throw new Error("invalid hex");
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(2 * i, 2), 16);
  return out;
}

/** Standard padded base64. */
export function b64(b) {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

/** Bytes from standard base64. */
export function unb64(s) {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** base64url without padding (RFC 4648 §5). */
export const b64url = (b) => b64(b).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

/** Bytes from base64url without padding (padding is refused, as the server does). */
export function unb64url(s) {
  if (/[^A-Za-z0-9_-]/.test(s)) throw new Error("invalid base64url");
  const std = s.replace(/-/g, "+").replace(/_/g, "/");
  return unb64(std + "=".repeat((4 - (std.length % 4)) % 4));
}

/** The 16 raw bytes of a UUID (RFC 9562 byte order). */
export function uuidBytes(id) {
  const h = id.replace(/-/g, "");
  if (h.length !== 32) throw new Error("invalid uuid");
  return unhex(h);
}

/** `label ‖ 0x00` (the protocol's label convention). */
export const label = (l) => concat(utf8(l), new Uint8Array([0]));

/** 4 bytes big-endian. */
export function u32be(n) {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}

/** SHA-256 with WebCrypto. */
export async function sha256(b) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", b));
}

/** Constant-shape equality of byte arrays. */
export function equal(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

/** Cryptographically random bytes. */
export function random(n) {
  return crypto.getRandomValues(new Uint8Array(n));
}

/** Big-endian bytes to BigInt. */
export function toBigInt(b) {
  return b.length ? BigInt("0x" + hex(b)) : 0n;
}

/** BigInt to `len` big-endian bytes. */
export function fromBigInt(n, len) {
  const s = n.toString(16).padStart(len * 2, "0");
  if (s.length > len * 2) throw new Error("integer too large");
  return unhex(s);
}
