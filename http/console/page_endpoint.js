// One endpoint: create or edit (URL, event types from the catalog, payload filter, retry
// policy, rate and concurrency), rotate its secret, enable or disable it, its dead letters with
// a redrive (a replay of mode "failed"), and its recent attempts.
import { get, idempotency, patch, post, seg } from "./api.js";
import { badge, button, clear, copy, empty, errorBox, field, fmtMs, fmtTime, h, loading, select, statusBadge, table } from "./ui.js";
import { healthSummary } from "./page_endpoints.js";

export async function render(ctx) {
  const id = ctx.args[0] ?? "new";
  const creating = id === "new";
  ctx.main.append(loading());
  let ep = null, catalog;
  try {
    [ep, catalog] = await Promise.all([creating ? null : get(`/v1/endpoints/${seg(id)}`), get("/v1/event-types")]);
  } catch (e) {
    if (e.kind === "not_found") e.message = `No endpoint ${id} is visible to this key.`;
    return ctx.fail(e);
  }
  const parts = [
    h("p", { class: "crumbs" }, h("a", { href: "#/endpoints" }, "Endpoints"), " / ", creating ? "new" : ep.id),
    h("h1", {}, creating ? "New endpoint" : ep.url, " ", ep ? (ep.disabled ? badge("disabled", "bad") : badge("enabled", "ok")) : null),
  ];
  if (ep) parts.push(stateCard(ctx, ep), h("div", { class: "cols" }, deadLetters(ctx, ep), recent(ep)));
  parts.push(editForm(ctx, ep, catalog.items));
  ctx.main.replaceChildren(...parts);
}

function stateCard(ctx, ep) {
  const out = h("div", { "aria-live": "polite" });
  const reason = h("input", { type: "text", name: "reason", placeholder: "why (shown in the list)" });
  const toggle = ep.disabled
    ? button("Enable", async () => act(() => post(`/v1/endpoints/${seg(ep.id)}/enable`, {}), "Enabled."), { kind: "primary" })
    : h("form", { class: "inline-form", onsubmit: (e) => { e.preventDefault(); act(() => post(`/v1/endpoints/${seg(ep.id)}/disable`, reason.value ? { reason: reason.value } : {}), "Disabled: deliveries wait until it is enabled."); } },
        field("Reason", reason), button("Disable", undefined, { kind: "danger", type: "submit" }));
  const overlap = h("input", { type: "number", name: "overlap_seconds", min: "0", placeholder: "server default" });
  async function act(fn, done) {
    clear(out, loading());
    try {
      await fn();
      ctx.navigate(location.hash);
    } catch (e) {
      clear(out, errorBox(e));
    }
  }
  const rotate = h(
    "form",
    {
      class: "inline-form",
      onsubmit: async (e) => {
        e.preventDefault();
        clear(out, loading("Rotating…"));
        try {
          const r = await post(`/v1/endpoints/${seg(ep.id)}/rotate-secret`, overlap.value ? { overlap_seconds: Number(overlap.value) } : {});
          clear(out, secretNote(r.secret, `The previous secret stays valid until ${fmtTime(r.previous_valid_until)}.`));
        } catch (err) {
          clear(out, errorBox(err));
        }
      },
    },
    field("Old secret valid for (s)", overlap),
    button("Rotate secret", undefined, { type: "submit" }),
  );
  return h(
    "section",
    { class: "card" },
    h("h2", {}, "State"),
    h("p", {}, ep.disabled ? `Disabled: ${ep.disabled_reason || "no reason given"}` : "Enabled: deliveries are made.", " ", h("span", { class: "muted" }, `Tenant ${ep.tenant} · created ${fmtTime(ep.created_at)} · updated ${fmtTime(ep.updated_at)}`)),
    h("div", { class: "row-actions" }, toggle, rotate),
    out,
  );
}

function secretNote(secret, more = "") {
  const copied = h("span", { class: "muted", "aria-live": "polite" });
  return h(
    "div",
    { class: "ok-note secret-note" },
    h("p", {}, "The signing secret (shown once; it is not kept in this page): "),
    h("code", { class: "secret", "data-testid": "secret" }, secret),
    button("Copy", async () => (copied.textContent = (await copy(secret)) ? " copied" : " copy not allowed here"), { kind: "ghost" }),
    copied,
    more ? h("p", { class: "muted" }, more) : null,
  );
}

