// Chinese and English for every page: chosen from the browser's languages,
// switchable, remembered. Times in the viewer's zone, the server's stated.

import * as common from "./strings/common.js";
import * as codes from "./strings/codes.js";
import * as room from "./strings/room.js";
import * as bid from "./strings/bid.js";
import * as staff from "./strings/staff.js";
import * as custody from "./strings/custody.js";
import * as record from "./strings/record.js";
import * as draws from "./strings/draws.js";

const PARTS = [common, codes, room, bid, staff, custody, record, draws];
const STRINGS = {
  en: Object.assign({}, ...PARTS.map((p) => p.en)),
  zh: Object.assign({}, ...PARTS.map((p) => p.zh)),
};

function detect() {
  const saved = localStorage.getItem("bidroom.lang");
  if (saved === "zh" || saved === "en") return saved;
  const langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || "en"];
  for (const l of langs) {
    const lower = String(l).toLowerCase();
    if (lower.startsWith("zh")) return "zh";
    if (lower.startsWith("en")) return "en";
  }
  return "en";
}

export let lang = detect();

/** Translates `key`, filling `{name}` placeholders from `params`. */
export function t(key, params = {}) {
  const s = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
}

/** A bilingual label `{zh, en}` in the page's language. */
export const pick = (label) => (label ? label[lang] || label.en || label.zh || "" : "");

/** Applies `data-i18n` (text), `data-i18n-placeholder` and `data-i18n-label` (aria-label) under `root`. */
export function applyI18n(root = document) {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
}

const listeners = [];
/** Calls `f` after every language switch (to re-render dynamic text). */
export const onLanguageChange = (f) => listeners.push(f);

/** Switches the language and re-renders. */
export function setLanguage(l) {
  lang = l;
  localStorage.setItem("bidroom.lang", l);
  applyI18n();
  for (const f of listeners) f();
}

/** The viewer's time zone name. */
export const viewerZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || "local";

/** A time (RFC 3339 or Date) in the viewer's zone, with the zone shown. */
export function fmtTime(t) {
  const d = t instanceof Date ? t : new Date(t);
  return new Intl.DateTimeFormat(lang === "zh" ? "zh-CN" : "en-GB", {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
    timeZoneName: "short",
  }).format(d);
}

/** A duration in milliseconds as `3 d 04:05:06`. */
export function fmtDuration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  const hms = [Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60), s % 60]
    .map((x) => String(x).padStart(2, "0"))
    .join(":");
  return d ? `${d} ${lang === "zh" ? "天" : "d"} ${hms}` : hms;
}

/** The UTC offset of an RFC 3339 time string, as `UTC` or `UTC+08:00`. */
export function zoneOf(rfc3339) {
  const m = /([+-]\d\d:\d\d|Z)$/i.exec(rfc3339 || "");
  if (!m || m[1].toUpperCase() === "Z" || m[1] === "+00:00" || m[1] === "-00:00") return "UTC";
  return `UTC${m[1]}`;
}
