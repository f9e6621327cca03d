// One IndexedDB object store as a small promise API (the browser keeps the
// bidder key and unsent sealed bids this way; structured clone keeps
// CryptoKeys and Blobs as they are).

/** Runs `f(store)` in a transaction on `storeName` of database `dbName`. */
export function idbStore(dbName, storeName) {
  const open = () =>
    new Promise((resolve, reject) => {
      const req = indexedDB.open(dbName, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(storeName);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  return async (mode, f) => {
    const d = await open();
    return new Promise((resolve, reject) => {
      const t = d.transaction(storeName, mode);
      const req = f(t.objectStore(storeName));
      t.oncomplete = () => resolve(req && req.result);
      t.onerror = () => reject(t.error);
    });
  };
}
