// api.js: calls to the Scaleout HTTP API with the token the user gave.
// The token lives in this tab's sessionStorage only; a 401 forgets it.

const TOKEN_KEY = "scaleout.token";

// The API is served beside the console: /ui/ here, /v1/ there.
const base = new URL("../v1/", document.baseURI);

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY) || "",
  set: (t) => sessionStorage.setItem(TOKEN_KEY, t),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

// ApiError is an error answer of the API: {"error": {code, message, problems}}.
export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `the API answered HTTP ${status}`);
    this.status = status;
    this.code = e.code || "";
    this.problems = e.problems || [];
  }

  // describe is the message with every problem of an invalid package.
  describe() {
    const lines = [this.message];
    for (const p of this.problems) {
      lines.push(`• ${p.path ? p.path + ": " : ""}${p.message}${p.line ? ` (line ${p.line})` : ""}`);
    }
    return lines.join("\n");
  }
}

let unauthorized = () => {};

// onUnauthorized sets what happens when the API refuses the token.
export function onUnauthorized(fn) {
  unauthorized = fn;
}

// call sends one request; it resolves to the decoded JSON answer and
// rejects with an ApiError on an error answer.
export async function call(method, path, { query, body } = {}) {
  const url = new URL(path.replace(/^\//, ""), base);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
  }
  const headers = { Accept: "application/json" };
  if (token.get()) headers.Authorization = `Bearer ${token.get()}`;
  const init = { method, headers, cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(url, init);
  const text = await resp.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!resp.ok) {
    const err = new ApiError(resp.status, data);
    if (resp.status === 401) unauthorized(err);
    throw err;
  }
  return data;
}

// probe reports whether the API answers without a token: behind
// `scaleout console`, which adds the credentials to every call itself.
export async function probe() {
  try {
    const resp = await fetch(new URL("workers", base), { headers: { Accept: "application/json" }, cache: "no-store" });
    return resp.ok;
  } catch {
    return false;
  }
}

// PROXIED is the token kept when the page needs none (see probe).
export const PROXIED = "proxied";

export const get = (path, query) => call("GET", path, { query });
export const post = (path, body) => call("POST", path, { body });
