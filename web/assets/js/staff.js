// `/staff`: the staff console. Sign in with a token (kept in this tab's
// sessionStorage), create and edit drafts (lots, fields, times, custody),
// publish, amend with a reason, cancel; the session view (session.js)
// follows one tender live, sets its video stream and exports its record.

import { api, el, initPage, showError, showStatus } from "./common.js";
import { fmtTime, onLanguageChange, t, viewerZone } from "./i18n.js";
import { openSession } from "./session.js";
import { drawForm, drawServerError, drawSession, drawsReady } from "./draw_form.js";
import { admissionForm, custodiansPanel, may, staffAccountsPanel } from "./accounts.js";

const main = document.getElementById("main");
const TOKEN_KEY = "bidroom.staffToken";
const TYPES = ["money", "integer", "decimal", "text", "date"];
let token = sessionStorage.getItem(TOKEN_KEY);
let me = null;
let custodians = [];
let tenders = [];
let uid = 0;
let stopSession = null;
let sessionId = null;
const nextId = (p) => `${p}-${++uid}`;

const call = (method, path, body) => api(method, path, { body, token });

/** `<label>` + control pair with a fresh id. */
function labelled(key, control, extra) {
  control.id = control.id || nextId("f");
  return el("div", {}, el("label", { for: control.id }, t(key)), control, extra || null);
}

/** RFC 3339 (UTC) from a datetime-local value in the viewer's zone. */
function fromLocal(v) {
  return v ? new Date(v).toISOString() : null;
}

/** datetime-local value in the viewer's zone from RFC 3339. */
function toLocal(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function signInView() {
  const input = el("input", { type: "password", id: "token", name: "token", autocomplete: "current-password", required: true });
  const status = el("div", { id: "signin-status" });
  const form = el(
    "form",
    { id: "signin", class: "panel" },
    el("h2", {}, t("staff.signin")),
    labelled("staff.token", input, el("p", { class: "help" }, t("staff.token.help"))),
    el("div", { class: "actions" }, el("button", { type: "submit" }, t("staff.signin.go"))),
    status,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      me = await api("GET", "/staff/me", { token: input.value.trim() });
      token = input.value.trim();
      sessionStorage.setItem(TOKEN_KEY, token);
      await consoleView();
    } catch (err) {
      showError(status, err);
    }
  });
  main.replaceChildren(el("h1", {}, t("staff.title")), form);
  input.focus();
}

function fieldRow(f = { key: "", label: { zh: "", en: "" }, type: "money", required: true }) {
  const row = el("div", { class: "field-row" });
  const type = el("select", { class: "f-type" }, TYPES.map((x) => el("option", { value: x, selected: x === f.type }, t(`type.${x}`))));
  const required = el("input", { type: "checkbox", class: "f-required", checked: f.required });
  required.id = nextId("req");
  row.append(
    labelled("staff.form.field.key", el("input", { class: "f-key", value: f.key, required: true, pattern: "[a-z][a-z0-9_]*", maxlength: 40 })),
    labelled("staff.form.field.zh", el("input", { class: "f-zh", value: f.label.zh, required: true, lang: "zh-CN" })),
    labelled("staff.form.field.en", el("input", { class: "f-en", value: f.label.en, required: true, lang: "en" })),
    labelled("staff.form.field.type", type),
    el("div", {}, el("label", { class: "inline", for: required.id }, required, t("staff.form.field.required"))),
    el("div", {}, el("button", { type: "button", class: "secondary", onclick: () => row.remove() }, t("staff.form.field.remove"))),
  );
  return row;
}

