// The audience panels: where listeners are (countries with their names and flags), how they found the
// music (sources), what they listen on (platforms), as bar lists; and listening time. Text only through
// textContent; bar widths through the CSSOM (the page's policy allows no inline style attribute).

const number = new Intl.NumberFormat("en");
const regions = typeof Intl.DisplayNames === "function" ? new Intl.DisplayNames(["en"], { type: "region" }) : null;

const SOURCES = {
  search: "Search",
  library: "Library",
  playlist: "Playlists",
  album: "Album pages",
  artist_page: "Artist pages",
  radio: "Radio",
  recommendation: "Recommendations",
  embed: "Embedded players",
  external: "External links",
  other: "Other sources",
};
const PLATFORMS = {
  web: "Web",
  ios: "iOS",
  android: "Android",
  desktop: "Desktop app",
  tv: "TV",
  speaker: "Smart speaker",
  car: "Car",
  other: "Other platforms",
};

/** The flag of an ISO 3166-1 alpha-2 code, as its two regional-indicator letters (an emoji: no image). */
export function flagOf(code) {
  if (!/^[A-Z]{2}$/.test(code)) return "";
  return String.fromCodePoint(...[...code].map((c) => 0x1f1e6 + c.charCodeAt(0) - 65));
}

export function countryName(code) {
  try {
    return regions?.of(code) ?? code;
  } catch {
    return code;
  }
}

function label(dimension, value) {
  if (dimension === "country") return countryName(value);
  return (dimension === "source" ? SOURCES : PLATFORMS)[value] ?? value;
}

function row(list, { value, plays, listeners, share }, text, flag, widest) {
  const item = document.createElement("li");
  item.dataset.value = value;
  const name = document.createElement("span");
  name.className = "bar-name";
  if (flag) {
    const icon = document.createElement("span");
    icon.className = "flag";
    icon.setAttribute("aria-hidden", "true");
    icon.textContent = flag;
    name.append(icon);
  }
  name.append(text);
  const track = document.createElement("span");
  track.className = "bar-track";
  track.setAttribute("aria-hidden", "true");
  const bar = document.createElement("span");
  bar.className = "bar-fill";
  bar.style.width = `${widest > 0 ? Math.max(1, (plays / widest) * 100) : 0}%`;
  track.append(bar);
  const figures = document.createElement("span");
  figures.className = "bar-figures num";
  const playsText = document.createElement("span");
  playsText.className = "plays";
  playsText.textContent = number.format(plays);
  figures.append(playsText, ` plays · ${share.toFixed(1)}% · ${number.format(listeners)} listeners`);
  item.append(name, figures, track);
  list.append(item);
}

/** One breakdown answer as a bar list: its rows, then the values past the limit, then plays that did not say. */
export function showBreakdown(list, empty, dimension, data) {
  list.replaceChildren();
  const widest = Math.max(0, ...data.rows.map((r) => r.plays), data.other.plays, data.unknown.plays);
  for (const r of data.rows) row(list, r, label(dimension, r.value), dimension === "country" ? flagOf(r.value) : "", widest);
  // `other` and `unknown` carry no share of their own: theirs is of every play, like the rows' (one decimal)
  const all = data.rows.reduce((sum, r) => sum + r.plays, data.other.plays + data.unknown.plays);
  const share = (plays) => Math.round((plays / all) * 1000) / 10;
  const words = { country: "Other countries", source: "Other sources", platform: "Other platforms" };
  for (const [value, text] of [["other", words[dimension]], ["unknown", "Not reported"]]) {
    const group = data[value];
    if (group.plays > 0) row(list, { value, ...group, share: share(group.plays) }, text, "", widest);
  }
  empty.hidden = list.children.length > 0;
}

export function clearBreakdown(list, empty) {
  list.replaceChildren();
  empty.hidden = false;
}

/** "2 h 05 min", "4 min 12 s", "12 s". */
export function duration(ms) {
  if (ms === null || ms === undefined) return "–";
  const seconds = Math.round(ms / 1000);
  const [h, m, s] = [Math.floor(seconds / 3600), Math.floor((seconds % 3600) / 60), seconds % 60];
  if (h > 0) return `${number.format(h)} h ${String(m).padStart(2, "0")} min`;
  if (m > 0) return `${m} min ${String(s).padStart(2, "0")} s`;
  return `${s} s`;
}

export function showListening(setText, listening, plays) {
  if (!listening) {
    for (const id of ["listen-qualified", "listen-total", "listen-average", "listen-share"]) setText(id, "–");
    return;
  }
  setText("listen-qualified", number.format(listening.qualified_plays));
  setText(
    "listen-share",
    plays > 0 ? `${((listening.qualified_plays / plays) * 100).toFixed(1)}% of ${number.format(plays)} plays` : "",
  );
  setText("listen-total", duration(listening.total_ms));
  setText("listen-average", duration(listening.avg_ms));
}
