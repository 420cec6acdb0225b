// chainrule's op table in the browser: the built-in ops' forms (autograd/ops.py, Op.forms, one
// block per op in autograd/rules.py) evaluated offline, with the engine's conventions and errors,
// and numbers printed as Python prints them. Shared by the pages that recompute (the stepper page
// when a learner edits an input; any page that needs an op's value or derivative).
//
// Entry point:
//   const ops = ChainruleOps.table(json);   // json: autograd.ops.page_ops(keys), key -> forms
//   ops.has("tanh")                          // whether the page can compute op "tanh"
//   ops.forward("log", [x])                  // a number, or throws ChainruleOps.OpError whose
//                                            // .type ("ValueError") and .message read as the engine's
//   ops.partials("tanh", [x], out)           // [d out / d x] (one number per input, the rule's)
//   ChainruleOps.fmt(x), ChainruleOps.repr(x), ChainruleOps.erf(x), ChainruleOps.erfc(x)
//
// The language (a subset of Python expressions, so a form reads as Python would compute it):
//   variables x, y (the inputs) and out (the op's output, in derivatives); numbers (2, 0.5, 1e-3);
//   the constants pi, inf, nan; + - * / ** (Python's precedence; / and ** never raise: 1 / 0 = inf,
//   0 / 0 = nan, and ** is the engine's `power`: 0 ** -1 = inf, an overflow is +-inf, a negative
//   base with a fractional exponent is nan, 1 ** nan = 1); comparisons < <= > >= == != (false with
//   nan, as in Python); and, or, not; `a if condition else b`; and the functions exp, log, log1p,
//   sqrt, abs, tanh, sin, cos, erf, erfc (log(0) = -inf, log and sqrt of a negative are nan, as
//   IEEE), isfinite(t) and isint(t) (a finite whole number).
(function (root) {
  "use strict";

  class OpError extends Error {
    constructor(type, message) { super(message); this.name = type; this.type = type; }
  }

  // ------------------------------------------------------------------ numbers
  function power(a, b) { // the engine's rules.power: Python's ** with IEEE results where Python raises
    if (a === 1 || b === 0) return 1;
    if (a === 0 && b < 0) return Infinity; // Python raises ZeroDivisionError; the rules take inf
    if (a === -1 && Math.abs(b) === Infinity) return 1;
    return Math.pow(a, b); // JavaScript's pow is C's elsewhere (nan for a negative base, fractional b)
  }

  const SQRT_PI = Math.sqrt(Math.PI);
  function expMinusSquare(x) { // exp(-x * x) without the rounding of x * x: x = hi + lo, hi * hi exact
    const hi = Math.round(x * 65536) / 65536, lo = x - hi;
    return Math.exp(-hi * hi) * Math.exp(-(2 * hi + lo) * lo);
  }
  function erfSmall(x) { // |x| < 1: 2 / sqrt(pi) * exp(-x^2) * sum (2x^2)^n x / (2n + 1)!!, all terms positive
    const z = 2 * x * x;
    let term = x, sum = x;
    for (let n = 1; Math.abs(term) > 1e-17 * Math.abs(sum); n++) { term *= z / (2 * n + 1); sum += term; }
    return 2 / SQRT_PI * expMinusSquare(x) * sum;
  }
  function erfcLarge(x) { // x >= 1: the continued fraction 2x / (2x^2 + 1 - 1*2 / (2x^2 + 5 - 3*4 / ...))
    if (x > 28) return 0; // below the smallest subnormal
    const z = 2 * x * x;
    let t = z + 401;
    for (let k = 100; k > 0; k--) t = z + (4 * k - 3) - (2 * k - 1) * (2 * k) / t;
    return expMinusSquare(x) / SQRT_PI * (2 * x / t);
  }
  /** The error function, within a few ulps of Python's math.erf (tests/test_ops.py checks 1e-13 relative). */
  function erf(x) {
    if (Number.isNaN(x)) return NaN;
    if (Math.abs(x) < 1) return erfSmall(x);
    if (Math.abs(x) === Infinity) return Math.sign(x);
    return x > 0 ? 1 - erfcLarge(x) : erfcLarge(-x) - 1;
  }
  /** 1 - erf(x), accurate where erf(x) is close to 1 (down to the subnormals near x = 27). */
  function erfc(x) {
    if (Number.isNaN(x)) return NaN;
    if (Math.abs(x) < 1) return 1 - erfSmall(x);
    if (Math.abs(x) === Infinity) return x > 0 ? 0 : 2;
    return x > 0 ? erfcLarge(x) : 2 - erfcLarge(-x);
  }

  /** A float as Python's repr prints it: 2.0, -0.5, 1e-05, 1e+16, inf, nan. */
  function repr(x) {
    if (Number.isNaN(x)) return "nan";
    if (Math.abs(x) === Infinity) return x > 0 ? "inf" : "-inf";
    if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
    const [m, e] = x.toExponential().split("e"); // the shortest digits that give x back, as Python's
    const exp = Number(e), sign = x < 0 ? "-" : "", digits = m.replace("-", "").replace(".", "");
    if (exp < -4 || exp >= 16) {
      const mant = digits.length > 1 ? digits[0] + "." + digits.slice(1) : digits;
      return `${sign}${mant}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
    }
    if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
    return `${sign}${digits.slice(0, exp + 1).padEnd(exp + 1, "0")}.${digits.slice(exp + 1) || "0"}`;
  }

  // toFixed and toExponential round a tie away from zero, Python's format to even: a tie is exact
  // only for a number with few binary digits, whose exact decimal digits toFixed(100) gives.
  function tieToEven(a, digits, keep) { // digits: a's exact significant digits; keep: how many to keep
    return /^50*$/.test(digits.slice(keep)) && Number(digits[keep - 1]) % 2 === 0;
  }
  /** A number as the pictures and pages print it (autograd.ops.fmt): 4 decimals, or 4 significant
   *  digits in e-notation; -0.0 prints as 0.0000. */
  function fmt(x) {
    x = x + 0;
    if (Number.isNaN(x)) return "nan";
    if (Math.abs(x) === Infinity) return x > 0 ? "inf" : "-inf";
    const a = Math.abs(x), sign = x < 0 ? "-" : "";
    if (x === 0 || (a >= 1e-4 && a < 1e6)) {
      const exact = a.toFixed(100), dot = exact.indexOf(".");
      if (tieToEven(a, exact.slice(dot + 1), 4)) return sign + exact.slice(0, dot + 5);
      return x.toFixed(4);
    }
    let [m, e] = x.toExponential(4).split("e");
    if (a >= 1e6 && a < 1e21) {
      const digits = a.toFixed(100).replace(".", "").replace(/^0+/, "");
      if (tieToEven(a, digits, 5)) { m = `${sign}${digits[0]}.${digits.slice(1, 5)}`; e = "+" + (a.toFixed(0).length - 1); }
    }
    return `${m}e${e[0]}${e.slice(1).padStart(2, "0")}`;
  }

  // ------------------------------------------------------------------ the language
  const FUNCTIONS = {
    exp: Math.exp, log: Math.log, log1p: Math.log1p, sqrt: Math.sqrt, abs: Math.abs, tanh: Math.tanh,
    sin: Math.sin, cos: Math.cos, erf, erfc,
    isfinite: (t) => Number.isFinite(t), isint: (t) => Number.isInteger(t),
  };
  const CONSTANTS = { pi: Math.PI, inf: Infinity, nan: NaN };
  const VARIABLES = ["x", "y", "out"];
  const TOKEN = /\s*(?:(\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|([A-Za-z_]\w*)|(\*\*|==|!=|<=|>=|[-+*\/<>(),]))/y;
  const COMPARE = { "<": (a, b) => a < b, "<=": (a, b) => a <= b, ">": (a, b) => a > b, ">=": (a, b) => a >= b,
    "==": (a, b) => a === b, "!=": (a, b) => a !== b };
  const ARITH = { "+": (a, b) => a + b, "-": (a, b) => a - b, "*": (a, b) => a * b, "/": (a, b) => a / b };

  /** The form `text` as a function of {x, y, out}; a SyntaxError naming `where` if it is not one. */
  function compile(text, where) {
    const tokens = [];
    TOKEN.lastIndex = 0;
    while (TOKEN.lastIndex < text.length && text.slice(TOKEN.lastIndex).trim()) {
      const at = TOKEN.lastIndex, m = TOKEN.exec(text);
      if (!m) throw new SyntaxError(`${where}: cannot read '${text.slice(at)}' in '${text}'`);
      tokens.push(m[1] !== undefined ? { num: Number(m[1]) } : { word: m[2] || m[3] });
    }
    let i = 0;
    const peek = () => tokens[i] && tokens[i].word;
    const fail = (what) => { throw new SyntaxError(`${where}: ${what} in '${text}'`); };
    const take = (w) => { if (peek() !== w) fail(`expected '${w}'`); i++; };
    function expr() {
      const a = orTest();
      if (peek() !== "if") return a;
      i++;
      const c = orTest();
      take("else");
      const b = expr();
      return (v) => (c(v) ? a(v) : b(v));
    }
    function orTest() {
      let a = andTest();
      while (peek() === "or") { i++; const l = a, r = andTest(); a = (v) => l(v) || r(v); }
      return a;
    }
    function andTest() {
      let a = notTest();
      while (peek() === "and") { i++; const l = a, r = notTest(); a = (v) => l(v) && r(v); }
      return a;
    }
    function notTest() {
      if (peek() === "not") { i++; const a = notTest(); return (v) => !a(v); }
      const a = arith();
      const op = COMPARE[peek()];
      if (!op) return a;
      i++;
      const b = arith();
      if (COMPARE[peek()]) fail("a chain of comparisons");
      return (v) => op(a(v), b(v));
    }
    function binary(next, ops) {
      return () => {
        let a = next();
        while (ops.includes(peek())) { const f = ARITH[tokens[i++].word], l = a, r = next(); a = (v) => f(l(v), r(v)); }
        return a;
      };
    }
    const term = binary(factor, ["*", "/"]);
    const arith = binary(term, ["+", "-"]);
    function factor() {
      if (peek() === "-") { i++; const a = factor(); return (v) => -a(v); }
      if (peek() === "+") { i++; return factor(); }
      const a = atom();
      if (peek() !== "**") return a;
      i++;
      const b = factor();
      return (v) => power(a(v), b(v));
    }
    function atom() {
      const t = tokens[i++];
      if (!t) fail("unexpected end");
      if (t.num !== undefined) return () => t.num;
      if (t.word === "(") { const a = expr(); take(")"); return a; }
      const name = t.word;
      if (peek() === "(") {
        const f = FUNCTIONS[name];
        if (!f) fail(`unknown function '${name}'`);
        i++;
        const arg = expr();
        take(")");
        return (v) => f(arg(v));
      }
      if (name in CONSTANTS) return () => CONSTANTS[name];
      if (VARIABLES.includes(name)) return (v) => v[name];
      return fail(`unknown name '${name}'`);
    }
    const f = expr();
    if (i < tokens.length) fail(`unexpected '${tokens[i].word}'`);
    return f;
  }

  /** The ops of `json` (key -> {arity, forward, partials, errors}: autograd.ops.page_ops) compiled once. */
  function table(json) {
    const ops = {};
    for (const [key, spec] of Object.entries(json)) {
      ops[key] = {
        arity: spec.arity,
        forward: compile(spec.forward, `${key} forward`),
        partials: spec.partials.map((p, k) => compile(p, `${key} d/d${"xy"[k]}`)),
        errors: spec.errors.map(([cond, type, message]) => [compile(cond, `${key} domain`), type, message]),
      };
    }
    const get = (key) => {
      if (!(key in ops)) throw new Error(`ChainruleOps: no forms for op '${key}'`);
      return ops[key];
    };
    const vars = (xs, out) => ({ x: xs[0], y: xs[1], out });
    return {
      has: (key) => key in ops,
      forward(key, xs) {
        const op = get(key), v = vars(xs);
        for (const [cond, type, message] of op.errors) {
          if (cond(v)) throw new OpError(type, message.replace(/\{([xy])\}/g, (_, n) => repr(v[n])));
        }
        return op.forward(v);
      },
      partials: (key, xs, out) => get(key).partials.map((p) => p(vars(xs, out))),
    };
  }

  root.ChainruleOps = { table, compile, OpError, erf, erfc, repr, fmt, power };
})(typeof self !== "undefined" ? self : this);
