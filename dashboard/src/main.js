// The dashboard's controller: sign in, pick an artist, album or track and a timeframe, load what the
// public Insights API says about it, follow a track live, and download exports.

import { ApiProblem, BASE, Client } from "./api.js";
import { historyChart, liveChart } from "./charts.js";
import { download, readable } from "./exports.js";
import { LivePoller } from "./live.js";
import * as view from "./render.js";
import { claimsOf, forgetToken, isExpired, saveToken, savedToken, tokenIn } from "./session.js";

const { $ } = view;
const PERIODS = { "7d": "7-days", "30d": "30-days", "90d": "90-days", "1y": "1-year" };
const SINGULAR = { artists: "artist", albums: "album", tracks: "track" };

const state = { client: null, claims: null, kind: "artists", id: null, timeframe: "30d", loading: 0, shown: null };
const names = { artists: new Map(), albums: new Map(), tracks: new Map() };
const details = { artists: new Map(), albums: new Map(), tracks: new Map() }; // album or artists of an id
const listed = new Set();
let charts = null;
let live = null;

function notify(text) {
  const notice = $("notice");
  notice.textContent = text ?? "";
  notice.hidden = !text;
}

function showSignIn(message) {
  live?.stop();
  state.client = null;
  $("dashboard").hidden = true;
  $("who").hidden = true;
  $("sign-in").hidden = false;
  notify(message);
  $("token-input").focus();
}

function signIn(token) {
  const claims = claimsOf(token);
  if (!claims) return showSignIn("That is not an Insights token: paste the whole line `insights token create` printed.");
  if (isExpired(claims)) return showSignIn("Your token has expired. Paste a new one to sign in again.");
  saveToken(token);
  state.claims = claims;
  state.client = new Client(token, (problem) => {
    forgetToken();
    showSignIn(problem.message);
  });
  live = new LivePoller(state.client, showLive, (problem) => notify(problem.message));
  for (const id of claims.artists ?? []) if (!names.artists.has(id)) names.artists.set(id, "");
  const scopes = claims.scopes ?? [];
  const count = (claims.artists ?? []).length;
  const reach = scopes.includes("admin")
    ? "reads everything"
    : count === 0
      ? "reads no artist: make a token with --artist ID"
      : `reads ${count} artist${count === 1 ? "" : "s"}`;
  view.setText("who-text", `${claims.sub ?? "signed in"} · ${reach}`);
  $("who").hidden = false;
  $("sign-in").hidden = true;
  $("dashboard").hidden = false;
  notify(null);
  charts ??= { history: historyChart($("chart")), live: liveChart($("live-chart")) };
  restoreFromHash();
  choose(state.kind, state.id);
}

function showLive(data, unchanged) {
  view.showLive(data, unchanged);
  if (!unchanged) charts.live.show(data.series);
}

function restoreFromHash() {
  const [kind, id, timeframe] = location.hash.slice(1).split("/");
  if (kind in SINGULAR) state.kind = kind;
  state.id = Number(id) > 0 ? Number(id) : null;
  if (timeframe in PERIODS) state.timeframe = timeframe;
  $("kind").value = state.kind;
  $(`tf-${state.timeframe}`).checked = true;
}

/** Shows `kind` and loads `id` (or the first one known); then the picker's list fills, from the JSON
 *  export when it answers, else from what is known (the token's artists, tracks seen so far). */
async function choose(kind, id) {
  state.kind = kind;
  $("kind").value = kind;
  state.id = id ?? state.id ?? firstKnown(kind);
  if (state.id === null) {
    await listReadable(kind);
    state.id = firstKnown(kind);
  }
  showPicker();
  await load();
  await listReadable(kind); // after the figures: the export would compete with them for the server
}

function firstKnown(kind) {
  return names[kind].keys().next().value ?? null;
}

function showPicker() {
  const kind = state.kind;
  view.showChoices([...names[kind]].map(([key, name]) => ({ id: key, name, detail: details[kind].get(key) })), state.id);
  $("entity-id").value = state.id !== null && !names[kind].has(state.id) ? String(state.id) : "";
}

/** Asks the JSON export once per kind what the token may read; without it, the picker keeps what is known. */
async function listReadable(kind) {
  if (!state.client || listed.has(kind)) return;
  listed.add(kind);
  try {
    for (const item of await readable(state.client, kind)) {
      names[kind].set(item.id, item.name);
      if (item.detail) details[kind].set(item.id, item.detail);
    }
    showPicker();
    if (state.kind === kind) showDetail();
  } catch {
    listed.delete(kind); // no export to list from (or refused): try again on the next visit
  }
}

function remember(kind, id, name) {
  if (name && names[kind].get(id) !== name) {
    names[kind].set(id, name);
    if (state.kind === kind) showPicker();
  }
}

