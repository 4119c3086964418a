// Time zones and local dates, with the browser's own Intl (no library): what "today" is in a zone, the
// dates of a period, the period before, and the instant a local day starts (for the chart's partial bucket).

export const PERIODS = { "7d": 7, "30d": 30, "90d": 90, "1y": 365 };
export const FIRST_DATE = "2000-01-01";
export const MAX_SPAN_DAYS = 731;

// Browsers name some zones by their old IANA names (CLDR keeps them): both work with the API, the page
// shows the current one.
const RENAMED = {
  "Asia/Calcutta": "Asia/Kolkata",
  "Asia/Katmandu": "Asia/Kathmandu",
  "Asia/Saigon": "Asia/Ho_Chi_Minh",
  "Asia/Rangoon": "Asia/Yangon",
  "Europe/Kiev": "Europe/Kyiv",
  "America/Godthab": "America/Nuuk",
  "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
  "America/Indianapolis": "America/Indiana/Indianapolis",
  "America/Louisville": "America/Kentucky/Louisville",
  "Atlantic/Faeroe": "Atlantic/Faroe",
  "Pacific/Truk": "Pacific/Chuuk",
  "Pacific/Ponape": "Pacific/Pohnpei",
  "Pacific/Enderbury": "Pacific/Kanton",
  "Africa/Asmera": "Africa/Asmara",
};
const current = (name) => RENAMED[name] ?? name;

export function browserZone() {
  return current(Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC");
}

/** Every zone the browser knows, for the zone field's suggestions (any other IANA name may be typed). */
export function zoneNames() {
  const names = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone").map(current) : [];
  return names.includes("UTC") ? names : ["UTC", ...names];
}

export function isZone(name) {
  if (!name || !/^[A-Za-z0-9_+\-/]+$/.test(name)) return false;
  try {
    new Intl.DateTimeFormat("en", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

function parts(ms, tz) {
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone: tz,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
  const out = {};
  for (const { type, value } of format.formatToParts(new Date(ms))) out[type] = Number(value);
  return out;
}

/** The zone's offset from UTC at instant `ms`, in milliseconds. */
function offsetAt(ms, tz) {
  const p = parts(ms, tz);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(ms / 1000) * 1000;
}

export function todayIn(tz, now = Date.now()) {
  const p = parts(now, tz);
  return `${p.year}-${String(p.month).padStart(2, "0")}-${String(p.day).padStart(2, "0")}`;
}

function utcDay(date) {
  const [y, m, d] = date.split("-").map(Number);
  return Date.UTC(y, m - 1, d);
}

export function addDays(date, days) {
  return new Date(utcDay(date) + days * 86_400_000).toISOString().slice(0, 10);
}

/** Days from `from` to `to`, both included. */
export function spanDays(from, to) {
  return Math.round((utcDay(to) - utcDay(from)) / 86_400_000) + 1;
}

/** The instant (ms) local 00:00 of `date` happens in `tz` (the first instant of that day). */
export function dayStart(date, tz) {
  const wall = utcDay(date);
  let guess = wall - offsetAt(wall, tz);
  const corrected = wall - offsetAt(guess, tz);
  if (corrected !== guess && todayIn(tz, corrected) === date) guess = corrected;
  return guess;
}

/** The local dates a view covers: a fixed period ends today; a range is what it says. */
export function datesOf(range, tz, now = Date.now()) {
  if (range.period) {
    const to = todayIn(tz, now);
    return { from: addDays(to, 1 - PERIODS[range.period]), to };
  }
  return { from: range.from, to: range.to };
}

/** The period just before, of the same number of days (what growth compares with); null before 2000. */
export function previousDates(range, tz, now = Date.now()) {
  const { from, to } = datesOf(range, tz, now);
  const days = spanDays(from, to);
  const previous = { from: addDays(from, -days), to: addDays(from, -1) };
  return previous.from < FIRST_DATE ? null : previous;
}

/** Why a typed range cannot be asked for, in words, or null when it can. */
export function rangeProblem(from, to, tz, now = Date.now()) {
  const pattern = /^\d{4}-\d{2}-\d{2}$/;
  if (!pattern.test(from ?? "") || !pattern.test(to ?? "")) return "Pick both dates of the range.";
  if (from < FIRST_DATE) return "The range cannot start before 1 January 2000.";
  if (from > to) return "The range must start on or before its last day.";
  if (to > todayIn(tz, now)) return `The range cannot end after today (${todayIn(tz, now)} in ${tz}).`;
  if (spanDays(from, to) > MAX_SPAN_DAYS) return `A range spans at most ${MAX_SPAN_DAYS} days.`;
  return null;
}

/** "14:32:05" in `tz`. */
export function clockIn(ms, tz) {
  return new Intl.DateTimeFormat("en-GB", { timeZone: tz, hour: "2-digit", minute: "2-digit", second: "2-digit" })
    .format(new Date(ms));
}

/** The index of the first chart bucket that may still change, or -1 when all are final. A bucket is final
 *  once `complete_through` has passed its end (its next bucket's start, or the range's end); the bucket
 *  holding now never is. Without `complete_through` (not known yet) only the running bucket is marked. */
export function firstPartial(series, completeThrough, to, tz, now = Date.now()) {
  if (series.length === 0) return -1;
  const running = to === todayIn(tz, now);
  if (!completeThrough) return running ? series.length - 1 : -1;
  const through = Date.parse(completeThrough);
  const rangeEnd = Math.min(dayStart(addDays(to, 1), tz), now);
  for (let i = 0; i < series.length; i++) {
    const last = i === series.length - 1;
    const end = last ? rangeEnd : Math.min(Date.parse(series[i + 1].t), rangeEnd);
    if (through < end || (last && running)) return i;
  }
  return -1;
}
