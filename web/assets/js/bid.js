// `/tenders/{id}/bid`: the bidder. Identity key (made and kept in this
// browser, saved to a passphrase-protected file), registration, the lot's
// form with validation, sealing in the browser, upload with progress,
// a review before sealing, the receipt verified here, and "my bids"
// (mybids.js: every bid kept here, what became of it, withdrawal).

import { b64url, concat, label } from "./protocol/bytes.js";
import { api, requireSecureContext, download, el, initPage, nn, serverClock, showError, showStatus, tenderIdFromPath } from "./common.js";
import { forgetPending, loadPending, savePending } from "./pending.js";
import { fmtDuration, fmtTime, lang, onLanguageChange, pick, t } from "./i18n.js";
import { fmtMoney } from "./amount.js";
import { fieldInputs, parseValue, reviewContent } from "./bid_form.js";
import { myBidsSection, rememberBid } from "./mybids.js";
import { signInSection } from "./signin.js";
import * as keys from "./protocol/keyfile.js";
import { decryptSection } from "./decrypt.js";
import { mountBidObjections } from "./objections.js";
import { mountBidQuestions } from "./questions.js";
import { sealBid } from "./protocol/seal.js";
import { resumableUpload } from "./upload.js";
import { parseVerifierKey, verifyReceipt } from "./protocol/verify.js";

const id = tenderIdFromPath();
const main = document.getElementById("main");
let tender = null;
let identity = null;
let bidder = null;
let myBids = null;


function identitySection() {
  const box = el("section", { class: "panel", id: "identity", "aria-labelledby": "h-identity" });
  const status = el("div", { id: "identity-status", "aria-live": "polite" });
  const pass = el("input", { type: "password", id: "passphrase", autocomplete: "new-password" });
  const pass2 = el("input", { type: "password", id: "passphrase2", autocomplete: "new-password" });
  const file = el("input", { type: "file", id: "keyfile", accept: ".json,application/json" });
  const actions = el("div", { class: "actions" });
  if (identity) {
    actions.append(
      el("button", { type: "button", id: "export-key", onclick: async () => {
        if (pass.value.length < 8) return showError(status, new Error(t("bid.passphrase.short")));
        if (pass.value !== pass2.value) return showError(status, new Error(t("bid.passphrase.mismatch")));
        try {
          const json = await keys.exportBidderKey(identity.privateKey, pass.value);
          download(`bidroom-bidder-${identity.id}.json`, json);
          localStorage.setItem(`bidroom.backed-up.${identity.id}`, "1");
          document.getElementById("backup-warning")?.remove();
          showStatus(status, t("bid.identity.saved"));
        } catch (e) {
          showError(status, e);
        }
      } }, t("bid.identity.export")),
      el("button", { type: "button", class: "secondary", id: "forget-key", onclick: () => {
        // Two steps: without a backup file the key, and every bid it
        // signed, cannot be used again from anywhere.
        status.replaceChildren(
          el("div", { class: "warning", id: "forget-warning", role: "alert" },
            el("p", {}, t("bid.identity.forget.warn")),
            el("div", { class: "actions" },
              el("button", { type: "button", class: "danger", id: "forget-confirm", onclick: async () => {
                await keys.forgetBidderKey();
                identity = null;
                bidder = null;
                render();
              } }, t("bid.identity.forget.confirm")),
              el("button", { type: "button", class: "secondary", id: "forget-cancel", onclick: () => status.replaceChildren() }, t("bid.identity.forget.cancel")))),
        );
      } }, t("bid.identity.forget")),
    );
  } else {
    actions.append(
      el("button", { type: "button", id: "generate-key", onclick: async () => {
        identity = await keys.generateBidderKey();
        await keys.storeBidderKey(identity);
        await lookUpBidder();
        render();
        document.getElementById("passphrase").focus();
      } }, t("bid.identity.generate")),
      el("button", { type: "button", class: "secondary", id: "import-key", onclick: async () => {
        try {
          if (!file.files[0]) throw new Error(t("bid.keyfile"));
          identity = await keys.importBidderKey(await file.files[0].text(), pass.value);
          await keys.storeBidderKey(identity);
          await lookUpBidder();
          render();
        } catch (e) {
          showError(status, e instanceof keys.WrongPassphrase ? new Error(t("bid.keyfile.wrong")) : e);
        }
      } }, t("bid.identity.import")),
    );
  }
  box.append(
    ...nn(el("h2", { id: "h-identity" }, t("bid.identity")),
    el("p", { id: "identity-text" }, identity ? t("bid.identity.have", { id: identity.id }) : t("bid.identity.none")),
    el("p", { class: "help" }, t("bid.identity.help")),
    identity && !localStorage.getItem(`bidroom.backed-up.${identity.id}`)
      ? el("p", { class: "warning", id: "backup-warning", role: "alert" }, t("bid.identity.backup"))
      : null,
    identity ? null : el("div", {}, el("label", { for: "keyfile" }, t("bid.keyfile")), file),
    el("div", {}, el("label", { for: "passphrase" }, t("bid.passphrase")), pass),
    identity ? el("div", {}, el("label", { for: "passphrase2" }, t("bid.passphrase.again")), pass2) : null,
    actions,
    status),
  );
  return box;
}

