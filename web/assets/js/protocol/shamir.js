// Shamir secret sharing over the P-256 scalar field, as in docs/PROTOCOL.md:
// f(x) = K + a1·x + … + a(k−1)·x^(k−1) mod n, share i = i (1 byte) ‖ f(i) (32 bytes).

import { concat, fromBigInt, random, toBigInt } from "./bytes.js";
import { ORDER } from "./hpke.js";

const mod = (a) => ((a % ORDER) + ORDER) % ORDER;

function inverse(a) {
  let [r0, r1] = [mod(a), ORDER];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new Error("not invertible");
  return mod(s0);
}

/** A uniformly random scalar in [0, n) (or [1, n) with `nonzero`), by rejection. */
export function randomScalar(nonzero = false) {
  for (;;) {
    const v = toBigInt(random(32));
    if (v < ORDER && (!nonzero || v !== 0n)) return v;
  }
}

/** A fresh bid key K: 32 bytes, a nonzero scalar below n. */
export const newBidKey = () => fromBigInt(randomScalar(true), 32);

/** Splits 32-byte K into `n` shares (33 bytes each) with threshold `k`. */
export function split(key, k, n) {
  if (!(k >= 1 && k <= n && n <= 255)) throw new Error("threshold must satisfy 1 <= k <= n <= 255");
  const secret = toBigInt(key);
  if (secret === 0n || secret >= ORDER) throw new Error("bid key must be a nonzero scalar");
  const coeffs = [secret];
  for (let i = 1; i < k; i++) coeffs.push(randomScalar());
  const shares = [];
  for (let x = 1; x <= n; x++) {
    let y = 0n;
    for (let i = coeffs.length - 1; i >= 0; i--) y = mod(y * BigInt(x) + coeffs[i]);
    shares.push(concat(new Uint8Array([x]), fromBigInt(y, 32)));
  }
  return shares;
}

/** Lagrange interpolation at 0 over shares with distinct x: K (32 bytes). */
export function combine(shares) {
  const pts = shares.map((s) => [BigInt(s[0]), toBigInt(s.slice(1))]);
  if (!pts.length || new Set(pts.map((p) => p[0])).size !== pts.length) throw new Error("shares must be distinct and non-empty");
  let secret = 0n;
  for (const [xj, yj] of pts) {
    let num = 1n;
    let den = 1n;
    for (const [xm] of pts) {
      if (xm === xj) continue;
      num = mod(num * xm);
      den = mod(den * (xm - xj));
    }
    secret = mod(secret + yj * num * inverse(den));
  }
  return fromBigInt(secret, 32);
}
