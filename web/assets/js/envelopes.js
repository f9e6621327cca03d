// The public bids of a tender from the opening on, read a page at a time
// (`/envelopes/page`, following `next`), so neither the server nor this
// page builds one answer holding every envelope of a large tender.

import { api } from "./common.js";

/** Calls `each(bid)` for every public bid, in order of receipt. */
export async function forEachEnvelope(id, each) {
  let cursor = null;
  do {
    const q = cursor === null ? "" : `?cursor=${encodeURIComponent(cursor)}`;
    const page = await api("GET", `/tenders/${id}/envelopes/page${q}`);
    for (const bid of page.bids) await each(bid);
    cursor = page.next ?? null;
  } while (cursor !== null);
}

/** Every public bid, in order of receipt. */
export async function allEnvelopes(id) {
  const out = [];
  await forEachEnvelope(id, (bid) => out.push(bid));
  return out;
}
