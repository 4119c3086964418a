// Export buttons: POST /export/{csv|json|pdf} with the token and the view's range and zone, then hand the
// file to the browser as a download.

import { BASE } from "./api.js";

function filenameOf(response, fallback) {
  const disposition = response.headers.get("Content-Disposition") ?? "";
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
  return match ? decodeURIComponent(match[1]) : fallback;
}

const FOCUS = { artists: "artist_id", albums: "album_id", tracks: "track_id" };

/** Downloads one export of what is on screen (`kind` `id`, over the range and zone in `fields`: `period`
 *  or `from` and `to`, and `tz`); resolves to the file's name. */
export async function download(client, format, type, fields, kind, id) {
  const focus = id === null ? {} : { [FOCUS[kind]]: id };
  const body = format === "pdf" ? { ...fields, ...focus } : { type, ...fields, ...focus };
  const what = format === "pdf" ? "the PDF report" : `the ${type} export`;
  const response = await client.send(`${BASE}/export/${format}`, { method: "POST", body, what });
  const blob = await response.blob();
  const span = fields.period ?? `${fields.from}-to-${fields.to}`;
  const name = filenameOf(response, `insights-${format === "pdf" ? "report" : type}-${span}.${format}`);
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  return name;
}