function registerSection() {
  const box = el("section", { class: "panel", id: "register", "aria-labelledby": "h-register" });
  box.append(el("h2", { id: "h-register" }, t("bid.register")));
  if (!identity) return box;
  if (bidder) {
    box.append(el("p", { class: "ok", id: "registered" }, t("bid.register.done", { name: bidder.name, id: bidder.id })));
    return box;
  }
  const name = el("input", { id: "bidder-name", required: true, autocomplete: "organization" });
  const status = el("div", { "aria-live": "polite" });
  const form = el(
    "form",
    {},
    el("label", { for: "bidder-name" }, t("bid.register.name")),
    name,
    el("div", { class: "actions" }, el("button", { type: "submit", id: "register-go" }, t("bid.register.go"))),
    status,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const proof = await keys.sign(identity.privateKey, concat(label("bidroom/v1/register"), identity.pub));
      bidder = await api("POST", "/bidders", { body: { name: name.value.trim(), public_key: b64url(identity.pub), proof: b64url(proof) } });
      render();
    } catch (err) {
      showError(status, err);
    }
  });
  box.append(form);
  return box;
}

function bidSection() {
  const box = el("section", { class: "panel", id: "bid", "aria-labelledby": "h-bid" });
  box.append(el("h2", { id: "h-bid" }, t("bid.form")));
  if (tender.state !== "published" || serverClock.now() > Date.parse(tender.deadline) + 60000) {
    box.append(el("p", { class: "warn" }, t("bid.closed")));
    return box;
  }
  if (!identity || !bidder) return box;
  const lotSelect = el("select", { id: "lot" }, tender.lots.map((l) => el("option", { value: l.id }, `${l.id} — ${l.title}`)));
  const fields = el("div", { id: "fields" });
  const showFields = () => fields.replaceChildren(...fieldInputs(tender.lots.find((l) => l.id === lotSelect.value)));
  lotSelect.addEventListener("change", showFields);
  showFields();
  const docs = el("input", { type: "file", id: "documents", multiple: true });
  const progress = el("progress", { id: "progress", max: 100, value: 0, "aria-describedby": "progress-text" });
  const progressText = el("span", { id: "progress-text", "aria-live": "polite" });
  const progressBox = el("div", { id: "progress-box", hidden: true }, el("label", { for: "progress" }, t("bid.progress")), progress, progressText);
  const status = el("div", { id: "bid-status", "aria-live": "polite" });
  const submit = el("button", { type: "submit", id: "seal" }, t("bid.seal"));
  // After a failed upload the same sealed bid is sent again: the server
  // finds the envelope's session and the upload goes on from its offset.
  let unsent = null;
  const retry = el("button", { type: "button", id: "retry", class: "secondary", hidden: true }, t("bid.retry"));
  const send = async (sealed) => {
    retry.hidden = true;
    showStatus(status, t("bid.uploading"), "help");
    progressBox.hidden = false;
    progress.value = 0;
    const mb = (n) => (n / 1048576).toFixed(1);
    // Announced per 10 % only, so screen readers are not flooded.
    let said = -1;
    try {
      const answer = await resumableUpload(id, sealed, {
        onProgress: (done, total) => {
          const pct = total ? Math.floor((100 * done) / total) : 100;
          progress.value = pct;
          if (Math.floor(pct / 10) !== said) {
            said = Math.floor(pct / 10);
            progressText.textContent = t("bid.progress.text", { done: mb(done), total: mb(total), pct });
          }
        },
        onRetry: (attempt) => showStatus(status, t("bid.upload.retrying", { attempt }), "help"),
      });
      unsent = null;
      progress.value = 100;
      const saved = { bid_id: answer.bid_id, receipt: answer.receipt, envelope_hash: sealed.envelopeHash };
      const meta = sealed.meta || {};
      await rememberBid({ tender_id: id, bid_id: answer.bid_id, bidder_id: identity.id, lot: meta.lot || null, envelope_hash: sealed.envelopeHash, receipt: answer.receipt, fields: meta.fields || null }).catch(() => {});
      await forgetPending(id).catch(() => {});
      document.getElementById("pending-note")?.remove();
      status.replaceChildren();
      await showReceipt(saved);
      myBids?.refresh();
    } catch (err) {
      // A refusal (4xx) will not change on retry; a cut connection or a 5xx may.
      unsent = err.status && err.status < 500 ? null : sealed;
      retry.hidden = !unsent;
      if (!unsent) await forgetPending(id).catch(() => {});
      showError(status, err);
    }
  };
  retry.addEventListener("click", () => unsent && send(unsent));
  // The summary of what is wrong sits above the fields it points to.
  const summaryError = el("div", { id: "bid-summary", "aria-live": "assertive" });
  const review = el("div", { id: "review", class: "review", hidden: true });
  const form = el(
    "form",
    { novalidate: true, id: "bid-form" },
    summaryError,
    el("p", { class: "help", id: "replace-note" }, t("bid.replace.note")),
    el("label", { for: "lot" }, t("bid.lot")),
    lotSelect,
    fields,
    el("label", { for: "documents" }, t("bid.documents")),
    docs,
    el("div", { class: "actions" }, submit, retry),
    review,
    progressBox,
    status,
  );
  const seal = async (lot, values, files) => {
    submit.disabled = true;
    try {
      showStatus(status, t("bid.sealing"), "help");
      progressBox.hidden = false;
      progress.removeAttribute("value");
      // A bidder-held tender seals the bidder's slot to this browser's decryption key.
      const decryptionKey = (await keys.loadDecryptionKey().catch(() => undefined))?.pub || null;
      const sealed = await sealBid({ tender, lot: lot.id, form: values, documents: files, signer: identity, decryptionKey });
      // What the bidder typed, kept beside the sealed bid in this browser
      // only, so the pending note and "my bids" can say which bid it is.
      sealed.meta = { lot: lot.id, fields: values };
      // Kept until the receipt, so a reload does not lose it; the upload
      // goes on even if this browser will not store it.
      await savePending(id, sealed).catch(() => {});
      document.getElementById("pending-note")?.remove();
      await send(sealed);
    } catch (err) {
      showError(status, err);
    } finally {
      submit.disabled = false;
    }
  };
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const lot = tender.lots.find((l) => l.id === lotSelect.value);
    const values = {};
    let firstBad = null;
    for (const f of lot.fields) {
      const input = document.getElementById(`field-${f.key}`);
      const [value, error] = parseValue(f, input.value);
      document.getElementById(`err-${f.key}`).textContent = error ? t(error) : "";
      input.setAttribute("aria-invalid", error ? "true" : "false");
      if (error && !firstBad) firstBad = input;
      if (value !== undefined) values[f.key] = value;
    }
    if (firstBad) {
      showError(summaryError, new Error(t("bid.fix")));
      review.hidden = true;
      firstBad.focus();
      return;
    }
    summaryError.replaceChildren();
    // Review before sealing: once sealed and sent, only a new bid changes it.
    const files = [...docs.files];
    const standing = myBids && document.querySelector(`#my-lot-${CSS.escape(lot.id)} li[data-fate="stands"]`);
    const confirmBtn = el("button", { type: "button", id: "seal-confirm", onclick: () => { review.hidden = true; seal(lot, values, files); } }, t("bid.review.go"));
    const back = el("button", { type: "button", class: "secondary", id: "review-back", onclick: () => { review.hidden = true; submit.focus(); } }, t("bid.review.back"));
    review.replaceChildren(...reviewContent({ tender, lot, values, files, replaces: !!standing, actions: [confirmBtn, back] }));
    review.hidden = false;
    confirmBtn.focus();
  });
  // A bid sealed here earlier that never got its receipt (the page was
  // reloaded or closed mid-upload): offer to send that same sealed bid.
  loadPending(id)
    .then((kept) => {
      if (!kept || unsent) return;
      unsent = kept;
      retry.hidden = false;
      const discard = el("button", { type: "button", class: "secondary", id: "discard-pending" }, t("bid.pending.discard"));
      const meta = kept.meta || {};
      const keptLot = tender.lots.find((l) => l.id === meta.lot);
      const money = keptLot ? keptLot.fields.filter((f) => f.type === "money" && meta.fields && meta.fields[f.key] !== undefined).map((f) => t("mybids.value", { label: pick(f.label), value: fmtMoney(meta.fields[f.key], tender.currency, lang) })).join(lang === "zh" ? "，" : ", ") : "";
      const what = keptLot ? t("bid.pending.what", { lot: keptLot.id, title: keptLot.title, money: money || "—" }) : "";
      const note = el("p", { class: "warn", id: "pending-note", role: "status" }, t("bid.pending", { at: fmtTime(new Date(kept.sealedAt)) }), what ? ` ${what}` : "", " ", discard);
      discard.addEventListener("click", async () => {
        unsent = null;
        retry.hidden = true;
        note.remove();
        await forgetPending(id).catch(() => {});
      });
      form.prepend(note);
    })
    .catch(() => {});
  box.append(form);
  return box;
}

