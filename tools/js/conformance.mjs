// node conformance.mjs OPENAPI HOOKLOG HOOKLOG_RECEIVER: the API contract test.
//
// Starts the real `hooklog serve` (temporary data directory, 127.0.0.1, an admin key) and a
// `hooklog-receiver`, calls every operation of the OpenAPI document (success and error cases,
// with admin, tenant and ingest-only keys and none), and checks every answer against the
// document: its status is documented for the operation, its required headers are there and its
// body validates against the documented schema (ajv). Schemas are checked closed: every object
// that lists `properties` is validated as if it had `additionalProperties: false` (allOf branches
// merged first), so a field the server sends and the document does not name fails here, while the
// document itself stays open for clients (answers may gain fields).
// Generic probes, on every operation: an unknown query parameter (400, `details.allowed` must
// equal the documented query parameters; an operation marked `x-hooklog-any-query`, the
// console's, answers as without it), no key (401 with WWW-Authenticate), an ingest-only key
// (403), a tenant key (403 exactly where `x-hooklog-access` is admin), HEAD for GET (same status,
// no body); on every path, a method it does not list (405, Allow = the documented methods, HEAD
// with GET).
// Fails when an operation had no 2xx answer (the document and the test stay together).
// Exit 0 pass, 1 fail, 77 when the npm packages are not installed (ctest: skipped).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

let SwaggerParser, Ajv;
try {
  SwaggerParser = (await import("@apidevtools/swagger-parser")).default;
  Ajv = (await import("ajv")).default;
} catch {
  console.log("skipped: @apidevtools/swagger-parser or ajv is not installed (run tools/install-js.sh)");
  process.exit(77);
}

const [docPath, hooklogBin, receiverBin] = process.argv.slice(2);
if (!docPath || !hooklogBin || !receiverBin) {
  console.error("usage: node conformance.mjs OPENAPI HOOKLOG HOOKLOG_RECEIVER");
  process.exit(2);
}
const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const ADMIN = "conformance-admin-key";
const deadline = setTimeout(() => fail("the run took over 50 s"), 50_000);
const failures = [];
const children = [];
let tmp;

function fail(msg) {
  console.error(`FAIL: ${msg}`);
  cleanup();
  process.exit(1);
}
function problem(msg) {
  failures.push(msg);
  console.error(`  mismatch: ${msg}`);
}
function cleanup() {
  clearTimeout(deadline);
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}

process.on("unhandledRejection", (e) => fail(e?.stack ?? String(e)));
process.on("uncaughtException", (e) => fail(e?.stack ?? String(e)));
process.on("exit", () => { for (const c of children) if (c.exitCode === null) c.kill("SIGKILL"); });

// ---- the document ----
let api;
try {
  api = await SwaggerParser.validate(docPath);  // validated and dereferenced
} catch (e) {
  fail(`invalid OpenAPI document: ${e.message}`);
}
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const ops = [];
for (const [template, item] of Object.entries(api.paths)) {
  const re = new RegExp("^" + template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+") + "$");
  for (const m of METHODS) {
    if (!item[m]) continue;
    const op = item[m];
    const params = [...(item.parameters ?? []), ...(op.parameters ?? [])];
    ops.push({
      id: op.operationId, method: m.toUpperCase(), template, re, op,
      query: params.filter((p) => p.in === "query").map((p) => p.name),
      secured: (op.security ?? api.security ?? []).length > 0,
      access: op["x-hooklog-access"],
      anyQuery: op["x-hooklog-any-query"] === true,  // takes any query and ignores it (the console)
      ok: false, statuses: new Set(),
    });
  }
}
for (const o of ops) {
  if (!["none", "admin", "any"].includes(o.access)) fail(`${o.id}: x-hooklog-access must be none, admin or any`);
  if ((o.access === "none") === o.secured) fail(`${o.id}: x-hooklog-access ${o.access} disagrees with its security`);
}
const findOp = (method, path) => ops.find((o) => o.method === method && o.re.test(path));

// Resolves allOf (branches merged, later properties win) everywhere, then closes objects.
function flatten(s, memo = new Map()) {
  if (!s || typeof s !== "object" || Array.isArray(s)) return s;
  if (memo.has(s)) return memo.get(s);
  let out = {};
  memo.set(s, out);
  for (const [k, v] of Object.entries(s)) {
    if (k === "allOf") continue;
    if (k === "properties") out.properties = Object.fromEntries(Object.entries(v).map(([n, x]) => [n, flatten(x, memo)]));
    else if (k === "oneOf" || k === "anyOf") out[k] = v.map((x) => flatten(x, memo));
    else if (k === "items" || k === "additionalProperties") out[k] = flatten(v, memo);
    else out[k] = v;
  }
  for (const b of (s.allOf ?? []).map((x) => flatten(x, memo))) {
    out.properties = { ...(out.properties ?? {}), ...(b.properties ?? {}) };
    out.required = [...new Set([...(out.required ?? []), ...(b.required ?? [])])];
    for (const k of ["type", "nullable", "additionalProperties"]) if (b[k] !== undefined && out[k] === undefined) out[k] = b[k];
  }
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}
const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addFormat("date-time", /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/);
ajv.addFormat("int64", { type: "number", validate: Number.isInteger });
const validators = new Map();
function validate(schema, value, where) {
  if (!validators.has(schema)) validators.set(schema, ajv.compile(flatten(schema)));
  const v = validators.get(schema);
  if (!v(value))
    problem(`${where}: body does not match the schema: ${ajv.errorsText(v.errors, { separator: "; " })}\n    body: ${JSON.stringify(value).slice(0, 400)}`);
}

// ---- processes ----
async function start(bin, args, name) {
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    const m = /^listening on (.+):(\d+)$/.exec(line);
    if (m) return { child, base: `http://127.0.0.1:${m[2]}` };
  }
  fail(`${name} exited without printing its address`);
}