function editForm(ctx, ep, types) {
  const v = ep ?? { url: "", description: "", events: [], filter: null, mode: "live", retry: { strategy: "default", base_ms: 5000, max_ms: 36000000, max_attempts: 8 }, timeout_ms: 10000, rate_limit: 0, max_in_flight: 4, ordering: "none" };
  const catalogSet = new Set(types.map((t) => t.type));
  const chosen = new Set(v.events.filter((e) => catalogSet.has(e)));
  const other = v.events.filter((e) => !catalogSet.has(e));
  const bySource = new Map();
  for (const t of types) {
    if (!bySource.has(t.source)) bySource.set(t.source, []);
    bySource.get(t.source).push(t);
  }
  const boxes = [];
  const catalogEl = h(
    "details",
    { class: "catalog", open: chosen.size > 0 },
    h("summary", {}, "Event types from the catalog"),
    [...bySource].map(([source, list]) =>
      h("fieldset", {}, h("legend", {}, source), list.map((t) => {
        const b = h("input", { type: "checkbox", name: "event", value: t.type, checked: chosen.has(t.type) });
        boxes.push(b);
        return h("label", { class: "check", title: t.description ?? "" }, b, " ", t.type);
      })),
    ),
  );
  const r = v.retry ?? {};
  const f = {
    url: h("input", { type: "url", name: "url", required: true, value: v.url, placeholder: "https://hooks.example.com/in" }),
    description: h("input", { type: "text", name: "description", value: v.description }),
    other: h("input", { type: "text", name: "patterns", value: other.join(", "), placeholder: "* or job.* or order_update:*" }),
    filter: h("textarea", { name: "filter", rows: "4", spellcheck: "false", placeholder: '{"all":[{"path":"/data/newStatus","op":"in","value":["APPROVED"]}]}' }),
    mode: select("mode", [["live", "live events"], ["test", "test-mode events"]], v.mode),
    strategy: select("strategy", ["default", "fixed", "linear", "exponential", "random"], r.strategy ?? "default"),
    base_ms: h("input", { type: "number", name: "base_ms", min: "0", value: r.base_ms ?? 5000 }),
    max_ms: h("input", { type: "number", name: "max_ms", min: "0", value: r.max_ms ?? 36000000 }),
    max_attempts: h("input", { type: "number", name: "max_attempts", min: "1", max: "100", value: r.max_attempts ?? 8 }),
    timeout_ms: h("input", { type: "number", name: "timeout_ms", min: "1", max: "300000", value: v.timeout_ms }),
    rate_limit: h("input", { type: "number", name: "rate_limit", min: "0", value: v.rate_limit }),
    max_in_flight: h("input", { type: "number", name: "max_in_flight", min: "1", max: "1000", value: v.max_in_flight }),
    ordering: select("ordering", [["none", "none"], ["entity", "per entity, in order"]], v.ordering),
    tenant: h("input", { type: "text", name: "tenant", placeholder: "default" }),
  };
  f.filter.value = v.filter ? JSON.stringify(v.filter, null, 2) : "";
  const out = h("div", { "aria-live": "polite" });
  const key = idempotency();
  const form = h(
    "form",
    {
      class: "card endpoint-form",
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        let filter = null;
        if (f.filter.value.trim()) {
          try {
            filter = JSON.parse(f.filter.value);
          } catch (err) {
            clear(out, errorBox({ kind: "http", message: `Payload filter: not JSON (${err.message})` }));
            f.filter.focus();
            return;
          }
        }
        const events = [...boxes.filter((b) => b.checked).map((b) => b.value), ...f.other.value.split(/[\s,]+/).filter(Boolean)];
        const num = (x) => Number(x.value);
        const body = {
          url: f.url.value.trim(),
          description: f.description.value,
          events: events.length ? events : ["*"],
          filter,
          mode: f.mode.value,
          retry: { strategy: f.strategy.value, base_ms: num(f.base_ms), max_ms: num(f.max_ms), max_attempts: num(f.max_attempts) },
          timeout_ms: num(f.timeout_ms),
          rate_limit: num(f.rate_limit),
          max_in_flight: num(f.max_in_flight),
          ordering: f.ordering.value,
        };
        if (!ep && ctx.who.admin && f.tenant.value.trim()) body.tenant = f.tenant.value.trim();
        clear(out, loading("Saving…"));
        try {
          if (ep) {
            await patch(`/v1/endpoints/${seg(ep.id)}`, body);
            ctx.navigate(location.hash);
          } else {
            const made = await post("/v1/endpoints", body, { headers: key(body) });
            ctx.main.replaceChildren(
              h("p", { class: "crumbs" }, h("a", { href: "#/endpoints" }, "Endpoints"), " / ", made.id),
              h("section", { class: "card" }, h("h1", {}, "Endpoint created"), h("p", {}, h("a", { href: `#/endpoint/${seg(made.id)}` }, made.id), ` → ${made.url}`), secretNote(made.secret, "Receivers verify each delivery's Standard Webhooks signature with it.")),
            );
          }
        } catch (err) {
          const at = err.details?.field ? ` (field ${err.details.field})` : "";
          clear(out, errorBox({ ...err, message: `${err.message}${at}` }));
        }
      },
    },
    h("h2", {}, ep ? "Settings" : "Settings of the new endpoint"),
    h("div", { class: "grid" },
      wide(field("URL", f.url, "http:// or https://")),
      field("Description", f.description),
      !ep && ctx.who.admin ? field("Tenant", f.tenant, "Admin keys: the endpoint's tenant") : null,
      field("Mode", f.mode)),
    catalogEl,
    field("Other type patterns", f.other, "Comma separated; none checked and none here = every type (*)"),
    field("Payload filter (JSON)", f.filter, "Empty = every payload. {\"all\":[...], \"any\":[...]} of {path, op, value}"),
    h("fieldset", { class: "grid" }, h("legend", {}, "Retries"), field("Strategy", f.strategy), field("Base (ms)", f.base_ms), field("Max delay (ms)", f.max_ms), field("Max attempts", f.max_attempts)),
    h("fieldset", { class: "grid" }, h("legend", {}, "Rate and concurrency"), field("Timeout (ms)", f.timeout_ms), field("Rate limit (/s, 0 = none)", f.rate_limit), field("Max in flight", f.max_in_flight), field("Ordering", f.ordering)),
    h("div", { class: "actions" }, button(ep ? "Save changes" : "Create endpoint", undefined, { kind: "primary", type: "submit" })),
    out,
  );
  return form;
}