function lotBox(lot = { id: "1", title: "", fields: [{ key: "price", label: { zh: "投标报价", en: "Price" }, type: "money", required: true }] }) {
  const fields = el("div", { class: "fields" }, lot.fields.map(fieldRow));
  // The legend names the lot ("标段 2"), not just "标段", so lots are told apart.
  const legendFor = (e) => {
    const set = e.target.closest("fieldset.lot");
    if (e.target.classList.contains("lot-id") && set) set.querySelector("legend").textContent = t("staff.form.lot.legend", { id: e.target.value.trim() || "?" });
  };
  const box = el(
    "fieldset",
    { class: "lot", oninput: legendFor },
    el("legend", {}, t("staff.form.lot.legend", { id: lot.id })),
    el(
      "div",
      { class: "row" },
      labelled("staff.form.lot.id", el("input", { class: "lot-id", value: lot.id, required: true, maxlength: 20 })),
      labelled("staff.form.lot.title", el("input", { class: "lot-title", value: lot.title, required: true })),
    ),
    el("h3", {}, t("staff.form.fields")),
    fields,
    el(
      "div",
      { class: "actions" },
      el("button", { type: "button", class: "secondary add-field", onclick: () => fields.append(fieldRow({ key: "", label: { zh: "", en: "" }, type: "text", required: false })) }, t("staff.form.field.add")),
      el("button", { type: "button", class: "secondary", onclick: () => box.remove() }, t("staff.form.lot.remove")),
    ),
  );
  return box;
}