// ---- calls ----
async function call(method, path, { key = ADMIN, body, headers = {}, want } = {}) {
  const h = { ...headers };
  if (key) h.authorization = `Bearer ${key}`;
  let payload = body;
  if (body !== undefined && typeof body !== "string") payload = JSON.stringify(body);
  if (payload !== undefined && !Object.keys(h).some((k) => k.toLowerCase() === "content-type"))
    h["content-type"] = "application/json";
  const res = await fetch(server + path, { method, headers: h, body: payload });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch {}
  const r = { status: res.status, headers: res.headers, text, json };
  const where = `${method} ${path} -> ${r.status}`;
  if (want !== undefined && r.status !== want) problem(`${where}: expected ${want}: ${text.slice(0, 300)}`);
  conforms(method, path, r, where);
  return r;
}

function conforms(method, path, r, where) {
  const pathname = path.split("?")[0];
  const op = findOp(method === "HEAD" ? "GET" : method, pathname);
  if (!op) {
    if (r.status === 405) return checkMethodNotAllowed(pathname, r, where);
    return problem(`${where}: no documented operation`);
  }
  op.statuses.add(r.status);
  if (r.status >= 200 && r.status < 300) op.ok = true;
  const resp = op.op.responses[String(r.status)] ?? op.op.responses.default;
  if (!resp) return problem(`${where}: status ${r.status} is not documented for ${op.id}`);
  for (const [name, h] of Object.entries(resp.headers ?? {}))
    if (h.required && !r.headers.get(name)) problem(`${where}: header ${name} is missing`);
  if (method === "HEAD") {
    if (r.text !== "") problem(`${where}: HEAD answered a body`);
    return;
  }
  const type = (r.headers.get("content-type") ?? "").split(";")[0].trim();
  const content = resp.content?.[type];
  if (!content) return problem(`${where}: content type ${type} is not documented for ${op.id} ${r.status}`);
  if (type === "application/x-ndjson") {
    const schema = api.components.schemas.EventWithBody;
    for (const line of r.text.split("\n").filter(Boolean)) validate(schema, JSON.parse(line), where);
  } else if (type === "application/json") {
    if (r.json === null) return problem(`${where}: not JSON: ${r.text.slice(0, 200)}`);
    validate(content.schema, r.json, where);
  } else {
    validate(content.schema, r.text, where);
  }
}

