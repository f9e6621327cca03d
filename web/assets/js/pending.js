// Sealed bids not yet on the server, kept in this browser (IndexedDB) until
// their receipt arrives, so a reload or a closed tab does not lose a bid
// that took long to seal and upload. Only what the server would get is
// kept: the signed envelope and the ciphertexts; nothing here reveals the bid.

import { idbStore } from "./protocol/idb.js";

const tx = idbStore("bidroom-pending", "bids");

/** Keeps a sealed bid for this tender until it is forgotten. */
export const savePending = (tenderId, sealed) => tx("readwrite", (s) => s.put({ ...sealed, sealedAt: Date.now() }, tenderId));
/** The sealed bid kept for this tender, or undefined. */
export const loadPending = (tenderId) => tx("readonly", (s) => s.get(tenderId));
/** Forgets the sealed bid kept for this tender. */
export const forgetPending = (tenderId) => tx("readwrite", (s) => s.delete(tenderId));
