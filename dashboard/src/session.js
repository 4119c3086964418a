// The token lives in sessionStorage (this tab only) and goes out in the Authorization header, never the URL.
// Its payload is read without verifying the signature: only to list the artists and see the expiry early.

const KEY = "insights.token";

export function savedToken() {
  return sessionStorage.getItem(KEY);
}

export function saveToken(token) {
  sessionStorage.setItem(KEY, token);
}

export function forgetToken() {
  sessionStorage.removeItem(KEY);
}

/** The token in what was pasted: people often copy the whole header value, "Bearer eyJ...". */
export function tokenIn(text) {
  return text.trim().replace(/^bearer\s+/i, "").trim();
}

/** The JWT's claims, or null when the text is not a JWT. */
export function claimsOf(token) {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    const base64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = atob(base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), "="));
    const claims = JSON.parse(json);
    return typeof claims === "object" && claims !== null ? claims : null;
  } catch {
    return null;
  }
}

export function isExpired(claims, now = Date.now()) {
  return typeof claims.exp === "number" && claims.exp * 1000 <= now;
}
