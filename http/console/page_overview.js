// Overview: ingest and delivery over time, as charts. History comes from the log through the
// API (events by recorded time, delivery attempts by outcome; at most 5000 of each per window,
// said when cut); admin keys also see live rates sampled from /metrics while the page is open.
// A window is exactly [now − span, now): the tiles count what the API answers for that range,
// and the bars split it into steps that end at now, each labelled with the range it covers.
import { get } from "./api.js";
import { barChart, clear, errorBox, fmtNum, h, lineChart, loading } from "./ui.js";

const WINDOWS = {
  "1h": { span: 3600e3, step: 300e3, label: "last hour, per 5 minutes" },
  "24h": { span: 86400e3, step: 3600e3, label: "last 24 hours, per hour" },
  "7d": { span: 7 * 86400e3, step: 6 * 3600e3, label: "last 7 days, per 6 hours" },
  "30d": { span: 30 * 86400e3, step: 86400e3, label: "last 30 days, per day" },
};
const MAX_PAGES = 5;

// Every item of a listing from `from` on, up to MAX_PAGES pages of 1000.
async function collect(path, params) {
  const items = [];
  let cursor = "";
  for (let i = 0; i < MAX_PAGES; i++) {
    const page = await get(path, { ...params, limit: 1000, cursor });
    items.push(...page.items);
    if (!page.next) return { items, cut: false };
    cursor = page.next;
  }
  return { items, cut: true };
}

export async function render(ctx) {
  const win = WINDOWS[ctx.query.get("window")] ? ctx.query.get("window") : "24h";
  const w = WINDOWS[win];
  const picker = h(
    "nav",
    { class: "tabs", "aria-label": "Time window" },
    Object.keys(WINDOWS).map((k) => h("a", { class: "btn tab", href: `#/overview?window=${k}`, "aria-current": k === win ? "true" : false }, k)),
  );
  const tiles = h("div", { class: "tiles" });
  const charts = h("div", { class: "charts" }, loading());
  const liveBox = h("section", { class: "card live-metrics" });
  ctx.main.append(h("div", { class: "page-head" }, h("h1", {}, "Overview"), picker), tiles, charts, ctx.who.admin ? liveBox : null);

  const now = Date.now();
  const start = now - w.span;
  // `to` too: what is recorded while the pages are fetched is after the window.
  const range = { from: new Date(start).toISOString(), to: new Date(now).toISOString() };
  let evs, atts;
  try {
    [evs, atts] = await Promise.all([collect("/v1/events", { ...range, order: "asc" }), collect("/v1/attempts", { ...range, order: "asc" })]);
  } catch (e) {
    return ctx.fail(e, charts);
  }
  const n = Math.round(w.span / w.step);
  const days = win === "30d" || win === "7d";
  const buckets = (vals) => Array.from({ length: n }, (_, i) => bucket(start + i * w.step, start + (i + 1) * w.step, days, vals));
  // The bar of a time inside the window (the API answered nothing outside it).
  const slot = (t) => Math.floor((Date.parse(t) - start) / w.step);
  const eb = buckets([0]);
  for (const e of evs.items) {
    const i = slot(e.recorded_at);
    if (i >= 0 && i < n) eb[i].values[0]++;
  }
  const ab = buckets([0, 0]);
  let ok = 0, bad = 0, dead = 0;
  for (const a of atts.items) {
    const i = slot(a.recorded_at);
    if (i < 0 || i >= n) continue;
    if (a.outcome === "success") ab[i].values[0]++, ok++;
    else ab[i].values[1]++, bad++;
    if (a.dead_letter) dead++;
  }
  const more = (r) => (r.cut ? "+" : "");
  clear(
    tiles,
    tile("Events recorded", `${fmtNum(evs.items.length)}${more(evs)}`, w.label),
    tile("Delivery attempts", `${fmtNum(ok + bad)}${more(atts)}`, `${fmtNum(ok)} succeeded`),
    tile("Failed attempts", fmtNum(bad), ok + bad ? `${Math.round((100 * bad) / (ok + bad))}% of attempts` : "none", bad ? "bad" : ""),
    tile("Dead letters", fmtNum(dead), "deliveries given up", dead ? "bad" : ""),
  );
  clear(
    charts,
    barChart({ buckets: eb, series: ["events"], title: `Events ingested (${w.label})`, axisNote: "UTC" }),
    barChart({ buckets: ab, series: ["succeeded", "failed"], title: `Delivery attempts (${w.label})`, axisNote: "UTC" }),
    evs.cut || atts.cut ? h("p", { class: "muted small" }, `Charts count at most ${MAX_PAGES * 1000} events and ${MAX_PAGES * 1000} attempts of the window (the first ones): choose a shorter window for exact counts.`) : null,
  );
  if (ctx.who.admin) live(ctx, liveBox);
}

