// Amounts and times as the opening record prints them: digits grouped by
// thousands, the currency named, money also in Chinese capital numerals
// (大写, as on a cheque or a paper 开标记录表), and times in the tender's
// time zone with its name. Everything works on the canonical strings the
// bid form seals ("1234567.5"), never on floats, so 18-digit amounts stay exact.

const CAPITAL = "零壹贰叁肆伍陆柒捌玖";
const IN_GROUP = ["仟", "佰", "拾", ""];
// Groups of four digits from the right: 万 = 10⁴, 亿 = 10⁸, 万亿 = 10¹², 亿亿 = 10¹⁶.
const GROUP = ["", "万", "亿", "万亿", "亿亿"];

/**
 * A non-negative amount of yuan with at most two decimals ("1234.50") in
 * capital numerals ("壹仟贰佰叁拾肆元伍角整"); null if it is not one.
 * One 零 stands for any run of zeros between non-zero digits; a whole-yuan
 * amount ends in 整, as does one with 角 and no 分.
 */
export function capitalYuan(canonical) {
  const m = /^(\d{1,20})(?:\.(\d{1,2}))?$/.exec(String(canonical));
  if (!m) return null;
  const int = m[1].replace(/^0+(?=\d)/, "");
  const [jiao, fen] = (m[2] || "").padEnd(2, "0").split("").map(Number);
  const groups = [];
  for (let end = int.length; end > 0; end -= 4) groups.unshift(int.slice(Math.max(0, end - 4), end).padStart(4, "0"));
  if (groups.length > GROUP.length) return null;
  let out = "";
  let zero = false;
  groups.forEach((g, gi) => {
    let any = false;
    for (let j = 0; j < 4; j++) {
      const d = Number(g[j]);
      if (d === 0) {
        if (out) zero = true;
        continue;
      }
      if (zero) out += "零";
      zero = false;
      out += CAPITAL[d] + IN_GROUP[j];
      any = true;
    }
    if (any) out += GROUP[groups.length - 1 - gi];
  });
  if (out) out += "元";
  if (jiao) return `${out}${CAPITAL[jiao]}角${fen ? `${CAPITAL[fen]}分` : "整"}`;
  if (fen) return `${out}${out ? "零" : ""}${CAPITAL[fen]}分`;
  return out ? `${out}整` : "零元整";
}

/** "1234567.5" → "1,234,567.5" (the integer part grouped by thousands). */
export function groupDigits(canonical) {
  const m = /^(-?)(\d+)(\.\d+)?$/.exec(String(canonical));
  if (!m) return String(canonical);
  return `${m[1]}${m[2].replace(/\B(?=(\d{3})+(?!\d))/g, ",")}${m[3] || ""}`;
}

/** A decimal string with exactly `places` decimals (padding with zeros; never rounding a longer one away). */
export function withDecimals(canonical, places) {
  const m = /^(-?\d+)(?:\.(\d+))?$/.exec(String(canonical));
  if (!m) return String(canonical);
  const frac = (m[2] || "").padEnd(places, "0");
  return frac ? `${m[1]}.${frac}` : m[1];
}

/** The decimals a canonical number has. */
export const decimalsOf = (canonical) => ((/\.(\d+)$/.exec(String(canonical)) || ["", ""])[1]).length;

/** Money as the record prints it: "1,234.50元" in Chinese for CNY, "CNY 1,234.50" otherwise. */
export function fmtMoney(canonical, currency, lang) {
  const amount = groupDigits(withDecimals(canonical, 2));
  if (lang === "zh" && currency === "CNY") return `${amount}元`;
  return lang === "zh" ? `${amount} ${currency}` : `${currency} ${amount}`;
}

/**
 * The tender's time zone: the one it states, if it does; else Beijing time
 * for a tender in yuan (the platform's home), else UTC.
 */
export const tenderZone = (tender) => (tender && tender.time_zone) || (tender && tender.currency === "CNY" ? "Asia/Shanghai" : "UTC");

const ZONE_NAMES = {
  "Asia/Shanghai": { zh: "北京时间", en: "Beijing time" },
  UTC: { zh: "协调世界时", en: "UTC" },
};

/** A zone's name as a reader of `lang` calls it. */
export function zoneName(zone, lang) {
  const known = ZONE_NAMES[zone];
  if (known) return known[lang] || known.en;
  try {
    const part = new Intl.DateTimeFormat(lang === "zh" ? "zh-CN" : "en-GB", { timeZone: zone, timeZoneName: "long" })
      .formatToParts(new Date())
      .find((p) => p.type === "timeZoneName");
    return part ? part.value : zone;
  } catch {
    return zone;
  }
}

/** A time in `zone` as `[date, clock, zone name]`, each in the words of `lang`. */
export function zonedParts(t, zone, lang) {
  const d = t instanceof Date ? t : new Date(t);
  if (Number.isNaN(d.getTime())) return [String(t), "", ""];
  let parts;
  try {
    parts = new Intl.DateTimeFormat("en-GB", {
      timeZone: zone,
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
    }).formatToParts(d);
  } catch {
    return zonedParts(d, "UTC", lang);
  }
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
  const clock = `${p.hour}:${p.minute}:${p.second}`;
  if (lang === "zh") return [`${p.year}年${Number(p.month)}月${Number(p.day)}日`, clock, `（${zoneName(zone, lang)}）`];
  const month = new Intl.DateTimeFormat("en-GB", { timeZone: zone, month: "long" }).format(d);
  return [`${Number(p.day)} ${month} ${p.year},`, clock, `(${zoneName(zone, lang)})`];
}

/**
 * A time in `zone` with the zone's name: "2026年12月1日 15:40:00（北京时间）"
 * or "1 December 2026, 15:40:00 (Beijing time)".
 */
export function fmtZoned(t, zone, lang) {
  const [date, clock, name] = zonedParts(t, zone, lang);
  return lang === "zh" ? `${date} ${clock}${name}` : `${date} ${clock} ${name}`;
}

/** A date field ("2027-03-01") as a reader of `lang` writes it. */
export function fmtDate(v, lang) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(v));
  if (!m) return String(v);
  if (lang === "zh") return `${m[1]}年${Number(m[2])}月${Number(m[3])}日`;
  const month = new Intl.DateTimeFormat("en-GB", { month: "long", timeZone: "UTC" }).format(new Date(`${v}T00:00:00Z`));
  return `${Number(m[3])} ${month} ${m[1]}`;
}