function tenderForm(draft) {
  const v = draft || {};
  const inputs = {
    title: el("input", { id: "title", required: true, value: v.title || "" }),
    reference: el("input", { id: "reference", required: true, value: v.reference || "" }),
    description: el("textarea", { id: "description", rows: 3 }, v.description || ""),
    buyer: el("input", { id: "buyer", required: true, value: v.buyer || "" }),
    currency: el("input", { id: "currency", required: true, value: v.currency || "CNY", maxlength: 3, pattern: "[A-Z]{3}" }),
    deadline: el("input", { id: "deadline", type: "datetime-local", required: true, value: toLocal(v.deadline) }),
    opening: el("input", { id: "opening", type: "datetime-local", value: draft && v.opening_at !== v.deadline ? toLocal(v.opening_at) : "" }),
    registration: el("select", { id: "registration" }, ["open", "approved"].map((r) => el("option", { value: r, selected: v.registration === r }, t(`registration.${r}`)))),
    threshold: el("input", { id: "threshold", type: "number", min: 1, max: 16, value: v.custody ? v.custody.threshold : 1 }),
    window: el("input", { id: "window", type: "number", min: 1, max: 10080, value: v.custody ? v.custody.release_window_minutes : 60 }),
  };
  const chosen = v.custody ? v.custody.custodians : ["server"];
  // "bidder" is not a registered custodian: each bid's own bidder (bidder-held custody).
  const custodianBoxes = [...custodians, { id: "bidder" }].map((c) => {
    const box = el("input", { type: "checkbox", class: "custodian", value: c.id, checked: chosen.includes(c.id), id: `cust-${c.id}` });
    const name = c.id === "server" ? t("room.custody.server") : c.id === "bidder" ? t("room.custody.bidder") : t("custodian.named", { name: c.name, id: c.id });
    return el("div", {}, el("label", { class: "inline", for: box.id }, box, name));
  });
  const lots = el("div", { id: "lots" }, (v.lots || [undefined]).map((l) => lotBox(l)));
  const status = el("div", { id: "form-status" });
  // The policy in one sentence, and a confirmation whenever the server's
  // operator could open the bids alone (the product's first promise).
  const aloneBox = el("input", { type: "checkbox", id: "custody-alone-ok" });
  const aloneConfirm = el("div", { id: "custody-alone", class: "warning" }, el("label", { class: "inline", for: aloneBox.id }, aloneBox, t("staff.form.custody.alone.confirm")));
  const words = el("p", { id: "custody-words", class: "help" });
  const policy = () => ({ k: Number(inputs.threshold.value), chosen: custodianBoxes.map((d) => d.querySelector("input")).filter((b) => b.checked).map((b) => b.value) });
  const serverAlone = () => {
    const { k, chosen } = policy();
    return chosen.includes("server") && k <= 1;
  };
  const describe = () => {
    const { k, chosen } = policy();
    const n = chosen.length;
    if (serverAlone()) words.textContent = t("staff.form.custody.alone");
    else if (n > 0 && k === 1) words.textContent = t("staff.form.custody.any", { n });
    else if (n > 0 && k >= 1 && k <= n) words.textContent = t("staff.form.custody.k", { k, n });
    else words.textContent = t("staff.form.custody.invalid", { n });
    aloneConfirm.hidden = !serverAlone();
    if (!serverAlone()) {
      aloneBox.checked = false;
      status.querySelector("#custody-alone-error")?.remove();
    }
  };
  const form = el(
    "form",
    { id: "tender-form", class: "panel" },
    el("h2", {}, t(draft ? "staff.edit" : "staff.new")),
    labelled("staff.form.title", inputs.title),
    el("div", { class: "row" }, labelled("staff.form.reference", inputs.reference), labelled("staff.form.buyer", inputs.buyer), labelled("staff.form.currency", inputs.currency)),
    labelled("staff.form.description", inputs.description),
    el("div", { class: "row" }, labelled("staff.form.deadline", inputs.deadline), labelled("staff.form.opening", inputs.opening)),
    el("p", { class: "help" }, t("staff.form.times.help", { zone: viewerZone() })),
    labelled("staff.form.registration", inputs.registration),
    el("h3", {}, t("staff.form.lots")),
    lots,
    el("div", { class: "actions" }, el("button", { type: "button", class: "secondary", id: "add-lot", onclick: () => lots.append(lotBox({ id: String(lots.children.length + 1), title: "", fields: [] })) }, t("staff.form.lot.add"))),
    el(
      "fieldset",
      {},
      el("legend", {}, t("staff.form.custody")),
      el("p", { class: "help" }, t("staff.form.custodians")),
      custodianBoxes,
      el("div", { class: "row" }, labelled("staff.form.threshold", inputs.threshold), labelled("staff.form.window", inputs.window)),
      words,
      aloneConfirm,
    ),
    el("div", { class: "actions" }, el("button", { type: "submit", id: "save" }, t("staff.form.save"))),
    status,
  );
  describe();
  drawForm(form, draft);
  for (const x of [inputs.threshold, ...custodianBoxes.map((d) => d.querySelector("input"))]) {
    x.addEventListener("input", describe);
    x.addEventListener("change", describe);
  }
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (serverAlone() && !aloneBox.checked) {
      status.replaceChildren(el("p", { class: "error", role: "alert", id: "custody-alone-error" }, t("staff.form.custody.alone.needed")));
      aloneBox.focus();
      return;
    }
    if (!drawsReady(form)) {
      status.replaceChildren(el("p", { class: "error", role: "alert", id: "draws-not-ready" }, t("drawsui.err.summary")));
      return;
    }
    const body = {
      title: inputs.title.value.trim(),
      reference: inputs.reference.value.trim(),
      description: inputs.description.value,
      buyer: inputs.buyer.value.trim(),
      currency: inputs.currency.value.trim().toUpperCase(),
      lots: [...lots.querySelectorAll("fieldset.lot")].map((box) => ({
        id: box.querySelector(".lot-id").value.trim(),
        title: box.querySelector(".lot-title").value.trim(),
        fields: [...box.querySelectorAll(".field-row")].map((row) => ({
          key: row.querySelector(".f-key").value.trim(),
          label: { zh: row.querySelector(".f-zh").value.trim(), en: row.querySelector(".f-en").value.trim() },
          type: row.querySelector(".f-type").value,
          required: row.querySelector(".f-required").checked,
        })),
      })),
      deadline: fromLocal(inputs.deadline.value),
      custody: {
        threshold: Number(inputs.threshold.value),
        custodians: [...form.querySelectorAll("input.custodian:checked")].map((b) => b.value),
        release_window_minutes: Number(inputs.window.value),
      },
      registration: inputs.registration.value,
      ...drawSession(form),
    };
    const opening = fromLocal(inputs.opening.value);
    if (opening) body.opening_at = opening;
    try {
      const saved = draft ? await call("PUT", `/tenders/${draft.id}`, body) : await call("POST", "/tenders", body);
      await refresh();
      showStatus(document.getElementById("console-status"), `${t("staff.form.saved")} ${saved.title}`);
      document.getElementById("editor").replaceChildren();
      document.getElementById(`tender-${saved.id}`)?.querySelector("button")?.focus();
    } catch (err) {
      showError(status, err);
      if (err.field && !drawServerError(form, err)) {
        const target = form.querySelector(`#${err.field.split(/[.[]/)[0]}`);
        if (target) target.focus();
      }
    }
  });
  return form;
}

