// Export buttons: POST /export/{csv|json|pdf} with the token, then hand the file to the browser as a download.

import { BASE } from "./api.js";

function filenameOf(response, fallback) {
  const disposition = response.headers.get("Content-Disposition") ?? "";
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
  return match ? decodeURIComponent(match[1]) : fallback;
}

const FOCUS = { artists: "artist_id", albums: "album_id", tracks: "track_id" };

/** Downloads one export of what is on screen (`kind` `id`); resolves to the file's name. */
export async function download(client, format, type, period, kind, id) {
  const focus = id === null ? {} : { [FOCUS[kind]]: id };
  const body = format === "pdf" ? { period, ...focus } : { type, period, ...focus };
  const what = format === "pdf" ? "the PDF report" : `the ${type} export`;
  const response = await client.send(`${BASE}/export/${format}`, { method: "POST", body, what });
  const blob = await response.blob();
  const name = filenameOf(response, `insights-${format === "pdf" ? "report" : type}-${period}.${format}`);
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  return name;
}

/** Names of what the token may read, from the JSON export (one request per kind). */
export async function readable(client, type) {
  const data = await client.data(`${BASE}/export/json`, {
    method: "POST",
    body: { type, period: "30-days" },
    what: `the list of ${type}`,
  });
  const key = `${type.slice(0, -1)}_id`;
  return data.rows.map((row) => ({ id: row[key], name: row.title ?? row.name ?? "", detail: detailOf(row) }));
}

/** What tells two same-titled items apart: a track's album (else its artists), an album's artist. */
function detailOf(row) {
  if (row.album) return row.album;
  if (Array.isArray(row.artists)) return row.artists.filter(Boolean).join(", ");
  return row.artist ?? "";
}
