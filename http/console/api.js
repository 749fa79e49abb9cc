// The console's one way to the server: the public /v1 API, the key in the Authorization header.
// The key lives in sessionStorage only (this tab, until it closes); never in a URL.
const KEY = "hooklog.console.key";

export class ApiError extends Error {
  // kind: "auth" (401), "forbidden" (403), "not_found" (404), "network" (no answer), "http"
  constructor(kind, status, code, message, details) {
    super(message);
    this.kind = kind;
    this.status = status;
    this.code = code;
    this.details = details ?? {};
  }
}

export function storedKey() {
  return sessionStorage.getItem(KEY) ?? "";
}
export function storeKey(key) {
  sessionStorage.setItem(KEY, key);
}
export function forgetKey() {
  sessionStorage.removeItem(KEY);
}

// Builds "/v1/...?a=1" from a path and an object of parameters (empty values left out).
export function url(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

// Calls the API; resolves to the parsed JSON body (or text), rejects with an ApiError.
export async function call(method, path, { body, key = storedKey(), params, headers = {} } = {}) {
  const h = { accept: "application/json", ...headers };
  if (key) h.authorization = `Bearer ${key}`;
  let payload;
  if (body !== undefined) {
    h["content-type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url(path, params), { method, headers: h, body: payload, cache: "no-store", credentials: "omit" });
  } catch (e) {
    throw new ApiError("network", 0, "network", "The server is not reachable (is hooklog serve running?)");
  }
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (res.ok) return json ?? text;
  const err = json?.error ?? {};
  const message = err.message ?? `HTTP ${res.status}`;
  const kind = res.status === 401 ? "auth" : res.status === 403 ? "forbidden" : res.status === 404 ? "not_found" : "http";
  throw new ApiError(kind, res.status, err.code ?? "http_error", message, err.details);
}

export const get = (path, params, opts = {}) => call("GET", path, { ...opts, params });
export const post = (path, body, opts = {}) => call("POST", path, { ...opts, body });
export const patch = (path, body, opts = {}) => call("PATCH", path, { ...opts, body });
export const del = (path, body, opts = {}) => call("DELETE", path, { ...opts, body });

// A path segment, percent-encoded.
export const seg = (s) => encodeURIComponent(s);

// Idempotency-Key for a form's creating POST: the same body sent again (a double click, a retry
// after a lost answer) reuses the key, so the server answers the first result instead of
// creating a second endpoint or replay; a changed body gets a new key.
export function idempotency() {
  let lastBody = null;
  let lastKey = "";
  return (body) => {
    const text = JSON.stringify(body);
    if (text !== lastBody) {
      const bytes = crypto.getRandomValues(new Uint8Array(16));
      lastKey = `console-${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
      lastBody = text;
    }
    return { "idempotency-key": lastKey };
  };
}
