// The room's view of the release (解密) while the opening runs: which
// custodians have released their key shares, how many are still needed,
// and the release window's time left on the server clock. `state` is the
// room's (tender, events, custodians, stage).

import { el, serverClock } from "./common.js";
import { custodianLabel } from "./events.js";
import { fmtDuration, fmtTime, t } from "./i18n.js";

/** During the opening: which custodians have released, how many are still needed, and until when. */
export function renderReleases(state) {
  const box = document.getElementById("custody");
  let div = document.getElementById("releases");
  if (!box || !state.tender || state.tender.state !== "opening") return div?.remove();
  const policy = state.tender.custody;
  const released = new Set(state.events.filter((e) => e.type === "custodian.released").map((e) => e.data.custodian));
  const people = policy.custodians.filter((c) => c !== "bidder");
  const missing = Math.max(0, policy.threshold - people.filter((c) => released.has(c)).length);
  if (!div) box.append((div = el("div", { id: "releases" })));
  div.replaceChildren(
    el("h3", {}, t("room.releases")),
    el(
      "ul",
      { class: "releases" },
      people.map((c) => el("li", { dataset: { custodian: c, released: String(released.has(c)) } }, released.has(c) ? "✓ " : "○ ", custodianLabel(c, state.custodians), " — ", t(released.has(c) ? "room.releases.done" : "room.releases.waiting"))),
    ),
    el("p", { id: "releases-missing", class: missing ? "warn" : "ok" }, missing ? t("room.releases.missing", { missing, k: policy.threshold }) : t("room.releases.enough")),
    el("p", { id: "release-left", class: "help" }),
  );
  tickReleases(state);
}

/** The release window's time left, on the server clock. */
export function tickReleases(state) {
  const line = document.getElementById("release-left");
  const until = state.stage && state.stage.view && state.stage.view.release_until;
  if (!line || !until) return;
  const left = Date.parse(until) - serverClock.now();
  line.textContent = left > 0 ? t("room.releases.left", { left: fmtDuration(left), at: fmtTime(until) }) : t("room.releases.over");
}