function inlineForm(tender, kind) {
  const reason = el("input", { required: true, class: "reason" });
  const status = el("div", {});
  const parts = [];
  const deadline = el("input", { type: "datetime-local", class: "amend-deadline", value: toLocal(tender.deadline) });
  const opening = el("input", { type: "datetime-local", class: "amend-opening", value: toLocal(tender.opening_at) });
  if (kind === "amend") parts.push(el("div", { class: "row" }, labelled("staff.form.deadline", deadline), labelled("staff.form.opening", opening)));
  const form = el(
    "form",
    { class: `panel ${kind}-form` },
    parts,
    labelled(kind === "amend" ? "staff.amend.reason" : "staff.cancel.reason", reason),
    el("div", { class: "actions" }, el("button", { type: "submit", class: kind === "cancel" ? "danger" : "" }, t(kind === "amend" ? "staff.amend.go" : "staff.cancel.go"))),
    status,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      if (kind === "amend") {
        const body = { reason: reason.value.trim() };
        const d = fromLocal(deadline.value);
        const o = fromLocal(opening.value);
        if (d && d !== new Date(tender.deadline).toISOString()) body.deadline = d;
        if (o && o !== new Date(tender.opening_at).toISOString()) body.opening_at = o;
        await call("POST", `/tenders/${tender.id}/amend`, body);
      } else {
        await call("POST", `/tenders/${tender.id}/cancel`, { reason: reason.value.trim() });
      }
      await refresh();
      showStatus(document.getElementById("console-status"), t(kind === "amend" ? "staff.amended" : "staff.cancelled"));
    } catch (err) {
      showError(status, err);
    }
  });
  return form;
}

function tenderRow(x) {
  const extra = el("div", { class: "extra" });
  const act = [];
  const toggle = (kind) => () => {
    extra.replaceChildren(inlineForm(x, kind));
    extra.querySelector("input").focus();
  };
  if (x.state === "draft" && may.manageTenders(me)) {
    act.push(
      el("button", { type: "button", class: "secondary edit", onclick: () => {
        document.getElementById("editor").replaceChildren(tenderForm(x));
        document.getElementById("title").focus();
      } }, t("staff.edit")),
      el("button", { type: "button", class: "publish", onclick: async () => {
        if (!confirm(t("staff.publish.confirm"))) return;
        try {
          await call("POST", `/tenders/${x.id}/publish`);
          await refresh();
          showStatus(document.getElementById("console-status"), `${t("staff.published")} ${x.title}`);
        } catch (err) {
          showError(extra, err);
        }
      } }, t("staff.publish")),
    );
  }
  if (may.manageTenders(me)) {
    if (x.state === "published") act.push(el("button", { type: "button", class: "secondary amend", onclick: toggle("amend") }, t("staff.amend")));
    if (x.state === "published" || x.state === "draft" || x.state === "closed") act.push(el("button", { type: "button", class: "secondary cancel", onclick: toggle("cancel") }, t("staff.cancel")));
  }
  if (may.admit(me) && x.registration === "approved" && (x.state === "draft" || x.state === "published")) {
    act.push(el("button", { type: "button", class: "secondary admit", onclick: () => {
      extra.replaceChildren(admissionForm(x, call));
      extra.querySelector("input").focus();
    } }, t("admit.open")));
  }
  if (x.state !== "cancelled") act.push(el("button", { type: "button", class: "secondary session", onclick: () => showSession(x) }, t("staff.session")));
  if (x.state !== "draft") act.push(el("a", { class: "button secondary", href: `/tenders/${x.id}` }, t("staff.open.room")));
  return el(
    "li",
    { id: `tender-${x.id}`, dataset: { state: x.state } },
    el("strong", {}, x.title),
    " ",
    el("span", { class: `badge ${x.state}` }, t(`state.${x.state}`)),
    el("div", { class: "meta" }, `${x.reference} · ${t("ui.pair", { label: t("list.deadline"), value: fmtTime(x.deadline) })} · ${t("ui.pair", { label: t("list.opening"), value: fmtTime(x.opening_at) })}`),
    el("div", { class: "actions" }, act),
    extra,
  );
}

