// Polls /tracks/{id}/realtime every few seconds with If-None-Match: an unchanged answer costs a 304,
// and the last ETag and body are kept. A 429 or 503 waits as long as the server asks.

import { BASE } from "./api.js";

export const POLL_MS = 3000;

export class LivePoller {
  constructor(client, onData, onProblem) {
    this.client = client;
    this.onData = onData;
    this.onProblem = onProblem;
    this.timer = null;
    this.generation = 0;
  }

  follow(trackId) {
    this.stop();
    const generation = ++this.generation;
    const last = { etag: null, body: null };
    const tick = async () => {
      let wait = POLL_MS;
      if (!document.hidden) {
        try {
          const headers = last.etag ? { "If-None-Match": last.etag } : {};
          const what = `track ${trackId}`;
          const response = await this.client.send(`${BASE}/tracks/${trackId}/realtime`, { headers, what });
          if (generation !== this.generation) return;
          if (response.status === 200) {
            last.etag = response.headers.get("ETag");
            last.body = (await response.json()).data;
          }
          this.onData(last.body, response.status === 304);
        } catch (problem) {
          if (generation !== this.generation) return;
          this.onProblem(problem);
          if (problem.status === 401 || problem.status === 403 || problem.status === 404) return;
          wait = Math.max(POLL_MS, (problem.retryAfter ?? 0) * 1000);
        }
      }
      if (generation === this.generation) this.timer = setTimeout(tick, wait);
    };
    tick();
  }

  stop() {
    this.generation++;
    clearTimeout(this.timer);
    this.timer = null;
  }
}
