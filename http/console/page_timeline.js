// An entity's status timeline (order, package, transfer, box, DDS…): each step with its
// occurred and recorded time, late arrivals marked, the event behind each step one click away.
import { get, seg } from "./api.js";
import { badge, button, field, fmtTime, h, loading, s } from "./ui.js";
import { micros } from "./page_event.js";

// The route answers pages of at most 1000 steps (`next` continues); the page follows up to
// MAX_PAGES of them and says so when the entity has more.
const MAX_PAGES = 10;

async function steps(kind, id, tenant) {
  let tl = null, cursor = "";
  for (let i = 0; i < MAX_PAGES; i++) {
    const page = await get(`/v1/entities/${seg(kind)}/${seg(id)}/timeline`, { tenant, cursor });
    if (tl) tl.transitions.push(...page.transitions);
    else tl = page;
    if (!page.next) return { tl, cut: false };
    cursor = page.next;
  }
  return { tl, cut: true };
}

export async function render(ctx) {
  const [kind = "", id = ""] = ctx.args;
  const tenant = ctx.query.get("tenant") ?? "";
  const inputs = {
    kind: h("input", { type: "text", name: "kind", value: kind, required: true, placeholder: "order, dds, package, transfer, box…" }),
    id: h("input", { type: "text", name: "id", value: id, required: true }),
    tenant: h("input", { type: "text", name: "tenant", value: tenant, placeholder: "the entity's first tenant" }),
  };
  const form = h(
    "form",
    {
      class: "filters card",
      onsubmit: (e) => {
        e.preventDefault();
        const t = inputs.tenant.value.trim();
        ctx.navigate(`#/timeline/${seg(inputs.kind.value.trim())}/${seg(inputs.id.value.trim())}${t ? `?tenant=${seg(t)}` : ""}`);
      },
    },
    h("h1", {}, "Entity timeline"),
    h("div", { class: "grid" }, field("Kind", inputs.kind), field("Id", inputs.id), ctx.who.admin ? field("Tenant", inputs.tenant, "Admin keys: whose entity") : null),
    h("div", { class: "actions" }, button("Show timeline", undefined, { kind: "primary", type: "submit" })),
  );
  ctx.main.append(form);
  if (!kind || !id) return;
  const out = h("section", { class: "card timeline-card" }, loading());
  ctx.main.append(out);
  let tl, cut;
  try {
    ({ tl, cut } = await steps(kind, id, ctx.who.admin ? tenant : ""));
  } catch (e) {
    if (e.kind === "not_found") e.message = `No status step is known for ${kind} ${id}${tenant ? ` of tenant ${tenant}` : ""} (or it belongs to another tenant).`;
    return ctx.fail(e, out);
  }
  const late = tl.transitions.filter((t) => t.out_of_order).length;
  out.replaceChildren(
    h("h2", {}, `${tl.kind} ${tl.id} `, badge(tl.current_status, "ok")),
    h("p", { class: "muted" }, `Tenant ${tl.tenant} · ${cut ? "the first " : ""}${tl.transitions.length} step${tl.transitions.length === 1 ? "" : "s"}${late ? ` · ${late} arrived out of order` : ""}`),
    chart(tl.transitions),
    h(
      "ol",
      { class: "timeline" },
      tl.transitions.map((t) =>
        h(
          "li",
          { class: `step${t.out_of_order ? " late" : ""}` },
          h("div", { class: "step-status" }, h("span", { class: "from" }, t.from ?? "∅"), " → ", h("strong", {}, t.to), t.out_of_order ? badge("out of order", "bad") : null),
          h("div", { class: "step-times" }, h("span", {}, "occurred ", h("time", { datetime: t.occurred_at }, fmtTime(t.occurred_at))), h("span", {}, "recorded ", h("time", { datetime: t.recorded_at }, fmtTime(t.recorded_at)))),
          h("a", { href: `#/event/${t.event_id}` }, `event ${t.event_id} (seq ${t.seq})`),
        ),
      ),
    ),
  );
}

// Two time axes: occurred (top) and recorded (bottom); a line joins each step's two times, so a
// late arrival shows as a line crossing the others. Out-of-order steps are drawn in the alert colour.
function chart(steps) {
  const width = 900, height = 170, left = 90, right = 60, top = 50, bottom = height - 40;
  const occ = steps.map((t) => micros(t.occurred_at));
  const rec = steps.map((t) => micros(t.recorded_at));
  const scale = (vals) => {
    const lo = Math.min(...vals), hi = Math.max(...vals);
    return (v) => left + (hi === lo ? (width - left - right) / 2 : ((width - left - right) * (v - lo)) / (hi - lo));
  };
  const xo = scale(occ), xr = scale(rec);
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart timeline-chart", role: "img", "aria-label": "Steps by occurred time (top) and recorded time (bottom)" });
  svg.append(s("text", { x: 4, y: top + 4, class: "axis" }, "occurred"), s("text", { x: 4, y: bottom + 4, class: "axis" }, "recorded"));
  svg.append(s("line", { x1: left, x2: width - right, y1: top, y2: top, class: "grid" }), s("line", { x1: left, x2: width - right, y1: bottom, y2: bottom, class: "grid" }));
  const ends = (vals, times, y) => {
    const lo = vals.indexOf(Math.min(...vals)), hi = vals.indexOf(Math.max(...vals));
    svg.append(s("text", { x: left, y, class: "axis", "text-anchor": "start" }, fmtTime(times[lo])));
    if (hi !== lo) svg.append(s("text", { x: width - right, y, class: "axis", "text-anchor": "end" }, fmtTime(times[hi])));
  };
  ends(occ, steps.map((t) => t.occurred_at), top + 20);
  ends(rec, steps.map((t) => t.recorded_at), bottom + 24);
  steps.forEach((t, i) => {
    const g = s("g", { class: `tl-step${t.out_of_order ? " late" : ""}` });
    g.append(s("title", {}, `${t.from ?? "∅"} → ${t.to}: occurred ${fmtTime(t.occurred_at)}, recorded ${fmtTime(t.recorded_at)}${t.out_of_order ? " (out of order)" : ""}`));
    g.append(s("line", { x1: xo(occ[i]), y1: top, x2: xr(rec[i]), y2: bottom, class: "join" }));
    g.append(s("circle", { cx: xo(occ[i]), cy: top, r: 6 }), s("circle", { cx: xr(rec[i]), cy: bottom, r: 6 }));
    g.append(s("text", { x: xo(occ[i]), y: top - 12 - (i % 2) * 14, "text-anchor": "middle", class: "label" }, t.to));
    svg.append(g);
  });
  return h("figure", { class: "chart-box" }, svg, h("figcaption", { class: "muted small" }, "Each line joins a step's occurred time (top) to its recorded time (bottom); a dashed red line is a step that arrived after a later one."));
}
