// Finding one's catalog through the listing endpoints (GET /tracks, /albums, /artists with q, limit and
// cursors), and the names the page has learnt, so a choice reads "Dawn · First Light (#42)".

import { BASE } from "./api.js";

const ID = { artists: "artist_id", albums: "album_id", tracks: "track_id" };
const WALK_PAGE = 100; // the listing's largest page
const WALK_PAGES = 50; // at most 5,000 items walked for one list (an admin's whole catalog may be far more)

export class Catalog {
  constructor(client) {
    this.client = client;
    this.items = { artists: new Map(), albums: new Map(), tracks: new Map() }; // id -> listing item
    this.names = { artists: new Map(), albums: new Map(), tracks: new Map() }; // id -> name, also from figures
  }

  /** One page of `kind` matching `q`: { items, next } (next: the cursor of the page after, or null). */
  async page(kind, q, cursor = null, limit = 20) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (q) query.set("q", q);
    if (cursor) query.set("cursor", cursor);
    const data = await this.client.data(`${BASE}/${kind}?${query}`, { what: `the list of ${kind}` });
    for (const item of data.items) this.learn(kind, item);
    return { items: data.items.map((item) => this.choice(kind, item[ID[kind]])), next: data.next_cursor };
  }

  /** Every item of `kind` that `keep` accepts, walking the cursors (at most `maxPages` pages, and only
   *  while `wanted()`); `params` narrows the listing itself (`artist_id`, `album_id`): { items, complete }
   *  where complete says whether the walk reached the last page. */
  async walk(kind, { keep = () => true, maxPages = WALK_PAGES, wanted = () => true, params = {} } = {}) {
    const found = [];
    let cursor = null;
    for (let pages = 0; pages < maxPages && wanted(); pages++) {
      const query = new URLSearchParams({ ...params, limit: String(WALK_PAGE) });
      if (cursor) query.set("cursor", cursor);
      const data = await this.client.data(`${BASE}/${kind}?${query}`, { what: `the list of ${kind}` });
      for (const item of data.items) {
        this.learn(kind, item);
        if (keep(item)) found.push(item);
      }
      cursor = data.next_cursor;
      if (!cursor) return { items: found, complete: true };
    }
    return { items: found, complete: false };
  }

  /** Finds one item by its name (the listing has no look-up by id): the pages of `q` = name, up to 3. */
  async find(kind, id, name) {
    if (this.items[kind].has(id) || !name) return;
    let cursor = null;
    for (let pages = 0; pages < 3; pages++) {
      const { next } = await this.page(kind, name, cursor, 100);
      if (this.items[kind].has(id) || !next) return;
      cursor = next;
    }
  }

  learn(kind, item) {
    const id = item[ID[kind]];
    this.items[kind].set(id, item);
    this.remember(kind, id, item.title ?? item.name ?? "");
  }

  remember(kind, id, name) {
    if (name) this.names[kind].set(id, name);
  }

  name(kind, id) {
    return this.names[kind].get(id) ?? "";
  }

  /** What tells two same-named items apart: a track's album (else its artists), an album's artist. */
  detail(kind, id) {
    const item = this.items[kind].get(id);
    if (!item) return "";
    if (kind === "albums") return this.name("artists", item.artist_id) || `artist #${item.artist_id}`;
    if (kind !== "tracks") return "";
    if (item.album_id !== null && item.album_id !== undefined) {
      return this.name("albums", item.album_id) || `album #${item.album_id}`;
    }
    return item.artist_ids.map((a) => this.name("artists", a) || `artist #${a}`).join(", ");
  }

  choice(kind, id) {
    return { id, name: this.name(kind, id), detail: this.detail(kind, id) };
  }

  clear() {
    for (const map of [...Object.values(this.items), ...Object.values(this.names)]) map.clear();
  }
}

/** "Dawn · First Light (#42)": the name, what tells it apart, and the id. */
export function choiceText(item) {
  if (!item.name) return `#${item.id}`;
  return item.detail ? `${item.name} · ${item.detail} (#${item.id})` : `${item.name} (#${item.id})`;
}
