// Puts answers of the API on the page: summary cards, growth arrows, tables, the live figures.
// Text goes in through textContent only, so names from the catalog can never inject markup.

const number = new Intl.NumberFormat("en");
const PERIOD_WORDS = { "7d": "7 days", "30d": "30 days", "90d": "90 days", "1y": "year" };
const INTERVAL_WORDS = { hour: "hour", day: "day", week: "week" };

export const $ = (id) => document.getElementById(id);

export function setText(id, text) {
  $(id).textContent = text;
}

function growth(id, change, timeframe) {
  const element = $(id);
  element.className = "change";
  if (change === null || change === undefined) {
    element.classList.add("muted");
    element.textContent = `no plays in the ${PERIOD_WORDS[timeframe]} before`;
    return;
  }
  const direction = change > 0 ? "up" : change < 0 ? "down" : "flat";
  element.classList.add(direction);
  const arrow = { up: "▲", down: "▼", flat: "▶" }[direction];
  element.textContent = `${arrow} ${Math.abs(change).toFixed(1)}% vs the ${PERIOD_WORDS[timeframe]} before`;
  element.setAttribute("aria-label", `${direction} ${Math.abs(change).toFixed(1)} percent`);
}

export function showSummary(data, timeframe) {
  setText("card-plays", number.format(data.plays.period));
  setText("card-listeners", number.format(data.listeners.unique));
  setText("card-likes", number.format(data.engagement.likes));
  setText("card-reposts", number.format(data.engagement.reposts));
  growth("change-plays", data.growth.plays_change, timeframe);
  growth("change-listeners", data.growth.listeners_change, timeframe);
  setText("total-plays", `${number.format(data.plays.total)} plays all time`);
  setText("total-listeners", `${number.format(data.listeners.total)} listeners all time`);
}

export function clearSummary() {
  for (const id of ["card-plays", "card-listeners", "card-likes", "card-reposts"]) setText(id, "–");
  for (const id of ["change-plays", "change-listeners", "total-plays", "total-listeners"]) setText(id, "");
  setText("chart-summary", "");
}

/** The chart's words, for screen readers and as its caption. The first bucket may start before the
 *  period (a week, an hour), so the caption names where the chart starts rather than the period. */
export function chartSummary(chart) {
  const unit = INTERVAL_WORDS[chart.interval] ?? chart.interval;
  const moment = (t) => `${t.slice(0, chart.interval === "hour" ? 16 : 10).replace("T", " ")} UTC`;
  if (chart.series.length === 0) return "Nothing to chart.";
  const plays = chart.series.reduce((sum, b) => sum + b.plays, 0);
  const peak = chart.series.reduce((best, b) => (b.plays > best.plays ? b : best), chart.series[0]);
  const words = `One point per ${unit} from ${moment(chart.series[0].t)}: ${number.format(plays)} plays`;
  if (peak.plays === 0) return `${words}.`;
  return `${words}; busiest ${unit} ${moment(peak.t)} with ${number.format(peak.plays)}.`;
}

export function showChartSummary(chart) {
  const text = chartSummary(chart);
  setText("chart-summary", text);
  $("chart").setAttribute("aria-label", `Chart: ${text}`);
  $("chart").dataset.points = String(chart.series.length);
}

/** Rows of tracks; a track's title is a button that opens it. */
export function showTracks(tracks, openTrack) {
  const body = $("tracks-table").querySelector("tbody");
  body.replaceChildren();
  tracks.forEach((track, index) => {
    const row = body.insertRow();
    row.insertCell().textContent = String(index + 1);
    const button = document.createElement("button");
    button.type = "button";
    button.className = "link";
    button.textContent = track.title || `Track ${track.track_id}`;
    button.addEventListener("click", () => openTrack(track.track_id));
    const id = document.createElement("span");
    id.className = "muted small id";
    id.textContent = ` #${track.track_id}`; // two tracks may share a title: the id tells them apart
    row.insertCell().append(button, id);
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

export function showLive(data, unchanged) {
  setText("live-active", number.format(data.active_listeners));
  setText("live-5m", number.format(data.plays_last_5m));
  setText("live-60m", number.format(data.plays_last_60m));
  const at = new Date(data.as_of).toISOString().slice(11, 19);
  setText("live-status", `${unchanged ? "no change since the last look" : "updated"} · ${at} UTC`);
}

/** The list of things to pick, keeping the current one selected. */
export function showChoices(items, selected) {
  const select = $("entity");
  select.replaceChildren();
  for (const item of items) {
    const option = document.createElement("option");
    option.value = String(item.id);
    option.textContent = choiceText(item);
    select.append(option);
  }
  const listed = items.some((i) => i.id === selected);
  if (items.length === 0 || !listed) {
    // Nothing to pick, or what is shown is not in the list (typed, or not readable): say so, never
    // leave another item looking selected.
    const option = document.createElement("option");
    option.value = "";
    option.textContent = items.length === 0 ? "none listed: type an id" : selected ? `#${selected} (not in the list)` : "pick one";
    select.prepend(option);
  }
  select.value = listed ? String(selected) : "";
}

/** "Dawn · First Light (#42)": the name, what tells it apart, and the id. */
export function choiceText(item) {
  if (!item.name) return `#${item.id}`;
  return item.detail ? `${item.name} · ${item.detail} (#${item.id})` : `${item.name} (#${item.id})`;
}