async function load() {
  const { client, kind, id, timeframe } = state;
  if (!client) return;
  history.replaceState(null, "", id === null ? " " : `#${kind}/${id}/${timeframe}`);
  $("collab-panel").hidden = kind !== "artists";
  $("tracks-panel").hidden = kind === "tracks";
  view.setText("tracks-title", kind === "albums" ? "Tracks on this album" : "Top tracks");
  live.stop();
  showScope();
  if (id === null) {
    view.clearSummary();
    view.setText("entity-title", `Pick ${kind === "tracks" ? "a" : "an"} ${SINGULAR[kind]} or type its id`);
    view.setText("entity-detail", "");
    return;
  }
  const ticket = ++state.loading;
  state.shown = null;
  const what = `${SINGULAR[kind]} ${id}`;
  const path = `${BASE}/${kind}/${id}`;
  const asks = [
    client.data(`${path}?period=${PERIODS[timeframe]}`, { what }),
    client.data(`${path}/charts?timeframe=${timeframe}`, { what }),
    kind === "artists" ? client.data(`${path}/collaborations`, { what }) : Promise.resolve(null),
  ];
  if (kind === "tracks") followLive(id, "");
  const [summary, chart, collaborations] = await Promise.allSettled(asks);
  if (ticket !== state.loading) return;
  const failed = [summary, chart, collaborations].find((r) => r.status === "rejected");
  if (failed) {
    if (failed.reason instanceof ApiProblem && failed.reason.status === 401) return;
    notify(failed.reason instanceof ApiProblem ? failed.reason.message : "The dashboard could not show this.");
    if (summary.status === "rejected") {
      // Nothing of it may be shown: every part of the page says the same (no figures, nothing live,
      // the picker not pointing at something else).
      view.clearSummary();
      view.setText("entity-title", `${SINGULAR[kind][0].toUpperCase()}${SINGULAR[kind].slice(1)} ${id}`);
      view.setText("entity-detail", `#${id} · ${failed.reason?.status === 403 ? "no access" : "not shown"}`);
      charts.history.show([]);
      view.showTracks([], openTrack);
      view.clearCollaborations();
      showPicker();
      followLive(null, "", "Nothing to follow live here.");
      return;
    }
  } else {
    notify(null);
  }
  showLoaded(kind, id, summary.value, chart.value, collaborations.value);
}

function showLoaded(kind, id, summary, chart, collaborations) {
  const name = summary.name ?? summary.title ?? "";
  remember(kind, id, name);
  view.setText("entity-title", name || `${SINGULAR[kind]} ${id}`);
  state.shown = id;
  showDetail();
  view.showSummary(summary, state.timeframe);
  if (chart) {
    charts.history.show(chart.series);
    view.showChartSummary(chart);
  }
  const tracks = kind === "albums" ? summary.tracks : (summary.top_tracks ?? []);
  for (const track of tracks ?? []) remember("tracks", track.track_id, track.title);
  if (kind !== "tracks") {
    view.showTracks(tracks ?? [], openTrack);
    followLive(tracks?.[0]?.track_id ?? null, tracks?.[0]?.title ?? "");
  }
  if (collaborations) view.showCollaborations(collaborations);
}

/** Under the name: the kind and id, and what tells it apart from a namesake (album, artists). */
function showDetail() {
  const { kind, id, shown } = state;
  if (id === null || shown !== id) return;
  const detail = details[kind].get(id);
  view.setText("entity-detail", `${SINGULAR[kind]} #${id}${detail ? ` · ${detail}` : ""}`);
}

/** The live panel follows the track on screen, or the top track of an album or artist. */
function followLive(trackId, topTitle, hint = "No track to follow live: pick one.") {
  live.stop();
  $("live-body").hidden = trackId === null;
  $("live-hint").hidden = trackId !== null;
  view.setText("live-hint", hint);
  view.setText("live-subject", topTitle ? `Top track: ${topTitle}` : "");
  for (const id of ["live-active", "live-5m", "live-60m"]) view.setText(id, "–");
  view.setText("live-status", "");
  charts.live.show([]);
  if (trackId !== null) live.follow(trackId);
}

/** The export panel says what its files will hold: what is on screen, over the timeframe shown. */
function showScope() {
  const { kind, id, timeframe } = state;
  const shown = id === null ? "everything this token reads" : `${SINGULAR[kind]} #${id}`;
  const words = { "7d": "7 days", "30d": "30 days", "90d": "90 days", "1y": "year" }[timeframe];
  view.setText("export-scope", `The files hold what belongs to ${shown}, over the last ${words}.`);
}

function openTrack(trackId) {
  choose("tracks", trackId);
  $("main").focus();
}

function wire() {
  $("sign-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = tokenIn($("token-input").value);
    if (!token) return showSignIn("Paste a token first.");
    $("token-input").value = "";
    signIn(token);
  });
  $("sign-out").addEventListener("click", () => {
    forgetToken();
    names.artists.clear();
    names.albums.clear();
    names.tracks.clear();
    for (const map of Object.values(details)) map.clear();
    listed.clear();
    showSignIn(null);
  });
  $("kind").addEventListener("change", () => {
    state.id = null;
    choose($("kind").value, null);
  });
  $("entity").addEventListener("change", () => {
    if ($("entity").value) choose(state.kind, Number($("entity").value));
  });
  $("entity-id").addEventListener("change", () => {
    const id = Number($("entity-id").value);
    if (Number.isInteger(id) && id > 0) choose(state.kind, id);
  });
  for (const radio of document.querySelectorAll('input[name="timeframe"]')) {
    radio.addEventListener("change", () => {
      state.timeframe = radio.value;
      load();
    });
  }
  window.addEventListener("hashchange", () => {
    if (!state.client) return;
    restoreFromHash();
    choose(state.kind, state.id);
  });
  for (const button of document.querySelectorAll("[data-export]")) {
    button.addEventListener("click", () => exportFile(button));
  }
}

async function exportFile(button) {
  const format = button.dataset.export;
  const status = $("export-status");
  button.disabled = true;
  status.textContent = `Preparing the ${format.toUpperCase()} file…`;
  try {
    const { kind, id, timeframe } = state;
    const name = await download(state.client, format, $("export-type").value, PERIODS[timeframe], kind, id);
    status.textContent = `Downloaded ${name}.`;
  } catch (problem) {
    status.textContent = problem instanceof ApiProblem ? problem.message : "The download failed; please retry.";
  } finally {
    button.disabled = false;
  }
}

wire();
const token = savedToken();
if (token) signIn(token);
else showSignIn(null);
