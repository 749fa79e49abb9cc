// Endpoints: every endpoint the key sees, with its health (success rate and median latency of
// its last 100 attempts, consecutive failures, last error, disabled and why).
import { get, seg } from "./api.js";
import { badge, clear, empty, errorBox, fmtMs, fmtTime, h, loading, table } from "./ui.js";

export async function render(ctx) {
  const cursor = ctx.query.get("cursor") ?? "";
  const out = h("section", { class: "card" }, loading());
  ctx.main.append(
    h("div", { class: "page-head" }, h("h1", {}, "Endpoints"), h("a", { class: "btn primary", href: "#/endpoint/new" }, "New endpoint")),
    out,
  );
  let page;
  try {
    page = await get("/v1/endpoints", { limit: 25, cursor });
  } catch (e) {
    return ctx.fail(e, out);
  }
  if (!page.items.length) {
    clear(out, empty("No endpoint yet.", h("a", { class: "btn primary", href: "#/endpoint/new" }, "Create the first one")));
    return;
  }
  const healthCells = new Map();
  const rows = page.items.map((ep) => {
    const cell = h("td", { class: "health" }, h("span", { class: "muted" }, "…"));
    healthCells.set(ep.id, cell);
    return h(
      "tr",
      {},
      h("td", {}, h("a", { href: `#/endpoint/${seg(ep.id)}` }, ep.id), h("div", { class: "muted small url" }, ep.url)),
      h("td", {}, ep.tenant),
      h("td", {}, ep.events.join(", ")),
      h("td", {}, ep.disabled ? [badge("disabled", "bad"), h("div", { class: "small" }, ep.disabled_reason || "no reason given")] : badge("enabled", "ok")),
      cell,
      h("td", { class: "small" }, ep.health?.last_error ? h("span", { class: "err-text" }, ep.health.last_error) : "—", ep.health?.consecutive_failures ? h("div", { class: "small" }, `${ep.health.consecutive_failures} failures in a row`) : null),
    );
  });
  clear(
    out,
    table(["Endpoint", "Tenant", "Events", "State", "Health (last 100 attempts)", "Last error"], rows, { className: "endpoints" }),
    page.next ? h("nav", { class: "pager" }, h("a", { class: "btn", href: `#/endpoints?cursor=${seg(page.next)}` }, "Next →")) : null,
  );
  // Health from each endpoint's recent attempts, filled in as they arrive.
  await Promise.all(
    page.items.map(async (ep) => {
      const cell = healthCells.get(ep.id);
      try {
        const at = await get("/v1/attempts", { endpoint_id: ep.id, order: "desc", limit: 100 });
        clear(cell, healthSummary(at.items));
      } catch (e) {
        clear(cell, h("span", { class: "err-text" }, e.message));
      }
    }),
  );
}

export function healthSummary(items) {
  const real = items.filter((a) => !a.malformed);
  if (!real.length) return h("span", { class: "muted" }, "no attempt yet");
  const ok = real.filter((a) => a.outcome === "success").length;
  const lat = real.map((a) => a.latency_us).sort((a, b) => a - b);
  const rate = Math.round((100 * ok) / real.length);
  return h(
    "div",
    {},
    badge(`${rate}% ok`, rate >= 99 ? "ok" : rate >= 80 ? "warn" : "bad"),
    h("span", { class: "small" }, ` of ${real.length} · median ${fmtMs(lat[Math.floor(lat.length / 2)])} · last ${fmtTime(real[0].recorded_at)}`),
  );
}

