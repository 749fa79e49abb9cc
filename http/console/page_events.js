// Events: search by time range (recorded or occurred), type pattern, source, tenant, entity;
// cursor paging (next, and back through the cursors seen in this tab); live mode follows new
// events on the first page, newest first. The filters live in the URL
// (#/events?type=dds.*&source=eudr): shareable, no key.
import { get } from "./api.js";
import { badge, button, clear, empty, errorBox, field, fmtTime, h, loading, localToRfc, rfcToLocal, select, table } from "./ui.js";

const FILTERS = ["from", "to", "time", "type", "source", "tenant", "entity_kind", "entity_id", "limit", "order"];
// Cursors seen per filter set, so "Previous" can step back (cursors only go forward).
const trail = new Map();
// A live check follows pages of 100 down to the newest event shown, at most this many: past
// that it says so instead of showing the newest ones above a gap.
const LIVE_PAGES = 10;

export async function render(ctx) {
  const q = ctx.query;
  const val = (k) => q.get(k) ?? "";
  let sources = [];
  try {
    const types = await get("/v1/event-types");
    sources = [...new Set(types.items.map((t) => t.source))];
    if (!sources.includes("standard")) sources.push("standard");
  } catch (e) {
    return ctx.fail(e);
  }
  const inputs = {
    from: h("input", { type: "datetime-local", name: "from", step: "1", value: rfcToLocal(val("from")) }),
    to: h("input", { type: "datetime-local", name: "to", step: "1", value: rfcToLocal(val("to")) }),
    time: select("time", [["recorded", "recorded"], ["occurred", "occurred"]], val("time") || "recorded"),
    type: h("input", { type: "text", name: "type", value: val("type"), placeholder: "dds.* or order_new" }),
    source: select("source", [["", "any source"], ...sources.map((s) => [s, s])], val("source")),
    tenant: h("input", { type: "text", name: "tenant", value: val("tenant"), placeholder: "any tenant" }),
    entity_kind: h("input", { type: "text", name: "entity_kind", value: val("entity_kind"), placeholder: "order, dds, package…" }),
    entity_id: h("input", { type: "text", name: "entity_id", value: val("entity_id") }),
    limit: select("limit", ["25", "50", "100", "250"], val("limit") || "50"),
    order: select("order", [["desc", "newest first"], ["asc", "oldest first"]], val("order") || "desc"),
  };
  const live = h("input", { type: "checkbox", name: "live", checked: q.get("live") === "1" });
  const form = h(
    "form",
    {
      class: "filters card",
      role: "search",
      "aria-label": "Search events",
      onsubmit: (e) => {
        e.preventDefault();
        ctx.navigate(`#/events?${paramsFromForm().toString()}`);
      },
    },
    h("h1", {}, "Events"),
    h(
      "div",
      { class: "grid" },
      field("From (UTC)", inputs.from),
      field("To (UTC, exclusive)", inputs.to),
      field("Time", inputs.time, "Recorded: stored by hooklog. Occurred: per the payload"),
      field("Type", inputs.type, "Exact, prefix* or *"),
      field("Source", inputs.source),
      ctx.who.admin ? field("Tenant", inputs.tenant) : null,
      field("Entity kind", inputs.entity_kind),
      field("Entity id", inputs.entity_id, "With the kind"),
      field("Per page", inputs.limit),
      field("Order", inputs.order),
    ),
    h(
      "div",
      { class: "actions" },
      button("Search", undefined, { kind: "primary", type: "submit" }),
      h("a", { class: "btn ghost", href: "#/events" }, "Clear"),
      h("label", { class: "check" }, live, " Live (follow new events)"),
    ),
  );
  live.addEventListener("change", () => {
    // New events go on top of the first page: live mode lists newest first (and the form's
    // parameters carry no cursor, so it is the first page).
    if (live.checked) inputs.order.value = "desc";
    const p = paramsFromForm();
    ctx.navigate(`#/events?${p.toString()}`);
  });
  function paramsFromForm() {
    const p = new URLSearchParams();
    for (const k of FILTERS) {
      let v = inputs[k]?.value?.trim() ?? "";
      if (k === "from" || k === "to") v = localToRfc(v);
      if (k === "time" && v === "recorded") v = "";
      if (k === "order" && v === "desc") v = "";
      if (k === "limit" && v === "50") v = "";
      if (v) p.set(k, v);
    }
    if (live.checked) p.set("live", "1");
    return p;
  }

  const results = h("section", { class: "results", "aria-live": "polite", "aria-label": "Results" });
  ctx.main.append(form, results);

  const params = {};
  for (const k of FILTERS) if (q.get(k)) params[k] = q.get(k);
  params.limit = params.limit ?? "50";
  params.order = params.order ?? "desc";
  const filterKey = FILTERS.map((k) => params[k] ?? "").join("|");
  const cursor = q.get("cursor") ?? "";
  if (!trail.has(filterKey)) trail.set(filterKey, []);
  const seen = trail.get(filterKey);

  clear(results, loading());
  let page;
  try {
    page = await get("/v1/events", { ...params, cursor });
  } catch (e) {
    if (e.kind === "auth") return ctx.fail(e);
    clear(results, errorBox(e));
    return;
  }
  const rows = new Map();
  const body = h("tbody");
  const addRows = (items, atTop) => {
    const els = items.filter((ev) => !rows.has(ev.id)).map((ev) => {
      const tr = eventRow(ev);
      rows.set(ev.id, tr);
      return tr;
    });
    if (atTop) body.prepend(...els);
    else body.append(...els);
    return els.length;
  };
  addRows(page.items, false);
  const here = new URLSearchParams(q);
  here.delete("cursor");
  const at = cursor ? seen.indexOf(cursor) : -1;
  const prevCursor = at > 0 ? seen[at - 1] : null;
  const nav = h(
    "nav",
    { class: "pager", "aria-label": "Pages of results" },
    cursor ? h("a", { class: "btn", href: `#/events?${withCursor(here, prevCursor)}` }, "← Previous") : null,
    cursor ? h("a", { class: "btn ghost", href: `#/events?${here}` }, "First page") : null,
    page.next ? h("a", { class: "btn", href: `#/events?${withCursor(here, page.next)}`, onclick: () => remember(seen, cursor, page.next) }, "Next →") : null,
  );
  const count = h("p", { class: "muted count" }, page.items.length ? `${page.items.length} event${page.items.length === 1 ? "" : "s"} on this page` : "");
  const refusal = q.get("live") === "1" ? liveRefusal(params, cursor) : "";
  const liveOn = q.get("live") === "1" && !refusal;
  if (refusal) live.checked = false;
  const off = refusal ? h("p", { class: "live-note off", role: "status", "data-testid": "live-off" }, refusal) : null;
  if (!page.items.length && !liveOn) {
    clear(results, off, empty("No event matches these filters.", h("p", { class: "muted" }, "Widen the time range, or clear the type and entity.")));
    return;
  }
  clear(
    results,
    off,
    count,
    h(
      "div",
      { class: "table-wrap" },
      h("table", { class: "events" }, h("thead", {}, h("tr", {}, ["Recorded", "Occurred", "Type", "Source", "Tenant", "Entity", "Status"].map((x) => h("th", { scope: "col" }, x)))), body),
    ),
    nav,
  );

  if (liveOn) {
    const note = h("p", { class: "live-note", role: "status" }, h("span", { class: "dot" }), "Live: checking for new events every 2 s");
    results.prepend(note);
    let newest = Math.max(0, ...page.items.map((e) => e.seq));
    let stopped = false;
    const tick = async () => {
      if (stopped) return;
      try {
        const { items, more } = await newerThan(params, newest);
        if (stopped) return;
        if (more) {
          // The newest ones alone would sit above a gap that nothing shows: stop, and say so.
          stopped = true;
          clear(note, h("span", { "data-testid": "live-overflow" }, `Live stopped: more than ${LIVE_PAGES * 100} new events since the last check. `),
            button("Reload", () => ctx.navigate(`#/events?${q}`), { kind: "ghost" }), " to see the newest.");
          note.className = "live-note off";
          return;
        }
        if (items.length) {
          newest = Math.max(newest, ...items.map((e) => e.seq));
          const n = addRows(items, true);
          count.textContent = `${rows.size} events shown (${n} new)`;
        }
        note.lastChild.textContent = `Live: checked at ${new Date().toISOString().slice(11, 19)} UTC`;
      } catch (e) {
        note.lastChild.textContent = `Live: ${e.message}`;
      }
      if (!stopped) timer = setTimeout(tick, 2000);
    };
    let timer = setTimeout(tick, 2000);
    ctx.onLeave(() => {
      stopped = true;
      clearTimeout(timer);
    });
  }
}