// A bar of [a, b) (ms): its label says that range, its axis tick where it starts (UTC).
function bucket(a, b, days, vals) {
  const [da, ta] = new Date(a).toISOString().slice(0, 19).split("T");
  const [db, tb] = new Date(b).toISOString().slice(0, 19).split("T");
  return {
    label: `${da} ${ta} – ${db === da ? "" : `${db} `}${tb} UTC`,
    short: days ? `${da.slice(5)} ${ta.slice(0, 5)}` : ta.slice(0, 5),
    values: vals.map(() => 0),
  };
}

function tile(title, value, sub, kind = "") {
  return h("div", { class: `tile ${kind}` }, h("div", { class: "tile-title" }, title), h("div", { class: "tile-value" }, value), h("div", { class: "muted small" }, sub));
}

// Prometheus text -> {"name{labels}": value}
function parseMetrics(text) {
  const out = {};
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const sp = line.lastIndexOf(" ");
    out[line.slice(0, sp)] = Number(line.slice(sp + 1));
  }
  return out;
}

function live(ctx, box) {
  const series = { ingest: [], ok: [], fail: [] };
  let prev = null, timer = null, stopped = false;
  ctx.onLeave(() => {
    stopped = true;
    clearTimeout(timer);
  });
  const sample = async () => {
    let m;
    try {
      m = parseMetrics(await get("/metrics"));
    } catch (e) {
      clear(box, h("h2", {}, "Live rates"), errorBox(e));
      return;
    }
    if (stopped) return;
    const t = Date.now();
    const cur = {
      t,
      ingest: m['hooklog_events_ingested_total{outcome="stored"}'] ?? 0,
      ok: m['hooklog_delivery_attempts_total{outcome="success"}'] ?? 0,
      fail: m['hooklog_delivery_attempts_total{outcome="failure"}'] ?? 0,
    };
    if (prev) {
      const dt = (t - prev.t) / 1000;
      for (const k of ["ingest", "ok", "fail"]) {
        series[k].push({ t, v: Math.max(0, (cur[k] - prev[k]) / dt) });
        if (series[k].length > 60) series[k].shift();
      }
    }
    prev = cur;
    const gauge = (name) => m[name] ?? 0;
    clear(
      box,
      h("h2", {}, "Live rates (sampled from /metrics every 5 s while this page is open)"),
      h(
        "div",
        { class: "tiles" },
        tile("Log head seq", fmtNum(gauge("hooklog_log_head_seq")), "records in the log"),
        tile("Queued deliveries", fmtNum(gauge('hooklog_delivery_queue_items{endpoints="enabled"}')), `${fmtNum(gauge('hooklog_delivery_queue_items{endpoints="disabled"}'))} parked (disabled endpoints)`),
        tile("In flight", fmtNum(gauge("hooklog_deliveries_in_flight")), "delivery requests now"),
        tile("Dead letters kept", fmtNum(gauge("hooklog_dead_letters")), "in the state"),
      ),
      h(
        "div",
        { class: "charts" },
        lineChart({ points: series.ingest, title: "Events stored per second", unit: "/s" }),
        lineChart({ points: series.ok, title: "Successful deliveries per second", unit: "/s" }),
        lineChart({ points: series.fail, title: "Failed deliveries per second", unit: "/s" }),
      ),
    );
    if (!stopped) timer = setTimeout(sample, prev && series.ingest.length ? 5000 : 1000);
  };
  box.append(loading());
  sample();
}
