// The training replay page. Python (nn.Recorder) hands over the recorded run as JSON; this file
// draws it: the scrubber, the curves, the input plane, the network and the details of a weight or
// a neuron. Pictures of the input plane are computed here from the recorded weights (a forward
// pass in the same order of operations as nn's Neuron; a test compares it with Python's).
(function () {
  "use strict"; // inside the function: the page inlines autograd's ops.js before this file
  const D = JSON.parse(document.getElementById("replay-data").textContent);
  // The curves hold every recorded step; the frames (weights, gradients, units) only the recorded
  // steps D.frames, evenly thinned when a long run would make a page too large. CURVES keeps the
  // curves whole; D's per-step arrays become per-frame ones, so the rest of the page reads frame i.
  const CURVES = {}, RECORDED = D.recorded, POINTS = D.steps.length;
  for (const key of ["steps", "loss", "lr", "train_loss", "train_accuracy", "val_loss", "val_accuracy"]) {
    CURVES[key] = D[key];
    D[key] = D.frames.map((k) => CURVES[key][k]);
  }
  const N = D.frames.length;
  const COLOURS = { pos: "#2563eb", neg: "#dc2626", zero: "#9ca3af", val: "#ea580c", ink: "#111827" };
  const CLASS_COLOURS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777"];
  const $ = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";

  // ---- the model: units, the op table, the forward pass -----------------------------------------
  // Every op's arithmetic (forward and local derivatives) comes from autograd's op table (D.ops, its
  // forms) through the evaluator the stepper page shares; this page keeps no table of its own.
  const OPS = ChainruleOps.table(D.ops); // autograd/assets/ops.js, inlined before this file
  const UNITS = []; // every neuron, layer by layer: {layer, name, activation, w, b, col, row}
  D.layers.forEach((layer, li) => layer.neurons.forEach((n, j) =>
    UNITS.push({ layer: li, name: n.name, activation: n.activation, w: n.w, b: n.b, col: li + 1, row: j })));
  const OWNER = {}; // parameter index -> {unit, input} (input: index into the previous layer, or -1 for the bias)
  UNITS.forEach((u, ui) => { u.w.forEach((p, k) => { OWNER[p] = { unit: ui, input: k }; }); OWNER[u.b] = { unit: ui, input: -1 }; });
  const NIN = D.inputs.length, NOUT = D.layers[D.layers.length - 1].neurons.length;
  const LOSS_NOTE = D.loss_mismatch ? " (inferred, not the loss you recorded)" : D.loss_inferred ? " (inferred from the targets)" : "";
  const LOSS_NAME = D.loss_fn + LOSS_NOTE;
  const STORY = D.story; // the model's graph for one row and its chain-rule paths, from Python (nn.recorder.story)
  const NODES = STORY.nodes.map((n) => (Array.isArray(n) ? { op: n[0], args: n.slice(1) } : n)); // [op, ...args] or a leaf
  const UNIT_OF = new Map(STORY.units.map((n, u) => [n, u])); // graph node -> the neuron whose output it is
  // A neuron's activation as a function of its z = w·x + b: its output node's op, applied with the
  // constants the model's graph holds (leaky_relu's slope); a linear neuron's output is z itself.
  const ACT = STORY.units.map((n, u) => {
    const node = NODES[n], op = D.activations[UNITS[u].activation].op;
    if (!op) return (z) => z;
    const rest = node.args.slice(1).map((a) => a.const);
    return (z) => OPS.forward(op, [z, ...rest]);
  });

  function forward(W, x) {
    // z = b + w0*x0 + w1*x1 + ... in this order, as Python's sum(map(mul, w, x), b)
    const units = new Float64Array(UNITS.length);
    let input = x, u = 0;
    for (const layer of D.layers) {
      const next = new Array(layer.neurons.length);
      for (let j = 0; j < layer.neurons.length; j++) {
        const n = layer.neurons[j];
        let z = W[n.b];
        for (let k = 0; k < n.w.length; k++) z += W[n.w[k]] * input[k];
        next[j] = units[u] = ACT[u](z);
        u++;
      }
      input = next;
    }
    return { units: Array.from(units), out: input };
  }

  // ---- numbers ---------------------------------------------------------------------------------
  function fmt(x, digits = 4) {
    if (x === null || x === undefined) return "–";
    if (!isFinite(x)) return String(x);
    if (x === 0) return "0";
    const a = Math.abs(x);
    return a >= 1e-3 && a < 1e5 ? x.toFixed(digits).replace(/\.?0+$/, "") || "0" : x.toExponential(2);
  }
  const tick = (x) => { // an axis label: three digits, short enough for the margin (41851.108 -> 4.19e+4)
    const a = Math.abs(x);
    return a === 0 || (a >= 0.01 && a < 1000) ? String(+x.toPrecision(3)) : x.toExponential(2).replace("+", "");
  };
  const precise = (x) => (x === null || x === undefined ? "–" : x === 0 ? "0" : x.toPrecision(6)); // for tables
  const signColour = (v) => (v === null || v === 0 || !isFinite(v) ? COLOURS.zero : v > 0 ? COLOURS.pos : COLOURS.neg);
  function el(tag, attrs = {}, parent = null, ns = null) {
    const e = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "text") e.textContent = v; else if (k === "cls") e.setAttribute("class", v); else e.setAttribute(k, v);
    }
    if (parent) parent.appendChild(e);
    return e;
  }
  function diverging(v) { // v in [-1, 1]: red, white, blue
    const t = Math.max(-1, Math.min(1, v));
    const [r, g, b] = t >= 0 ? [37, 99, 235] : [220, 38, 38];
    const s = Math.abs(t);
    return [255 + (r - 255) * s, 255 + (g - 255) * s, 255 + (b - 255) * s];
  }

  // ---- what each step shows --------------------------------------------------------------------
  const allX = D.train.X.concat(D.val ? D.val.X : []);
  const PLANE = NIN === 2 ? bounds(allX, 2) : null;
  const LINE = NIN === 1 ? bounds(allX, 1) : null;
  function bounds(X, dims) {
    const lo = [], hi = [];
    for (let d = 0; d < dims; d++) {
      lo.push(Math.min(...X.map((r) => r[d])) - 0.5);
      hi.push(Math.max(...X.map((r) => r[d])) + 0.5);
    }
    return { lo, hi };
  }
  function update(i) {
    // With an optimizer recorded: the update it applied at this step (Adam's, with momentum, clipped).
    // Else with the step's lr: this step's gradient-descent update -lr·grad. Without either the page
    // cannot know the update, only the change from this frame to the next (with every > 1 that is
    // several steps' worth), and says so (updateName).
    if (D.updates) return D.updates[i];
    const lr = D.lr[i];
    if (lr !== null) return D.grads[i].map((g) => (g === null ? null : -lr * g));
    const next = i + 1 < N ? D.weights[i + 1] : D.final_weights;
    return D.weights[i].map((w, p) => (w === null || next[p] === null ? null : next[p] - w));
  }
  function updateName(i) { // what update(i) is, in words
    if (D.updates) return `${D.optimizer}'s update`;
    if (D.lr[i] !== null) return "update −lr·grad";
    if (i + 1 >= N) return "change until the final weights";
    const k = D.steps[i + 1] - D.steps[i];
    return `change until step ${D.steps[i + 1]} (${k} step${k === 1 ? "" : "s"})`;
  }
  const edgeValues = {
    weight: (i) => D.weights[i], grad: (i) => D.grads[i], update: (i) => update(i),
  };
  function modeText(mode, i) { // the network legend's words for what the edges show at frame i
    if (mode === "weight") return { pos: "weight > 0", neg: "weight < 0", what: "weight", scale: "whole run" };
    if (mode === "grad") return { pos: "gradient > 0 (descent lowers the weight)", neg: "gradient < 0 (descent raises it)", what: "gradient", scale: "this step" };
    if (D.updates) return { pos: `${D.optimizer}'s update > 0 (raises the weight)`, neg: `${D.optimizer}'s update < 0 (lowers it)`, what: `${D.optimizer}'s update`, scale: "this step" };
    if (D.lr[i] !== null) return { pos: "−lr·grad > 0 (descent raises the weight)", neg: "−lr·grad < 0 (descent lowers it)", what: "−lr·grad", scale: "this step" };
    const until = i + 1 < N ? `by step ${D.steps[i + 1]}` : "by the final weights";
    return { pos: `weight went up ${until}`, neg: `weight went down ${until}`, what: "change", scale: "this frame" };
  }
  const maxAbs = (xs) => xs.reduce((m, v) => (v !== null && isFinite(v) ? Math.max(m, Math.abs(v)) : m), 0);
  const WEIGHT_SCALE = maxAbs(D.weights.flat());

  const gridCache = new Map();
  function grids(i) { // the model over the input plane at step i: outputs (fine grid) and units (coarse)
    if (gridCache.has(i)) return gridCache.get(i);
    const W = D.weights[i].map((w) => (w === null ? NaN : w));
    let result = null;
    if (PLANE) {
      const fine = 84, coarse = 30, out = [], units = [];
      for (let r = 0; r < fine; r++) for (let c = 0; c < fine; c++) out.push(forward(W, planePoint(c, r, fine)).out);
      for (let r = 0; r < coarse; r++) for (let c = 0; c < coarse; c++) units.push(forward(W, planePoint(c, r, coarse)).units);
      result = { fine, coarse, out, units };
    } else if (LINE) {
      const n = 200, xs = [], out = [];
      for (let k = 0; k < n; k++) {
        const x = LINE.lo[0] + (LINE.hi[0] - LINE.lo[0]) * k / (n - 1);
        xs.push(x); out.push(forward(W, [x]).out);
      }
      result = { xs, out };
    }
    if (gridCache.size > 400) gridCache.clear();
    gridCache.set(i, result);
    return result;
  }
  function planePoint(c, r, n) { // column c, row r (row 0 at the top: largest x1)
    const { lo, hi } = PLANE;
    return [lo[0] + (hi[0] - lo[0]) * (c + 0.5) / n, hi[1] - (hi[1] - lo[1]) * (r + 0.5) / n];
  }

  // ---- state -----------------------------------------------------------------------------------
  const state = { i: 0, mode: "weight", playing: false, speed: 10, selected: null, timer: null, last: 0, carry: 0,
    row: D.example }; // row: the training row whose chain-rule story the details tell (a click on the plane picks it)

  function chooseRow(row) {
    state.row = row;
    document.body.dataset.row = String(row);
    planeLegend(); drawPlane(); drawDetails();
  }

  function setStep(i) {
    state.i = Math.max(0, Math.min(N - 1, i | 0));
    document.body.dataset.step = String(state.i);
    document.body.dataset.stepNumber = String(D.steps[state.i]);
    $("scrubber").value = String(state.i);
    const lr = D.lr[state.i];
    $("step-readout").textContent = `step ${D.steps[state.i]} (${N < RECORDED ? "frame " : ""}${state.i + 1} of ${N}${N < RECORDED ? "" : " recorded"})` +
      (lr !== null ? `, lr ${fmt(lr)}` : "");
    drawPlane(); drawCharts(); drawNetwork(); drawDetails();
  }

  // ---- input plane -----------------------------------------------------------------------------
  function classOf(t) { // a target's colour class
    if (D.task === "classes") return CLASS_COLOURS[t % CLASS_COLOURS.length];
    if (D.task === "sign" || D.task === "binary") return t > 0 ? COLOURS.pos : COLOURS.neg;
    return null;
  }
  function predictedRight(out, t) { // as nn.accuracy, which made the recorded accuracies: NaN is never right
    if (out.some(Number.isNaN)) return D.task === "regression";
    if (D.task === "classes") return out.indexOf(Math.max(...out)) === t;
    if (D.task === "sign" || D.task === "binary") return (out[0] > 0) === (t > 0);
    return true;
  }
  function drawPlane() {
    const canvas = $("boundary"), ctx = canvas.getContext("2d");
    const S = canvas.width;
    ctx.clearRect(0, 0, S, S);
    if (!PLANE && !LINE) {
      ctx.fillStyle = "#6b7280"; ctx.font = "13px system-ui, sans-serif";
      ctx.fillText(`No input-plane picture: the inputs have ${NIN} dimensions.`, 12, 24);
      return;
    }
    const g = grids(state.i), W = D.weights[state.i];
    if (PLANE) drawRegions(ctx, S, g); else drawCurve(ctx, S, g);
    const points = [];
    D.train.X.forEach((x, r) => points.push({ x, t: D.train.y[r], val: false, example: r === state.row }));
    if (D.val) D.val.X.forEach((x, r) => points.push({ x, t: D.val.y[r], val: true, example: false }));
    const Wn = W.map((w) => (w === null ? NaN : w));
    let example = null;
    for (const p of points) {
      const [px, py] = PLANE ? toCanvas(p.x, S) : toLineCanvas(p.x[0], p.t, S);
      const colour = classOf(p.t) || (PLANE ? rgb(diverging(p.t / (g.outScale || 1))) : COLOURS.ink);
      const right = predictedRight(forward(Wn, p.x).out, p.t);
      ctx.beginPath(); ctx.arc(px, py, 4, 0, 2 * Math.PI);
      if (p.val) { ctx.fillStyle = "#fff"; ctx.fill(); ctx.lineWidth = 2; ctx.strokeStyle = colour; ctx.stroke(); }
      else { ctx.fillStyle = colour; ctx.fill(); ctx.lineWidth = 1; ctx.strokeStyle = "#fff"; ctx.stroke(); }
      if (!right) { ctx.beginPath(); ctx.arc(px, py, 6.5, 0, 2 * Math.PI); ctx.lineWidth = 1.5; ctx.strokeStyle = COLOURS.ink; ctx.stroke(); }
      if (p.example) example = [px, py];
    }
    if (example) { // on top of every point
      const [px, py] = example;
      ctx.lineWidth = 2; ctx.strokeStyle = COLOURS.ink;
      ctx.beginPath(); ctx.moveTo(px - 14, py); ctx.lineTo(px - 7, py); ctx.moveTo(px + 7, py); ctx.lineTo(px + 14, py);
      ctx.moveTo(px, py - 14); ctx.lineTo(px, py - 7); ctx.moveTo(px, py + 7); ctx.lineTo(px, py + 14); ctx.stroke();
      ctx.font = "bold 11px system-ui, sans-serif"; ctx.fillStyle = COLOURS.ink; ctx.lineWidth = 3; ctx.strokeStyle = "#fff";
      const tx = Math.min(px + 10, S - 48), ty = py > 24 ? py - 10 : py + 24;
      ctx.strokeText(`row ${state.row}`, tx, ty); ctx.fillText(`row ${state.row}`, tx, ty);
    }
  }
  const rgb = ([r, g, b], a = 1) => `rgba(${r | 0},${g | 0},${b | 0},${a})`;
  function toCanvas(x, S) {
    const { lo, hi } = PLANE;
    return [(x[0] - lo[0]) / (hi[0] - lo[0]) * S, (hi[1] - x[1]) / (hi[1] - lo[1]) * S];
  }
  function drawRegions(ctx, S, g) {
    const n = g.fine, img = ctx.createImageData(n, n);
    let scale = 0;
    for (const o of g.out) for (const v of o) if (isFinite(v)) scale = Math.max(scale, Math.abs(v));
    g.outScale = scale;
    for (let k = 0; k < n * n; k++) {
      const o = g.out[k];
      let c;
      if (D.task === "classes") {
        const best = o.indexOf(Math.max(...o)); // -1 where a logit is NaN: no class, grey
        c = best < 0 ? [229, 231, 235] : hexToRgb(CLASS_COLOURS[best % CLASS_COLOURS.length]).map((v) => 255 + (v - 255) * 0.35);
      } else if (D.task === "regression") {
        c = diverging(scale ? o[0] / scale : 0).map((v) => 255 + (v - 255) * 0.8);
      } else {
        const s = scale ? Math.min(1, Math.abs(o[0]) / scale) : 0;
        c = diverging((o[0] > 0 ? 1 : -1) * (0.18 + 0.4 * s));
      }
      img.data.set([c[0], c[1], c[2], 255], 4 * k);
    }
    const off = document.createElement("canvas");
    off.width = off.height = n;
    off.getContext("2d").putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(off, 0, 0, S, S);
    if (D.task !== "regression") drawBoundary(ctx, S, g);
  }
  function hexToRgb(h) { return [1, 3, 5].map((k) => parseInt(h.slice(k, k + 2), 16)); }
  function drawBoundary(ctx, S, g) { // where the predicted class changes
    const n = g.fine, cell = S / n;
    ctx.strokeStyle = COLOURS.ink; ctx.lineWidth = 1.6; ctx.lineJoin = "round"; ctx.beginPath();
    if (D.task === "classes") { // between grid cells whose largest logit differs
      const label = (k) => { const o = g.out[k]; return o.indexOf(Math.max(...o)); };
      for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) {
        const k = r * n + c;
        if (c + 1 < n && label(k) !== label(k + 1)) { ctx.moveTo((c + 1) * cell, r * cell); ctx.lineTo((c + 1) * cell, (r + 1) * cell); }
        if (r + 1 < n && label(k) !== label(k + n)) { ctx.moveTo(c * cell, (r + 1) * cell); ctx.lineTo((c + 1) * cell, (r + 1) * cell); }
      }
    } else { // marching squares on the score at level 0, between the centres of the grid cells
      const v = (r, c) => g.out[r * n + c][0];
      const at = (r1, c1, r2, c2) => { // where the score crosses 0 between two neighbouring centres
        const a = v(r1, c1), b = v(r2, c2), t = a / (a - b);
        return [(c1 + 0.5 + t * (c2 - c1)) * cell, (r1 + 0.5 + t * (r2 - r1)) * cell];
      };
      for (let r = 0; r + 1 < n; r++) for (let c = 0; c + 1 < n; c++) {
        const corners = [[r, c], [r, c + 1], [r + 1, c + 1], [r + 1, c]];
        const points = [];
        for (let e = 0; e < 4; e++) {
          const [r1, c1] = corners[e], [r2, c2] = corners[(e + 1) % 4];
          if ((v(r1, c1) > 0) !== (v(r2, c2) > 0)) points.push(at(r1, c1, r2, c2));
        }
        for (let q = 0; q + 1 < points.length; q += 2) { // 2 crossings: one segment; 4 (a saddle): two
          ctx.moveTo(points[q][0], points[q][1]); ctx.lineTo(points[q + 1][0], points[q + 1][1]);
        }
      }
    }
    ctx.stroke();
  }
  function lineRange() {
    const ys = D.train.y.concat(D.val ? D.val.y : []);
    let lo = Math.min(...ys), hi = Math.max(...ys);
    const pad = (hi - lo) * 0.25 || 1;
    return [lo - pad, hi + pad];
  }
  const LINE_Y = LINE ? lineRange() : null;
  function toLineCanvas(x, y, S) {
    const [ylo, yhi] = LINE_Y;
    return [(x - LINE.lo[0]) / (LINE.hi[0] - LINE.lo[0]) * S, (yhi - y) / (yhi - ylo) * S];
  }
  function drawCurve(ctx, S, g) {
    ctx.strokeStyle = COLOURS.line || "#e5e7eb"; ctx.lineWidth = 1;
    const [, y0] = toLineCanvas(LINE.lo[0], 0, S);
    ctx.beginPath(); ctx.moveTo(0, y0); ctx.lineTo(S, y0); ctx.stroke();
    ctx.strokeStyle = COLOURS.ink; ctx.lineWidth = 2; ctx.beginPath();
    g.xs.forEach((x, k) => { const [px, py] = toLineCanvas(x, g.out[k][0], S); if (k) ctx.lineTo(px, py); else ctx.moveTo(px, py); });
    ctx.stroke();
  }
  function planeLegend() {
    const L = $("plane-legend");
    L.innerHTML = "";
    const item = (html) => { const s = el("span", { cls: "item" }, L); s.innerHTML = html; };
    if (PLANE) {
      $("plane-title").textContent = D.task === "regression" ? "Model output over the input plane" : "Decision boundary";
      if (D.task === "sign" || D.task === "binary") {
        const [a, b] = D.task === "sign" ? ["+1", "−1"] : ["1", "0"];
        item(`<span class="sw" style="background:#c9d8fa"></span>predicts ${a} (score &gt; 0)`);
        item(`<span class="sw" style="background:#f5c6c6"></span>predicts ${b}`);
        item(`<span class="sw line" style="background:#111827;height:2px"></span>boundary (score = 0)`);
        item(`<span class="sw dot" style="background:${COLOURS.pos}"></span>label ${a}`);
        item(`<span class="sw dot" style="background:${COLOURS.neg}"></span>label ${b}`);
      } else if (D.task === "classes") {
        for (let c = 0; c < NOUT; c++) item(`<span class="sw dot" style="background:${CLASS_COLOURS[c % 8]}"></span>class ${c}`);
        item(`region: the class with the largest logit`);
      } else {
        item(`<span class="sw bar"></span>output (and target): negative, 0, positive`);
      }
    } else if (LINE) {
      $("plane-title").textContent = "Fitted curve";
      item(`<span class="sw line" style="background:#111827"></span>model output over x0`);
    } else {
      $("plane-title").textContent = "Input plane";
    }
    if (PLANE || LINE) {
      item(`<span class="sw dot" style="background:#6b7280"></span>training row`);
      if (D.val) item(`<span class="sw ring"></span>validation row`);
      if (D.task !== "regression") item(`<span class="sw ring" style="border-color:#111827;border-width:1.5px"></span>wrong at this step`);
      item(`✛ row ${state.row}: the chain-rule story's example (click a training row to choose another)`);
    }
  }

  // ---- curves ----------------------------------------------------------------------------------
  function chart(svg, series, opts) {
    const w = +svg.getAttribute("width"), h = +svg.getAttribute("height");
    const m = { l: 48, r: 8, t: 6, b: 16 };
    svg.innerHTML = "";
    const vals = series.flatMap((s) => s.values.filter((v) => v !== null && isFinite(v) && (!opts.log || v > 0)));
    if (!vals.length) { el("text", { x: m.l, y: h / 2, text: "nothing recorded" }, svg, SVG); return; }
    let lo = opts.min !== undefined ? opts.min : Math.min(...vals), hi = opts.max !== undefined ? opts.max : Math.max(...vals);
    const log = opts.log && lo > 0;
    const f = log ? Math.log10 : (v) => v;
    if (f(hi) === f(lo)) hi = log ? hi * 10 : lo + 1;
    const S = CURVES.steps, first = S[0], last = S[POINTS - 1], span = last - first; // x: the step number
    const X = (k) => m.l + (span > 0 ? (S[k] - first) / span : 0.5) * (w - m.l - m.r);
    const Y = (v) => m.t + (1 - (f(v) - f(lo)) / (f(hi) - f(lo))) * (h - m.t - m.b);
    for (const v of [lo, hi]) {
      el("line", { x1: m.l, x2: w - m.r, y1: Y(v), y2: Y(v), cls: "grid" }, svg, SVG);
      el("text", { x: m.l - 4, y: Y(v) + 3, "text-anchor": "end", text: opts.percent ? `${Math.round(v * 100)}%` : tick(v) }, svg, SVG);
    }
    el("line", { x1: m.l, x2: m.l, y1: m.t, y2: h - m.b, cls: "axis" }, svg, SVG);
    el("text", { x: m.l, y: h - 3, text: `step ${S[0]}` }, svg, SVG);
    el("text", { x: w - m.r, y: h - 3, "text-anchor": "end", text: `${last}` }, svg, SVG);
    if (log) el("text", { x: 10, y: (m.t + h - m.b) / 2, "text-anchor": "middle", cls: "axis-name",
      transform: `rotate(-90 10 ${(m.t + h - m.b) / 2})`, text: "log scale" }, svg, SVG);
    for (const s of series) {
      let d = "", pen = false;
      s.values.forEach((v, k) => {
        if (v === null || !isFinite(v) || (log && v <= 0)) { pen = false; return; }
        d += `${pen ? "L" : "M"}${X(k).toFixed(1)},${Y(Math.min(hi, Math.max(lo, v))).toFixed(1)}`;
        pen = true;
      });
      el("path", { d, fill: "none", stroke: s.colour, "stroke-width": s.width || 1.6, "stroke-dasharray": s.dash || "none" }, svg, SVG);
    }
    const x = X(D.frames[state.i]);
    el("line", { x1: x, x2: x, y1: m.t, y2: h - m.b, cls: "marker" }, svg, SVG);
    for (const s of series) {
      const v = s.values[D.frames[state.i]];
      if (v !== null && isFinite(v) && !(log && v <= 0)) el("circle", { cx: x, cy: Y(v), r: 3, fill: s.colour, cls: "marker-dot" }, svg, SVG);
    }
  }
  function chartLegend(id, series, percent) {
    const L = $(id);
    L.innerHTML = "";
    for (const s of series) {
      const v = s.values[D.frames[state.i]];
      const item = el("span", { cls: "item" }, L);
      item.innerHTML = `<span class="sw line" style="background:${s.colour}${s.dash ? ";opacity:.6" : ""}"></span>`;
      item.appendChild(document.createTextNode(`${s.label} ${v === null ? "–" : percent ? `${(v * 100).toFixed(0)}%` : fmt(v)}`));
    }
  }
  function drawCharts() {
    const C = CURVES; // every recorded step
    // one loss per chart: the curves of loss_fn, and what was passed to record() only if it is that loss too
    const loss = D.loss_mismatch ? [{ values: C.loss, colour: "#6b7280", width: 1.6, label: "loss passed to record()" }]
      : [{ values: C.train_loss, colour: COLOURS.pos, label: `training ${D.loss_fn}` }];
    if (D.val && !D.loss_mismatch) loss.push({ values: C.val_loss, colour: COLOURS.val, label: "validation" });
    if (!D.loss_mismatch) loss.push({ values: C.loss, colour: "#6b7280", dash: "4 3", width: 1.2, label: "passed to record()" });
    chart($("loss-chart"), loss, { log: true });
    chartLegend("loss-legend", loss, false);
    if (D.loss_mismatch) {
      const note = el("span", { cls: "item muted" }, $("loss-legend"));
      note.dataset.field = "loss-mismatch";
      note.textContent = `not ${D.loss_fn} (inferred from the targets): pass loss_fn= to nn.Recorder for its curves`;
      note.title = `over the run ${D.loss_fn} has median ${fmt(D.loss_mismatch[1])}, the loss you recorded ` +
        `${fmt(D.loss_mismatch[0])}: two different losses, so only yours is drawn`;
    }
    const acc = [];
    if (C.train_accuracy.some((v) => v !== null)) acc.push({ values: C.train_accuracy, colour: COLOURS.pos, label: "training" });
    if (D.val && C.val_accuracy.some((v) => v !== null)) acc.push({ values: C.val_accuracy, colour: COLOURS.val, label: "validation" });
    if (acc.length) { chart($("acc-chart"), acc, { min: 0, max: 1, percent: true }); chartLegend("acc-legend", acc, true); }
    else { $("acc-chart").innerHTML = ""; el("text", { x: 40, y: 60, text: "no accuracy for a regression" }, $("acc-chart"), SVG); }
  }

  // ---- network ---------------------------------------------------------------------------------
  const net = { built: false };
  function buildNetwork() {
    const box = $("network"), svg = $("edges");
    const W = box.clientWidth, H = box.clientHeight;
    svg.setAttribute("width", W); svg.setAttribute("height", H);
    const columns = [NIN].concat(D.layers.map((l) => l.neurons.length));
    const C = columns.length, tallest = Math.max(...columns);
    // squares fit the height and leave the edges between columns at least 2.5 squares of room
    const margin = Math.max(14, Math.min(56, Math.round(W * 0.05)));
    const sizeFor = (top) => Math.max(14, Math.min(46, Math.floor((H - top - 12) / tallest) - 8,
      Math.floor((W - 2 * margin) / (1 + 2.5 * (C - 1)))));
    let size = sizeFor(28);
    const xOf = (c) => margin + (W - 2 * margin - size) * c / Math.max(1, C - 1);
    box.querySelectorAll(".unit, .column-title, .unit-name").forEach((e) => e.remove());
    svg.innerHTML = "";
    // column titles: each at most as wide as the distance between columns (wrapping if it must), kept
    // inside the panel; the tallest one decides where the squares start
    const pitch = C > 1 ? (W - 2 * margin - size) / (C - 1) : W;
    const titles = ["inputs"].concat(D.layers.map((l, li) => `${l.name} · ${l.activation}${li === D.layers.length - 1 ? " (output)" : ""}`));
    let titleBottom = 0;
    titles.forEach((t, c) => {
      const div = el("div", { cls: "column-title", text: t, style: `top:6px;max-width:${Math.max(40, pitch - 10)}px` }, box);
      const tw = div.offsetWidth;
      div.style.left = `${Math.max(2, Math.min(W - 2 - tw, xOf(c) + size / 2 - tw / 2))}px`;
      titleBottom = Math.max(titleBottom, 6 + div.offsetHeight);
    });
    const top = Math.max(28, titleBottom + 8);
    size = Math.min(size, sizeFor(top));
    const avail = H - top - 12;
    const gap = Math.min(size + 14, (avail - size) / Math.max(1, tallest - 1));
    const yOf = (c, r) => top + (avail - size - gap * (columns[c] - 1)) / 2 + gap * r;
    net.pos = (c, r) => ({ x: xOf(c), y: yOf(c, r), size });
    net.edges = [];
    UNITS.forEach((u, ui) => u.w.forEach((p, k) => {
      const a = net.pos(u.col - 1, k), b = net.pos(u.col, u.row);
      const coords = { x1: a.x + size + 1, y1: a.y + size / 2, x2: b.x - 1, y2: b.y + size / 2 };
      const hit = el("line", Object.assign({ cls: "hit", "data-param": p }, coords), svg, SVG);
      const line = el("line", Object.assign({ cls: "edge", "data-param": p }, coords), svg, SVG);
      el("title", { text: D.params[p] }, hit, SVG);
      hit.addEventListener("click", () => select({ kind: "weight", p }));
      hit.addEventListener("mouseenter", () => line.classList.add("hover"));
      hit.addEventListener("mouseleave", () => line.classList.remove("hover"));
      net.edges.push({ p, line, coords });
    }));
    // the selected edge, drawn again on top of all the others with its highlight, so thick edges never hide it
    net.halo = el("line", { cls: "selected-halo", x1: 0, y1: 0, x2: 0, y2: 0, "stroke-width": 0 }, svg, SVG);
    net.selected = el("line", { cls: "edge selected-edge", x1: 0, y1: 0, x2: 0, y2: 0, "stroke-width": 0 }, svg, SVG);
    net.units = [];
    const addUnit = (c, r, cls, name, onClick) => {
      const { x, y } = net.pos(c, r);
      const div = el("div", { cls: `unit ${cls}`, title: name, style: `left:${x}px;top:${y}px;width:${size}px;height:${size}px` }, box);
      const canvas = el("canvas", { width: 30, height: 30 }, div);
      const badge = el("span", { cls: "badge" }, div);
      badge.hidden = true;
      div.addEventListener("click", onClick);
      if (size >= 20) el("span", { cls: "unit-name", text: name.replace(/^.*\./, "") }, div);
      return { div, canvas, badge };
    };
    net.inputs = D.inputs.map((name, k) => addUnit(0, k, "input", name, () => select({ kind: "input", k })));
    UNITS.forEach((u, ui) => net.units.push(addUnit(u.col, u.row, "", u.name, () => select({ kind: "unit", u: ui }))));
    net.built = true;
    net.size = { W, H };
  }
  function drawNetwork() {
    const box = $("network");
    const values = edgeValues[state.mode](state.i);
    const scale = state.mode === "weight" ? WEIGHT_SCALE : maxAbs(values);
    netLegend(scale); // first: its height decides the network's
    if (!net.built || net.size.W !== box.clientWidth || net.size.H !== box.clientHeight) buildNetwork();
    for (const e of net.edges) {
      const v = values[e.p];
      const width = v === null || !scale ? 0.5 : 0.4 + 5.6 * Math.min(1, Math.abs(v) / scale);
      e.line.setAttribute("stroke", signColour(v));
      e.line.setAttribute("stroke-width", width.toFixed(2));
    }
    const sel = state.selected && state.selected.kind === "weight" ? net.edges.find((e) => e.p === state.selected.p) : null;
    for (const [k, v] of Object.entries(sel ? sel.coords : { x1: 0, y1: 0, x2: 0, y2: 0 })) {
      net.halo.setAttribute(k, v); net.selected.setAttribute(k, v);
    }
    const width = sel ? Number(sel.line.getAttribute("stroke-width")) : 0;
    net.halo.setAttribute("stroke-width", sel ? (width + 5).toFixed(2) : 0); // a ring of 2.5 px: the edge keeps its own width
    net.selected.setAttribute("stroke", sel ? sel.line.getAttribute("stroke") : "none");
    net.selected.setAttribute("stroke-width", sel ? width.toFixed(2) : 0);
    // heatmaps: what each unit responds to over the input plane
    const g = PLANE ? grids(state.i) : null;
    const units = D.units[state.i];
    const stateIdx = D.unit_fields.indexOf("state");
    UNITS.forEach((u, ui) => {
      const { div, canvas, badge } = net.units[ui];
      const s = units[ui][stateIdx];
      div.classList.toggle("dead", s === "dead");
      div.classList.toggle("saturated", s === "saturated");
      div.classList.toggle("selected", !!state.selected && state.selected.kind === "unit" && state.selected.u === ui);
      badge.hidden = !s;
      badge.textContent = s === "dead" ? "dead" : "sat";
      if (g) heatmap(canvas, g.coarse, (k) => g.units[k][ui]); else canvas.getContext("2d").clearRect(0, 0, 30, 30);
    });
    net.inputs.forEach(({ div, canvas }, k) => {
      div.classList.toggle("selected", !!state.selected && state.selected.kind === "input" && state.selected.k === k);
      if (g) heatmap(canvas, g.coarse, (q) => { const [x0, x1] = planePoint(q % g.coarse, Math.floor(q / g.coarse), g.coarse); return k ? x1 : x0; });
    });
  }
  function heatmap(canvas, n, value) {
    canvas.width = canvas.height = n;
    const ctx = canvas.getContext("2d"), img = ctx.createImageData(n, n);
    let scale = 0;
    for (let k = 0; k < n * n; k++) { const v = value(k); if (isFinite(v)) scale = Math.max(scale, Math.abs(v)); }
    for (let k = 0; k < n * n; k++) {
      const c = diverging(scale ? value(k) / scale : 0);
      img.data.set([c[0], c[1], c[2], 255], 4 * k);
    }
    ctx.putImageData(img, 0, 0);
  }
  function netLegend(scale) {
    const L = $("net-legend"), t = modeText(state.mode, state.i);
    L.innerHTML = "";
    const item = (html) => { const s = el("span", { cls: "item" }, L); s.innerHTML = html; };
    item(`<b>edges:</b>`);
    item(`<span class="sw line" style="background:${COLOURS.pos}"></span>${t.pos}`);
    item(`<span class="sw line" style="background:${COLOURS.neg}"></span>${t.neg}`);
    item(`<span class="sw line" style="background:#6b7280;height:1px"></span>→<span class="sw line" style="background:#6b7280;height:6px"></span>width: |${t.what}| up to ${fmt(scale)} (largest, ${t.scale})`);
    if (PLANE) item(`<b>squares:</b> <span class="sw bar"></span> a unit's output over the input plane: negative, 0, positive (each scaled to its own largest)`);
    for (const a of new Set(UNITS.map((u) => u.activation))) { // keys only for the activations in use
      const spec = D.activations[a];
      if (spec && spec.stuck) item(`<span class="sw ${spec.stuck}"></span>${spec.stuck}: ${escapeText(spec.stuck_text)}`);
    }
    item(`<span class="sw selected"></span>selected`);
    item(`<span class="muted">click an edge or a square for its numbers</span>`);
  }

  // ---- details: a weight, a neuron, an input --------------------------------------------------
  function select(s) { state.selected = s; drawNetwork(); drawDetails(); }
  let measurer = null;
  function textWidth(text, px) { // how wide the page's font draws text at px pixels
    measurer = measurer || document.createElement("canvas").getContext("2d");
    measurer.font = `${px}px ${getComputedStyle(document.body).fontFamily}`;
    return measurer.measureText(text).width;
  }
  function sparkRange(values) {
    const vals = values.filter((v) => v !== null && isFinite(v));
    const lo = Math.min(0, ...vals), hi = Math.max(0, ...vals);
    return [lo, hi === lo ? lo + 1 : hi];
  }
  function sparkLeft(values) { // room for a spark's axis labels
    return 8 + Math.max(...sparkRange(values).map((v) => textWidth(fmt(v, 3), 9)));
  }
  function spark(values, colour, label, left = sparkLeft(values)) {
    // a small chart as wide as the details panel, with room for its axis labels and caption; sparks
    // stacked with the same left give the same step the same x
    const w = Math.max(200, Math.min(340, $("details").clientWidth)), h = 72;
    const svg = el("svg", { cls: "spark", width: w, height: h, viewBox: `0 0 ${w} ${h}` }, null, SVG);
    const [lo, hi] = sparkRange(values);
    const m = { l: left, r: 6, t: 6, b: 16 };
    const X = (k) => m.l + (N > 1 ? k / (N - 1) : 0.5) * (w - m.l - m.r);
    const Y = (v) => m.t + (1 - (v - lo) / (hi - lo)) * (h - m.t - m.b);
    el("line", { x1: m.l, x2: w - m.r, y1: Y(0), y2: Y(0), stroke: "#d1d5db" }, svg, SVG);
    el("text", { x: m.l - 3, y: Y(hi) + 4, "text-anchor": "end", "font-size": 9, fill: "#6b7280", text: fmt(hi, 3) }, svg, SVG);
    el("text", { x: m.l - 3, y: Y(lo), "text-anchor": "end", "font-size": 9, fill: "#6b7280", text: fmt(lo, 3) }, svg, SVG);
    el("text", { x: w - m.r, y: h - 4, "text-anchor": "end", "font-size": 9, fill: "#6b7280", text: label }, svg, SVG);
    let d = "";
    values.forEach((v, k) => { if (v !== null && isFinite(v)) d += `${d ? "L" : "M"}${X(k).toFixed(1)},${Y(v).toFixed(1)}`; });
    el("path", { d, fill: "none", stroke: colour, "stroke-width": 1.5 }, svg, SVG);
    el("line", { x1: X(state.i), x2: X(state.i), y1: m.t, y2: h - m.b, cls: "marker", stroke: "#111827", "stroke-dasharray": "3 2" }, svg, SVG);
    return svg;
  }
  function unitName(c, k) { return c === 0 ? D.inputs[k] : D.layers[c - 1].neurons[k].name; }

  // ---- the chain-rule story of one row ---------------------------------------------------------
  // Its structure comes from Python once (D.story: the model's graph for one row and trace.paths'
  // paths through it); the page evaluates it at the chosen row and frame with the op table.
  const argValue = (vals, a) => (typeof a === "number" ? vals[a] : a.const === null ? NaN : a.const);
  const rowCache = new Map();
  function rowValues(i, row) { // every node of the row's graph at frame i (its forward pass)
    const key = `${i} ${row}`;
    if (!rowCache.has(key)) {
      const W = D.weights[i], x = D.train.X[row], vals = new Float64Array(NODES.length);
      NODES.forEach((node, n) => {
        vals[n] = "param" in node ? (W[node.param] === null ? NaN : W[node.param]) : "input" in node ? x[node.input]
          : OPS.forward(node.op, node.args.map((a) => argValue(vals, a)));
      });
      if (rowCache.size > 64) rowCache.clear();
      rowCache.set(key, vals);
    }
    return rowCache.get(key);
  }
  function local(vals, n, k) { // the local derivative of node n's op with respect to its operand k
    const node = NODES[n];
    return OPS.partials(node.op, node.args.map((a) => argValue(vals, a)), vals[n])[k];
  }
  function factorOf(n, k) { // what that local derivative is, in the page's words: {kind, what, unit}
    const node = NODES[n], parent = node.args[k], other = node.args[1 - k];
    const mine = UNIT_OF.get(n), from = UNIT_OF.get(parent), via = UNIT_OF.get(other);
    const leaf = (a) => (typeof a === "number" && !NODES[a].op ? NODES[a] : {});
    if (mine !== undefined && k === 0 && node.op === D.activations[UNITS[mine].activation].op)
      return { kind: "slope", unit: mine, what: `d${UNITS[mine].name}/dz (${node.op}′)` };
    if (from !== undefined) return { kind: "weight", what: `dz/d${UNITS[from].name} = ${D.params[leaf(other).param]}` };
    if ("param" in leaf(parent)) {
      if (node.op === "add") return { kind: "bias", what: "d(w·x+b)/db = 1" };
      return via !== undefined ? { kind: "input", unit: via, what: `d(w·x+b)/dw = output of ${UNITS[via].name}` }
        : { kind: "input", what: `d(w·x+b)/dw = ${D.inputs[leaf(other).input]}` };
    }
    return { kind: "other", what: `d(${node.op})/d(operand ${k})` };
  }
  function unitOnRow(i, row, u) { // [output, d output / dz] of neuron u on a row at frame i
    const vals = rowValues(i, row), n = STORY.units[u];
    return [vals[n], D.activations[UNITS[u].activation].op ? local(vals, n, 0) : 1];
  }
  const pairs = (flat, from) => { const out = []; for (let j = from; j < flat.length; j += 2) out.push([flat[j], flat[j + 1]]); return out; };

  function paths(p, i, row = state.row) {
    // Every path from the row's loss down to parameter p at frame i, with the local derivatives along
    // it from the loss downwards: the chain rule as a sum over paths, trace.paths' paths of the
    // model's graph (a neuron's additions, local derivative 1, left out). The first factor,
    // dℓ/d(output), is the engine's, recorded for every row; the others are the op table's.
    const unit = OWNER[p].unit, vals = rowValues(i, row), dl = D.row_dloss[i][row], tail = pairs(STORY.below[p], 0);
    const out = STORY.above[unit].map((q) => {
      const top = UNITS.length - NOUT + q[0], edges = pairs(q, 1).concat(tail);
      const about = [{ kind: "loss", what: `dℓ/d${UNITS[top].name} (${D.loss_fn})` }].concat(edges.map(([n, k]) => factorOf(n, k)));
      const factors = [dl[q[0]] === null ? NaN : dl[q[0]]].concat(edges.map(([n, k]) => local(vals, n, k)));
      const units = edges.map(([n, k]) => UNIT_OF.get(NODES[n].args[k])).filter((u) => u !== undefined);
      return { nodes: ["ℓ", UNITS[top].name].concat(units.map((u) => UNITS[u].name), [D.params[p]]),
        factors, about, names: about.map((f) => f.what), product: factors.reduce((a, v) => a * v, 1) };
    });
    return { paths: out, total: out.reduce((a, q) => a + q.product, 0), truncated: STORY.truncated[unit] };
  }

  function zeroSum(r, dl) { // why a sum over paths is exactly 0, in words (null when it is not)
    if (r.total !== 0 || !r.paths.length) return null;
    if (dl.every((v) => v === 0)) {
      const margin = D.loss_fn === "hinge_loss" ? " (hinge_loss: the row is on the right side with margin, " +
        "target × score ≥ 1, where the loss is flat)" : " (the loss is flat there)";
      return `The sum is 0 because dℓ/d(output) is 0 on this row${margin}: every path starts with a factor 0. ` +
        "Other rows still give this weight a gradient.";
    }
    const flat = new Set(), off = new Set(), other = new Set();
    for (const q of r.paths) {
      const k = q.factors.findIndex((v) => v === 0);
      if (k < 0) return null; // the products cancel out instead
      const f = q.about[k];
      if (f.kind === "slope") flat.add(f.unit); else if (f.unit !== undefined) off.add(f.unit); else other.add(f.what);
    }
    const parts = [], names = (us) => us.map((u) => UNITS[u].name).join(", ");
    const off0 = [...flat].filter((u) => D.activations[UNITS[u].activation].stuck === "dead"), level = [...flat].filter((u) => !off0.includes(u));
    if (off0.length) parts.push(`${names(off0)} ${off0.length === 1 ? "has" : "have"} slope 0 on this row (${UNITS[off0[0]].activation} ` +
      "with its input ≤ 0 here: off, so no gradient passes through)");
    if (level.length) parts.push(`${names(level)} ${level.length === 1 ? "has" : "have"} slope 0 on this row (the activation is flat at this row's input)`);
    for (const u of off) parts.push(`${UNITS[u].name}'s output, which this weight multiplies, is 0 on this row (a unit that is off here)`);
    for (const what of other) parts.push(`a factor ${what} is 0`);
    return `The sum is 0 because every path crosses a factor 0: ${parts.join("; ")}.`;
  }

  function drawDetails() {
    const box = $("details");
    box.innerHTML = "";
    const s = state.selected, i = state.i;
    if (!s) {
      box.innerHTML = `<h3>What am I looking at?</h3>
        <p class="note">A recording of <b>${escapeText(D.model)}</b> learning: ${N < RECORDED ? `${N} evenly spaced frames of the ${RECORDED} recorded steps`
          : "one frame per recorded step"} (recorded every ${D.every}). The left shows what the whole network computes, the middle every neuron and weight,
        this panel the numbers behind what you click.</p>
        <ul class="note"><li><b>Click an edge</b> (a weight): its value and gradient over the run, and how the chain rule made its gradient.</li>
        <li><b>Click a square</b> (a neuron): its activation statistics.</li></ul>
        <p class="note"><kbd>←</kbd> <kbd>→</kbd> one step, <kbd>PgUp</kbd> <kbd>PgDn</kbd> or <kbd>Shift</kbd>+arrows ten,
        <kbd>Home</kbd> <kbd>End</kbd> first and last, <kbd>space</kbd> play / pause.</p>`;
      return;
    }
    if (s.kind === "weight") return weightDetails(box, s.p, i);
    if (s.kind === "unit") return unitDetails(box, s.u, i);
    const k = s.k;
    el("h3", { text: `input ${D.inputs[k]}` }, box);
    el("p", { cls: "note", text: `The ${k === 0 ? "first" : "second"} coordinate of each data row; its square shows ${D.inputs[k]} itself over the input plane.` }, box);
  }
  function escapeText(t) { const d = document.createElement("div"); d.textContent = t; return d.innerHTML; }
  function row(table, cells, cls) {
    const tr = el("tr", cls ? { cls } : {}, table);
    cells.forEach(([text, c]) => el("td", Object.assign({ text }, c ? { cls: c } : {}), tr));
    return tr;
  }
  function weightDetails(box, p, i) {
    const { unit, input } = OWNER[p], u = UNITS[unit];
    el("h3", { text: D.params[p] }, box);
    el("p", { cls: "note", text: input < 0 ? `the bias of ${u.name}` : u.layer === 0 ? `the weight on input ${D.inputs[input]}, into ${u.name}`
      : `the weight on ${unitName(u.layer, input)}'s output, into ${u.name}` }, box);
    const lr = D.lr[i];
    el("p", { cls: "note", text: `at step ${D.steps[i]}` + (lr !== null ? `, with lr ${+lr.toPrecision(6)}:` : ":") }, box);
    const t = el("table", { cls: "numbers" }, box);
    row(t, [["value"], [precise(D.weights[i][p]), "num"]]).dataset.field = "value";
    row(t, [["gradient"], [precise(D.grads[i][p]), "num"]]).dataset.field = "grad";
    const upd = row(t, [[updateName(i)], [precise(update(i)[p]), "num"]]);
    upd.dataset.field = "update";
    upd.title = D.updates ? `what ${D.optimizer}'s step() changed this weight by at this step (its momentum, moving averages and any clipping included)`
      : lr !== null ? "what w ← w − lr·grad changes at this step" : "the recorder got no lr, so the page shows the change to the next recorded frame, not one step's update";
    const values = D.weights.map((w) => w[p]), grads = D.grads.map((g) => g[p]);
    const left = Math.max(sparkLeft(values), sparkLeft(grads));
    box.appendChild(spark(values, COLOURS.pos, "value over the run", left));
    box.appendChild(spark(grads, COLOURS.val, "gradient over the run", left));
    const x = D.train.X[state.row], y = D.train.y[state.row];
    const story = el("div", { cls: "story" }, box);
    el("h3", { text: "How the chain rule made this gradient" }, story);
    el("p", { cls: "note", text: `For training row ${state.row} alone (x = (${x.map((v) => fmt(v, 3)).join(", ")}), target ${fmt(y)}): ` +
      `ℓ = ${D.loss_fn}(model(x), target)${LOSS_NOTE}. Each path from ℓ down to ${D.params[p]} multiplies the local derivatives along it; ` +
      `the paths add up to dℓ/d${D.params[p]}. A factor 0 (red) blocks its path.` }, story);
    const r = paths(p, i);
    const sum = el("table", { cls: "sum" }, story);
    row(sum, [[`sum over ${r.paths.length} path${r.paths.length === 1 ? "" : "s"}${r.truncated ? ` (stopped at ${STORY.max_paths}: partial)` : ""}` +
      ` = dℓ/d${D.params[p]}`], [precise(r.total), "num"]]).dataset.field = "story-sum";
    el("p", { cls: "note", text: "Factors from the top: dℓ/d(output); then for each neuron on the way down, the weight " +
      "that carries its output up and the slope of its activation; last, what the weight multiplies (an input, a " +
      "neuron's output, or 1 for a bias). Each is an op's local derivative at this row, on the paths trace.paths " +
      "finds in the model's graph." }, story);
    const wrap = el("div", { cls: "paths" }, story);
    const table = el("table", {}, wrap);
    const head = el("tr", {}, table);
    el("th", { text: "path from ℓ down, and its local derivatives (hover one: what it is)" }, head);
    el("th", { text: "product", cls: "num" }, head);
    r.paths.slice(0, 200).forEach((q) => {
      const tr = el("tr", { cls: "path-row" }, table);
      const cell = el("td", {}, tr);
      el("div", { cls: "path", text: q.nodes.slice(0, -1).concat([q.nodes[q.nodes.length - 1].replace(/^.*\./, "")]).join(" ← ") }, cell);
      const f = el("div", { cls: "factors" }, cell);
      q.factors.forEach((v, k) => {
        if (k) f.appendChild(document.createTextNode(" × "));
        el("span", Object.assign({ text: fmt(v, 3), title: q.names[k] }, v === 0 ? { cls: "zero" } : {}), f);
      });
      el("td", { cls: "num", text: fmt(q.product, 4) }, tr);
    });
    if (r.paths.length > 200) row(table, [[`… and ${r.paths.length - 200} more paths`], [""]]);
    const dl = D.row_dloss[i][state.row];
    const why = zeroSum(r, dl);
    if (why) el("p", { cls: "note", text: why }, story).dataset.field = "zero-why";
    const g = D.grads[i][p];
    if (r.total !== 0 && g !== null && g !== 0 && Math.sign(g) !== Math.sign(r.total))
      el("p", { cls: "note", text: `This row pulls ${D.params[p]} the other way from the recorded gradient (${fmt(r.total)} here, ` +
        `${fmt(g)} recorded): the recorded one adds up every row of the batch (a mean divides by their number), ` +
        `and the other rows outweigh this one. Gradient descent follows the sum.` }, story).dataset.field = "sign-why";
    el("p", { cls: "note", text: `The recorded gradient, ${precise(D.grads[i][p])}, is of the loss you passed to record(): ` +
      `it adds such sums over all its rows (a mean divides by their number), plus any extra terms such as weight decay.` }, story);
  }
  function unitDetails(box, ui, i) {
    const u = UNITS[ui], f = D.unit_fields, st = D.units[i][ui];
    const get = (name) => st[f.indexOf(name)];
    el("h3", { text: `${u.name} (${u.activation})` }, box);
    el("p", { cls: "note", text: `layer ${D.layers[u.layer].name}, ${u.w.length} weights and a bias. Its output on the ${D.train.X.length} training rows at step ${D.steps[i]}:` }, box);
    const t = el("table", {}, box);
    row(t, [["mean"], [fmt(get("mean")), "num"]]).dataset.field = "mean";
    row(t, [["min"], [fmt(get("min")), "num"]]);
    row(t, [["max"], [fmt(get("max")), "num"]]);
    row(t, [["rows with output > 0"], [get("active") === null ? "–" : `${(100 * get("active")).toFixed(0)}%`, "num"]]).dataset.field = "active";
    row(t, [["state (nn.health's rules)"], [get("state") || "healthy", "num"]]).dataset.field = "state";
    const ex = unitOnRow(i, state.row, ui);
    row(t, [[`on row ${state.row}: output`], [fmt(ex[0]), "num"]]);
    row(t, [[`on row ${state.row}: d output / dz`], [fmt(ex[1]), "num"]]);
    const active = D.units.map((s) => s[ui][f.indexOf("active")]), mean = D.units.map((s) => s[ui][f.indexOf("mean")]);
    const left = Math.max(sparkLeft(active), sparkLeft(mean));
    box.appendChild(spark(active, COLOURS.pos, "fraction of rows with output > 0", left));
    box.appendChild(spark(mean, COLOURS.val, "mean output", left));
    const b = el("p", { cls: "note" }, box);
    b.appendChild(document.createTextNode(`bias ${fmt(D.weights[i][u.b])}, gradient ${fmt(D.grads[i][u.b])}: `));
    const a = el("a", { cls: "link", text: "its story" }, b);
    a.addEventListener("click", () => select({ kind: "weight", p: u.b }));
  }

  // ---- controls --------------------------------------------------------------------------------
  function play(on) {
    state.playing = on;
    $("play").innerHTML = on ? "&#10074;&#10074; pause" : "&#9654; play";
    if (on) {
      if (state.i >= N - 1) setStep(0);
      state.last = performance.now(); state.carry = 0;
      const tick = (now) => {
        if (!state.playing) return;
        state.carry += (now - state.last) / 1000 * state.speed;
        state.last = now;
        if (state.carry >= 1) {
          const k = Math.floor(state.carry);
          state.carry -= k;
          setStep(state.i + k);
          if (state.i >= N - 1) { play(false); return; }
        }
        state.timer = requestAnimationFrame(tick);
      };
      state.timer = requestAnimationFrame(tick);
    } else if (state.timer) cancelAnimationFrame(state.timer);
  }
  function init() {
    $("model").textContent = $("model").title = `${D.model} · ${LOSS_NAME} · ${RECORDED} recorded steps`;
    $("restored").hidden = D.restored_to === null;
    if (D.restored_to !== null)
      $("restored").textContent = `The model was restored to step ${D.steps[D.restored_to]}: it holds that step's weights, not the last step's.`;
    const thinned = $("thinned");
    thinned.hidden = N === RECORDED;
    thinned.textContent = `This long run is shown in ${N} evenly spaced frames of its ${RECORDED} recorded steps ` +
      `(the first, the last and the lowest ${D.val ? "validation" : "training"} loss among them) to keep the page ` +
      `small; the curves have ${POINTS === RECORDED ? "every step" : `${POINTS} evenly spaced steps`}.`;
    const scrub = $("scrubber");
    scrub.max = String(N - 1);
    scrub.addEventListener("input", () => setStep(+scrub.value));
    $("play").addEventListener("click", () => play(!state.playing));
    $("speed").addEventListener("change", (e) => { state.speed = +e.target.value; });
    document.querySelectorAll('input[name="mode"]').forEach((r) => r.addEventListener("change", () => {
      state.mode = r.value; drawNetwork();
    }));
    document.addEventListener("keydown", (e) => {
      const tag = e.target.tagName;
      if (tag === "SELECT" || (tag === "INPUT" && e.target.type === "range")) return; // they handle their own keys
      const jump = e.shiftKey ? 10 : 1;
      const moves = { ArrowRight: jump, ArrowLeft: -jump, PageDown: 10, PageUp: -10 };
      if (e.key in moves) setStep(state.i + moves[e.key]);
      else if (e.key === "Home") setStep(0);
      else if (e.key === "End") setStep(N - 1);
      else if (e.key === " " && tag !== "BUTTON") play(!state.playing);
      else return;
      e.preventDefault();
    });
    window.addEventListener("resize", () => drawNetwork());
    planeLegend();
    $("boundary").addEventListener("click", (e) => { // the nearest training row within 12 pixels tells the story
      if (!PLANE && !LINE) return;
      const c = $("boundary"), r = c.getBoundingClientRect(), k = c.width / r.width;
      const cx = (e.clientX - r.left) * k, cy = (e.clientY - r.top) * k;
      let best = -1, dist = 12 * k;
      D.train.X.forEach((x, row) => {
        const [px, py] = PLANE ? toCanvas(x, c.width) : toLineCanvas(x[0], D.train.y[row], c.width);
        const d = Math.hypot(px - cx, py - cy);
        if (d < dist) { dist = d; best = row; }
      });
      if (best >= 0) chooseRow(best);
    });
    $("boundary").style.cursor = "pointer";
    document.body.dataset.row = String(state.row);
    setStep(0);
  }
  // for tests and the console: the page's own forward pass and paths, and a way to move
  window.replay = {
    data: D, forward: (i, x) => forward(D.weights[i].map((w) => (w === null ? NaN : w)), x), predictedRight, paths,
    setStep, select: (s) => select(s), chooseRow, unitOnRow, state,
  };
  init();
})();
