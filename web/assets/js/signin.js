// Signing in to the opening room (签到) from the bid page, with the bidder
// key loaded here (docs/LIVE.md "Sign-in"): the page opens the room's live
// socket, signs each hello's nonce and sends it; the room counts the
// bidder under a pseudonym only. Signed in means: this page is open.

import { b64url, concat, label, unb64url, uuidBytes } from "./protocol/bytes.js";
import { api, el, showError } from "./common.js";
import { t } from "./i18n.js";
import * as keys from "./protocol/keyfile.js";
import { LiveFeed } from "./live.js";

let feed = null;

/** The panel; `identity` and `bidder` are the loaded key and its registration. */
export function signInSection({ tender, identity, bidder }) {
  const box = el("section", { class: "panel", id: "sign-in", "aria-labelledby": "h-sign-in" }, el("h2", { id: "h-sign-in" }, t("signin.title")));
  const status = el("div", { id: "sign-in-status", "aria-live": "polite" });
  const presence = el("p", { class: "help", id: "sign-in-presence" });
  if (!identity || !bidder) {
    box.append(el("p", { class: "help" }, t("signin.needkey")));
    return box;
  }
  if (!["published", "closed", "opening"].includes(tender.state)) {
    box.append(el("p", { class: "help" }, t("signin.over")));
    return box;
  }
  const go = el("button", { type: "button", id: "sign-in-go" }, t("signin.go"));
  const signIn = async (hello) => {
    const nonce = unb64url(hello.nonce);
    const sig = await keys.sign(identity.privateKey, concat(label("bidroom/v1/room-sign-in"), uuidBytes(tender.id), nonce));
    feed.send({ type: "sign_in", bidder: identity.id, signature: b64url(sig) });
  };
  go.addEventListener("click", async () => {
    go.disabled = true;
    status.replaceChildren(el("p", { class: "help" }, t("signin.connecting")));
    if (feed) feed.stop();
    let after = 0;
    try {
      after = (await api("GET", `/tenders/${tender.id}/events?limit=1`)).last_seq;
    } catch (e) {
      go.disabled = false;
      showError(status, e);
      return;
    }
    // Only the sign-in matters here: events are not shown, so start after the newest.
    feed = new LiveFeed(
      tender.id,
      {
        // Every connection (a reconnect too) signs its own nonce.
        hello: (h) => signIn(h).catch((e) => status.replaceChildren(el("p", { class: "error", role: "alert" }, String(e.message || e)))),
        presence: (p) => (presence.textContent = t("signin.presence", { bidders: p.bidders })),
        other: (f) => {
          if (f.type === "signed_in") {
            status.replaceChildren(el("p", { class: "ok", role: "status", id: "signed-in" }, t("signin.done", { pseudonym: f.bidder })));
          } else if (f.type === "error") {
            go.disabled = false;
            status.replaceChildren(el("p", { class: "error", role: "alert", dataset: { code: f.code } }, t(`code.${f.code}`)));
          }
        },
        status: (s) => {
          if (!s.connected && s.retryIn) status.replaceChildren(el("p", { class: "warn" }, t("signin.reconnecting")));
        },
      },
      { after },
    ).start();
  });
  box.append(el("p", { class: "help" }, t("signin.help")), el("div", { class: "actions" }, go), status, presence);
  return box;
}
