// `/`: the tenders, grouped by state (taking bids, awaiting or under
// opening, opened, cancelled or failed); search.

import { api, el, initPage, serverClock, showError } from "./common.js";
import { fmtTime, onLanguageChange, t } from "./i18n.js";

const main = document.getElementById("main");
let items = [];
const DAY = 24 * 3600 * 1000;

// Each tender in the section of its state: one taking bids is "open"
// however close its deadline (it says so in a badge instead).
function group(tender) {
  switch (tender.state) {
    case "published":
      return "open";
    case "closed":
    case "opening":
      return "soon";
    case "opened":
      return "opened";
    default:
      return "cancelled";
  }
}

function item(tender, now) {
  const closing = tender.state === "published" && Date.parse(tender.deadline) - now < DAY;
  return el(
    "li",
    {},
    el("a", { href: `/tenders/${tender.id}` }, el("strong", {}, tender.title)),
    " ",
    el("span", { class: `badge ${tender.state}` }, t(`state.${tender.state}`)),
    closing ? el("span", { class: "badge closing" }, t("list.closing")) : "",
    el(
      "div",
      { class: "meta" },
      `${tender.reference} · ${tender.buyer} · ${t("ui.pair", { label: t("list.deadline"), value: fmtTime(tender.deadline) })} · ${t("ui.pair", { label: t("list.opening"), value: fmtTime(tender.opening_at) })}`,
    ),
  );
}

function render() {
  const now = serverClock.now();
  const groups = { open: [], soon: [], opened: [], cancelled: [] };
  for (const x of items) groups[group(x)].push(x);
  const sections = [];
  for (const [key, label] of [
    ["open", "list.open"],
    ["soon", "list.soon"],
    ["opened", "list.opened"],
    ["cancelled", "list.cancelled"],
  ]) {
    const list = groups[key];
    sections.push(
      el(
        "section",
        { "aria-labelledby": `h-${key}`, id: `group-${key}` },
        el("h2", { id: `h-${key}` }, t("list.group.count", { label: t(label), n: list.length })),
        list.length ? el("ul", { class: "tenders" }, list.map((x) => item(x, now))) : el("p", { class: "help" }, t("list.none")),
      ),
    );
  }
  document.getElementById("groups").replaceChildren(...sections);
}

async function load(q) {
  const params = new URLSearchParams({ limit: "200" });
  if (q) params.set("q", q);
  try {
    items = (await api("GET", `/tenders?${params}`)).items;
    render();
  } catch (e) {
    showError(document.getElementById("groups"), e);
  }
}

function page() {
  const input = el("input", { id: "q", name: "q", type: "search", "data-i18n-placeholder": "list.search.placeholder" });
  input.value = new URLSearchParams(location.search).get("q") || "";
  const form = el(
    "form",
    { role: "search", class: "row", id: "search" },
    el("div", {}, el("label", { for: "q", "data-i18n": "list.search" }), input),
    el("div", { class: "shrink" }, el("button", { type: "submit", "data-i18n": "list.search.go" })),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const q = input.value.trim();
    history.replaceState(null, "", q ? `/?q=${encodeURIComponent(q)}` : "/");
    load(q);
  });
  main.replaceChildren(el("h1", { "data-i18n": "list.title" }), form, el("div", { id: "groups", "aria-live": "polite" }));
  initPage();
}

page();
onLanguageChange(render);
await serverClock.sync().catch(() => {});
await load(input0());

function input0() {
  return new URLSearchParams(location.search).get("q") || "";
}