async function showReceipt(saved) {
  const box = document.getElementById("receipt");
  box.hidden = false;
  const status = el("div", { "aria-live": "polite" });
  let text;
  let cls = "ok";
  try {
    const verifier = await parseVerifierKey(await (await fetch("/log/key")).text());
    await verifyReceipt(saved.receipt, verifier, saved.envelope_hash);
    text = "✓ " + t("bid.receipt.ok", { bid: saved.bid_id, at: fmtTime(saved.receipt.received_at), hash: saved.envelope_hash });
  } catch (e) {
    cls = "error";
    text = `✗ ${e.message}`;
  }
  box.replaceChildren(
    el("h2", {}, t("bid.receipt")),
    el("p", { class: cls, id: "receipt-status", role: "status" }, text),
    el("p", {}, el("code", { class: "hash", id: "bid-id" }, saved.bid_id)),
    el(
      "div",
      { class: "actions" },
      el("button", { type: "button", class: "secondary", id: "download-receipt", onclick: () => download(`bidroom-receipt-${saved.bid_id}.json`, JSON.stringify(saved.receipt, null, 2)) }, t("bid.receipt.download")),
    ),
    status,
  );
}

async function lookUpBidder() {
  bidder = null;
  if (!identity) return;
  try {
    bidder = await api("GET", `/bidders/${identity.id}`);
  } catch {
    bidder = null;
  }
}

