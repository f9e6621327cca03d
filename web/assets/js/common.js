// Page scaffolding: DOM helper, API calls, the server clock, the header.

import { applyI18n, lang, setLanguage, t, zoneOf } from "./i18n.js";

/** Creates an element: el("a", {href: "/"}, "text", child…). `on*` attributes become listeners. */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") e.addEventListener(k.slice(2), v);
    else if (k === "class") e.className = v;
    else if (k === "dataset") Object.assign(e.dataset, v);
    else if (v === true) e.setAttribute(k, "");
    else e.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

/** An error answer of the API. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : `HTTP ${status}`);
    this.status = status;
    this.code = body && body.code;
    this.field = body && body.field;
  }
}

/** Calls the JSON API; throws ApiError with the server's code and message. */
export async function api(method, path, { body, token } = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  const r = await fetch(`/api/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
  });
  const value = await readBody(r);
  if (!r.ok) throw new ApiError(r.status, value);
  return value;
}

/** A response body as JSON; a body that is not JSON becomes its message. */
export async function readBody(r) {
  const text = await r.text();
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return { message: text };
  }
}

/** The server's clock: offset from this device's, measured at the midpoint of a request. */
export const serverClock = {
  offset: 0,
  zone: "UTC",
  synced: false,
  async sync() {
    const before = Date.now();
    const v = await api("GET", "/time");
    const after = Date.now();
    this.offset = v.unix_ms - (before + after) / 2;
    this.zone = zoneOf(v.now);
    this.synced = true;
    return this;
  },
  /** Takes the time from a live socket's hello (sent just before it arrived). */
  fromHello(hello) {
    if (typeof hello.server_unix_ms !== "number") return this;
    this.offset = hello.server_unix_ms - Date.now();
    this.zone = zoneOf(hello.server_time);
    this.synced = true;
    return this;
  },
  now() {
    return Date.now() + this.offset;
  },
};

/** Builds the site header with navigation and the language switch, and applies translations. */
export function initPage() {
  const header = document.getElementById("site-header");
  if (header) {
    const button = el("button", { type: "button", class: "lang", id: "lang-switch" });
    const label = () => {
      button.textContent = t("lang.switch");
      button.setAttribute("aria-label", t("lang.switch.label"));
      button.lang = lang === "zh" ? "en" : "zh-CN";
    };
    label();
    button.addEventListener("click", () => {
      setLanguage(lang === "zh" ? "en" : "zh");
      label();
    });
    header.replaceChildren(
      el(
        "div",
        { class: "bar" },
        el("a", { href: "/", class: "brand" }, el("strong", {}, "bidroom"), " ", el("span", { "data-i18n": "site.tagline" })),
        el(
          "nav",
          { "aria-label": "main" },
          el("a", { href: "/", "data-i18n": "nav.tenders" }),
          el("a", { href: "/staff", "data-i18n": "nav.staff" }),
          button,
        ),
      ),
    );
  }
  applyI18n();
}

/**
 * Whether this page may use WebCrypto, which browsers offer only on a
 * secure origin (HTTPS, or localhost). If not, says in `target` what is
 * wrong and what to do, and returns false.
 */
export function requireSecureContext(target) {
  if (window.isSecureContext && globalThis.crypto && globalThis.crypto.subtle) return true;
  // The same address on HTTPS (built from the URL, not written out: the
  // pages name no external address).
  const secure = new URL(location.href);
  secure.protocol = "https:";
  secure.search = "";
  secure.hash = "";
  const https = secure.href;
  target.replaceChildren(
    el(
      "div",
      { class: "error", role: "alert", id: "insecure-origin" },
      el("p", {}, el("strong", {}, t("secure.title"))),
      el("p", {}, t("secure.why", { origin: location.origin })),
      el("p", {}, t("secure.todo", { https })),
    ),
  );
  return false;
}

/** Whether the dictionary has `key` (t() answers the key itself when not). */
const known = (key) => t(key) !== key;

/**
 * An error as the visitor reads it: the API's error in the page's language
 * by its `code` (and `field`), the server's own sentence folded away as a
 * detail; any other error by its message.
 */
export function errorContent(err) {
  if (!(err instanceof ApiError) || !err.code || !known(`code.${err.code}`)) {
    const msg = err instanceof ApiError ? `${err.message}${err.field ? ` (${err.field})` : ""}` : String((err && err.message) || err);
    return [el("p", { class: "error", role: "alert" }, t("error.sentence", { msg }))];
  }
  // A sentence for this code and field if there is one ("the address must be https://"), else the code's and the field's name.
  const specific = err.field && known(`code.${err.code}.${err.field}`);
  const field = err.field && !specific ? (known(`field.${err.field}`) ? t(`field.${err.field}`) : err.field) : null;
  return [
    el("p", { class: "error", role: "alert", dataset: { code: err.code } }, specific ? t(`code.${err.code}.${err.field}`) : t(`code.${err.code}`), field ? ` ${t("error.field", { field })}` : ""),
    el("details", { class: "error-detail" }, el("summary", {}, t("error.details")), el("p", {}, err.message)),
  ];
}

/** An error as one line of text in the page's language (for alert()). */
export function errorText(err) {
  if (err instanceof ApiError && err.code && known(`code.${err.code}`)) return t(`code.${err.code}`);
  return String((err && err.message) || err);
}

/** Shows an error in `target` (role=alert), translated by its code. */
export function showError(target, err) {
  target.replaceChildren(...errorContent(err));
}

/** A short status line in `target` (role=status). */
export function showStatus(target, text, kind = "ok") {
  target.replaceChildren(el("p", { class: kind, role: "status" }, text));
}

/** The path segment after /tenders/. */
export function tenderIdFromPath() {
  const m = /^\/tenders\/([0-9a-fA-F-]{36})/.exec(location.pathname);
  return m ? m[1] : null;
}

/** Offers bytes or text to the user as a file download. */
export function download(name, data, type = "application/json") {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const a = el("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** The children worth inserting (drops null, undefined and false; flattens). */
export const nn = (...xs) => xs.flat().filter((x) => x !== null && x !== undefined && x !== false);
