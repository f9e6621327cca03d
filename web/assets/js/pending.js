// Sealed bids not yet on the server, kept in this browser (IndexedDB) until
// their receipt arrives, so a reload or a closed tab does not lose a bid
// that took long to seal and upload. Only what the server would get is
// kept: the signed envelope and the ciphertexts; nothing here reveals the bid.

function db() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open("bidroom-pending", 1);
    req.onupgradeneeded = () => req.result.createObjectStore("bids");
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function tx(mode, f) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const t = d.transaction("bids", mode);
    const req = f(t.objectStore("bids"));
    t.oncomplete = () => resolve(req && req.result);
    t.onerror = () => reject(t.error);
  });
}

/** Keeps a sealed bid for this tender until it is forgotten. */
export const savePending = (tenderId, sealed) => tx("readwrite", (s) => s.put({ ...sealed, sealedAt: Date.now() }, tenderId));
/** The sealed bid kept for this tender, or undefined. */
export const loadPending = (tenderId) => tx("readonly", (s) => s.get(tenderId));
/** Forgets the sealed bid kept for this tender. */
export const forgetPending = (tenderId) => tx("readwrite", (s) => s.delete(tenderId));
