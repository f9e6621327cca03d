// `/tenders/{id}/custodian`: a custodian loads its key file (unlocked in
// this browser only) and sees which share of this tender's bids it holds.
// Releasing shares needs the server's release endpoint, which comes with
// the opening; until then the page says so.

import { b64url } from "./bytes.js";
import { api, el, initPage, nn, showError, tenderIdFromPath } from "./common.js";
import { onLanguageChange, t } from "./i18n.js";
import { WrongPassphrase, importCustodianKey } from "./keyfile.js";

const id = tenderIdFromPath();
const main = document.getElementById("main");
let tender = null;
let custodian = null;

function render() {
  const file = el("input", { type: "file", id: "keyfile", accept: ".json,application/json" });
  const pass = el("input", { type: "password", id: "passphrase", autocomplete: "current-password" });
  const status = el("div", { id: "custodian-status", "aria-live": "polite" });
  const form = el(
    "form",
    { class: "panel", id: "load-key" },
    el("h2", {}, t("cust.key")),
    el("label", { for: "keyfile" }, t("bid.keyfile")),
    file,
    el("label", { for: "passphrase" }, t("bid.passphrase")),
    pass,
    el("div", { class: "actions" }, el("button", { type: "submit" }, t("cust.load"))),
    status,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const key = await importCustodianKey(await file.files[0].text(), pass.value);
      const pk = b64url(key.pub);
      const mine = (tender.custody_keys ? tender.custody_keys.custodians : []).find((c) => c.public_key === pk);
      custodian = { key, index: mine ? mine.index : null };
      status.replaceChildren(
        ...nn(el("p", { class: mine ? "ok" : "error", role: "status" }, mine ? t("cust.loaded", { id: key.id, index: mine.index }) : t("cust.notcustodian")),
        mine ? el("p", { class: "warn" }, t("cust.pending")) : null),
      );
    } catch (err) {
      showError(status, err instanceof WrongPassphrase ? new Error(t("bid.keyfile.wrong")) : err);
    }
  });
  main.replaceChildren(
    el("h1", {}, `${t("cust.title")}: ${tender.title}`),
    el("p", {}, el("a", { href: `/tenders/${id}` }, t("back"))),
    form,
  );
}

async function start() {
  initPage();
  try {
    tender = await api("GET", `/tenders/${id}`);
  } catch (e) {
    showError(main, e);
    return;
  }
  render();
}

onLanguageChange(() => tender && render());
start();
