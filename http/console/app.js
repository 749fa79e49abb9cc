// The audit console: sign-in, the who-am-I bar, navigation and hash routing. Every page is a
// module with render(ctx); its URL (#/events?type=dds.*) holds the view, never the key.
import { ApiError, forgetKey, get, storeKey, storedKey } from "./api.js";
import { button, clear, errorBox, field, h } from "./ui.js";
import * as overview from "./page_overview.js";
import * as events from "./page_events.js";
import * as event from "./page_event.js";
import * as timeline from "./page_timeline.js";
import * as endpoints from "./page_endpoints.js";
import * as endpoint from "./page_endpoint.js";
import * as replays from "./page_replays.js";
import * as audit from "./page_audit.js";

const PAGES = [
  { path: "overview", title: "Overview", page: overview, nav: true },
  { path: "events", title: "Events", page: events, nav: true },
  { path: "event", title: "Event", page: event },
  { path: "timeline", title: "Entity timeline", page: timeline, nav: true },
  { path: "endpoints", title: "Endpoints", page: endpoints, nav: true },
  { path: "endpoint", title: "Endpoint", page: endpoint },
  { path: "replays", title: "Replays", page: replays, nav: true },
  { path: "audit", title: "Audit", page: audit, nav: true, admin: true },
];

const root = document.getElementById("app");
let who = null; // {key_id, admin, tenant}
let cleanups = [];

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = raw.split("?");
  let parts;
  try {
    parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  } catch {
    // A malformed escape (#/event/%E0%A4%A) names no page: the whole path, as typed, is the
    // name route() says there is no page for (a throw would leave the last page on screen).
    return { name: path, args: [], query: new URLSearchParams(query) };
  }
  return { name: parts[0] ?? "overview", args: parts.slice(1), query: new URLSearchParams(query) };
}

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function signOut(message) {
  forgetKey();
  who = null;
  renderSignIn(message);
}

function renderSignIn(message) {
  for (const f of cleanups) f();
  cleanups = [];
  const input = h("input", { type: "password", name: "key", autocomplete: "off", spellcheck: "false", required: true });
  const status = h("div", { class: "signin-status", "aria-live": "polite" });
  if (message) status.append(errorBox(message));
  const form = h(
    "form",
    { class: "signin card", onsubmit: (e) => { e.preventDefault(); signIn(input.value.trim(), status); } },
    h("h1", {}, "hooklog audit console"),
    h("p", {}, "What was sent, to whom, and when. Sign in with an API key: an admin key sees every tenant, a tenant key only its own."),
    field("API key", input, "Kept in this browser tab only (sessionStorage), sent in the Authorization header, never in a URL."),
    button("Sign in", undefined, { kind: "primary", type: "submit" }),
    status,
  );
  clear(root, h("main", { id: "main", class: "signin-page" }, form));
  input.focus();
}

async function signIn(key, status) {
  clear(status, h("p", {}, "Checking the key…"));
  try {
    who = await get("/v1/whoami", {}, { key });
  } catch (e) {
    const msg =
      e.kind === "auth" ? new ApiError("auth", 401, e.code, "This key is unknown, revoked or mistyped.")
      : e.kind === "forbidden" ? new ApiError("forbidden", 403, e.code, `${e.message}. The console needs an admin or tenant key.`)
      : e;
    clear(status, errorBox(msg));
    return;
  }
  storeKey(key);
  route();
}

function layout(current) {
  const nav = h(
    "nav",
    { class: "nav", "aria-label": "Pages" },
    PAGES.filter((p) => p.nav && (!p.admin || who.admin)).map((p) =>
      h("a", { href: `#/${p.path}`, "aria-current": current === p.path || (current === "event" && p.path === "events") || (current === "endpoint" && p.path === "endpoints") ? "page" : false }, p.title),
    ),
  );
  const whoText = who.admin ? "admin (every tenant)" : `tenant ${who.tenant}`;
  const header = h(
    "header",
    { class: "top" },
    h("a", { class: "skip", href: "#main", onclick: (e) => { e.preventDefault(); document.getElementById("main")?.focus(); } }, "Skip to content"),
    h("a", { class: "brand", href: "#/overview" }, "hooklog"),
    nav,
    h("div", { class: "who", "data-testid": "who" }, h("span", { class: "muted" }, "Signed in as "), h("strong", {}, whoText), h("span", { class: "muted key-id" }, ` · ${who.key_id}`)),
    button("Sign out", () => signOut(), { kind: "ghost" }),
  );
  const main = h("main", { id: "main", tabindex: "-1" });
  clear(root, header, main);
  return main;
}

async function route() {
  for (const f of cleanups) f();
  cleanups = [];
  if (!storedKey()) return renderSignIn();
  if (!who) {
    try {
      who = await get("/v1/whoami");
    } catch (e) {
      if (e.kind === "auth" || e.kind === "forbidden") return signOut(new ApiError(e.kind, e.status, e.code, "Your key is no longer accepted (revoked or expired). Sign in again."));
      clear(root, h("main", { id: "main", class: "signin-page" }, errorBox(e, button("Try again", () => route(), { kind: "primary" }))));
      return;
    }
  }
  const { name, args, query } = parseHash();
  const entry = PAGES.find((p) => p.path === name);
  const main = layout(entry?.path ?? "");
  if (!entry) {
    main.append(errorBox(new ApiError("not_found", 404, "not_found", `There is no page "${name}".`), h("p", {}, h("a", { href: "#/overview" }, "Go to the overview"))));
    return;
  }
  document.title = `${entry.title} · hooklog console`;
  const ctx = {
    main,
    args,
    query,
    who,
    navigate,
    onLeave: (f) => cleanups.push(f),
    // A failed API call in a page: a revoked key goes back to sign-in, the rest is shown.
    fail(e, where = main) {
      if (e instanceof ApiError && e.kind === "auth") return signOut(new ApiError("auth", 401, e.code, "Your key is no longer accepted (revoked or expired). Sign in again."));
      clear(where, errorBox(e));
    },
  };
  try {
    await entry.page.render(ctx);
  } catch (e) {
    ctx.fail(e);
  }
}

window.addEventListener("hashchange", route);
route();
