// Puts answers of the API on the page: summary cards, growth arrows, tables, the live figures.
// Text goes in through textContent only, so names from the catalog can never inject markup.

import { clockIn } from "./zones.js";

const number = new Intl.NumberFormat("en");
const ESTIMATE_WORDS = { "listeners.unique": "unique listeners", "listeners.total": "all-time listeners" };

export const $ = (id) => document.getElementById(id);

export function setText(id, text) {
  $(id).textContent = text;
}

/** `before` names the period compared with: "the 30 days before". */
function growth(id, change, before) {
  const element = $(id);
  element.className = "change";
  element.removeAttribute("aria-label");
  if (change === null || change === undefined) {
    element.classList.add("muted");
    element.textContent = `no plays in ${before}`;
    return;
  }
  const direction = change > 0 ? "up" : change < 0 ? "down" : "flat";
  element.classList.add(direction);
  const arrow = { up: "▲", down: "▼", flat: "▶" }[direction];
  element.textContent = `${arrow} ${Math.abs(change).toFixed(1)}% vs ${before}`;
  element.setAttribute("aria-label", `${direction} ${Math.abs(change).toFixed(1)} percent`);
}

export function showSummary(data, before) {
  setText("card-plays", number.format(data.plays.period));
  setText("card-listeners", number.format(data.listeners.unique));
  setText("card-likes", number.format(data.engagement.likes));
  setText("card-reposts", number.format(data.engagement.reposts));
  growth("change-plays", data.growth.plays_change, before);
  growth("change-listeners", data.growth.listeners_change, before);
  setText("total-plays", `${number.format(data.plays.total)} plays all time`);
  setText("total-listeners", `${number.format(data.listeners.total)} listeners all time`);
}

export function clearSummary() {
  for (const id of ["card-plays", "card-listeners", "card-likes", "card-reposts"]) setText(id, "–");
  for (const id of ["change-plays", "change-listeners", "total-plays", "total-listeners"]) setText(id, "");
  for (const id of ["chart-summary", "trust"]) setText(id, "");
}

/** How final the figures are: everything accepted before `complete_through` is in them; which are
 *  approximations. */
export function showTrust(data, tz) {
  const through = data.complete_through
    ? `Counted through ${clockIn(Date.parse(data.complete_through), tz)} (${tz}): every play accepted before then is in these figures`
    : "Not yet known how far the figures are counted: the service has just started";
  const estimates = (data.estimates ?? []).map((e) => ESTIMATE_WORDS[e] ?? e);
  const approximate = estimates.length ? ` · approximate: ${estimates.join(", ")}` : "";
  setText("trust", `${through}${approximate}. They refresh on their own.`);
}

/** The chart's words, for screen readers and as its caption. The first bucket may start before the
 *  period (a week, an hour), so the caption names where the chart starts rather than the period. `t`
 *  carries the zone's offset, so its first characters are the local date and time. */
export function chartSummary(chart, { partialFrom = -1, previous = null } = {}) {
  const unit = chart.interval;
  const zone = chart.tz ?? "UTC";
  const moment = (t) => `${t.slice(0, unit === "hour" ? 16 : 10).replace("T", " ")} ${zone}`;
  if (chart.series.length === 0) return "Nothing to chart.";
  const total = (series) => series.reduce((sum, b) => sum + b.plays, 0);
  const peak = chart.series.reduce((best, b) => (b.plays > best.plays ? b : best), chart.series[0]);
  let words = `One point per ${unit} from ${moment(chart.series[0].t)}: ${number.format(total(chart.series))} plays`;
  words += peak.plays === 0 ? "." : `; busiest ${unit} ${moment(peak.t)} with ${number.format(peak.plays)}.`;
  if (previous) words += ` The period before (dotted): ${number.format(total(previous))} plays.`;
  if (partialFrom >= 0) {
    const last = partialFrom === chart.series.length - 1;
    const from = moment(chart.series[partialFrom].t);
    words += last ? ` The last ${unit} (${from}) is partial: still counting.` : ` From ${from} on, still counting.`;
  }
  return words;
}

export function showChartSummary(chart, extra) {
  const text = chartSummary(chart, extra);
  setText("chart-summary", text);
  $("chart").setAttribute("aria-label", `Chart: ${text}`);
  $("chart").dataset.points = String(chart.series.length);
  $("chart").dataset.previousPoints = String(extra.previous?.length ?? 0);
  $("chart").dataset.partialFrom = String(extra.partialFrom);
}

/** A track's title as a button that opens it, and its id: two tracks may share a title. */
function trackTitle(track, openTrack) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "link";
  button.textContent = track.title || `Track ${track.track_id}`;
  button.addEventListener("click", () => openTrack(track.track_id));
  const id = document.createElement("span");
  id.className = "muted small id";
  id.textContent = ` #${track.track_id}`;
  return [button, id];
}

/** Rows of tracks; a track's title is a button that opens it. */
export function showTracks(tracks, openTrack) {
  const body = $("tracks-table").querySelector("tbody");
  body.replaceChildren();
  tracks.forEach((track, index) => {
    const row = body.insertRow();
    row.insertCell().textContent = String(index + 1);
    row.insertCell().append(...trackTitle(track, openTrack));
    for (const value of [track.plays, track.listeners]) {
      const cell = row.insertCell();
      cell.className = "num";
      cell.textContent = value === undefined ? "–" : number.format(value);
    }
  });
  $("tracks-empty").hidden = tracks.length > 0;
  $("tracks-table").hidden = tracks.length === 0;
}

export function clearCollaborations() {
  setText("collab-summary", "");
  $("collab-table").hidden = true;
}

export function showCollaborations(data) {
  const shared = data.total_collaborations;
  setText(
    "collab-summary",
    shared === 0
      ? "No shared tracks yet."
      : `${number.format(shared)} ${shared === 1 ? "track" : "tracks"} shared with other artists.`,
  );
  const body = $("collab-table").querySelector("tbody");
  body.replaceChildren();
  for (const partner of data.top_collaborators) {
    const row = body.insertRow();
    row.insertCell().textContent = partner.name || `Artist ${partner.artist_id}`;
    for (const value of [partner.tracks, partner.plays]) {
      const cell = row.insertCell();
      cell.className = "num";
      cell.textContent = number.format(value);
    }
  }
  $("collab-table").hidden = data.top_collaborators.length === 0;
}

/** Every track of an artist (past the top 10), each opening its track; `complete` false when the walk
 *  stopped before the end of a very large catalog. */
export function showAllTracks(tracks, albumOf, openTrack, complete) {
  const body = $("all-tracks-table").querySelector("tbody");
  body.replaceChildren();
  for (const track of tracks) {
    const row = body.insertRow();
    row.insertCell().append(...trackTitle(track, openTrack));
    row.insertCell().textContent = albumOf(track);
  }
  setText("all-tracks-count", `All ${number.format(tracks.length)} tracks${complete ? "" : " found so far"}`);
  $("all-tracks").hidden = false;
}

export function hideAllTracks() {
  $("all-tracks").hidden = true;
  $("all-tracks").open = false;
}

export function showLive(data, unchanged, tz) {
  setText("live-active", number.format(data.active_listeners));
  setText("live-5m", number.format(data.plays_last_5m));
  setText("live-60m", number.format(data.plays_last_60m));
  const at = clockIn(Date.parse(data.as_of), tz);
  setText("live-status", `${unchanged ? "no change since the last look" : "updated"} · ${at} ${tz}`);
}
