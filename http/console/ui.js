// DOM helpers: elements are built with h() and text nodes only (no innerHTML, so nothing the
// server returns is ever parsed as markup), plus formatting, states and small SVG charts.
const SVG = "http://www.w3.org/2000/svg";

// h("a", {href: "#/x", class: "btn", onclick: fn}, "text", child, [more])
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null && v !== false) el.setAttribute(k, String(v));
  append(el, children);
  return el;
}
function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "value") el.value = v;
    else if (k === "checked" || k === "selected" || k === "disabled") el[k] = !!v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
}
function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// Times: the API answers RFC 3339 UTC with microseconds; shown as "2024-01-15 10:30:05.118 UTC".
export function fmtTime(t) {
  if (!t) return "—";
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d{1,3})?\d*Z$/.exec(t);
  // The zone is said: a reader in another zone must not take the time for their own.
  return m ? `${m[1]} ${m[2]}${m[3] ?? ""} UTC` : t;
}
export function fmtMs(us) {
  if (us === undefined || us === null) return "—";
  return us >= 1e6 ? `${(us / 1e6).toFixed(2)} s` : `${(us / 1000).toFixed(1)} ms`;
}
export function fmtNum(n) {
  return n === undefined || n === null ? "—" : Number(n).toLocaleString("en-US");
}
// <input type="datetime-local"> value (read as UTC) -> RFC 3339, and back.
export function localToRfc(v) {
  if (!v) return "";
  return v.length === 16 ? `${v}:00Z` : `${v}Z`;
}
export function rfcToLocal(v) {
  if (!v) return "";
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?)/.exec(v);
  return m ? m[1] : "";
}

// Pretty JSON of a body that is JSON; null when it is not.
export function prettyJson(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return null;
  }
}

export function badge(text, kind = "") {
  return h("span", { class: `badge ${kind}` }, text);
}
export function statusBadge(status) {
  if (status === 0 || status === undefined) return badge("no answer", "bad");
  return badge(String(status), status >= 200 && status < 300 ? "ok" : status >= 500 || status === 0 ? "bad" : "warn");
}

// The state shown instead of a page's content.
export function empty(text, ...more) {
  return h("div", { class: "state empty", role: "status" }, h("p", {}, text), ...more);
}
export function loading(text = "Loading…") {
  return h("div", { class: "state loading", role: "status", "aria-live": "polite" }, text);
}
export function errorBox(err, ...more) {
  const titles = {
    auth: "Your key is not accepted",
    forbidden: "Not allowed with this key",
    not_found: "Not found",
    network: "The server is not reachable",
    http: "The server refused the request",
  };
  return h(
    "div",
    { class: "state error", role: "alert" },
    h("h2", {}, titles[err?.kind] ?? "Something went wrong"),
    h("p", {}, err?.message ?? String(err)),
    err?.code && err.kind !== "network" ? h("p", { class: "muted" }, `HTTP ${err.status} ${err.code}`) : null,
    ...more,
  );
}

// A definition list from [label, value] pairs.
export function fields(pairs) {
  return h("dl", { class: "fields" }, pairs.filter(Boolean).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v ?? "—")]));
}

export function table(headers, rows, { caption, className = "" } = {}) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: className },
      caption ? h("caption", {}, caption) : null,
      h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, rows),
    ),
  );
}

// A labelled form control: label(text, control, hint?)
let ids = 0;
export function field(text, control, hint) {
  const id = control.id || `f${++ids}`;
  control.id = id;
  let hintEl = null;
  if (hint) {
    hintEl = h("small", { id: `${id}-hint`, class: "hint" }, hint);
    control.setAttribute("aria-describedby", hintEl.id);
  }
  return h("div", { class: "field" }, h("label", { for: id }, text), control, hintEl);
}
export function select(name, options, value) {
  return h(
    "select",
    { name },
    options.map((o) => {
      const [v, label] = Array.isArray(o) ? o : [o, o];
      return h("option", { value: v, selected: v === value }, label);
    }),
  );
}

