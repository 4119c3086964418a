// The dashboard's controller: sign in, find an artist, album or track, pick a range and a time zone,
// load what the public Insights API says about it (and keep it fresh), follow a track live, download exports.

import { ApiProblem, BASE, Client } from "./api.js";
import { clearBreakdown, showBreakdown, showListening } from "./audience.js";
import { Catalog, choiceText } from "./catalog.js";
import { historyChart, liveChart } from "./charts.js";
import { download } from "./exports.js";
import { LivePoller } from "./live.js";
import { Picker } from "./picker.js";
import * as view from "./render.js";
import { claimsOf, forgetToken, isExpired, saveToken, savedToken, tokenIn } from "./session.js";
import { beforeWords, exportFields, hashOf, rangeQuery, rangeWords, readHash } from "./view.js";
import { browserZone, datesOf, firstPartial, isZone, previousDates, rangeProblem, todayIn, zoneNames } from "./zones.js";

const { $ } = view;
const SINGULAR = { artists: "artist", albums: "album", tracks: "track" };
const DIMENSIONS = ["country", "source", "platform"];
const REFRESH_MS = 5000; // the cards, chart and panels ask again this often (an unchanged answer is a 304)
const NAME_PAGES = 10; // artists' and albums' names learnt for the picker's details: up to 1,000 of each

const state = {
  client: null,
  claims: null,
  catalog: null,
  kind: "artists",
  id: null,
  range: { period: "30d" },
  tz: browserZone(),
  loading: 0,
  busy: false,
  shown: null,
  previous: null, // the chart of the period before, kept across refreshes
};
let charts = null;
let live = null;
let picker = null;
let refreshTimer = null;

function notify(text) {
  const notice = $("notice");
  notice.textContent = text ?? "";
  notice.hidden = !text;
}

function showSignIn(message) {
  live?.stop();
  clearTimeout(refreshTimer);
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
  state.catalog = new Catalog(state.client);
  live = new LivePoller(state.client, showLive, (problem) => notify(problem.message));
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
  charts ??= { history: historyChart($("chart")), live: liveChart($("live-chart"), () => state.tz) };
  restoreFromHash();
  choose(state.kind, state.id).then(learnNames);
  scheduleRefresh();
}

function showLive(data, unchanged) {
  view.showLive(data, unchanged, state.tz);
  if (!unchanged) charts.live.show(data.series);
}

function restoreFromHash() {
  const { kind, id, range, tz } = readHash(location.hash);
  if (kind) {
    state.kind = kind;
    state.id = id;
  }
  if (range) state.range = range;
  state.tz = tz ?? browserZone();
  $("kind").value = state.kind;
  $("zone").value = state.tz;
  showRange();
}

/** Shows `kind` and loads `id`, or the first item the token may read. */
async function choose(kind, id) {
  if (kind !== state.kind) picker.reset();
  state.kind = kind;
  $("kind").value = kind;
  state.id = id ?? (kind === "artists" ? (state.claims.artists?.[0] ?? null) : null);
  if (state.id === null && state.client) {
    try {
      state.id = (await state.catalog.page(kind, "", null, 1)).items[0]?.id ?? null;
    } catch (problem) {
      notify(problem.message);
    }
  }
  showPicked();
  await load();
}

/** The picker's text and the id box say what is on screen, never something else. */
function showPicked() {
  const { kind, id, catalog } = state;
  const known = id !== null && catalog.name(kind, id);
  picker.show(id === null ? "" : choiceText(catalog.choice(kind, id)));
  $("entity-id").value = id !== null && !known ? String(id) : "";
}

/** Artists' and albums' names, once per sign-in, so a track in the picker reads "Dawn · First Light". */
async function learnNames() {
  if (!state.client) return;
  try {
    for (const kind of ["artists", "albums"]) await state.catalog.walk(kind, { keep: () => false, maxPages: NAME_PAGES });
  } catch {
    return; // only details are missing: the picker still shows names and ids
  }
  showPicked();
  showDetail();
}

function pathOf(kind, id) {
  return `${BASE}/${kind}/${id}`;
}

/** Everything about the view. `quiet` (the refresh): only the figures that move are asked again, and
 *  nothing is cleared or restarted. */
