// `/custodians/new`: a future custodian makes its key pair in this browser
// (RFC 9180 GenerateKeyPair, i.e. DeriveKeyPair of fresh random bytes),
// saves the private key to a passphrase-protected key file, and hands the
// public key to the buyer's staff, who register it in the staff console.
// The private key is never sent anywhere.

import { b64url, random } from "./protocol/bytes.js";
import { download, el, initPage, showError, showStatus } from "./common.js";
import { deriveKeyPair } from "./protocol/hpke.js";
import { onLanguageChange, t } from "./i18n.js";
import { exportCustodianKey, keyId } from "./protocol/keyfile.js";

const main = document.getElementById("main");
let made = null; // {sk, pk, id, saved}

function render() {
  const pass = el("input", { type: "password", id: "passphrase", autocomplete: "new-password" });
  const pass2 = el("input", { type: "password", id: "passphrase2", autocomplete: "new-password" });
  const status = el("div", { id: "key-status", "aria-live": "polite" });
  const save = el("button", { type: "button", id: "save-key" }, t("custkey.save"));
  save.addEventListener("click", async () => {
    if (pass.value.length < 8) return showError(status, new Error(t("bid.passphrase.short")));
    if (pass.value !== pass2.value) return showError(status, new Error(t("bid.passphrase.mismatch")));
    try {
      const file = await exportCustodianKey(made.sk, pass.value);
      download(`bidroom-custodian-${made.id}.json`, file);
      made.saved = true;
      render();
    } catch (e) {
      showError(status, e);
    }
  });
  const make = el("button", { type: "button", id: "make-key", class: made ? "secondary" : "" }, t("custkey.make"));
  make.addEventListener("click", async () => {
    // RFC 9180 §4: GenerateKeyPair() is DeriveKeyPair(random(Nsk)).
    const { sk, pk } = await deriveKeyPair(random(32));
    made = { sk, pk, id: await keyId(pk), saved: false };
    render();
  });
  const parts = [el("h1", {}, t("custkey.title")), el("p", {}, t("custkey.intro"))];
  if (!made) {
    parts.push(el("div", { class: "actions" }, make));
  } else {
    parts.push(
      el("section", { class: "panel", id: "new-key" },
        el("h2", {}, t("custkey.step.save")),
        el("p", {}, t("custkey.made", { id: made.id })),
        made.saved
          ? el("p", { class: "ok", role: "status", id: "saved" }, t("custkey.saved"))
          : el("p", { class: "warning", role: "alert" }, t("custkey.save.help")),
        el("div", {}, el("label", { for: "passphrase" }, t("bid.passphrase")), pass),
        el("div", {}, el("label", { for: "passphrase2" }, t("bid.passphrase.again")), pass2),
        el("div", { class: "actions" }, save),
        status),
      el("section", { class: "panel", id: "public-key-panel", hidden: !made.saved },
        el("h2", {}, t("custkey.step.give")),
        el("p", {}, t("custkey.give.help")),
        el("label", { for: "public-key" }, t("custkey.public")),
        el("textarea", { id: "public-key", readonly: true, rows: 3, class: "token" }, b64url(made.pk)),
        el("p", { class: "help" }, t("custkey.id", { id: made.id }))),
      el("div", { class: "actions" }, make),
    );
  }
  main.replaceChildren(...parts);
  if (made && made.saved) showStatus(document.getElementById("key-status"), t("custkey.saved.file", { name: `bidroom-custodian-${made.id}.json` }));
}

initPage();
render();
onLanguageChange(render);