// Why live mode is off for this view, or "" when it runs. It puts new events on top, so the
// view must be the first page, newest first, in log order (an occurred-time range is listed
// by occurred time, where a new event may belong anywhere).
function liveRefusal(params, cursor) {
  if (cursor) return "Live mode is off on this page: it follows new events on the first page only.";
  if (params.order !== "desc") return "Live mode is off in oldest-first order: it shows new events newest first.";
  if (params.time === "occurred" && (params.from || params.to))
    return "Live mode is off for an occurred-time range: that list is in occurred order, where new events do not come on top.";
  return "";
}

// The events above seq `newest`, newest first: pages of 100 followed down to it. { more: true }
// when LIVE_PAGES pages did not reach it.
async function newerThan(params, newest) {
  const items = [];
  let cursor = "";
  for (let i = 0; i < LIVE_PAGES; i++) {
    const page = await get("/v1/events", { ...params, order: "desc", limit: 100, cursor });
    for (const e of page.items) {
      if (e.seq <= newest) return { items, more: false };
      items.push(e);
    }
    if (!page.next) return { items, more: false };
    cursor = page.next;
  }
  return { items, more: true };
}

function remember(seen, cursor, next) {
  const at = cursor ? seen.indexOf(cursor) : -1;
  if (!cursor) seen.length = 0, seen.push("");
  else if (at >= 0) seen.length = at + 1;
  seen.push(next);
}
function withCursor(params, cursor) {
  const p = new URLSearchParams(params);
  if (cursor) p.set("cursor", cursor);
  return p.toString();
}

export function eventRow(ev) {
  const entity = ev.entity
    ? h("a", { href: `#/timeline/${encodeURIComponent(ev.entity.kind)}/${encodeURIComponent(ev.entity.id)}?tenant=${encodeURIComponent(ev.tenant)}` }, `${ev.entity.kind} ${ev.entity.id}`)
    : "—";
  const status = ev.status ? `${ev.status.from ?? "∅"} → ${ev.status.to}` : "—";
  return h(
    "tr",
    {},
    h("td", { class: "nowrap" }, h("a", { href: `#/event/${ev.id}` }, fmtTime(ev.recorded_at))),
    h("td", { class: "nowrap" }, fmtTime(ev.occurred_at)),
    h("td", {}, h("a", { href: `#/event/${ev.id}` }, ev.type), ev.mode === "test" ? badge("test", "warn") : null, ev.cataloged ? null : badge("uncataloged", "warn")),
    h("td", {}, ev.source),
    h("td", {}, ev.tenant),
    h("td", {}, entity),
    h("td", {}, status),
  );
}