function wide(el) {
  el.classList.add("wide");
  return el;
}

function deadLetters(ctx, ep) {
  const card = h("section", { class: "card" }, h("h2", {}, "Dead letters"), loading());
  (async () => {
    let page;
    try {
      page = await get("/v1/attempts", { endpoint_id: ep.id, outcome: "dead_letter", order: "desc", limit: 50 });
    } catch (e) {
      return clear(card, h("h2", {}, "Dead letters"), errorBox(e));
    }
    const out = h("div", { "aria-live": "polite" });
    const key = idempotency();
    if (!page.items.length) return clear(card, h("h2", {}, "Dead letters"), empty("None: every delivery to this endpoint succeeded or is still being retried."));
    clear(
      card,
      h("h2", {}, "Dead letters"),
      h("p", {}, `${page.items.length}${page.next ? "+" : ""} deliveries gave up. Redrive sends them again (a replay of the events whose last attempt failed).`),
      button("Redrive dead letters", async () => {
        clear(out, loading("Starting…"));
        try {
          const body = { endpoint_id: ep.id, mode: "failed" };
          const r = await post("/v1/replays", body, { headers: key(body) });
          clear(out, h("p", { class: "ok-note" }, "Replay ", h("a", { href: `#/replays/${r.id}` }, r.id), " started."));
        } catch (e) {
          clear(out, errorBox(e));
        }
      }, { kind: "primary" }),
      out,
      table(["Event", "At", "Status", "Error"], page.items.map((a) => h("tr", {}, h("td", {}, h("a", { href: `#/event/${a.event_id}` }, a.event_type), h("div", { class: "muted small" }, a.event_id)), h("td", { class: "nowrap" }, fmtTime(a.recorded_at)), h("td", {}, statusBadge(a.status)), h("td", { class: "small" }, a.error || "—")))),
    );
  })();
  return card;
}

function recent(ep) {
  const card = h("section", { class: "card recent-attempts" }, h("h2", {}, "Recent attempts"), loading());
  (async () => {
    try {
      const page = await get("/v1/attempts", { endpoint_id: ep.id, order: "desc", limit: 20 });
      if (!page.items.length) return clear(card, h("h2", {}, "Recent attempts"), empty("No attempt yet."));
      clear(
        card,
        h("h2", {}, "Recent attempts"),
        healthSummary(page.items),
        table(["Event", "At", "Status", "Latency"], page.items.map((a) => h("tr", {}, h("td", {}, h("a", { href: `#/event/${a.event_id}` }, a.event_type), a.replay_id ? badge("replay", "") : null), h("td", { class: "nowrap" }, fmtTime(a.recorded_at)), h("td", {}, statusBadge(a.status)), h("td", {}, fmtMs(a.latency_us))))),
      );
    } catch (e) {
      clear(card, h("h2", {}, "Recent attempts"), errorBox(e));
    }
  })();
  return card;
}

