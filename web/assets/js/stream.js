// The room's video stream (set by staff, changed live through the
// `tender.stream_changed` event) with the current verified log head beside
// it, so a viewer can compare what is said on camera with the signed log.

import { hex } from "./protocol/bytes.js";
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
  // The player is built once per stream and never detached afterwards:
  // moving a <video> pauses it and moving an <iframe> reloads it.
  if (box.dataset.url !== stream.url || box.dataset.kind !== stream.kind) {
    const player = media(stream);
    box.dataset.url = stream.url;
    box.dataset.kind = stream.kind;
    box.replaceChildren(
      el("h2", { id: "h-stream" }),
      el(
        "div",
        { class: "stream-grid" },
        el("div", { class: "stream-media" }, player, el("div", { class: "stream-note" }),
          el("p", { class: "help" }, el("a", { href: stream.url, target: "_blank", rel: "noopener noreferrer", id: "stream-link" }))),
        el("aside", { class: "log-head", id: "log-head", "aria-labelledby": "h-head" }, el("h3", { id: "h-head" }), el("div", { class: "head-facts" }), el("p", { class: "help head-note" })),
      ),
    );
  }
  const player = box.querySelector("#stream-media");
  player.title = t("room.stream.title");
  if (stream.kind === "video") player.setAttribute("aria-label", t("room.stream.title"));
  box.querySelector("#h-stream").textContent = t("room.stream");
  box.querySelector(".stream-note").replaceChildren(...(stream.kind === "video" ? [hlsNote(stream, player)].filter(Boolean) : []));
  box.querySelector("#stream-link").textContent = t("room.stream.open");
  box.querySelector("#h-head").textContent = t("room.head");
  box.querySelector(".head-facts").replaceChildren(head(cp));
  box.querySelector(".head-note").textContent = t("room.head.note");
}
