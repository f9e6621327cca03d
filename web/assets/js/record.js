// Checks an opened bid from public data alone (docs/PROTOCOL.md "Opening"):
// the envelope hashes to what was logged at receipt, its signature verifies
// under the bidder key it names, the published form key matches the
// envelope's commitment, the form ciphertext matches the envelope, and it
// decrypts to exactly the fields the record shows.

import { concat, fromUtf8, hex, label, sha256, unb64url, uuidBytes } from "./bytes.js";

/** Verifies one `bid.opened` row against the public bid from `/envelopes`; throws saying what failed. */
export async function verifyOpenedBid(tenderId, row, pub) {
  const envelopeBytes = unb64url(pub.envelope);
  if (hex(await sha256(envelopeBytes)) !== row.envelope_hash) throw new Error("the envelope's hash differs from the one logged at receipt");
  const env = JSON.parse(fromUtf8(envelopeBytes));
  if (env.tender_id !== tenderId || env.bid_id !== row.bid_id) throw new Error("the envelope names another tender or bid");
  const bidderKey = await crypto.subtle.importKey("raw", unb64url(env.bidder_public_key), { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
  const signed = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, bidderKey, unb64url(pub.signature), envelopeBytes);
  if (!signed) throw new Error("the bidder's signature over the envelope does not verify");
  const bound = (l) => concat(label(l), uuidBytes(tenderId), uuidBytes(row.bid_id));
  const formKey = unb64url(row.form_key);
  if (hex(await sha256(concat(bound("bidroom/v1/form-key-commitment"), formKey))) !== env.form_key_commitment) {
    throw new Error("the published form key does not match the envelope's commitment");
  }
  const ct = unb64url(pub.form);
  if (ct.length !== env.form.length || hex(await sha256(ct)) !== env.form.sha256) throw new Error("the form ciphertext differs from the envelope's");
  const key = await crypto.subtle.importKey("raw", formKey, "AES-GCM", false, ["decrypt"]);
  let plain;
  try {
    plain = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: ct.slice(0, 12), additionalData: bound("bidroom/v1/form") }, key, ct.slice(12)));
  } catch {
    throw new Error("the form does not decrypt with the published key");
  }
  const fields = JSON.parse(fromUtf8(plain));
  const same = (a, b) => JSON.stringify(Object.keys(a).sort().map((k) => [k, a[k]])) === JSON.stringify(Object.keys(b).sort().map((k) => [k, b[k]]));
  if (!same(fields, row.fields || {})) throw new Error("the decrypted form differs from the published fields");
  return fields;
}
