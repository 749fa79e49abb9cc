// One event: the body as received (pretty, and raw byte for byte), the normalized fields, every
// endpoint it went to with every attempt, its inclusion proof checked in the browser, and a replay
// of this one event to an endpoint.
import { get, idempotency, post, seg } from "./api.js";
import { badge, button, clear, copy, empty, errorBox, field, fields, fmtMs, fmtTime, h, loading, prettyJson, statusBadge } from "./ui.js";
import { showInclusion } from "./proof.js";

// "2024-01-15T10:30:06.118000Z" -> integer microseconds since the epoch.
export function micros(rfc) {
  const m = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?Z$/.exec(rfc);
  if (!m) return null;
  return Date.parse(`${m[1]}Z`) * 1000 + Number((m[2] ?? "").padEnd(6, "0"));
}

export async function render(ctx) {
  const id = ctx.args[0];
  ctx.main.append(loading());
  let ev;
  try {
    ev = await get(`/v1/events/${seg(id ?? "")}`);
  } catch (e) {
    if (e.kind === "not_found") e.message = `No event ${id} is visible to this key (it does not exist, or it belongs to another tenant).`;
    return ctx.fail(e);
  }
  const entityLink = ev.entity
    ? h("a", { href: `#/timeline/${seg(ev.entity.kind)}/${seg(ev.entity.id)}?tenant=${seg(ev.tenant)}` }, `${ev.entity.kind} ${ev.entity.id}`, " (timeline)")
    : null;
  const head = h(
    "section",
    { class: "card" },
    h("p", { class: "crumbs" }, h("a", { href: "#/events" }, "Events"), " / ", ev.id),
    h("h1", {}, ev.type, " ", ev.mode === "test" ? badge("test mode", "warn") : null, ev.cataloged ? null : badge("not in the catalog", "warn")),
    fields([
      ["Event id", h("code", {}, ev.id)],
      ["Log seq", String(ev.seq)],
      ["Source", ev.source],
      ["Tenant", ev.tenant],
      ["Occurred", fmtTime(ev.occurred_at)],
      ["Recorded", fmtTime(ev.recorded_at)],
      ["Entity", entityLink],
      ["Status", ev.status ? `${ev.status.from ?? "∅"} → ${ev.status.to}` : null],
      ev.native_id ? ["Native id", h("code", {}, ev.native_id)] : null,
      ev.idempotency_key ? ["Idempotency key", h("code", {}, ev.idempotency_key)] : null,
      ["Chain hash", h("code", { class: "hash" }, ev.hash)],
    ]),
  );

  // The body: pretty (when JSON) or raw, exactly the stored bytes.
  const pretty = prettyJson(ev.body);
  const pre = h("pre", { class: "body", tabindex: "0", "aria-label": "Event body" });
  const bPretty = button("Pretty", () => show(true), { kind: "tab" });
  const bRaw = button("Raw (as received)", () => show(false), { kind: "tab" });
  const copied = h("span", { class: "muted", "aria-live": "polite" });
  function show(p) {
    const usePretty = p && pretty !== null;
    pre.textContent = usePretty ? pretty : ev.body;
    pre.dataset.view = usePretty ? "pretty" : "raw";
    bPretty.setAttribute("aria-pressed", String(usePretty));
    bRaw.setAttribute("aria-pressed", String(!usePretty));
  }
  show(true);
  const bodyCard = h(
    "section",
    { class: "card" },
    h("h2", {}, "Body"),
    h("div", { class: "tabs", role: "group", "aria-label": "Body view" }, bPretty, bRaw,
      button("Copy raw", async () => (copied.textContent = (await copy(ev.body)) ? " copied" : " copy not allowed here"), { kind: "ghost" }), copied),
    h("p", { class: "muted" }, `${new TextEncoder().encode(ev.body).length} bytes${pretty === null ? ", not JSON" : ""}`),
    pre,
  );

  // Deliveries: one block per endpoint, every attempt.
  const byEndpoint = new Map();
  for (const a of ev.attempts) {
    if (!byEndpoint.has(a.endpoint_id)) byEndpoint.set(a.endpoint_id, []);
    byEndpoint.get(a.endpoint_id).push(a);
  }
  const delivCard = h("section", { class: "card deliveries" }, h("h2", {}, "Deliveries"));
  if (!ev.deliveries.length) delivCard.append(empty("No delivery attempt yet: no endpoint took this event, or its first attempt is still due."));
  for (const d of ev.deliveries) {
    const attempts = byEndpoint.get(d.endpoint_id) ?? [];
    delivCard.append(
      h(
        "div",
        { class: "delivery" },
        h("h3", {}, h("a", { href: `#/endpoint/${seg(d.endpoint_id)}` }, d.endpoint_id), " ", badge(d.state.replace("_", " "), d.state === "delivered" ? "ok" : d.state === "dead_letter" ? "bad" : "warn"),
          h("span", { class: "muted" }, ` ${d.attempts} attempt${d.attempts === 1 ? "" : "s"}, last ${fmtTime(d.last_attempt_at)}`)),
        h("ol", { class: "attempts" }, attempts.map(attemptItem)),
      ),
    );
  }
  if (ev.attempts.length) delivCard.append(h("p", { class: "muted small" }, "Each attempt keeps the answer's headers and the first 1 KiB of its body."));

  ctx.main.replaceChildren(head, h("div", { class: "event-cols" }, bodyCard, h("div", {}, delivCard, proofCard(ev), await replayCard(ctx, ev))));
}