function checkMethodNotAllowed(pathname, r, where) {
  const item = Object.entries(api.paths).find(([t]) => ops.find((o) => o.template === t && o.re.test(pathname)));
  if (!item) return problem(`${where}: 405 on an undocumented path`);
  const documented = METHODS.filter((m) => item[1][m]).map((m) => m.toUpperCase());
  if (documented.includes("GET")) documented.push("HEAD");
  const allow = (r.headers.get("allow") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  if ([...allow].sort().join() !== [...documented].sort().join())
    problem(`${where}: Allow is "${allow.join(", ")}", the document lists ${documented.join(", ")}`);
  const resp = api.components.responses.MethodNotAllowed;
  validate(resp.content["application/json"].schema, r.json, where);
}

// ---- the run ----
tmp = mkdtempSync(join(tmpdir(), "hooklog-conformance-"));
const rcv = await start(receiverBin, ["--listen", "127.0.0.1:0"], "hooklog-receiver");
const srv = await start(hooklogBin, ["serve", "--listen", "127.0.0.1:0", "--data", join(tmp, "data"),
  "--admin-key", ADMIN, "--sources", join(repo, "data", "sources"), "--allow-private-targets"], "hooklog serve");
const server = srv.base;
const sample = readFileSync(join(repo, "data", "samples", "standard", "invoice.paid.json"), "utf8");

// Operations, success and error cases.
await call("GET", "/healthz", { key: "", want: 200 });
await call("HEAD", "/healthz", { key: "", want: 200 });
await call("GET", "/readyz", { key: "", want: 200 });
await call("GET", "/metrics", { want: 200 });
await call("HEAD", "/readyz", { key: "", want: 200 });

const tenant = (await call("POST", "/v1/keys", { body: { tenant: "t1" }, want: 201 })).json.key;
const ingestKey = (await call("POST", "/v1/keys", { body: { tenant: "t1", ingest_source: "eudr" }, want: 201 })).json.key;
const spare = (await call("POST", "/v1/keys", { body: {}, want: 201 })).json;
await call("POST", "/v1/keys", { body: { tenant: "" }, want: 422 });
await call("POST", "/v1/keys", { body: "[1]", want: 400 });
await call("POST", "/v1/keys", { body: "{}", headers: { "content-type": "text/plain" }, want: 415 });
await call("POST", "/v1/keys", { key: tenant, body: {}, want: 403 });
await call("GET", "/v1/keys", { want: 200 });
await call("DELETE", `/v1/keys/${spare.id}`, { want: 200 });
await call("DELETE", "/v1/keys/key_0000000000000000", { want: 404 });
await call("GET", "/metrics", { key: tenant, want: 403 });
await call("GET", "/metrics", { key: "not-a-key", want: 401 });
await call("GET", "/v1/whoami", { want: 200 });
await call("GET", "/v1/whoami", { key: tenant, want: 200 });
await call("GET", "/console/", { key: "", want: 200 });
await call("GET", "/console/console.css", { key: "", want: 200 });
await call("GET", "/console/..", { key: "", want: 404 });

const rcvUrl = `${rcv.base}/in`;
const ep = (await call("POST", "/v1/endpoints", { body: { url: rcvUrl, events: ["invoice.*"], tenant: "acme" }, want: 201 })).json;
await call("POST", "/v1/endpoints", { key: tenant, body: { url: rcvUrl, replay_from: "2024-01-01T00:00:00Z" }, want: 201 });
await call("POST", "/v1/endpoints", { body: { url: "ftp://x" }, want: 422 });
await call("POST", "/v1/endpoints", { body: "{", want: 400 });
await call("POST", "/v1/endpoints", { body: "{}", headers: { "content-type": "text/plain" }, want: 415 });
await call("POST", "/v1/endpoints", { key: ingestKey, body: { url: rcvUrl }, want: 403 });

const ev = (await call("POST", "/v1/sources/standard/events", { body: sample, want: 202 })).json;
await call("POST", "/v1/sources/standard/events", { body: sample, want: 202 });  // duplicate
await call("POST", "/v1/sources/standard/events", { key: tenant, body: sample, headers: { "idempotency-key": "k-1" }, want: 202 });
await call("POST", "/v1/sources/standard/events", { body: "{not json", want: 400 });
await call("POST", "/v1/sources/standard/events", { body: "{}", want: 422 });
await call("POST", "/v1/sources/nope/events", { body: sample, want: 404 });
await call("POST", "/v1/sources/standard/events", { body: sample, headers: { "content-type": "text/plain" }, want: 415 });
await call("POST", "/v1/sources/standard/events", { key: ingestKey, body: sample, want: 403 });
await call("POST", "/v1/sources/standard/events:batch", { body: sample.replace(/\n/g, "") + "\n{not json}\n", headers: { "content-type": "application/x-ndjson" }, want: 200 });
await call("POST", "/v1/sources/standard/events:batch?deliver=maybe", { body: "{}\n", want: 400 });
await call("POST", "/v1/sources/nope/events:batch", { body: "{}\n", want: 404 });

await call("GET", "/v1/event-types", { want: 200 });
await call("GET", "/v1/event-types?source=eudr", { key: tenant, want: 200 });
await call("GET", "/v1/events", { want: 200 });
await call("GET", "/v1/events?limit=1", { key: tenant, headers: { accept: "*/*" }, want: 200 });
await call("GET", "/v1/events", { headers: { accept: "application/x-ndjson" }, want: 200 });
await call("HEAD", "/v1/events", { headers: { accept: "application/x-ndjson" }, want: 200 });
await call("GET", "/v1/events?limit=0", { want: 400 });
await call("GET", "/v1/events?time=zzz", { want: 400 });
await call("GET", `/v1/events/${ev.id}`, { want: 200 });
await call("GET", `/v1/events/${ev.id}`, { key: tenant, want: 404 });
await call("GET", "/v1/entities/invoice/INV-1001/timeline", { want: 200 });
await call("GET", "/v1/entities/invoice/INV-404/timeline", { want: 404 });
await call("GET", "/v1/audit/verify", { want: 200 });
await call("GET", "/v1/audit/verify?from=5&to=1", { want: 400 });
await call("GET", "/v1/audit/verify", { key: tenant, want: 403 });
await call("GET", "/v1/audit/head", { want: 200 });
await call("GET", "/v1/audit/head", { key: tenant, want: 403 });
await call("GET", "/v1/audit/heads/latest", { want: 404 });
const treeHead = (await call("POST", "/v1/audit/heads", { want: 201 })).json;
await call("GET", "/v1/audit/heads/latest", { want: 200 });
await call("GET", "/v1/audit/public-key", { key: tenant, want: 200 });
await call("GET", `/v1/audit/proofs/inclusion?event_id=${ev.id}`, { want: 200 });
await call("GET", `/v1/audit/proofs/inclusion?event_id=${ev.id}&tree_size=${treeHead.tree_size}`, { want: 200 });
await call("GET", `/v1/audit/proofs/inclusion?event_id=${ev.id}&tree_size=0`, { want: 400 });
await call("GET", `/v1/audit/proofs/inclusion?event_id=${ev.id}`, { key: tenant, want: 404 });
await call("GET", `/v1/audit/proofs/consistency?first=1&second=${treeHead.tree_size}`, { want: 200 });
await call("GET", "/v1/audit/proofs/consistency?first=2&second=1", { want: 400 });

// The delivery to the receiver: wait (bounded) for its attempt.
let attempts;
for (let i = 0; i < 100; i++) {
  attempts = await call("GET", `/v1/attempts?endpoint_id=${ep.id}`, { want: 200 });
  if (attempts.json?.items?.length) break;
  await new Promise((r) => setTimeout(r, 100));
}
if (!attempts.json?.items?.length) problem("no delivery attempt to the receiver within 10 s");
await call("GET", `/v1/events/${ev.id}`, { want: 200 });  // now with deliveries and attempts
await call("GET", "/v1/attempts?outcome=zzz", { want: 400 });

await call("GET", "/v1/endpoints", { want: 200 });
await call("GET", "/v1/endpoints?limit=x", { want: 400 });
await call("GET", `/v1/endpoints/${ep.id}`, { want: 200 });
await call("GET", `/v1/endpoints/${ep.id}`, { key: tenant, want: 404 });
await call("PATCH", `/v1/endpoints/${ep.id}`, { body: { description: "all" }, headers: { "content-type": "application/merge-patch+json" }, want: 200 });
await call("PATCH", `/v1/endpoints/${ep.id}`, { body: { tenant: "x" }, want: 422 });
await call("POST", `/v1/endpoints/${ep.id}/rotate-secret`, { body: { overlap_seconds: 60 }, want: 200 });
await call("POST", `/v1/endpoints/${ep.id}/rotate-secret`, { body: { secret: "nope" }, want: 422 });
await call("GET", `/v1/endpoints/${ep.id}/secret`, { want: 200 });
await call("GET", `/v1/endpoints/${ep.id}/secret`, { key: tenant, want: 404 });
await call("GET", "/v1/endpoints?order=desc", { want: 200 });
await call("GET", "/v1/endpoints?order=newest", { want: 400 });
await call("POST", `/v1/endpoints/${ep.id}/disable`, { body: { reason: "maintenance" }, want: 200 });
await call("POST", `/v1/endpoints/${ep.id}/enable`, { want: 200 });
await call("POST", `/v1/endpoints/${ep.id}/enable`, { body: "nope", want: 400 });

const rp = (await call("POST", "/v1/replays", { body: { endpoint_id: ep.id, mode: "all" }, want: 202 })).json;
await call("POST", "/v1/replays", { body: { endpoint_id: ep.id, mode: "zzz" }, want: 422 });
await call("POST", "/v1/replays", { body: { endpoint_id: "ep_0000000000000000" }, want: 404 });
await call("POST", "/v1/replays", { body: "{}", headers: { "content-type": "text/plain" }, want: 415 });
await call("POST", "/v1/replays", { key: ingestKey, body: { endpoint_id: ep.id }, want: 403 });
await call("GET", "/v1/replays", { want: 200 });
await call("GET", "/v1/replays?state=zzz", { want: 400 });
await call("GET", `/v1/replays/${rp.id}`, { want: 200 });
await call("GET", "/v1/replays/rpl_0000000000000000", { want: 404 });
await call("DELETE", `/v1/replays/${rp.id}`, { body: { reason: "test" }, want: 200 });
await call("DELETE", `/v1/replays/${rp.id}`, { want: 409 });
await call("DELETE", `/v1/endpoints/${ep.id}`, { want: 200 });
await call("DELETE", `/v1/endpoints/${ep.id}`, { want: 404 });

// Generic probes on every operation.
const sampleArg = { file: "app.js", source: "standard", event_id: ev.id, endpoint_id: ep.id, replay_id: rp.id, key_id: spare.id, kind: "invoice", id: "INV-1001" };
const concrete = (t) => t.replace(/\{([^}]+)\}/g, (_, n) => encodeURIComponent(sampleArg[n] ?? "x"));
const probed = new Set();
for (const o of ops) {
  const path = concrete(o.template);
  if (o.anyQuery) {
    const plain = await call(o.method, path);
    const withQuery = await call(o.method, `${path}?zz_unknown=1`, { want: plain.status });
    if (withQuery.status !== plain.status) problem(`${o.id}: documented to ignore a query, answered ${withQuery.status}`);
  }
  const r = o.anyQuery ? null : await call(o.method, `${path}?zz_unknown=1`, { want: 400 });
  const allowed = r?.json?.error?.details?.allowed;
  if (o.anyQuery) {
    // nothing to name: the query is ignored
  } else if (r.json?.error?.details?.parameter !== "zz_unknown" || !Array.isArray(allowed))
    problem(`${o.id}: an unknown query parameter is not named in details.parameter/allowed`);
  else if ([...allowed].sort().join() !== [...o.query].sort().join())
    problem(`${o.id}: the server takes query parameters [${allowed}], the document lists [${o.query}]`);
  if (o.secured) {
    const none = await call(o.method, path, { key: "", want: 401 });
    if (!/^Bearer realm="hooklog"/.test(none.headers.get("www-authenticate") ?? ""))
      problem(`${o.id}: 401 without a Bearer challenge`);
    if (!o.template.startsWith("/v1/sources/")) await call(o.method, path, { key: ingestKey, want: 403 });
    // x-hooklog-access: admin routes refuse a tenant key, the others take it.
    const t = await call(o.method, path, { key: tenant, want: o.access === "admin" ? 403 : undefined });
    if (o.access === "any" && (t.status === 401 || t.status === 403))
      problem(`${o.id}: documented for tenant keys (x-hooklog-access: any), answered ${t.status}`);
  }
  if (o.method === "GET") {
    const key = o.secured ? ADMIN : "";
    const g = await call("GET", path, { key });
    await call("HEAD", path, { key, want: g.status });
  }
  if (!probed.has(o.template)) {
    probed.add(o.template);
    const unused = ["PUT", "PATCH", "DELETE", "POST"].find((m) => !ops.some((x) => x.template === o.template && x.method === m));
    await call(unused, path, { key: "", want: 405 });  // conforms() checks Allow and the body
  }
}

const never = ops.filter((o) => !o.ok).map((o) => `${o.method} ${o.template} (${o.id})`);
if (never.length) problem(`operations without a successful call in this test: ${never.join(", ")}`);
for (const o of ops) {
  const unseen = Object.keys(o.op.responses).filter((s) => !o.statuses.has(Number(s)));
  if (unseen.length) console.log(`  not exercised (documented): ${o.id} ${unseen.join(" ")}`);
}
cleanup();
if (failures.length) {
  console.error(`${failures.length} mismatch(es) between docs/openapi.yaml and the server`);
  process.exit(1);
}
console.log(`conformance: ${ops.length} operations on ${Object.keys(api.paths).length} paths match the document`);
