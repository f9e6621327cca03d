// The room's video stream (set by staff, changed live through the
// `tender.stream_changed` event) with the current verified log head beside
// it, so a viewer can compare what is said on camera with the signed log.

import { hex } from "./bytes.js";
import { el } from "./common.js";
import { t } from "./i18n.js";

function media(stream) {
  const url = new URL(stream.url);
  if (stream.kind === "embed") {
    // allow-same-origin lets a player keep its own storage; for a page of
    // this very origin it would undo the sandbox, so it is dropped there.
    const sandbox = ["allow-scripts", "allow-presentation", ...(url.origin === location.origin ? [] : ["allow-same-origin"])];
    return el("iframe", {
      id: "stream-media",
      src: stream.url,
      sandbox: sandbox.join(" "),
      allow: "fullscreen; picture-in-picture",
      referrerpolicy: "no-referrer",
      title: t("room.stream.title"),
    });
  }
  const video = el("video", { id: "stream-media", controls: true, playsinline: true, preload: "metadata", src: stream.url, "aria-label": t("room.stream.title") });
  return video;
}

function hlsNote(stream, video) {
  const hls = /\.m3u8($|\?)/i.test(new URL(stream.url).pathname);
  if (!hls || !video.canPlayType || video.canPlayType("application/vnd.apple.mpegurl")) return null;
  return el("p", { class: "help" }, t("room.stream.hls"));
}

function head(cp) {
  if (!cp) return el("p", { class: "help" }, t("room.head.pending"));
  return el(
    "dl",
    { class: "facts" },
    el("dt", {}, t("room.head.size")),
    el("dd", { id: "head-size" }, String(cp.size)),
    el("dt", {}, t("room.head.root")),
    el("dd", {}, el("code", { id: "head-root", class: "hash" }, hex(cp.root))),
  );
}

/** Shows `stream` (or hides the panel) and the latest verified checkpoint `cp`. */
export function renderStream(box, stream, cp) {
  if (!box) return;
  if (!stream) {
    box.hidden = true;
    box.replaceChildren();
    delete box.dataset.url;
    return;
  }
  box.hidden = false;
  // Keep the playing element across re-renders; replace it only when the stream changes.
  let player = box.querySelector("#stream-media");
  if (!player || box.dataset.url !== stream.url || box.dataset.kind !== stream.kind) {
    player = media(stream);
    box.dataset.url = stream.url;
    box.dataset.kind = stream.kind;
  }
  player.title = t("room.stream.title");
  box.replaceChildren(
    el("h2", { id: "h-stream" }, t("room.stream")),
    el(
      "div",
      { class: "stream-grid" },
      el("div", { class: "stream-media" }, player, stream.kind === "video" ? hlsNote(stream, player) : null,
        el("p", { class: "help" }, el("a", { href: stream.url, target: "_blank", rel: "noopener noreferrer", id: "stream-link" }, t("room.stream.open")))),
      el("aside", { class: "log-head", id: "log-head", "aria-labelledby": "h-head" }, el("h3", { id: "h-head" }, t("room.head")), head(cp), el("p", { class: "help" }, t("room.head.note"))),
    ),
  );
}