function attemptItem(a) {
  if (a.malformed) return h("li", { class: "attempt" }, `Attempt record ${a.seq}: its body cannot be read`);
  return h(
    "li",
    { class: `attempt ${a.outcome}` },
    h("div", { class: "attempt-head" }, h("strong", {}, `Attempt ${a.attempt}`), " ", statusBadge(a.status), " ",
      badge(a.outcome, a.outcome === "success" ? "ok" : "bad"), a.dead_letter ? badge("dead letter", "bad") : null, a.replay_id ? badge(`replay ${a.replay_id}`, "") : null),
    fields([
      ["At", fmtTime(a.recorded_at)],
      ["Latency", fmtMs(a.latency_us)],
      ["HTTP status", a.status ? String(a.status) : "none (no answer)"],
      ["Error", a.error || "—"],
      ["Next attempt", a.next_attempt_at ? fmtTime(a.next_attempt_at) : "none"],
      ["Record", `seq ${a.seq}`],
    ]),
    a.response_excerpt
      ? h("details", {}, h("summary", {}, `Response body excerpt${a.response_truncated ? " (cut)" : ""}`), h("pre", { class: "excerpt" }, a.response_excerpt))
      : null,
    a.response_headers?.length
      ? h("details", { class: "resp-headers" }, h("summary", {}, `Response headers (${a.response_headers.length})`),
          h("dl", { class: "fields headers" }, a.response_headers.map(([k, v]) => [h("dt", {}, k), h("dd", {}, h("code", {}, v))])))
      : null,
  );
}

// "Is this event really in the log?": its inclusion proof against the latest signed head,
// checked in this browser (proof.js).
function proofCard(ev) {
  const out = h("div", { "aria-live": "polite" });
  return h(
    "section",
    { class: "card" },
    h("h2", {}, "Proof"),
    h("p", { class: "muted small" }, "Checks here, not on the server, that this event, with the fields and the body shown on this page, is in the log the server signed."),
    button("Prove it is in the log", () => showInclusion(out, ev), { kind: "ghost" }),
    out,
  );
}

async function replayCard(ctx, ev) {
  const card = h("section", { class: "card" }, h("h2", {}, "Replay this event"));
  let eps;
  try {
    eps = await get("/v1/endpoints", { tenant: ctx.who.admin ? ev.tenant : "", limit: 200 });
  } catch (e) {
    card.append(errorBox(e));
    return card;
  }
  if (!eps.items.length) {
    card.append(empty(`Tenant ${ev.tenant} has no endpoint.`, h("a", { class: "btn", href: "#/endpoint/new" }, "Create an endpoint")));
    return card;
  }
  const sel = h("select", { name: "endpoint_id" }, eps.items.map((e) => h("option", { value: e.id }, `${e.id} · ${e.url}${e.disabled ? " (disabled)" : ""}`)));
  const fresh = h("input", { type: "checkbox", name: "fresh" });
  const out = h("div", { "aria-live": "polite" });
  const key = idempotency();
  const form = h(
    "form",
    {
      class: "inline-form",
      onsubmit: async (e) => {
        e.preventDefault();
        // This event only: a range of its microsecond also held the rest of its batch.
        const body = { endpoint_id: sel.value, event_id: ev.id, mode: "all" };
        if (fresh.checked) body.webhook_ids = "fresh";
        clear(out, loading("Starting the replay…"));
        try {
          const r = await post("/v1/replays", body, { headers: key(body) });
          clear(out, h("p", { class: "ok-note" }, "Replay ", h("a", { href: `#/replays/${r.id}` }, r.id), " started (the endpoint's own filters still apply)."));
        } catch (err) {
          clear(out, errorBox(err));
        }
      },
    },
    field("Endpoint", sel),
    h("label", { class: "check" }, fresh, " New webhook-id (receivers that de-duplicate would drop the original id)"),
    button("Replay to this endpoint", undefined, { kind: "primary", type: "submit" }),
  );
  card.append(form, out);
  return card;
}