/** Whether bids may still be sent or withdrawn (the server decides; this only hides the buttons). */
const acceptsBids = () => tender.state === "published" && serverClock.now() < Date.parse(tender.deadline);

let ticker = null;
function tick() {
  const line = document.getElementById("deadline-countdown");
  if (!line) return;
  const left = Date.parse(tender.deadline) - serverClock.now();
  line.textContent = left > 0 ? t("bid.countdown", { left: fmtDuration(left) }) : t("bid.countdown.over");
  line.classList.toggle("warn", left > 0 && left < 3600000);
}

function render() {
  myBids = myBidsSection({ tender, identity, open: acceptsBids });
  main.replaceChildren(
    el("h1", {}, t("bid.heading", { title: tender.title })),
    el("p", {}, el("a", { href: `/tenders/${id}` }, t("back")), " · ", t("bid.deadline.line", { at: fmtTime(tender.deadline) })),
    el("p", { id: "deadline-countdown", class: "countdown-line", "aria-live": "off" }),
    identitySection(),
    registerSection(),
    decryptSection({ tender, identity, bidder }) || "",
    bidSection(),
    el("section", { class: "panel", id: "receipt", hidden: true, "aria-live": "polite" }),
    myBids,
    signInSection({ tender, identity, bidder }),
  );
  mountBidObjections(main, id, () => identity);
  mountBidQuestions(main, id, () => identity);
  tick();
  ticker ||= setInterval(tick, 1000);
}

async function start() {
  initPage();
  // Sealing and decrypting need WebCrypto: say so plainly rather than fail later.
  if (!requireSecureContext(main)) return;
  try {
    tender = await api("GET", `/tenders/${id}`);
    await serverClock.sync().catch(() => {});
    identity = (await keys.loadBidderKey().catch(() => undefined)) || null;
    await lookUpBidder();
  } catch (e) {
    showError(main, e);
    return;
  }
  render();
}

onLanguageChange(() => tender && render());
start();
