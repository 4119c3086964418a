// Calls to the public Insights API, and every failure turned into a sentence a person can act on.

export const BASE = "/api/v1/producer-intelligence/insights";

export class ApiProblem extends Error {
  constructor(status, code, sentence, retryAfter = null) {
    super(sentence);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

function seconds(n) {
  return n === 1 ? "1 second" : `${n} seconds`;
}

/** The sentence for an error answer; `what` names the thing asked for ("artist 7"). */
export function sentenceFor(status, body, what, retryAfter) {
  const message = body && typeof body.message === "string" ? body.message : "";
  switch (status) {
    case 401:
      if (/expired/i.test(message)) return "Your token has expired. Paste a new one to sign in again.";
      return `This token was not accepted${message ? `: ${message}` : "."} Paste a valid token to sign in again.`;
    case 403:
      return `This token has no access to ${what}. Pick something it may read, or sign in with another token.`;
    case 404:
      return `There is no ${what}: check the id.`;
    case 422:
      return `The request for ${what} was refused: ${message || "a value is not valid"}`;
    case 429:
      return `Too many requests for now. Try again in ${seconds(retryAfter ?? 60)}.`;
    case 503:
      return `The analytics service is unavailable right now; try again in ${seconds(retryAfter ?? 5)}.`;
    default:
      return `Something went wrong on the server (${status}); please try again.`;
  }
}

export class Client {
  constructor(token, onUnauthorized) {
    this.token = token;
    this.onUnauthorized = onUnauthorized;
    this.answers = new Map(); // path -> { etag, data } of the last answer (see fresh)
  }

  /** One request; resolves to the Response (2xx or 304) or rejects with an ApiProblem. */
  async send(path, { method = "GET", body, headers = {}, what = "this" } = {}) {
    const init = {
      method,
      cache: "no-store",
      headers: { Authorization: `Bearer ${this.token}`, ...headers },
    };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch {
      throw new ApiProblem(0, "network", "The Insights API cannot be reached. Check the connection and retry.");
    }
    if (response.ok || response.status === 304) return response;
    const answer = await response.json().catch(() => null);
    const retryAfter = retryAfterOf(response, answer);
    const problem = new ApiProblem(
      response.status,
      answer?.error ?? "server_error",
      sentenceFor(response.status, answer, what, retryAfter),
      retryAfter,
    );
    if (response.status === 401) this.onUnauthorized(problem);
    throw problem;
  }

  async data(path, options) {
    const response = await this.send(path, options);
    return (await response.json()).data;
  }

  /** A GET that sends the ETag of the last answer to the same path: a 304 gives that answer again, so
   *  refreshing what did not move costs no body. */
  async fresh(path, options = {}) {
    const last = this.answers.get(path);
    const headers = last ? { "If-None-Match": last.etag } : {};
    const response = await this.send(path, { ...options, headers });
    if (response.status === 304 && last) return last.data;
    const { data } = await response.json();
    const etag = response.headers.get("ETag");
    if (this.answers.size >= 200) this.answers.clear(); // a bound, not an index: old views are just asked again
    if (etag) this.answers.set(path, { etag, data });
    return data;
  }
}

function retryAfterOf(response, answer) {
  const fromBody = Number(answer?.retry_after);
  if (Number.isFinite(fromBody) && fromBody > 0) return Math.ceil(fromBody);
  const fromHeader = Number(response.headers.get("Retry-After"));
  return Number.isFinite(fromHeader) && fromHeader > 0 ? Math.ceil(fromHeader) : null;
}