function renderList() {
  const drafts = tenders.filter((x) => x.state === "draft");
  const others = tenders.filter((x) => x.state !== "draft");
  document.getElementById("tender-list").replaceChildren(
    el("h2", {}, t("staff.drafts")),
    drafts.length ? el("ul", { class: "tenders", id: "drafts" }, drafts.map(tenderRow)) : el("p", { class: "help" }, t("list.none")),
    el("h2", {}, t("staff.all")),
    others.length ? el("ul", { class: "tenders", id: "public-tenders" }, others.map(tenderRow)) : el("p", { class: "help" }, t("list.none")),
  );
}

function closeSession() {
  if (stopSession) stopSession();
  stopSession = null;
  sessionId = null;
}

function showSession(x) {
  closeSession();
  const box = document.getElementById("session");
  sessionId = x.id;
  stopSession = openSession(box, x, { token, me, custodians, onChange: () => refresh().catch(() => {}) });
  box.querySelector("#session-title")?.focus();
}

async function refresh() {
  tenders = (await call("GET", "/tenders?limit=200")).items;
  renderList();
}

async function consoleView() {
  const reopen = sessionId;
  closeSession();
  // The server first: it is the default custodian and share 1.
  custodians = (await api("GET", "/custodians")).sort((a, b) => (b.id === "server") - (a.id === "server"));
  main.replaceChildren(
    el("h1", {}, t("staff.title")),
    el(
      "div",
      { class: "row" },
      el("p", { id: "whoami" }, t("staff.signedin", { name: me.name, role: t(`role.${me.role}`) })),
      el("div", { class: "shrink" }, el("button", { type: "button", class: "secondary", id: "signout", onclick: () => {
        sessionStorage.removeItem(TOKEN_KEY);
        closeSession();
        token = null;
        me = null;
        signInView();
      } }, t("staff.signout"))),
    ),
    el("div", { id: "console-status", "aria-live": "polite" }),
    // Only what the role may do is offered (the server refuses the rest).
    may.manageTenders(me)
      ? el("div", { class: "actions" }, el("button", { type: "button", id: "new-tender", onclick: () => {
        document.getElementById("editor").replaceChildren(tenderForm(null));
        document.getElementById("title").focus();
      } }, t("staff.new")))
      : el("p", { class: "help", id: "role-help" }, t(`staff.role.help.${me.role}`)),
    el("div", { id: "editor" }),
    el("section", { id: "session", "aria-label": t("staff.session") }),
    el("section", { id: "tender-list" }),
    may.manageTenders(me)
      ? custodiansPanel(call, async () => {
        custodians = (await api("GET", "/custodians")).sort((a, b) => (b.id === "server") - (a.id === "server"));
      })
      : "",
    may.manageStaff(me) ? staffAccountsPanel(call) : "",
  );
  await refresh();
  const again = tenders.find((x) => x.id === reopen);
  if (again) showSession(again);
}

async function start() {
  initPage();
  if (token) {
    try {
      me = await api("GET", "/staff/me", { token });
      await consoleView();
      return;
    } catch {
      sessionStorage.removeItem(TOKEN_KEY);
      token = null;
    }
  }
  signInView();
}

onLanguageChange(() => (me ? consoleView() : signInView()));
start();