async function load({ quiet = false } = {}) {
  const { client, kind, id, range, tz } = state;
  if (!client) return;
  if (!quiet) prepare();
  if (id === null) return;
  const ticket = quiet ? state.loading : ++state.loading;
  const what = `${SINGULAR[kind]} ${id}`;
  const path = pathOf(kind, id);
  const query = rangeQuery(range, tz);
  const asks = [
    client.fresh(`${path}?${query}`, { what }),
    client.fresh(`${path}/charts?${rangeQuery(range, tz, true)}`, { what }),
    ...DIMENSIONS.map((d) => client.fresh(`${path}/breakdown?dimension=${d}&${query}`, { what })),
  ];
  const before = previousDates(range, tz);
  if (!quiet) {
    const previous = before && new URLSearchParams({ from: before.from, to: before.to, tz });
    asks.push(previous ? client.fresh(`${path}/charts?${previous}`, { what }) : Promise.resolve(null));
    asks.push(kind === "artists" ? client.fresh(`${path}/collaborations`, { what }) : Promise.resolve(null));
    if (kind === "tracks") followLive(id, "");
  }
  state.busy = true;
  const answers = await Promise.allSettled(asks);
  state.busy = false;
  if (ticket !== state.loading) return;
  const failed = answers.find((r) => r.status === "rejected");
  if (failed) {
    if (failed.reason instanceof ApiProblem && failed.reason.status === 401) return;
    notify(failed.reason instanceof ApiProblem ? failed.reason.message : "The dashboard could not show this.");
    if (answers[0].status === "rejected") {
      if (!quiet) showRefused(kind, id, failed.reason);
      return;
    }
  } else {
    notify(null);
  }
  const value = (i) => (answers[i]?.status === "fulfilled" ? answers[i].value : undefined);
  if (!quiet) state.previous = value(5) ?? null;
  showLoaded(kind, id, value(0), value(1), [value(2), value(3), value(4)], quiet);
  if (!quiet && value(6)) view.showCollaborations(value(6));
  if (!quiet && kind === "artists") listAllTracks(id, ticket);
}

/** Before the answers: the panels that belong to the kind, the address, the export line. */
function prepare() {
  const { kind, id } = state;
  history.replaceState(null, "", id === null ? " " : hashOf(state));
  $("collab-panel").hidden = kind !== "artists";
  $("tracks-panel").hidden = kind === "tracks";
  view.setText("tracks-title", kind === "albums" ? "Tracks on this album" : "Top tracks");
  view.hideAllTracks();
  live.stop();
  showScope();
  if (id === null) {
    view.clearSummary();
    view.setText("entity-title", `Pick ${kind === "tracks" ? "a" : "an"} ${SINGULAR[kind]} or type its id`);
    view.setText("entity-detail", "");
  }
}

/** Nothing of a refused view may be shown: every part of the page says the same (no figures, nothing
 *  live, the picker not pointing at something else). */
function showRefused(kind, id, reason) {
  view.clearSummary();
  view.setText("entity-title", `${SINGULAR[kind][0].toUpperCase()}${SINGULAR[kind].slice(1)} ${id}`);
  view.setText("entity-detail", `#${id} · ${reason?.status === 403 ? "no access" : "not shown"}`);
  charts.history.show([], { tz: state.tz });
  view.showTracks([], openTrack);
  view.clearCollaborations();
  for (const d of DIMENSIONS) clearBreakdown($(`${d}-bars`), $(`${d}-empty`));
  showListening(view.setText, null, 0);
  state.shown = null;
  showPicked();
  followLive(null, "", "Nothing to follow live here.");
}

function showLoaded(kind, id, summary, chart, breakdowns, quiet) {
  const name = summary.name ?? summary.title ?? "";
  state.catalog.remember(kind, id, name);
  view.setText("entity-title", name || `${SINGULAR[kind]} ${id}`);
  state.shown = id;
  if (!quiet) {
    showPicked();
    showDetail();
    describe(kind, id, name);
  }
  view.showSummary(summary, beforeWords(state.range, state.tz));
  view.showTrust(summary, state.tz);
  showListening(view.setText, summary.listening, summary.plays.period);
  if (chart) showChart(chart);
  DIMENSIONS.forEach((d, i) => {
    if (breakdowns[i]) showBreakdown($(`${d}-bars`), $(`${d}-empty`), d, breakdowns[i]);
    else clearBreakdown($(`${d}-bars`), $(`${d}-empty`));
  });
  const tracks = kind === "albums" ? summary.tracks : (summary.top_tracks ?? []);
  for (const track of tracks ?? []) state.catalog.remember("tracks", track.track_id, track.title);
  if (kind !== "tracks") {
    view.showTracks(tracks ?? [], openTrack);
    if (!quiet) followLive(tracks?.[0]?.track_id ?? null, tracks?.[0]?.title ?? "");
  }
}

function showChart(chart) {
  const tz = chart.tz ?? state.tz;
  const partialFrom = firstPartial(chart.series, chart.complete_through, chart.to ?? todayIn(tz), tz);
  const previous = state.previous?.series ?? null;
  charts.history.show(chart.series, { previous: previous ?? [], tz, partialFrom });
  view.showChartSummary(chart, { partialFrom, previous });
}

/** An artist's every track, not only the top 10: the listing narrowed to the artist, walked through its
 *  cursors. */
