// Dolmen's dashboard: polls <prefix>/api/state every few seconds and draws it. No library,
// no build step; every text goes in through textContent (never parsed as HTML).
"use strict";

const PREFIX = document.querySelector('meta[name="dolmen-prefix"]').content;
const CSRF = document.querySelector('meta[name="dolmen-csrf"]').content;
const REFRESH_MS = 3000;
const SVG = "http://www.w3.org/2000/svg";
let chosenTrace = null;
let lastState = null;

function el(tag, attributes, ...children) {
  const node = tag.startsWith("svg:")
    ? document.createElementNS(SVG, tag.slice(4))
    : document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.setAttribute("class", value);
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function rate(value) {
  if (value === null || value === undefined) return "–";
  if (value === 0) return "0";
  return value >= 10 ? value.toFixed(1) : value >= 0.1 ? value.toFixed(2) : value.toFixed(3);
}

function ms(seconds) {
  return seconds === null || seconds === undefined ? "–" : (seconds * 1000).toFixed(1);
}

function percent(ratio) {
  return ratio ? (ratio * 100).toFixed(1) + " %" : "0 %";
}

function ago(epochSeconds) {
  if (!epochSeconds) return "–";
  const seconds = Math.max(0, Date.now() / 1000 - epochSeconds);
  if (seconds < 90) return Math.round(seconds) + " s ago";
  if (seconds < 5400) return Math.round(seconds / 60) + " min ago";
  return new Date(epochSeconds * 1000).toLocaleString();
}

function fill(table, rows, columns, emptyText) {
  const body = document.querySelector(table + " tbody");
  body.replaceChildren(
    ...(rows.length ? rows : [el("tr", {}, el("td", { class: "empty", colspan: columns }, emptyText))])
  );
}

function sparkline(points, index, cssClass) {
  const width = 170, height = 30;
  const values = points.map((p) => p[index]);
  const top = Math.max(...values, 1e-9);
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const coords = values.map((v, i) => `${(i * step).toFixed(1)},${(height - (v / top) * (height - 2) - 1).toFixed(1)}`);
  return el("svg:polyline", { points: coords.join(" "), class: cssClass });
}

function moduleCard(name, numbers, series) {
  const card = el("div", { class: "card" + (numbers && numbers.errors ? " bad" : ""), "data-module": name });
  card.append(el("h4", {}, name || "(no module)"));
  if (!numbers) {
    card.append(el("div", { class: "small" }, "no requests in this window"));
    return card;
  }
  card.append(
    el("div", {}, el("span", { class: "big rate" }, rate(numbers.rate)), " req/s"),
    el("div", { class: "small" }, `errors ${rate(numbers.error_rate)}/s (${percent(numbers.error_ratio)})`),
    el("div", { class: "small" }, `p50 ${ms(numbers.p50)} · p95 ${ms(numbers.p95)} · p99 ${ms(numbers.p99)} ms`)
  );
  if (series && series.length > 1) {
    card.append(el("svg:svg", { class: "spark", width: 170, height: 30 }, sparkline(series, 1, "requests"), sparkline(series, 2, "errors")));
  }
  return card;
}

function drawModules(state) {
  document.getElementById("metrics-off").hidden = state.metrics;
  document.getElementById("metrics-wait").hidden = !state.metrics || state.window_seconds > 0;
  const names = state.graph.nodes.map((n) => n.name);
  const cards = names.map((name) => moduleCard(name, state.modules[name], state.series[name]));
  document.getElementById("module-cards").replaceChildren(...cards);
  const rows = state.routes.map((r) =>
    el("tr", { "data-route": `${r.method} ${r.route}` },
      el("td", {}, r.module || "–"),
      el("td", { class: "mono" }, `${r.method} ${r.route}`),
      el("td", { class: "n rate" }, rate(r.rate)),
      el("td", { class: "n" }, Math.round(r.requests)),
      el("td", { class: "n" + (r.errors ? " bad" : "") }, rate(r.error_rate)),
      el("td", { class: "n" + (r.errors ? " bad" : "") }, percent(r.error_ratio)),
      el("td", { class: "n" }, ms(r.p50)),
      el("td", { class: "n" }, ms(r.p95)),
      el("td", { class: "n" }, ms(r.p99))
    )
  );
  fill("#routes", rows, 9, state.metrics ? "no requests in this window" : "metrics are off");
}

function drawGraph(state) {
  const svg = document.getElementById("graph-svg");
  const nodes = state.graph.nodes;
  const levels = Math.max(0, ...nodes.map((n) => n.level)) + 1;
  const width = svg.clientWidth || 900, height = 360, boxW = 150, boxH = 44;
  const byLevel = {};
  for (const node of nodes) (byLevel[node.level] = byLevel[node.level] || []).push(node);
  const where = {};
  for (const [level, members] of Object.entries(byLevel)) {
    // Callers to the left, the modules they depend on to the right.
    const x = width - (Number(level) + 0.5) * (width / levels);
    members.forEach((node, i) => { where[node.name] = { x, y: ((i + 0.5) * height) / members.length }; });
  }
  const defs = el("svg:defs", {},
    ...["call", "event"].map((kind) => el("svg:marker", { id: "arrow-" + kind, viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
      el("svg:path", { d: "M0,0 L10,5 L0,10 z", fill: kind === "call" ? "#2f6fdb" : "#d9822b" })))
  );
  const edges = [];
  const between = {};
  state.graph.edges.forEach((edge) => {
    const a = where[edge.from], b = where[edge.to];
    if (!a || !b) return;
    // Edges between the same two modules (a call, events either way) bend apart.
    const pair = [edge.from, edge.to].sort().join(" ");
    const n = (between[pair] = (between[pair] ?? -1) + 1);
    const bend = 35 * (Math.floor(n / 2) + 1) * (n % 2 ? -1 : 1);
    const vertical = Math.abs(b.x - a.x) < 1;
    const down = b.y >= a.y ? 1 : -1, right = b.x >= a.x ? 1 : -1;
    const sx = vertical ? a.x : a.x + (right * boxW) / 2, sy = vertical ? a.y + (down * boxH) / 2 : a.y;
    const tx = vertical ? b.x : b.x - (right * boxW) / 2, ty = vertical ? b.y - (down * boxH) / 2 : b.y;
    const [p, q] = edge.from < edge.to ? [a, b] : [b, a]; // one side per pair, whatever the direction
    const length = Math.hypot(q.x - p.x, q.y - p.y) || 1;
    const mx = (sx + tx) / 2 + (-(q.y - p.y) / length) * bend, my = (sy + ty) / 2 + ((q.x - p.x) / length) * bend;
    const lx = (sx + 2 * mx + tx) / 4, ly = (sy + 2 * my + ty) / 4;
    const active = edge.rate > 0;
    const across = edge.unit ? ` in unit ${edge.unit}` + (edge.failures > 0 ? `, ${rate(edge.failures)}/s failing` : "") : "";
    const title = edge.kind === "event" ? `${edge.from} → ${edge.to}: ${(edge.events || []).join(", ")}` : `${edge.from} calls ${edge.to}${across}`;
    edges.push(
      el("svg:path", { class: `edge ${edge.kind}${active ? "" : " idle"}`, d: `M${sx},${sy} Q${mx},${my} ${tx},${ty}`, "marker-end": `url(#arrow-${edge.kind})`, "data-edge": `${edge.from}>${edge.to}:${edge.kind}` },
        el("svg:title", {}, title)),
      el("svg:text", { class: "label", x: lx, y: ly, "text-anchor": "middle" },
        `${rate(edge.rate)}/s` + (edge.kind === "call" && edge.p95 ? ` · p95 ${ms(edge.p95)} ms` : "") + (edge.unit ? ` · unit ${edge.unit}` : ""))
    );
  });
  const boxes = nodes.map((node) => {
    const p = where[node.name];
    const numbers = state.modules[node.name];
    return el("svg:g", { class: "node", transform: `translate(${p.x - boxW / 2},${p.y - boxH / 2})` },
      el("svg:rect", { width: boxW, height: boxH, rx: 6 }),
      el("svg:text", { x: boxW / 2, y: 18 }, node.name),
      el("svg:text", { class: "rate", x: boxW / 2, y: 34 }, numbers ? `${rate(numbers.rate)} req/s` : "–"));
  });
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.replaceChildren(defs, ...edges, ...boxes);
}

function total(label, value, bad) {
  return el("div", { class: "card" + (bad ? " bad" : ""), "data-total": label },
    el("div", { class: "small" }, label), el("div", { class: "big" }, value));
}

async function act(button, id, action) {
  const message = document.getElementById("action-message");
  button.disabled = true;
  try {
    const response = await fetch(`${PREFIX}/api/dead-letters/${id}/${action}`, {
      method: "POST", credentials: "same-origin", headers: { "X-Dolmen-CSRF": CSRF },
    });
    const body = await response.json();
    message.className = "message " + (response.ok ? "good" : "bad");
    message.textContent = response.ok ? `dead letter ${id}: ${action === "replay" ? "replayed" : "discarded"}` : body.detail;
  } catch (error) {
    message.className = "message bad";
    message.textContent = `could not ${action} dead letter ${id}: ${error}`;
  }
  await refresh();
}

function drawEvents(state) {
  const events = state.events;
  const t = events.totals;
  document.getElementById("event-totals").replaceChildren(
    total("pending", t.pending), total("unhandled", t.unhandled, t.unhandled > 0),
    total("retrying", t.retrying, t.retrying > 0), total("dead letters", t.dead, t.dead > 0));
  const rates = {};
  for (const r of events.rates) {
    const sum = rates[r.handler] || { handled: 0, failed: 0, retried: 0, dead: 0 };
    for (const k of Object.keys(sum)) sum[k] += r[k];
    rates[r.handler] = sum;
  }
  const handlers = new Set([...events.handlers.map((h) => h.handler), ...Object.keys(rates)]);
  const lines = Object.fromEntries(events.handlers.map((h) => [h.handler, h]));
  const rows = [...handlers].sort().map((name) => {
    const h = lines[name] || {}, r = rates[name] || {};
    return el("tr", { "data-handler": name },
      el("td", { class: "mono" }, name),
      el("td", { class: "n" }, h.pending ?? 0), el("td", { class: "n" }, h.in_flight ?? 0),
      el("td", { class: "n" + (h.retrying ? " bad" : "") }, h.retrying ?? 0),
      el("td", { class: "n" + (h.dead ? " bad" : "") }, h.dead ?? 0),
      el("td", { class: h.unhandled ? "bad" : "" }, h.unhandled ? "yes: no process has it" : "no"),
      el("td", { class: "n" }, h.oldest_pending_age == null ? "–" : h.oldest_pending_age.toFixed(1) + " s"),
      el("td", { class: "n" }, rate(r.handled)), el("td", { class: "n" }, rate(r.failed)),
      el("td", { class: "n" }, rate(r.retried)), el("td", { class: "n" }, rate(r.dead)));
  });
  fill("#handlers", rows, 11, "no event handler");
  const dead = events.dead_letters.map((d) =>
    el("tr", { "data-dead-letter": d.id },
      el("td", { class: "n" }, d.id), el("td", { class: "mono" }, d.handler),
      el("td", { class: "mono" }, d.event_type), el("td", { class: "n" }, d.attempts),
      el("td", { class: "bad" }, d.error), el("td", {}, ago(d.failed_at)),
      el("td", {},
        el("button", { class: "replay", disabled: !state.can_act, title: state.can_act ? "deliver it again" : "needs the dashboard's token outside dev", onclick: (e) => act(e.target, d.id, "replay") }, "Replay"),
        " ",
        el("button", { class: "discard", disabled: !state.can_act, onclick: (e) => { if (confirm(`Discard dead letter ${d.id} for good?`)) act(e.target, d.id, "discard"); } }, "Discard")))
  );
  fill("#dead-letters", dead, 7, "no dead letter");
}

function drawUnits(state) {
  const lag = state.units;
  document.getElementById("units-lag").hidden = !lag;
  if (!lag) return;
  document.getElementById("units-about").textContent =
    `unit ${lag.unit}, events across units over ${lag.transport}: what waits in this unit's outbox to be sent to each unit, and what waits ${lag.transport === "database" ? "in the shared outbox for each unit's handlers" : "on the broker for each unit to take it in"}.`;
  const units = new Set([...lag.forwarding.map((f) => f.destination), ...lag.backlogs.map((b) => b.destination)]);
  const sending = Object.fromEntries(lag.forwarding.map((f) => [f.destination, f]));
  const waiting = Object.fromEntries(lag.backlogs.map((b) => [b.destination, b]));
  const rows = [...units].sort().map((name) => {
    const f = sending[name], b = waiting[name];
    const onBroker = !b ? "–" : b.known ? b.waiting : "unknown";
    const parts = !b ? "" : b.known ? Object.entries(b.partitions).map(([p, n]) => `${p}: ${n}`).join(", ") : b.error;
    return el("tr", { "data-unit": name },
      el("td", {}, name === lag.unit ? `${name} (this unit)` : name),
      el("td", { class: "n" }, f ? f.waiting : "–"),
      el("td", { class: "n" }, f && f.oldest_age != null ? f.oldest_age.toFixed(1) + " s" : "–"),
      el("td", { class: "n" + (b && !b.known ? " bad" : ""), "data-waiting": name }, onBroker),
      el("td", { class: "mono" + (b && !b.known ? " bad" : "") }, parts));
  });
  fill("#units-lag-table", rows, 5, "no other unit");
}

async function showTrace(traceId) {
  chosenTrace = traceId;
  const box = document.getElementById("waterfall");
  const response = await fetch(`${PREFIX}/api/traces/${encodeURIComponent(traceId)}`, { credentials: "same-origin" });
  if (!response.ok) {
    box.replaceChildren(el("p", { class: "notice" }, (await response.json()).detail));
    return;
  }
  const trace = await response.json();
  const end = Math.max(...trace.spans.map((s) => s.offset_ms + s.duration_ms), 1e-6);
  const depth = {};
  for (const span of trace.spans) depth[span.span_id] = span.parent_id in depth ? depth[span.parent_id] + 1 : 0;
  box.replaceChildren(
    el("h3", {}, `trace ${trace.trace_id}`),
    ...trace.spans.map((span) => {
      const bar = el("div", { class: `span-bar ${span.kind}${span.error ? " error" : ""}`, title: JSON.stringify(span.attributes) });
      bar.style.left = `${(span.offset_ms / end) * 100}%`;
      bar.style.width = `${Math.max((span.duration_ms / end) * 100, 0.3)}%`;
      const name = el("div", { class: "span-name mono", title: span.name }, span.name);
      name.style.paddingLeft = `${depth[span.span_id] * 14}px`;
      return el("div", { class: "span-row" }, name, el("div", { class: "span-track" }, bar), el("div", { class: "n" }, `${span.duration_ms.toFixed(2)} ms`));
    })
  );
}

function drawTraces(state) {
  const traces = state.traces;
  document.getElementById("traces-off").hidden = traces.available;
  const rows = traces.traces.map((t) =>
    el("tr", { "data-trace": t.trace_id, class: t.trace_id === chosenTrace ? "chosen" : "", onclick: () => showTrace(t.trace_id) },
      el("td", { class: t.error ? "bad" : "good" }, t.error ? "failed" : "ok"),
      el("td", { class: "mono" }, t.root), el("td", {}, t.module || "–"),
      el("td", { class: "n" }, t.duration_ms.toFixed(2)), el("td", { class: "n" }, t.spans),
      el("td", {}, ago(t.start_ns / 1e9)))
  );
  fill("#trace-list", rows, 6, traces.available ? "no trace yet" : "traces are off");
}

async function loadConfig() {
  const response = await fetch(`${PREFIX}/api/config`, { credentials: "same-origin" });
  if (!response.ok) return;
  const config = await response.json();
  document.getElementById("config-about").textContent =
    `environment ${config.environment}; files: ${config.files.join(", ") || "none"}; secrets shown as ********`;
  fill("#config-table", config.settings.map((s) =>
    el("tr", { "data-key": s.key },
      el("td", { class: "mono" }, s.key),
      el("td", { class: s.masked ? "masked" : "mono" }, typeof s.value === "string" ? s.value : JSON.stringify(s.value)),
      el("td", {}, s.source))), 3, "no setting");
}

async function refresh() {
  const status = document.getElementById("status");
  const minutes = document.getElementById("minutes").value;
  try {
    const response = await fetch(`${PREFIX}/api/state?minutes=${minutes}`, { credentials: "same-origin" });
    const state = await response.json();
    if (!response.ok) throw new Error(state.detail || response.statusText);
    lastState = state;
    document.getElementById("environment").textContent = state.environment;
    drawModules(state);
    drawGraph(state);
    drawEvents(state);
    drawUnits(state);
    drawTraces(state);
    status.className = "status";
    status.textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    status.className = "status stale";
    status.textContent = `not updated: ${error.message}`;
  }
}

document.getElementById("minutes").addEventListener("change", refresh);
window.addEventListener("resize", () => { if (lastState) drawGraph(lastState); });
refresh();
loadConfig();
setInterval(refresh, REFRESH_MS);
