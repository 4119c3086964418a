// The view on screen (kind, id, range, zone) as the address's hash, as API query strings and as export
// fields, so the page, a bookmark, the figures and the downloads all say the same thing.

import { PERIODS, browserZone, datesOf, isZone, spanDays } from "./zones.js";

const PERIOD_NAMES = { "7d": "7-days", "30d": "30-days", "90d": "90-days", "1y": "1-year" };
const PERIOD_WORDS = { "7d": "7 days", "30d": "30 days", "90d": "90 days", "1y": "year" };
export const KINDS = ["artists", "albums", "tracks"];

/** `#artists/7/30d`, `#albums/70/2026-11-01..2026-11-15/Asia/Kolkata`: the zone only when it is not the
 *  browser's own. Returns the parts it could read; the rest stays as it was. */
export function readHash(hash) {
  const match = /^#?([a-z]+)\/(\d*)\/([^/]+)(?:\/(.+))?$/.exec(decodeURIComponent(hash));
  if (!match || !KINDS.includes(match[1])) return {};
  const [, kind, id, range, zone] = match;
  const view = { kind, id: Number(id) > 0 ? Number(id) : null };
  if (range in PERIODS) view.range = { period: range };
  const dates = /^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$/.exec(range);
  if (dates) view.range = { from: dates[1], to: dates[2] };
  if (zone && isZone(zone)) view.tz = zone;
  return view;
}

export function hashOf({ kind, id, range, tz }) {
  const span = range.period ?? `${range.from}..${range.to}`;
  return `#${kind}/${id}/${span}${tz === browserZone() ? "" : `/${tz}`}`;
}

/** The range and zone parameters of an analytics or breakdown request (`period`), or a chart (`timeframe`). */
export function rangeQuery(range, tz, chart = false) {
  const query = new URLSearchParams();
  if (range.period) query.set(chart ? "timeframe" : "period", chart ? range.period : PERIOD_NAMES[range.period]);
  else {
    query.set("from", range.from);
    query.set("to", range.to);
  }
  query.set("tz", tz);
  return query;
}

/** The same, as the fields of an export's body. */
export function exportFields(range, tz) {
  return range.period ? { period: PERIOD_NAMES[range.period], tz } : { from: range.from, to: range.to, tz };
}

/** "the last 30 days (Europe/Berlin)", "2026-11-01 to 2026-11-15 (UTC)". */
export function rangeWords(range, tz) {
  const span = range.period ? `the last ${PERIOD_WORDS[range.period]}` : `${range.from} to ${range.to}`;
  return `${span} (${tz})`;
}

/** "the 30 days before", for growth. */
export function beforeWords(range, tz) {
  if (range.period) return `the ${PERIOD_WORDS[range.period]} before`;
  const { from, to } = datesOf(range, tz);
  const days = spanDays(from, to);
  return days === 1 ? "the day before" : `the ${days} days before`;
}
