// "Try it" on the /docs page: sends an operation's request from the browser with the token typed at the
// top of the page, and shows the answer. The token stays in this tab (sessionStorage), sent in a header.
(() => {
  "use strict";
  const KEY = "insights.docs.token";
  const tokenInput = document.getElementById("try-token");
  if (!tokenInput) return;
  tokenInput.value = sessionStorage.getItem(KEY) ?? "";
  tokenInput.addEventListener("input", () => sessionStorage.setItem(KEY, tokenInput.value.trim()));

  /** The token as typed, without a leading "Bearer " (people paste the whole header value). */
  const token = () => tokenInput.value.trim().replace(/^bearer\s+/i, "");

  const SHOWN_HEADERS = ["content-type", "content-disposition", "etag", "cache-control", "retry-after",
    "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "x-request-id"];

  async function send(form) {
    const out = form.querySelector(".try-answer");
    let path = form.dataset.path;
    const query = new URLSearchParams();
    const headers = {};
    for (const input of form.querySelectorAll("[data-in]")) {
      const value = input.value.trim();
      if (input.dataset.in === "path") path = path.replace(`{${input.name}}`, encodeURIComponent(value));
      else if (value && input.dataset.in === "query") query.set(input.name, value);
      else if (value && input.dataset.in === "header") headers[input.name] = value;
    }
    if (form.dataset.secured === "yes") {
      if (!token()) {
        out.textContent = "Type a token at the top of the page first (insights token create ...).";
        return;
      }
      headers.Authorization = `Bearer ${token()}`;
    }
    const init = { method: form.dataset.method.toUpperCase(), headers, cache: "no-store" };
    const body = form.querySelector("textarea[name=body]");
    if (body) {
      init.body = body.value;
      headers["Content-Type"] = "application/json";
    }
    const url = path + (query.size ? `?${query}` : "");
    out.textContent = `${init.method} ${url} …`;
    let response;
    try {
      response = await fetch(url, init);
    } catch {
      out.textContent = "The API cannot be reached.";
      return;
    }
    const lines = [`HTTP ${response.status} ${response.statusText}`];
    for (const name of SHOWN_HEADERS) {
      const value = response.headers.get(name);
      if (value !== null) lines.push(`${name}: ${value}`);
    }
    const type = response.headers.get("content-type") ?? "";
    out.textContent = `${lines.join("\n")}\n\n`;
    if (type.includes("json")) {
      const text = await response.text();
      try {
        out.textContent += JSON.stringify(JSON.parse(text), null, 2);
      } catch {
        out.textContent += text;
      }
    } else if (type.startsWith("text/") && !type.startsWith("text/html")) {
      out.textContent += await response.text();
    } else if (response.status !== 304) {
      const blob = await response.blob();
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = /filename="?([^";]+)/.exec(response.headers.get("content-disposition") ?? "")?.[1] ?? "answer";
      link.textContent = `download the ${blob.size.toLocaleString("en")} bytes of ${type || "the answer"}`;
      out.append(link);
    }
  }

  for (const form of document.querySelectorAll("form.try")) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      send(form);
    });
  }
})();
