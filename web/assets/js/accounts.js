// The staff console's panels for accounts and admissions: an admin lists
// and creates staff accounts (the new token is shown once, to copy); an
// officer or admin admits a bidder to a tender with approved registration.

import { el, showError, showStatus } from "./common.js";
import { fmtTime, t } from "./i18n.js";

const ROLES = ["officer", "supervisor", "evaluator", "admin"];

/** What a role may do in the console (the server checks again). */
export const may = {
  manageTenders: (me) => me.role === "admin" || me.role === "officer",
  manageStaff: (me) => me.role === "admin",
  admit: (me) => me.role === "admin" || me.role === "officer",
};

/** The admins' panel of staff accounts. */
export function staffAccountsPanel(call) {
  const box = el("section", { class: "panel", id: "accounts", "aria-labelledby": "h-accounts" });
  const list = el("div", { id: "accounts-list" });
  const status = el("div", { id: "accounts-status", "aria-live": "polite" });
  const name = el("input", { id: "account-name", required: true, maxlength: 200, autocomplete: "off" });
  const role = el("select", { id: "account-role" }, ROLES.map((r) => el("option", { value: r }, t(`role.${r}`))));
  const form = el(
    "form",
    { id: "account-form" },
    el("div", { class: "row" },
      el("div", {}, el("label", { for: name.id }, t("accounts.name")), name),
      el("div", {}, el("label", { for: role.id }, t("accounts.role")), role)),
    el("p", { class: "help" }, t("accounts.roles.help")),
    el("div", { class: "actions" }, el("button", { type: "submit", id: "account-create" }, t("accounts.create"))),
  );
  const load = async () => {
    try {
      const rows = await call("GET", "/staff");
      list.replaceChildren(
        el("table", { class: "accounts" },
          el("thead", {}, el("tr", {}, el("th", {}, t("accounts.name")), el("th", {}, t("accounts.role")), el("th", {}, t("accounts.created")))),
          el("tbody", {}, rows.map((s) => el("tr", { dataset: { id: s.id } }, el("td", {}, s.name), el("td", {}, t(`role.${s.role}`)), el("td", {}, fmtTime(s.created_at)))))),
      );
    } catch (e) {
      showError(list, e);
    }
  };
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const created = await call("POST", "/staff", { name: name.value.trim(), role: role.value });
      const token = el("input", { id: "account-token", readonly: true, value: created.token, class: "token" });
      status.replaceChildren(
        el("div", { class: "warning", role: "alert" },
          el("p", {}, t("accounts.created.once", { name: created.staff.name, role: t(`role.${created.staff.role}`) })),
          token,
          el("div", { class: "actions" }, el("button", { type: "button", class: "secondary", id: "account-copy", onclick: async () => {
            token.select();
            await navigator.clipboard?.writeText(created.token).catch(() => {});
          } }, t("accounts.copy")))),
      );
      name.value = "";
      await load();
    } catch (err) {
      showError(status, err);
    }
  });
  box.append(el("h2", { id: "h-accounts" }, t("accounts.title")), list, form, status);
  load();
  return box;
}

/** The form admitting a bidder (by its key id) to an approved-only tender. */
export function admissionForm(tender, call) {
  const input = el("input", { class: "admit-bidder", required: true, pattern: "[0-9a-f]{16}", maxlength: 16, autocomplete: "off", spellcheck: false });
  input.id = `admit-${tender.id}`;
  const status = el("div", { class: "admit-status", "aria-live": "polite" });
  const form = el(
    "form",
    { class: "panel admit-form" },
    el("label", { for: input.id }, t("admit.bidder")),
    input,
    el("p", { class: "help" }, t("admit.help")),
    el("div", { class: "actions" }, el("button", { type: "submit" }, t("admit.go"))),
    status,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const id = input.value.trim().toLowerCase();
    try {
      const bidder = await call("GET", `/bidders/${encodeURIComponent(id)}`);
      await call("POST", `/tenders/${tender.id}/admissions`, { bidder: id });
      showStatus(status, t("admit.done", { name: bidder.name, id }));
      input.value = "";
    } catch (err) {
      showError(status, err.status === 404 ? new Error(t("admit.unknown", { id })) : err);
    }
  });
  return form;
}

/** Officers' and admins' panel of custodians: the list, and registering a
 * custodian from the public key its own browser (or the CLI) made. */
export function custodiansPanel(call, onChange) {
  const box = el("section", { class: "panel", id: "custodians", "aria-labelledby": "h-custodians" });
  const list = el("div", { id: "custodians-list" });
  const status = el("div", { id: "custodians-status", "aria-live": "polite" });
  const cid = el("input", { id: "custodian-id", required: true, maxlength: 64, pattern: "[A-Za-z0-9._-]{1,64}", autocomplete: "off", spellcheck: false });
  const name = el("input", { id: "custodian-name", required: true, maxlength: 200, autocomplete: "off" });
  const pk = el("textarea", { id: "custodian-pk", required: true, rows: 2, spellcheck: false, class: "token" });
  const form = el(
    "form",
    { id: "custodian-form" },
    el("div", { class: "row" },
      el("div", {}, el("label", { for: cid.id }, t("custodians.id")), cid),
      el("div", {}, el("label", { for: name.id }, t("custodians.name")), name)),
    el("label", { for: pk.id }, t("custodians.pk")),
    pk,
    el("p", { class: "help" }, t("custodians.pk.help"), " ", el("a", { href: "/custodians/new" }, t("custodians.pk.link"))),
    el("div", { class: "actions" }, el("button", { type: "submit", id: "custodian-register" }, t("custodians.register"))),
  );
  const load = async () => {
    try {
      const rows = (await call("GET", "/custodians")).filter((c) => c.id !== "server");
      list.replaceChildren(
        rows.length
          ? el("ul", { class: "plain" }, rows.map((c) => el("li", { dataset: { id: c.id } }, t("custodian.named", { name: c.name, id: c.id }))))
          : el("p", { class: "help" }, t("custodians.none")),
      );
    } catch (e) {
      showError(list, e);
    }
  };
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const body = { id: cid.value.trim(), name: name.value.trim(), public_key: pk.value.replace(/\s+/g, "") };
      const reg = await call("POST", "/custodians", body);
      const token = el("input", { id: "custodian-token", readonly: true, value: reg.release_token, class: "token" });
      status.replaceChildren(
        el("div", { class: "warning", role: "alert" },
          el("p", {}, t("custodians.registered", { name: reg.custodian.name, id: reg.custodian.id })),
          token),
      );
      cid.value = "";
      name.value = "";
      pk.value = "";
      await load();
      if (onChange) await onChange();
    } catch (err) {
      showError(status, err);
    }
  });
  box.append(el("h2", { id: "h-custodians" }, t("custodians.title")), list, form, status);
  load();
  return box;
}