export function button(text, onclick, { kind = "", type = "button", title } = {}) {
  return h("button", { type, class: `btn ${kind}`, onclick, title }, text);
}

// A bar chart of buckets [{label, short, values: [a, b]}] as inline SVG (stacked, two series).
// axisNote is written once left of the axis ticks: the time zone of times there ("UTC").
export function barChart({ buckets, series, title, axisNote, height = 160 }) {
  const width = 640;
  const pad = { l: 40, r: 8, t: 10, b: 24 };
  const max = Math.max(1, ...buckets.map((b) => b.values.reduce((x, y) => x + y, 0)));
  const bw = (width - pad.l - pad.r) / Math.max(1, buckets.length);
  const y = (v) => pad.t + (height - pad.t - pad.b) * (1 - v / max);
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": title });
  svg.append(s("title", {}, title));
  for (const frac of [0, 0.5, 1]) {
    const v = Math.round(max * frac);
    svg.append(s("line", { x1: pad.l, x2: width - pad.r, y1: y(v), y2: y(v), class: "grid" }));
    svg.append(s("text", { x: pad.l - 4, y: y(v) + 4, class: "axis", "text-anchor": "end" }, String(v)));
  }
  if (axisNote) svg.append(s("text", { x: pad.l - 4, y: height - 6, class: "axis", "text-anchor": "end" }, axisNote));
  buckets.forEach((b, i) => {
    let acc = 0;
    b.values.forEach((v, k) => {
      if (!v) return;
      const top = y(acc + v);
      const r = s("rect", { x: pad.l + i * bw + 1, y: top, width: Math.max(1, bw - 2), height: y(acc) - top, class: `bar s${k}` });
      r.append(s("title", {}, `${b.label}: ${v} ${series[k]}`));
      svg.append(r);
      acc += v;
    });
    // A tick starts where its bar's range starts; one that would run past the chart's right
    // edge is left out (11px axis text: about 6.5px a character).
    const every = Math.ceil(buckets.length / 8);
    const tick = b.short ?? b.label;
    const x = pad.l + i * bw + 1;
    if (i % every === 0 && x + tick.length * 6.5 <= width)
      svg.append(s("text", { x, y: height - 6, class: "axis", "text-anchor": "start" }, tick));
  });
  const legend = h("div", { class: "legend" }, series.map((name, k) => h("span", {}, h("i", { class: `sw s${k}` }), name)));
  return h("figure", { class: "chart-box" }, h("figcaption", {}, title), svg, legend);
}

// A line chart of points [{t, v}] (live series sampled by the page).
export function lineChart({ points, title, unit = "", height = 120 }) {
  const width = 640;
  const pad = { l: 40, r: 8, t: 10, b: 18 };
  const max = Math.max(1, ...points.map((p) => p.v));
  const n = Math.max(2, points.length);
  const x = (i) => pad.l + ((width - pad.l - pad.r) * i) / (n - 1);
  const y = (v) => pad.t + (height - pad.t - pad.b) * (1 - v / max);
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": title });
  svg.append(s("title", {}, title));
  for (const frac of [0, 1]) {
    const v = max * frac;
    svg.append(s("line", { x1: pad.l, x2: width - pad.r, y1: y(v), y2: y(v), class: "grid" }));
    svg.append(s("text", { x: pad.l - 4, y: y(v) + 4, class: "axis", "text-anchor": "end" }, v >= 10 ? Math.round(v) : v.toFixed(1)));
  }
  if (points.length > 1)
    svg.append(s("polyline", { points: points.map((p, i) => `${x(i)},${y(p.v)}`).join(" "), class: "line" }));
  else svg.append(s("text", { x: width / 2, y: height / 2, class: "axis", "text-anchor": "middle" }, "a rate needs two samples: the line starts with the next one"));
  const last = points.at(-1);
  return h("figure", { class: "chart-box" }, h("figcaption", {}, title, last ? h("span", { class: "muted" }, ` now ${last.v.toFixed(1)}${unit}`) : null), svg);
}

// Copies text to the clipboard where allowed; returns true on success.
export async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}
