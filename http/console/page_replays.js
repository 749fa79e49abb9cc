// Replays: start one (endpoint, range, mode, filter), watch its progress live, cancel it.
// #/replays lists them; #/replays/rpl_… follows one (polled every second while it runs).
import { del, get, idempotency, post, seg } from "./api.js";
import { badge, button, clear, empty, errorBox, field, fields, fmtNum, fmtTime, h, loading, localToRfc, select, table } from "./ui.js";

const stateKind = (s) => (s === "finished" ? "ok" : s === "running" ? "warn" : "bad");

export async function render(ctx) {
  if (ctx.args[0]) return detail(ctx, ctx.args[0]);
  const list = h("section", { class: "card" }, h("h2", {}, "Replays"), loading());
  ctx.main.append(h("h1", {}, "Replays"), await startForm(ctx), list);
  try {
    const page = await get("/v1/replays", { order: "desc", limit: 50 });
    if (!page.items.length) return clear(list, h("h2", {}, "Replays"), empty("No replay yet."));
    clear(
      list,
      h("h2", {}, "Replays"),
      table(
        ["Replay", "Endpoint", "State", "Scanned", "Scheduled", "Delivered", "Failed", "Created"],
        page.items.map((r) =>
          h("tr", {}, h("td", {}, h("a", { href: `#/replays/${r.id}` }, r.id)), h("td", {}, h("a", { href: `#/endpoint/${seg(r.endpoint_id)}` }, r.endpoint_id)),
            h("td", {}, badge(r.state, stateKind(r.state))), h("td", {}, fmtNum(r.scanned)), h("td", {}, fmtNum(r.scheduled)), h("td", {}, fmtNum(r.delivered)), h("td", {}, fmtNum(r.failed)), h("td", { class: "nowrap" }, fmtTime(r.created_at))),
        ),
      ),
    );
  } catch (e) {
    ctx.fail(e, list);
  }
}

async function startForm(ctx) {
  const card = h("section", { class: "card" }, h("h2", {}, "Start a replay"));
  let eps;
  try {
    eps = await get("/v1/endpoints", { limit: 200 });
  } catch (e) {
    card.append(errorBox(e));
    return card;
  }
  if (!eps.items.length) {
    card.append(empty("A replay sends events to an endpoint: there is none yet.", h("a", { class: "btn", href: "#/endpoint/new" }, "Create an endpoint")));
    return card;
  }
  const pre = ctx.query.get("endpoint_id") ?? "";
  const f = {
    endpoint: h("select", { name: "endpoint_id" }, eps.items.map((e) => h("option", { value: e.id, selected: e.id === pre }, `${e.id} · ${e.url}`))),
    from: h("input", { type: "datetime-local", name: "from", step: "1" }),
    to: h("input", { type: "datetime-local", name: "to", step: "1" }),
    time: select("time", [["recorded", "recorded"], ["occurred", "occurred"]], "recorded"),
    mode: select("mode", [["all", "all matching events"], ["missing", "only those never delivered successfully"], ["failed", "only those whose last attempt failed"]], "all"),
    types: h("input", { type: "text", name: "types", placeholder: "dds.*, order_new (empty = the endpoint's types)" }),
    kind: h("input", { type: "text", name: "entity_kind" }),
    id: h("input", { type: "text", name: "entity_id" }),
    rate: h("input", { type: "number", name: "rate_limit", min: "0", placeholder: "server default" }),
    fresh: h("input", { type: "checkbox", name: "fresh" }),
  };
  const out = h("div", { "aria-live": "polite" });
  const key = idempotency();
  card.append(
    h(
      "form",
      {
        onsubmit: async (e) => {
          e.preventDefault();
          const body = { endpoint_id: f.endpoint.value, time: f.time.value, mode: f.mode.value };
          if (f.from.value) body.from = localToRfc(f.from.value);
          if (f.to.value) body.to = localToRfc(f.to.value);
          const types = f.types.value.split(/[\s,]+/).filter(Boolean);
          if (types.length) body.types = types;
          if (f.kind.value.trim()) body.entity = f.id.value.trim() ? { kind: f.kind.value.trim(), id: f.id.value.trim() } : { kind: f.kind.value.trim() };
          if (f.rate.value) body.rate_limit = Number(f.rate.value);
          if (f.fresh.checked) body.webhook_ids = "fresh";
          clear(out, loading("Starting…"));
          try {
            const r = await post("/v1/replays", body, { headers: key(body) });
            ctx.navigate(`#/replays/${r.id}`);
          } catch (err) {
            const at = err.details?.field ? ` (field ${err.details.field})` : "";
            clear(out, errorBox({ ...err, message: `${err.message}${at}` }));
          }
        },
      },
      h("div", { class: "grid" },
        field("Endpoint", f.endpoint), field("From (UTC)", f.from, "Empty = the beginning"), field("To (UTC, exclusive)", f.to, "Empty = now"),
        field("Time", f.time), field("Mode", f.mode), field("Types", f.types), field("Entity kind", f.kind), field("Entity id", f.id, "Empty = every entity of the kind"),
        field("Rate (events/s)", f.rate)),
      h("label", { class: "check" }, f.fresh, " New webhook-ids (receivers that de-duplicate would drop the originals)"),
      h("div", { class: "actions" }, button("Start replay", undefined, { kind: "primary", type: "submit" })),
      out,
    ),
  );
  return card;
}

