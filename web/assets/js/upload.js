// The resumable upload of a sealed bid (docs/PROTOCOL.md, "Resumable
// upload"): open a session with the signed envelope, send each ciphertext
// in chunks at the offset the server holds, commit. After a network error
// or a server error the upload asks the server what it holds and goes on
// from there, so a cut at 90 % costs one chunk, not the upload.

import { b64url } from "./protocol/bytes.js";
import { readBody } from "./common.js";

/** Bytes per request (the server takes at most `max_request_bytes`). */
export const CHUNK = 8 * 1024 * 1024;

/** An error the server answered, with its status and stable code. */
class UploadError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.code;
  }
}

/** Worth trying again from the server's offset? */
function transient(err) {
  if (!(err instanceof UploadError)) return true; // the network
  return err.status >= 500 || ["offset_mismatch", "part_busy", "malformed_upload"].includes(err.code);
}

async function call(method, path, body) {
  let r;
  try {
    r = await fetch(`/api/v1${path}`, {
      method,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch (e) {
    throw new Error(`network: ${e.message}`);
  }
  const value = await readBody(r);
  if (!r.ok) throw new UploadError(r.status, value);
  return [r.status, value];
}

/** One PATCH with upload progress; resolves to the part's state. */
function patch(url, offset, slice, onSent) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PATCH", url);
    xhr.setRequestHeader("Upload-Offset", String(offset));
    xhr.setRequestHeader("Content-Type", "application/offset+octet-stream");
    xhr.responseType = "json";
    xhr.upload.onprogress = (e) => onSent(e.loaded);
    xhr.onload = () => (xhr.status === 200 ? resolve(xhr.response) : reject(new UploadError(xhr.status, xhr.response)));
    xhr.onerror = () => reject(new Error("network: the connection broke"));
    xhr.ontimeout = xhr.onerror;
    xhr.send(slice);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Uploads `sealed` (from seal.js) to the tender and commits it; resolves
 * to the server's {bid_id, receipt}. `onProgress(done, total)` reports
 * bytes the server holds plus those in flight; `onRetry(attempt, error)`
 * each failure that will be retried. Calling it again with the same sealed
 * bid (say after it gave up) resumes the same session.
 */
export async function resumableUpload(tenderId, sealed, { onProgress = () => {}, onRetry = () => {}, chunk = CHUNK, retries = 10 } = {}) {
  let failures = 0;
  const again = async (err) => {
    failures += 1;
    if (!transient(err) || failures > retries) throw err;
    onRetry(failures, err);
    await sleep(Math.min(500 * 2 ** (failures - 1), 30000));
  };
  const retrying = async (f) => {
    for (;;) {
      try {
        return await f();
      } catch (e) {
        await again(e);
      }
    }
  };
  const base = `/tenders/${tenderId}/uploads`;
  const [, opened] = await retrying(() => call("POST", base, { envelope: b64url(sealed.envelope), signature: b64url(sealed.signature) }));
  const upload = `${base}/${opened.upload_id}`;
  if (opened.state !== "committed") {
    const sources = [new Blob([sealed.formCiphertext]), ...sealed.documents];
    const size = Math.min(chunk, opened.max_request_bytes || chunk);
    let done = opened.received;
    onProgress(done, opened.total);
    for (const part of opened.parts) {
      let offset = part.received;
      let complete = part.complete;
      while (!complete) {
        const end = Math.min(offset + size, part.length);
        try {
          const p = await patch(`/api/v1${upload}/parts/${part.part}`, offset, sources[part.part].slice(offset, end), (sent) => onProgress(done + sent, opened.total));
          failures = 0;
          done += p.received - offset;
          offset = p.received;
          complete = p.complete;
          onProgress(done, opened.total);
        } catch (e) {
          await again(e);
          // Go on from what the server holds, not from what was sent.
          const [, now] = await retrying(() => call("GET", upload));
          done = now.received;
          offset = now.parts[part.part].received;
          complete = now.parts[part.part].complete;
          onProgress(done, opened.total);
        }
      }
    }
  }
  const [, answer] = await retrying(() => call("POST", `${upload}/commit`));
  return answer;
}
