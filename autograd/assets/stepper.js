// chainrule stepper page: shows the steps Python wrote (autograd/stepper.py) as templates whose
// names and numbers are slots, filled from the numbers Python computed or, once a learner edits an
// input or the learning rate, from the numbers recomputed here with the op table's forms (ops.js,
// ChainruleOps). The state after a given step is replayed from the start each time, so stepping
// forward and back always shows the same thing.
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("stepper-data").textContent);
  const C = window.ChainruleOps;
  const $ = (id) => document.getElementById(id);
  const N = D.nodes.length;
  const nodeName = (i) => D.nodes[i].name;

  // ------------------------------------------------------------------ the numbers: Python's, or recomputed here
  const decode = (x) => (typeof x === "string" ? Number(x.replace("inf", "Infinity")) : x); // JSON has no inf, nan
  const PY = Object.fromEntries(Object.entries(D.numbers).map(([k, x]) => [k, decode(x)]));
  const isErr = (x) => x !== null && typeof x === "object"; // {error: the engine's message, at: the node that failed}
  const LEAVES = D.nodes.map((n, i) => i).filter((i) => !D.nodes[i].op);
  const ops = D.locked === null ? C.table(D.ops) : null;
  const MOVED = new Set(D.updated); // the leaves an update moves (a network's parameters, not its data row)
  const original = { values: D.nodes.map((n, i) => PY["d" + i]), lr: D.lr };
  let edits = { values: original.values.slice(), lr: D.lr };
  let Q = PY;
  // A number a learner typed (an edit field, a quiz box) as Python's float() reads it, one comma standing for the
  // decimal point ("1,5"); or, for text that is not one, a sentence saying why. Digit grouping ("1,000") is refused,
  // not guessed: read with a decimal comma it would be a silently wrong number.
  function readNumber(text) {
    const raw = text.trim(), t = raw.replace(/\u2212/g, "-").toLowerCase();
    if (/^[+-]?[1-9]\d{0,2}(,\d{3})+(\.\d*)?(e[+-]?\d+)?$/.test(t))
      return `'${raw}' looks like digit grouping: type it without separators, with a comma only as the decimal mark (1,5)`;
    const u = t.replace(",", "."); // the one comma allowed: a second one is not a number
    if (/^[+-]?(inf|infinity)$/.test(u)) return u[0] === "-" ? -Infinity : Infinity;
    if (/^[+-]?nan$/.test(u)) return NaN;
    return /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(u) ? Number(u) : `'${raw}' is not a number`;
  }
  const argsOf = (i, v) => D.nodes[i].args.map((a) => (a !== null && typeof a === "object" ? v[a.node] : decode(a)));

  function evaluate(values) { // every node's value from the leaves' (a number, or the error that stopped it)
    const v = values.slice();
    for (let i = 0; i < N; i++) {
      const n = D.nodes[i];
      if (!n.op) continue;
      const args = argsOf(i, v), bad = args.find(isErr);
      if (bad) { v[i] = bad; continue; }
      try { v[i] = ops.forward(n.op, args); } catch (e) {
        if (!(e instanceof C.OpError)) throw e;
        v[i] = { error: e.message, at: i };
      }
    }
    return v;
  }
  // The quantities of stepper.quantities (same keys, same arithmetic, in the same order) at `values` and `lr`.
  function compute(values, lr) {
    const q = { seed: D.seed }, v = evaluate(values);
    const failed = isErr(v[D.root]) ? { ...v[D.root], blocked: true } : null; // no gradients without the output
    v.forEach((x, i) => { q["d" + i] = x; });
    if (failed) q.seed = failed;
    const sums = new Array(N), grads = new Array(N).fill(0), locals = {};
    sums[D.root] = grads[D.root] = D.seed;
    D.edges.forEach(([node, k, parent], e) => {
      if (failed) { for (const c of "ulcba") q[c + e] = failed; return; }
      if (!(node in locals)) locals[node] = ops.partials(D.nodes[node].op, argsOf(node, v), v[node]);
      const g = sums[node], d = locals[node][k], c = g !== 0 ? g * d : 0; // a zero upstream sends exactly 0
      const total = sums[parent];
      sums[parent] = total === undefined ? c : total + c;
      Object.assign(q, { ["u" + e]: g, ["l" + e]: d, ["c" + e]: c, ["b" + e]: total === undefined ? 0 : 0 + total,
        ["a" + e]: 0 + sums[parent] });
      grads[parent] = q["a" + e];
    });
    grads.forEach((g, i) => { q["g" + i] = failed || g; });
    if (lr !== null) {
      q.lr = lr;
      // no gradients, no update: the inputs keep their numbers and the forward pass again gives the same ones
      const nv = failed ? v : evaluate(v.map((x, i) => (D.nodes[i].op ? null : MOVED.has(i) ? x - lr * grads[i] : x)));
      nv.forEach((x, i) => { q["n" + i] = x; });
      q.m = isErr(nv[D.root]) ? nv[D.root] : nv[D.root] - v[D.root];
    }
    if (D.fd) {
      for (const i of LEAVES) {
        if (failed) { q["f" + i] = failed; continue; }
        const x = values[i], h = 1e-6 * Math.max(1, Math.abs(x)), at = (t) => { const w = values.slice(); w[i] = t; return evaluate(w)[D.root]; };
        const up = at(x + h), down = at(x - h);
        q["f" + i] = isErr(up) || isErr(down) ? NaN : (up - down) / (2 * h);
      }
    }
    return q;
  }

  // ------------------------------------------------------------------ text: the templates' slots filled
  const SLOT = /\ufff9([=(#])([^\ufffa]*)\ufffa/g;
  const numberText = (x) => (x < 0 || Object.is(x, -0) ? `(${C.fmt(x)})` : C.fmt(x)); // trace.number_text
  const fill = (t) => t.replace(SLOT, (_, f, k) => (f === "#" ? nodeName(Number(k)) : f === "=" ? C.fmt(Q[k]) : numberText(Q[k])));
  function textOf(st) { // a step's title and lines, or where a number failed, the error in place (stepper.filled)
    const texts = [st.line || ""].concat(st.lines);
    const keys = [...texts.join("\n").matchAll(SLOT)].filter((m) => m[1] !== "#").map((m) => m[2]);
    const err = keys.map((k) => Q[k]).find(isErr);
    if (!err) return { title: fill(st.title), lines: st.lines.map(fill), error: null };
    const n = st.kind === "backward" ? nodeName(st.parent) + ".grad" : nodeName(st.node);
    const own = err.at === st.node && !err.blocked;
    const line = own ? `${n}: ${err.error}` : err.blocked ? `${n}: not computed, the forward pass failed at ${nodeName(err.at)}: ${err.error}`
      : `${n}: not computed, ${nodeName(err.at)} failed: ${err.error}`;
    return { title: fill(st.title), lines: [line].concat(st.on_error && own ? [st.on_error] : []), error: err };
  }
  function shown(key, i) { // a value or gradient as a node's cell shows it
    const x = Q[key];
    return isErr(x) ? (x.at === i && !x.blocked ? "error" : "n/a") : C.fmt(x);
  }

  // ------------------------------------------------------------------ the steps, with start and end
  const steps = [{ kind: "start", node: D.root, title: "Start: the graph and its inputs", lines: [] }]
    .concat(D.steps, [{ kind: "summary", node: D.root, title: "Summary: every input's gradient", lines: [] }]);
  const LAST = steps.length - 1;
  const PHASES = [
    ["start", "start"], ["forward", "forward pass"], ["seed", "seed"], ["backward", "backward pass"],
    ["update", "update"], ["reforward", "forward again"], ["summary", "summary"]];
  const NOTES = {
    start: "The leaves hold the inputs' values. The forward pass computes every other node from its inputs, " +
      "then the backward pass sends gradients from the output back to every input, one edge at a time.",
    forward: "Forward pass: a node is computed once its inputs are known (blue edges).",
    seed: "Seed: the output's gradient with respect to itself is 1. Gradients of this pass start at 0 " +
      "(as after zero_grad()).",
    backward: "Backward pass: the op's rule gives the local derivative; times the upstream gradient, it is " +
      "added into the input's gradient (chain rule).",
    update: D.updated.length < D.nodes.filter((n) => !n.op).length
      ? "Update: each parameter (weight or bias) moves against its gradient, by the learning rate lr; the data inputs stay."
      : "Update: each input moves against its gradient, by the learning rate lr.",
    reforward: "Forward again: every node is recomputed from the updated inputs, so you see the output move. " +
      "The gradients shown (grey) are from the pass before the update: stale until the next backward pass.",
  };

  if (D.locked === null) NOTES.start += " Change any input or the learning rate in the bar above: every number on the page follows.";

  // ------------------------------------------------------------------ header
  $("expression").textContent = D.expression;
  function header() {
    const out = Q["d" + D.root];
    $("value").textContent = (D.typed ? "value " : "") + (isErr(out) ? `= error (${nodeName(out.at)} failed)` : `= ${C.fmt(out)}`) +
      (D.lr !== null ? `   ·   lr = ${C.fmt(Q.lr)}` : "");
  }
  document.title = D.title;

  // ------------------------------------------------------------------ the pictures
  const views = {};
  function loadView(name, markup) {
    const holder = document.createElement("div");
    holder.className = "view";
    holder.innerHTML = markup;
    const svg = holder.querySelector("svg");
    const box = svg.viewBox.baseVal;
    const size = { w: box.width, h: box.height };
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
    const groups = {}, edges = {};
    for (const g of svg.querySelectorAll("g.node")) {
      const t = g.querySelector("title");
      if (t) groups[t.textContent] = g;
    }
    for (const g of svg.querySelectorAll("g.edge")) {
      const t = g.querySelector("title");
      if (t) (edges[t.textContent] = edges[t.textContent] || []).push(g);
    }
    const cells = {}; // node id -> {data, grad} text elements (the last two cells of its record)
    for (const [id, g] of Object.entries(groups)) {
      const texts = [...g.querySelectorAll("text")];
      const grad = texts.filter((e) => e.textContent.startsWith("grad ")).pop();
      const data = texts.filter((e) => e.textContent.startsWith("data ")).pop();
      const out = texts.filter((e) => e.textContent.startsWith("out ")).pop();
      const max = texts.filter((e) => e.textContent.startsWith("max |param grad|")).pop();
      cells[id] = { grad, data, out, max };
    }
    const root = svg.querySelector("g.graph");
    const m = root.transform.baseVal.consolidate();
    views[name] = { holder, svg, size, groups, edges, cells, matrix: m ? m.matrix : null, boxes: {} };
  }
  loadView("full", D.svg.full);
  if (D.svg.collapsed) loadView("collapsed", D.svg.collapsed);
  for (const v of Object.values(views)) $("graph").appendChild(v.holder);
  let view = views.full;
  if (views.collapsed) $("collapse-toggle").hidden = false;

  // where a node of the graph is drawn in a view: its own box, or its neuron's box when collapsed
  function drawnAs(v, i) {
    const g = D.nodes[i].group;
    return v === views.collapsed && g ? "g" + g : "n" + i;
  }
  function opOf(v, i) {
    const g = D.nodes[i].group;
    return v === views.collapsed && g ? "g" + g : "n" + i + "op";
  }

  // the arrowhead of an edge the gradient flows back along: at its start, pointing into the input
  function backTip(edge) {
    const path = edge.querySelector("path");
    if (!path || !path.getTotalLength) return;
    const a = path.getPointAtLength(0), b = path.getPointAtLength(Math.min(9, path.getTotalLength()));
    const len = Math.hypot(b.x - a.x, b.y - a.y) || 1, ux = (b.x - a.x) / len, uy = (b.y - a.y) / len;
    const tip = document.createElementNS("http://www.w3.org/2000/svg", "polygon");
    const pts = [[a.x, a.y], [a.x + 9 * ux - 4 * uy, a.y + 9 * uy + 4 * ux], [a.x + 9 * ux + 4 * uy, a.y + 9 * uy - 4 * ux]];
    tip.setAttribute("points", pts.map((q) => q.join(",")).join(" "));
    tip.setAttribute("class", "back-tip");
    edge.appendChild(tip);
  }

  // ------------------------------------------------------------------ the state after step k
  function stateAt(k, withholdLast) {
    const s = { data: D.nodes.map((n, i) => (n.op ? null : shown("d" + i, i))), grad: new Array(N).fill(null),
      ruleDone: new Set(), updated: new Set(), stale: false, failed: new Map() }; // failed: node -> the error it shows
    const computed = (st) => (isErr(Q[st.set_data]) ? s.failed.set(st.node, Q[st.set_data]) : s.failed.delete(st.node));
    const until = withholdLast ? k - 1 : k;
    for (let j = 1; j <= until; j++) {
      const st = steps[j];
      if (st.kind === "forward") { s.data[st.node] = shown(st.set_data, st.node); computed(st); }
      else if (st.kind === "seed") { s.grad.fill("0.0000"); s.grad[st.node] = shown(st.set_grad, -1); }
      else if (st.kind === "backward") {
        s.grad[st.parent] = shown(st.set_grad, -1);
        if (st.last_of_node && !isErr(Q[st.set_grad])) s.ruleDone.add(st.node); // a rule not run is not done
      } else if (st.kind === "update") { s.data[st.node] = shown(st.set_data, st.node); s.updated.add(st.node); s.stale = true; }
      else if (st.kind === "reforward") { s.data[st.node] = shown(st.set_data, st.node); computed(st); }
    }
    return s;
  }

  // ------------------------------------------------------------------ table
  const tbody = document.querySelector("#nodes tbody");
  const rows = D.nodes.map((n, i) => {
    const tr = document.createElement("tr");
    const what = n.by_backward ? (n.op ? `${n.formula} (made by a backward pass)` : "seed of a backward pass (leaf)")
      : n.op ? n.formula : n.kind === "param" ? "parameter" : "input (leaf)";
    for (const text of [n.name, what, "", ""]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.appendChild(td);
    }
    tr.title = `n${i}` + (n.label ? ` (${n.label})` : "");
    tbody.appendChild(tr);
    return tr;
  });
  function followRow(tr) {
    const box = $("table-box");
    const head = box.querySelector("thead").offsetHeight;
    const top = tr.offsetTop, bottom = top + tr.offsetHeight;
    if (top - head < box.scrollTop || bottom > box.scrollTop + box.clientHeight) {
      box.scrollTop = Math.max(0, top - head - (box.clientHeight - head) / 2);
    }
  }

  // ------------------------------------------------------------------ legend (colours from the data)
  const hasParams = D.nodes.some((n) => n.kind === "param");
  const hasBackward = D.nodes.some((n) => n.by_backward);
  const legend = [
    ["", `background:${D.style.leaf}`, "input (leaf)"],
    hasParams && ["", `background:${D.style.param}`, "parameter"],
    hasBackward && ["", `background:${D.style.backward}`, "made by an earlier backward pass (grad with create_graph=True)"],
    ["", `background:${D.style.interior}`, "node: name | data | grad"],
    ["", `background:${D.style.root}`, "output"],
    ["dashed", `background:${D.style.const}`, "constant"],
    ["faded", `background:${D.style.interior}`, D.locked === null ? "not computed (yet, or after an op failed)" : "not computed yet"],
    ["ellipse", "background:#e5e7eb", "op (its rule not run yet)"],
    ["ellipse", "background:var(--done-fill)", "op whose rule has run"],
    D.locked === null && ["ellipse failed", "background:var(--failed-fill)", "op that failed (the step says why)"], // only an edit fails
    ["current", "background:var(--current-fill)", "this step's node (computed, rule running, updated)"],
    ["receiver", "background:var(--receiver-fill)", "receives the gradient"],
    ["edge", "", "edge the gradient flows back along"],
    ["edge", "background:#2563eb", "inputs being combined (forward)"],
    views.collapsed && ["", `background:${D.style.group}`, "neuron (collapsed)"],
    views.collapsed && ["", `background:${D.style.idle}`, "relu neuron off for this input"],
    views.collapsed && D.weights && ["edge", `background:${D.weights.positive}`, "collapsed: edge weight > 0 (wider: larger)"],
    views.collapsed && D.weights && ["edge", `background:${D.weights.negative}`, "collapsed: edge weight < 0"],
    ["", "background:#fff;font-weight:700", "bold: just changed"],
    D.locked === null && ["moved", "background:#fff", "dotted: moved by your edit (the table's number, hovered: before)"],
    D.locked === null && ["", "background:#fff;color:#c2410c;font-weight:700", "orange: an input you edited"],
    D.lr !== null && ["", "background:#fff;color:#9ca3af", "grey: from before the update (stale)"],
  ].filter(Boolean);
  for (const [cls, style, text] of legend) {
    const li = document.createElement("li");
    const sw = document.createElement("span");
    sw.className = "swatch " + cls;
    sw.setAttribute("style", style);
    if (/^(bold|grey|orange|dotted)/.test(text)) { sw.textContent = "1.0"; sw.style.fontSize = "9px"; sw.style.textAlign = "center"; sw.style.lineHeight = "11px"; }
    li.append(sw, document.createTextNode(text));
    $("legend-list").appendChild(li);
  }

  // ------------------------------------------------------------------ phases bar
  const phaseOf = steps.map((s) => s.kind);
  const phaseButtons = {};
  for (const [kind, label] of PHASES) {
    const first = phaseOf.indexOf(kind);
    if (first < 0) continue;
    const count = phaseOf.filter((k) => k === kind).length;
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = count > 1 ? `${label} (${count})` : label;
    const bar = document.createElement("span");
    bar.className = "bar";
    b.appendChild(bar);
    b.addEventListener("click", () => go(first));
    li.appendChild(b);
    $("phases").appendChild(li);
    phaseButtons[kind] = { b, bar, first, count };
  }

  // ------------------------------------------------------------------ pan and zoom (the SVG viewBox)
  const READABLE = 1.15; // px per point: the 11 pt labels of the picture at about 13 px
  let cam = { x: 0, y: 0, s: 1 };
  let animation = null;
  const reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  function port() { const g = $("graph"); return { w: g.clientWidth || 800, h: g.clientHeight || 600 }; }
  function applyCam() {
    const p = port();
    view.svg.setAttribute("viewBox", `${cam.x} ${cam.y} ${p.w / cam.s} ${p.h / cam.s}`);
    document.body.dataset.zoom = cam.s.toFixed(3);
  }
  function setCam(x, y, s, animate) {
    if (animation) cancelAnimationFrame(animation);
    if (!animate || reduceMotion) { cam = { x, y, s }; applyCam(); delete document.body.dataset.moving; return; }
    const from = { ...cam }, t0 = performance.now();
    const tick = (t) => { // a frame's time stamp may precede t0: clamp, or the camera overshoots backwards
      const a = Math.max(0, Math.min(1, (t - t0) / 180)), e = a * (2 - a);
      cam = { x: from.x + (x - from.x) * e, y: from.y + (y - from.y) * e, s: from.s + (s - from.s) * e };
      applyCam();
      animation = a < 1 ? requestAnimationFrame(tick) : null;
      if (!animation) delete document.body.dataset.moving;
    };
    document.body.dataset.moving = "1";
    animation = requestAnimationFrame(tick);
  }
  function clampAxis(start, span, total) { // keep the picture on screen: centred when it fits, else no empty side
    if (span >= total) return (total - span) / 2;
    return Math.max(0, Math.min(total - span, start));
  }
  function centerOn(cx, cy, s, animate) {
    const p = port(), vw = p.w / s, vh = p.h / s;
    setCam(clampAxis(cx - vw / 2, vw, view.size.w), clampAxis(cy - vh / 2, vh, view.size.h), s, animate);
  }
  function fitScale() { // at most 2: a tiny graph is not blown up beyond legible
    const p = port();
    return Math.min(2, Math.min(p.w / view.size.w, p.h / view.size.h) * 0.97);
  }
  function fit(animate) { centerOn(view.size.w / 2, view.size.h / 2, fitScale(), animate); }
  function zoomBy(f, px, py) {
    const p = port();
    if (px === undefined) { px = p.w / 2; py = p.h / 2; }
    const s = Math.max(Math.min(fitScale(), 0.05), Math.min(6, cam.s * f));
    const ux = cam.x + px / cam.s, uy = cam.y + py / cam.s;
    setCam(ux - px / s, uy - py / s, s, false);
  }
  function boxOf(id) { // a drawn element's box in viewBox units, or null
    if (id in view.boxes) return view.boxes[id];
    const g = view.groups[id];
    let box = null;
    if (g) {
      const b = g.getBBox(), m = view.matrix;
      box = m ? { x: m.a * b.x + m.e, y: m.d * b.y + m.f, w: b.width * m.a, h: b.height * m.d } : { x: b.x, y: b.y, w: b.width, h: b.height };
    }
    view.boxes[id] = box;
    return box;
  }
  function union(ids) {
    let u = null;
    for (const id of ids) {
      const b = boxOf(id);
      if (!b) continue;
      if (!u) { u = { ...b }; continue; }
      const x = Math.min(u.x, b.x), y = Math.min(u.y, b.y);
      u = { x, y, w: Math.max(u.x + u.w, b.x + b.w) - x, h: Math.max(u.y + u.h, b.y + b.h) - y };
    }
    return u;
  }
  function keepInView(ids, animate) { // ids[0..1]: the node and its op, always kept; the rest if they fit too
    const all = union(ids), main = union(ids.slice(0, 2));
    if (!all || !main) return;
    const p = port(), vw = p.w / cam.s, vh = p.h / cam.s;
    const mx = Math.min(vw * 0.05, 40 / cam.s), my = Math.min(vh * 0.05, 30 / cam.s);
    const fits = (b) => b.w <= vw - 2 * mx && b.h <= vh - 2 * my;
    const inside = (b) => b.x >= cam.x + mx && b.y >= cam.y + my && b.x + b.w <= cam.x + vw - mx && b.y + b.h <= cam.y + vh - my;
    if (inside(all) || (!fits(all) && inside(main))) return;
    const b = fits(all) ? all : main;
    centerOn(b.x + b.w / 2, b.y + b.h / 2, cam.s, animate);
  }
  function focusIds(st) {
    const ids = [drawnAs(view, st.node), opOf(view, st.node)];
    if (st.kind === "backward") ids.push(drawnAs(view, st.parent));
    if (st.kind === "forward" || st.kind === "reforward") for (const p of D.nodes[st.node].parents) ids.push(drawnAs(view, p));
    return ids;
  }
  function readableStart() { // the whole graph when it is readable so, else a readable part where the pass begins
    if (fitScale() >= 0.8) { fit(false); return; }
    const st = at === 0 && steps.length > 2 ? steps[1] : steps[at];
    const b = union(focusIds(st)) || { x: 0, y: 0, w: 0, h: 0 };
    centerOn(b.x + b.w / 2, b.y + b.h / 2, Math.max(READABLE, cam.s), false);
  }

  const graphBox = $("graph");
  graphBox.addEventListener("wheel", (e) => {
    e.preventDefault();
    const r = graphBox.getBoundingClientRect();
    zoomBy(Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015)), e.clientX - r.left, e.clientY - r.top);
  }, { passive: false });
  let drag = null;
  graphBox.addEventListener("pointerdown", (e) => {
    if (e.button !== 0) return;
    drag = { x: e.clientX, y: e.clientY, cx: cam.x, cy: cam.y };
    graphBox.setPointerCapture(e.pointerId);
    graphBox.classList.add("dragging");
  });
  graphBox.addEventListener("pointermove", (e) => {
    if (!drag) return;
    setCam(drag.cx - (e.clientX - drag.x) / cam.s, drag.cy - (e.clientY - drag.y) / cam.s, cam.s, false);
  });
  const endDrag = () => { drag = null; graphBox.classList.remove("dragging"); };
  graphBox.addEventListener("pointerup", endDrag);
  graphBox.addEventListener("pointercancel", endDrag);
  $("zoom-in").addEventListener("click", () => zoomBy(1.25));
  $("zoom-out").addEventListener("click", () => zoomBy(0.8));
  $("zoom-fit").addEventListener("click", () => fit(true));
  $("zoom-one").addEventListener("click", () => { const b = union(focusIds(steps[at])); if (b) centerOn(b.x + b.w / 2, b.y + b.h / 2, READABLE, true); });
  window.addEventListener("resize", () => applyCam());

  // ------------------------------------------------------------------ quiz
  const revealed = new Set();
  const quizOn = () => $("quiz").checked;
  function quizOf(st) { // the numbers the quiz checks, at the page's current numbers (finite ones; else null)
    const e = st.quiz.edge, val = (c) => (Number.isFinite(Q[c + e]) ? Q[c + e] : null), txt = (c) => shown(c + e, -1);
    return { ...st.quiz, local: val("l"), upstream: val("u"), contribution: val("c"), before: val("b"), after: val("a"),
      local_text: txt("l"), upstream_text: txt("u"), before_text: txt("b"), after_text: txt("a"),
      question: fill(st.quiz.question), node: nodeName(st.node), parent: nodeName(st.parent) };
  }
  const asked = (k) => quizOn() && steps[k].kind === "backward" && quizOf(steps[k]).local !== null && !revealed.has(k);
  const answer = (box) => ($(box).value.trim() === "" ? null : readNumber($(box).value)); // null: left empty
  const close = (a, b) => b !== null && Math.abs(a - b) <= 6e-4 + 1e-3 * Math.abs(b);
  function judgeLocal(a, q) {
    if (close(a, q.local)) return ["right", `Right: d${q.node}/d${q.parent} = ${q.local_text}.`];
    if (q.local !== 0 && close(a, -q.local)) return ["sign", `Wrong sign: check the sign of ${q.question}` + (q.symbolic ? ` = ${q.symbolic}.` : ".")];
    if (q.contribution !== null && !close(q.contribution, q.local) && close(a, q.contribution))
      return ["product", `That is already the product with the upstream gradient (${q.upstream_text} × local). ` +
        "The local derivative is the rule's factor alone, before multiplying."];
    if (q.upstream !== null && !close(q.upstream, q.local) && close(a, q.upstream))
      return ["upstream", `That is the upstream gradient ${q.node}.grad; the local derivative d${q.node}/d${q.parent} comes from the rule.`];
    return ["wrong", `Not yet: evaluate ${q.symbolic || "the rule"} with the numbers of the 'where' line.`];
  }
  function judgeAfter(a, q) {
    if (close(a, q.after)) return ["right", `Right: ${q.parent}.grad = ${q.after_text}.`];
    if (q.before !== 0 && close(a, q.contribution))
      return ["forgot-add", `You forgot to add the earlier contribution: ${q.parent}.grad was ${q.before_text} before this step, ` +
        `and contributions from every use of ${q.parent} add up.`];
    if (!close(q.local, q.contribution) && (close(a, q.before + q.local) || close(a, q.local)))
      return ["forgot-multiply", `You forgot to multiply by the upstream gradient ${q.node}.grad = ${q.upstream_text}: ` +
        "the contribution is upstream × local."];
    if ((q.after !== 0 && close(a, -q.after)) || (q.contribution !== 0 && close(a, q.before - q.contribution)))
      return ["sign", "Wrong sign: the contribution is added, upstream × local, with both signs as they are."];
    return ["wrong", `Not yet: ${q.parent}.grad (now ${q.before_text}) + upstream × local.`];
  }
  function showVerdict(parts) {
    const fb = $("quiz-feedback");
    fb.textContent = "";
    fb.dataset.verdict = parts.map((p) => p[0]).join(" ");
    for (const [kind, text, what] of parts) {
      const div = document.createElement("div");
      div.className = kind === "right" ? "right" : "wrong";
      div.textContent = (what ? what + ": " : "") + text;
      fb.appendChild(div);
    }
  }
  $("quiz-box").addEventListener("submit", (e) => {
    e.preventDefault();
    const q = quizOf(steps[at]);
    const parts = [];
    const a = answer("quiz-local"), b = answer("quiz-after");
    const notNumber = (why) => ["not-a-number", `${why} (type one like 0.25 or -3).`];
    if (a !== null) parts.push((typeof a === "string" ? notNumber(a) : judgeLocal(a, q)).concat(`d${q.node}/d${q.parent}`));
    if (b !== null) parts.push((typeof b === "string" ? notNumber(b) : judgeAfter(b, q)).concat(`${q.parent}.grad`));
    if (!parts.length) parts.push(["empty", "Type a number in either box (like 0.25 or -3)."]);
    showVerdict(parts);
    if (a !== null && b !== null && parts.every((p) => p[0] === "right")) { revealed.add(at); render(true); }
  });
  $("quiz-reveal").addEventListener("click", () => { revealed.add(at); render(true); });
  $("quiz").addEventListener("change", () => { render(true); $("quiz").blur(); });

  // ------------------------------------------------------------------ drawing one step
  let at = 0;
  function lineDiv(text, cls) {
    const d = document.createElement("div");
    d.textContent = text;
    if (cls) d.className = cls;
    return d;
  }
  const rooms = new WeakMap(); // a picture's text -> the width it was drawn for (the widest number at Python's values)
  function setText(el, text) {
    if (!el) return false;
    const changed = el.textContent !== text;
    if (!rooms.has(el) && el.getComputedTextLength && el.getComputedTextLength() > 0)
      rooms.set(el, { chars: el.textContent.length, width: el.getComputedTextLength() });
    el.textContent = text;
    const room = rooms.get(el); // an edited number wider than the cell: squeezed into it, not over its border
    if (room && text.length > room.chars) { el.setAttribute("textLength", room.width); el.setAttribute("lengthAdjust", "spacingAndGlyphs"); }
    else if (room) el.removeAttribute("textLength");
    return changed;
  }
  function summaryTable() {
    const box = $("summary");
    box.textContent = "";
    const t = document.createElement("table");
    const head = ["input", "value", "backprop grad"].concat(D.fd ? ["finite diff.", ""] : [], D.lr !== null ? ["after update"] : []);
    const tr = document.createElement("tr");
    for (const h of head) { const th = document.createElement("th"); th.textContent = h; tr.appendChild(th); }
    t.appendChild(tr);
    let unchecked = false;
    for (const i of LEAVES) {
      const g = Q["g" + i], f = Q["f" + i];
      const agree = Number.isFinite(f) && Math.abs(g - f) <= Math.max(1e-4 * Math.max(Math.abs(g), Math.abs(f)), 1e-6);
      // central differences need finite numbers on both sides: an infinite input or gradient is not checked
      const verdict = isErr(f) ? "" : !Number.isFinite(f) || !Number.isFinite(g) ? "no check" : agree ? "agree" : "differ";
      unchecked = unchecked || verdict === "no check";
      const row = document.createElement("tr");
      const cells = [nodeName(i), shown("d" + i, i), shown("g" + i, -1)].concat(
        D.fd ? [shown("f" + i, -1), verdict] : [], D.lr !== null ? [shown("n" + i, i)] : []);
      cells.forEach((c, j) => {
        const td = document.createElement("td"); // a number too wide wraps before its exponent, where it still reads right
        c.split(/(?=e[+-]\d)/).forEach((part, k) => td.append(...(k ? [document.createElement("wbr"), part] : [part])));
        if (D.fd && j === 4) td.className = verdict === "agree" ? "agree" : verdict === "differ" ? "disagree" : "";
        row.appendChild(td);
      });
      t.appendChild(row);
    }
    const note = document.createElement("p");
    note.className = "note";
    note.textContent = D.fd ? `The backprop gradients beside ${D.fd_note}: they agree when the rules are right.` +
      (unchecked ? " No check: where a number is infinite or NaN (an input, a gradient or a difference) the differences cannot test the gradient." : "") : D.fd_note + ".";
    box.append(t, note);
    const out = Q["d" + D.root];
    if (isErr(out)) { // n/a above: say why, in the engine's words
      const why = document.createElement("p");
      why.className = "note error";
      why.textContent = `No gradients at these numbers: the forward pass failed at ${nodeName(out.at)}: ${out.error}`;
      box.append(why);
    }
  }

  function render(quizChanged) {
    const st = steps[at];
    const hide = asked(at);
    const s = stateAt(at, hide);
    const notComputed = (i) => s.data[i] === null || s.failed.has(i); // not yet, or an op before it failed
    let was = s; // the same step at Python's numbers: a number the edit moved says what it was
    if (Q !== PY) { const mine = Q; Q = PY; was = stateAt(at, hide); Q = mine; }
    const v = view;
    // every node: texts and fading
    const changedData = st.kind === "forward" || st.kind === "update" || st.kind === "reforward" ? st.node : -1;
    // after the update: nodes whose value is of the new pass (updated or recomputed, or a data leaf, which stays)
    const fresh = new Set(LEAVES.filter((i) => !MOVED.has(i)));
    if (s.stale) for (let j = 1; j <= at; j++) if (steps[j].kind === "update" || steps[j].kind === "reforward") fresh.add(steps[j].node);
    const changedGrad = !hide && st.kind === "backward" ? st.parent : st.kind === "seed" ? st.node : -1;
    for (let i = 0; i < N; i++) {
      const id = "n" + i;
      const c = v.cells[id];
      const dataText = s.data[i] === null ? "?" : s.data[i];
      const gradText = s.grad[i] === null ? "\u2013" : s.grad[i];
      if (c) {
        setText(c.data, "data " + dataText);
        setText(c.grad, "grad " + gradText);
        if (c.data) c.data.classList.toggle("changed", i === changedData);
        if (c.data) c.data.classList.toggle("edited", edited(i) && s.data[i] !== null && !s.updated.has(i));
        if (c.grad) c.grad.classList.toggle("changed", i === changedGrad);
        if (c.data) c.data.classList.toggle("stale", s.stale && !fresh.has(i));
        if (c.grad) c.grad.classList.toggle("stale", s.stale);
      }
      const tds = rows[i].children;
      tds[2].textContent = dataText;
      tds[3].textContent = gradText;
      tds[2].classList.toggle("changed", i === changedData);
      tds[2].classList.toggle("edited", edited(i) && !s.updated.has(i));
      tds[3].classList.toggle("changed", i === changedGrad);
      tds[2].classList.toggle("stale", s.stale && !fresh.has(i));
      tds[3].classList.toggle("stale", s.stale);
      [2, 3].forEach((col, j) => {
        const now = j ? s.grad[i] : s.data[i], before = j ? was.grad[i] : was.data[i];
        const moved = now !== null && before !== null && now !== before;
        tds[col].classList.toggle("moved", moved);
        tds[col].title = moved ? `${before} at Python's numbers, before your edit` : "";
        const cell = c && (j ? c.grad : c.data);
        if (cell) cell.classList.toggle("moved", moved);
      });
      rows[i].className = notComputed(i) ? "pending" : "";
    }
    for (const [gname, g] of Object.entries(D.groups)) { // collapsed neurons: live summary rows
      const c = views.collapsed && views.collapsed.cells["g" + gname];
      if (!c) continue;
      if (c.out && g.outs.length === 1) {
        const o = g.outs[0];
        setText(c.out, `out ${s.data[o] === null ? "?" : s.data[o]}  grad ${s.grad[o] === null ? "\u2013" : s.stale ? "(old)" : s.grad[o]}`);
      }
      if (c.max) {
        const gs = g.params.map((p) => Math.abs(Number(s.grad[p]))).filter((x) => !isNaN(x));
        setText(c.max, "max |param grad| " + (s.grad[g.params[0]] === null ? "\u2013" : Math.max(...gs).toFixed(4)));
        c.max.classList.toggle("stale", s.stale);
      }
    }
    // classes in the picture
    for (const g of v.svg.querySelectorAll(".current, .receiver, .rule-done, .rule-running, .active, .input, .pending, .failed"))
      g.classList.remove("current", "receiver", "rule-done", "rule-running", "active", "input", "pending", "failed");
    for (const t of v.svg.querySelectorAll(".back-tip")) t.remove();
    const mark = (id, cls) => { const g = v.groups[id]; if (g) g.classList.add(cls); };
    for (let i = 0; i < N; i++) {
      const err = s.failed.get(i);
      if (notComputed(i)) { mark(drawnAs(v, i), "pending"); mark(opOf(v, i), err && err.at === i ? "failed" : "pending"); }
      if (s.ruleDone.has(i)) mark(opOf(v, i), "rule-done");
    }
    if (v === views.collapsed) { // a neuron is faded only while all of it is
      for (const [gname, g] of Object.entries(D.groups)) {
        const el = v.groups["g" + gname];
        if (el) el.classList.toggle("pending", g.members.every(notComputed));
      }
    }
    for (const [title, list] of Object.entries(v.edges)) {
      const dst = title.split("->")[1] || "";
      const m = /^n(\d+)(op)?$/.exec(dst);
      if (m && notComputed(Number(m[1]))) list.forEach((e) => e.classList.add("pending"));
    }
    if (st.kind !== "start" && st.kind !== "summary") mark(drawnAs(v, st.node), "current");
    if (st.kind === "backward") {
      mark(opOf(v, st.node), "rule-running");
      const src = drawnAs(v, st.parent), dst = opOf(v, st.node);
      if (src !== dst) { // inside one collapsed neuron there is no edge to show; its box is the current one
        const list = v.edges[`${src}->${dst}`] || [];
        const e = list[v === views.full ? st.edge_nth : 0] || list[0];
        if (e) {
          e.classList.add("active");
          backTip(e);
        }
        if (src !== drawnAs(v, st.node)) mark(src, "receiver");
      }
    }
    if (st.kind === "forward" || st.kind === "reforward") {
      mark(opOf(v, st.node), "rule-running");
      const dst = opOf(v, st.node);
      for (const [title, list] of Object.entries(v.edges)) {
        if (title.endsWith("->" + dst) || title === `${dst}->${drawnAs(v, st.node)}`) list.forEach((e) => { e.classList.remove("pending"); e.classList.add("input"); });
      }
    }
    // table rows
    if (st.kind !== "start" && st.kind !== "summary") {
      rows[st.node].className = "current";
      if (st.kind === "backward") rows[st.parent].className = "receiver";
      followRow(st.kind === "backward" ? rows[st.parent] : rows[st.node]);
    }
    // the step panel
    $("phase-badge").textContent = st.kind === "reforward" ? "forward again" : st.kind;
    $("phase-badge").className = st.kind;
    const T = textOf(st);
    $("step-title").textContent = T.title;
    const lines = $("step-lines");
    lines.textContent = "";
    const q = st.quiz && quizOf(st);
    if (T.error) {
      T.lines.forEach((t, j) => lines.append(lineDiv(t, j === 0 ? "error" : "note")));
    } else if (st.kind === "backward" && hide) {
      lines.append(lineDiv(`${q.question} = ${q.symbolic ? q.symbolic + " = " : ""}?`, "formula"),
        lineDiv(T.lines[1], "note"),
        lineDiv(`${q.parent}.grad += ${q.node}.grad * d${q.node}/d${q.parent} = ${q.upstream_text} * ? = ?`, "main"),
        lineDiv(`${q.parent}.grad was ${q.before_text}; what is it after this step?`, "note"));
    } else if (st.kind === "backward") {
      lines.append(lineDiv(T.lines[0], "formula"), lineDiv(T.lines[1], "note"), lineDiv(T.lines[2], "main"),
        lineDiv(T.lines[3], st.share[1] > 1 ? "main" : "note"));
      if (q.upstream === 0) lines.append(lineDiv(`${q.node}.grad is 0, so backward() skips ${st.rule} here: nothing flows back (the contribution is exactly 0).`, "note"));
      else if (q.contribution === 0) lines.append(lineDiv("A zero contribution: no gradient flows back through this edge.", "note"));
    } else {
      T.lines.forEach((t, j) => lines.append(lineDiv(t, j === 0 ? "main" : "note")));
    }
    const once = st.kind === "backward" || st.kind === "reforward"; // long phases: the note on their first step only
    if (NOTES[st.kind] && !(once && at !== phaseButtons[st.kind].first)) lines.append(lineDiv(NOTES[st.kind], "note"));
    const quizBox = $("quiz-box");
    quizBox.hidden = !hide;
    if (hide && (quizChanged !== true || quizBox.dataset.step !== String(at))) {
      quizBox.dataset.step = String(at);
      $("quiz-question").textContent = `Apply the rule ${st.rule}, then the chain rule.`;
      $("quiz-local-name").textContent = `d${q.node}/d${q.parent}`;
      $("quiz-after-name").textContent = `${q.parent}.grad`;
      $("quiz-local").value = ""; $("quiz-after").value = "";
      $("quiz-feedback").textContent = ""; delete $("quiz-feedback").dataset.verdict;
    }
    $("summary").hidden = st.kind !== "summary";
    if (st.kind === "summary") summaryTable();
    // counters, phases, buttons
    $("counter").textContent = `step ${at} of ${LAST}`;
    for (const [kind, p] of Object.entries(phaseButtons)) {
      const inside = at - p.first;
      p.b.classList.toggle("active", st.kind === kind);
      p.bar.style.width = (inside < 0 ? 0 : Math.min(1, (inside + 1) / p.count) * 100) + "%";
    }
    $("prev").disabled = $("first").disabled = at === 0;
    $("next").disabled = $("last").disabled = at === LAST;
    document.body.dataset.step = String(at);
    document.body.dataset.kind = st.kind;
    document.body.dataset.current = st.kind === "start" || st.kind === "summary" ? "" : "n" + st.node;
    document.body.dataset.hidden = hide ? "1" : "0";
    // screen readers: the step in words (never the hidden answer)
    const spoken = hide ? `${T.title}. Quiz: what is d${q.node}/d${q.parent}?` : `${T.title}. ${[...lines.children].map((d) => d.textContent).join(". ")}`;
    $("live").textContent = `Step ${at} of ${LAST}. ${spoken}`;
    if ($("follow").checked && st.kind !== "start" && st.kind !== "summary") keepInView(focusIds(st), true);
  }
  function go(k) {
    const next = Math.max(0, Math.min(LAST, k));
    if (next === at) return;
    at = next;
    render();
  }

  $("next").addEventListener("click", () => go(at + 1));
  $("prev").addEventListener("click", () => go(at - 1));
  $("first").addEventListener("click", () => go(0));
  $("last").addEventListener("click", () => go(LAST));
  $("collapse").addEventListener("change", () => {
    view = $("collapse").checked && views.collapsed ? views.collapsed : views.full;
    for (const v of Object.values(views)) v.holder.hidden = v !== view;
    render(true);
    readableStart();
  });
  document.addEventListener("keydown", (e) => {
    const t = e.target;
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    if (t && (t.tagName === "INPUT" && t.type === "text")) return; // typing an answer or a number
    const k = e.key;
    // space is always the next step, as the next button's tooltip says: a clicked button or
    // checkbox keeps the focus, and space would otherwise press it again (prev going back twice)
    if (["n", "j", "ArrowRight", "ArrowDown", " ", "PageDown"].includes(k)) go(at + 1);
    else if (["p", "k", "ArrowLeft", "ArrowUp", "PageUp"].includes(k)) go(at - 1);
    else if (k === "Home") go(0);
    else if (k === "End") go(LAST);
    else if (k === "+" || k === "=") zoomBy(1.25);
    else if (k === "-") zoomBy(0.8);
    else if (k === "f") fit(true);
    else if (k === "0") $("zoom-one").click();
    else return;
    e.preventDefault();
  });

  // ------------------------------------------------------------------ editing the inputs and the learning rate
  const edited = (i) => !D.nodes[i].op && !Object.is(edits.values[i], original.values[i]);
  function editNote() {
    const changes = LEAVES.filter(edited).map((i) => `${nodeName(i)} = ${C.repr(edits.values[i])} (was ${C.repr(original.values[i])})`);
    if (edits.lr !== original.lr) changes.push(`lr = ${C.repr(edits.lr)} (was ${C.repr(original.lr)})`);
    $("reset").disabled = !changes.length && !document.querySelector("#inputs input.invalid");
    document.body.dataset.edited = changes.length ? "1" : "0";
    $("edit-note").textContent = D.locked !== null ? D.locked : changes.length
      ? `Edited ${changes.join(", ")}: every number on the page is recomputed here, in the page.`
      : "Change an input" + (D.lr !== null ? " or the learning rate" : "") + ": every number on the page follows.";
  }
  function recompute() {
    const same = edits.lr === original.lr && edits.values.every((x, i) => Object.is(x, original.values[i]));
    Q = same ? PY : compute(edits.values, edits.lr);
    revealed.clear();
    header();
    editNote();
    render();
  }
  function field(label, value, title, accept) { // one editable number; accept(x) says why x is refused, or ""
    const box = document.createElement("label");
    box.className = "edit";
    const name = document.createElement("span");
    name.textContent = label + " =";
    const input = document.createElement("input");
    title += " (Enter: back to the step keys)";
    Object.assign(input, { type: "text", value, spellcheck: false, title, disabled: D.locked !== null });
    input.setAttribute("inputmode", "decimal");
    input.dataset.original = value;
    input.addEventListener("input", () => {
      const x = readNumber(input.value);
      const why = typeof x === "string" ? x : accept(x);
      input.classList.toggle("invalid", why !== "");
      input.title = why || title;
      if (why) { $("edit-note").textContent = `${why}; the page keeps the last number.`; $("reset").disabled = false; return; }
      input.classList.toggle("edited", !Object.is(x, readNumber(value)));
      recompute(); // at every keystroke: 40-170 ms for a network's page (297 nodes at most)
    });
    input.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === "Escape") input.blur(); }); // back to the step keys
    box.append(name, input);
    $("input-list").appendChild(box);
    return input;
  }
  const twice = (i) => LEAVES.some((j) => j !== i && nodeName(j) === nodeName(i)); // two leaves labelled alike
  const inputs = LEAVES.map((i) => field(nodeName(i) + (twice(i) ? ` (n${i})` : ""), C.repr(original.values[i]), `the value of ${nodeName(i)} (an input of the graph)`,
    (x) => { edits.values[i] = x; return ""; }));
  if (D.lr !== null) {
    inputs.push(field("lr", C.repr(D.lr), "the learning rate of the update", (x) => {
      if (!(x > 0 && x < Infinity)) return "lr must be a positive number";
      edits.lr = x;
      return "";
    }));
    const lrBox = inputs[inputs.length - 1].parentElement;
    lrBox.classList.add("lr");
    $("input-list").insertBefore(lrBox, $("reset")); // first, with reset: in view however many inputs a network has
  }
  $("reset").addEventListener("click", () => {
    for (const input of inputs) { input.value = input.dataset.original; input.classList.remove("edited", "invalid"); }
    edits = { values: original.values.slice(), lr: original.lr };
    recompute();
  });
  $("inputs").classList.toggle("locked", D.locked !== null);
  if (D.locked !== null) $("inputs").querySelector(".caption").textContent = "inputs (editing off):";

  for (const v of Object.values(views)) v.holder.hidden = v !== view;
  header();
  editNote();
  render();
  readableStart();
  document.body.dataset.readyMs = String(Math.round(performance.now())); // time from navigation to usable
  document.body.dataset.ready = "1";
})();