async function listAllTracks(artistId, ticket) {
  try {
    const params = { artist_id: String(artistId) };
    const { items, complete } = await state.catalog.walk("tracks", { params, wanted: () => ticket === state.loading });
    if (ticket !== state.loading) return;
    const albumOf = (t) => (t.album_id === null ? "single" : state.catalog.name("albums", t.album_id) || `album #${t.album_id}`);
    view.showAllTracks(items, albumOf, openTrack, complete);
  } catch (problem) {
    if (ticket === state.loading) notify(problem.message);
  }
}

/** Under the name: the kind and id, and what tells it apart from a namesake (album, artists). */
function showDetail() {
  const { kind, id, shown, catalog } = state;
  if (id === null || shown !== id) return;
  const detail = catalog.detail(kind, id);
  view.setText("entity-detail", `${SINGULAR[kind]} #${id}${detail ? ` · ${detail}` : ""}`);
}

/** Looks up the item on screen in the listing (by its name) when the page has not seen it yet. */
async function describe(kind, id, name) {
  try {
    await state.catalog.find(kind, id, name);
  } catch {
    return;
  }
  showPicked();
  showDetail();
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

/** The export panel says what its files will hold: what is on screen, over the range and zone shown. */
function showScope() {
  const { kind, id, range, tz } = state;
  const shown = id === null ? "everything this token reads" : `${SINGULAR[kind]} #${id}`;
  view.setText("export-scope", `The files hold what belongs to ${shown}, over ${rangeWords(range, tz)}.`);
}

/** The range controls show the view's dates in its zone; today (in that zone) is the latest date. */
function showRange() {
  const { range, tz } = state;
  const { from, to } = datesOf(range, tz);
  const radio = $(`tf-${range.period ?? "custom"}`);
  radio.checked = true;
  $("range-from").value = from;
  $("range-to").value = to;
  for (const id of ["range-from", "range-to"]) {
    $(id).max = todayIn(tz);
    $(id).removeAttribute("aria-invalid");
  }
  $("zone").removeAttribute("aria-invalid");
  view.setText("range-help", `${from} to ${to}, local days of ${tz}${to === todayIn(tz) ? " (today still counting)" : ""}.`);
}

function rangeTyped() {
  const from = $("range-from").value;
  const to = $("range-to").value;
  const problem = rangeProblem(from, to, state.tz);
  if (problem) {
    view.setText("range-help", problem);
    for (const id of ["range-from", "range-to"]) $(id).setAttribute("aria-invalid", "true");
    return;
  }
  state.range = { from, to };
  showRange();
  load();
}

function zoneTyped() {
  const tz = $("zone").value.trim();
  if (!isZone(tz)) {
    view.setText("range-help", `“${tz}” is not a time zone: pick one from the list, e.g. Europe/Berlin.`);
    $("zone").setAttribute("aria-invalid", "true");
    return;
  }
  state.tz = tz;
  if (!state.range.period && state.range.to > todayIn(tz)) state.range = { from: state.range.from, to: todayIn(tz) };
  showRange();
  load();
}

/** The figures refresh on their own while the tab is visible; a refresh never overlaps a load. */
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(async () => {
    if (state.client && !document.hidden && !state.busy && state.shown !== null) await load({ quiet: true });
    if (state.client) scheduleRefresh();
  }, REFRESH_MS);
}

function openTrack(trackId) {
  choose("tracks", trackId);
  $("main").focus();
}

function wire() {
  picker = new Picker(
    $("entity"),
    $("entity-list"),
    $("entity-status"),
    (q, cursor, limit) => state.catalog.page(state.kind, q, cursor, limit),
    (id) => choose(state.kind, id),
  );
  const names = $("zone-names");
  for (const name of zoneNames()) names.append(new Option(name));
  $("sign-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = tokenIn($("token-input").value);
    if (!token) return showSignIn("Paste a token first.");
    $("token-input").value = "";
    signIn(token);
  });
  $("sign-out").addEventListener("click", () => {
    forgetToken();
    state.catalog?.clear();
    picker.reset();
    showSignIn(null);
  });
  $("kind").addEventListener("change", () => choose($("kind").value, null));
  $("entity-id").addEventListener("change", () => {
    const id = Number($("entity-id").value);
    if (Number.isInteger(id) && id > 0) choose(state.kind, id);
  });
  for (const radio of document.querySelectorAll('input[name="timeframe"]')) {
    radio.addEventListener("change", () => {
      const { from, to } = datesOf(state.range, state.tz);
      state.range = radio.value === "custom" ? { from, to } : { period: radio.value };
      showRange();
      load();
    });
  }
  $("range-from").addEventListener("change", rangeTyped);
  $("range-to").addEventListener("change", rangeTyped);
  $("zone").addEventListener("change", zoneTyped);
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
    const { kind, id, range, tz } = state;
    const fields = exportFields(range, tz);
    const name = await download(state.client, format, $("export-type").value, fields, kind, id);
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