async function detail(ctx, id) {
  const card = h("section", { class: "card replay" }, loading());
  ctx.main.append(h("p", { class: "crumbs" }, h("a", { href: "#/replays" }, "Replays"), " / ", id), card);
  let timer = null, stopped = false, settledPolls = 0;
  ctx.onLeave(() => {
    stopped = true;
    clearTimeout(timer);
  });
  const out = h("div", { "aria-live": "polite" });
  const poll = async () => {
    let r;
    try {
      r = await get(`/v1/replays/${seg(id)}`);
    } catch (e) {
      if (e.kind === "not_found") e.message = `No replay ${id} is visible to this key.`;
      return ctx.fail(e, card);
    }
    if (stopped) return;
    const total = r.scanned + (r.left?.seqs_to_scan ?? 0);
    const outstanding = r.left?.deliveries_outstanding ?? 0;
    // The queue empties before the replay's delivered / failed counts catch up with the attempts
    // (the server counts them from the log a moment later): keep polling until they add up to
    // what was scheduled, or for three polls when they never will (an item served by a live
    // delivery is not counted for the replay).
    settledPolls = r.state !== "running" && outstanding === 0 ? settledPolls + 1 : 0;
    const counted = r.state !== "finished" || r.delivered + r.failed >= r.scheduled;
    const done = settledPolls > 0 && (counted || settledPolls >= 3);
    clear(
      card,
      h("h1", {}, `Replay ${r.id} `, h("span", { "data-testid": "replay-state" }, badge(r.state, stateKind(r.state)))),
      h("progress", { max: String(Math.max(1, total)), value: String(r.scanned), "aria-label": "Scanned" }),
      fields([
        ["Endpoint", h("a", { href: `#/endpoint/${seg(r.endpoint_id)}` }, r.endpoint_id)],
        ["Tenant", r.tenant],
        ["Created", fmtTime(r.created_at)],
        ["Finished", r.finished_at ? fmtTime(r.finished_at) : "—"],
        ["Scanned", fmtNum(r.scanned)],
        ["Scheduled", fmtNum(r.scheduled)],
        ["Delivered", h("span", { "data-testid": "replay-delivered" }, fmtNum(r.delivered))],
        ["Failed (dead letters)", fmtNum(r.failed)],
        ["Left", r.state === "running" ? `${fmtNum(r.left?.seqs_to_scan)} records to scan, ~${fmtNum(r.left?.seconds)} s` : `${fmtNum(outstanding)} deliveries outstanding`],
        r.error ? ["Error", h("span", { class: "err-text" }, r.error)] : null,
        ["Request", h("code", { class: "small" }, JSON.stringify(r.request ?? {}))],
      ]),
      r.state === "running" || r.state === "finished"
        ? button("Cancel replay", async () => {
            try {
              await del(`/v1/replays/${seg(id)}`, { reason: "cancelled in the console" });
              clear(out, h("p", {}, "Cancelled."));
              poll();
            } catch (e) {
              clear(out, errorBox(e));
            }
          }, { kind: "danger" })
        : null,
      out,
      h("p", { class: "muted small", role: "status" }, done ? "Done." : "Updating every second…"),
    );
    if (!done) timer = setTimeout(poll, 1000);
  };
  await poll();
}
