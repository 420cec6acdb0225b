"""Optimizers, learning-rate schedules and gradient clipping, with PyTorch's names, defaults and semantics.

Each optimizer's arithmetic is one module-level function on plain floats (``sgd_update``,
``adam_update``, ``adamw_update``, ``rmsprop_update``), pure like the rules in ``autograd.rules``: it
gets one parameter's value, gradient and state and returns the new value and state. Its docstring
is the formula, and a breakpoint on it stops at every parameter's update. The classes keep the
state (shown under ``torch.optim``'s names) and call the function once per parameter, in one loop
per parameter group with the group's hyperparameters read once, so that call is most of a step's cost::

    opt = nn.optim.Adam(model.parameters(), lr=0.01)
    for step in range(100):
        loss = ...
        opt.zero_grad()
        loss.backward()
        opt.step()

The hand-written update ``p.data -= lr * p.grad`` is ``SGD(params, lr)``.
"""

from __future__ import annotations

import math
import numbers
import reprlib

from autograd import Value, enable_grad

__all__ = ["sgd_update", "adam_update", "adamw_update", "rmsprop_update", "Optimizer", "SGD", "Adam",
           "AdamW", "RMSprop", "LRScheduler", "StepLR", "CosineAnnealingLR", "LinearLR", "clip_grad_norm"]


# ---- the update rules: one parameter, plain floats, new value and state returned ----

def sgd_update(w: float, g: float, buf: float | None, lr: float, momentum: float = 0.0, dampening: float = 0.0,
               nesterov: bool = False, weight_decay: float = 0.0) -> tuple:
    """g += weight_decay * w;  buf = g on the first step, else momentum * buf + (1 - dampening) * g;
    w -= lr * (g + momentum * buf if nesterov else buf); without momentum w -= lr * g. Returns (w, buf)."""
    if weight_decay:
        g = g + weight_decay * w
    if momentum:
        buf = g if buf is None else momentum * buf + (1 - dampening) * g
        g = g + momentum * buf if nesterov else buf
    return w - lr * g, buf


def adam_update(w: float, g: float, m: float, v: float, v_max: float, t: int, lr: float, beta1: float, beta2: float,
                eps: float, weight_decay: float = 0.0, amsgrad: bool = False) -> tuple:
    """At step t = 1, 2, ...: g += weight_decay * w;  m = beta1 * m + (1 - beta1) * g;
    v = beta2 * v + (1 - beta2) * g * g;  v_max = max(v_max, v), used for v below when amsgrad;
    w -= lr * (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + eps). Returns (w, m, v, v_max)."""
    if weight_decay:
        g = g + weight_decay * w
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    if amsgrad:
        v_max = v if v > v_max else v_max  # written out: max() would drop a NaN in v
    m_hat = m / (1 - beta1 ** t)  # m and v start at 0: dividing by 1 - beta**t undoes that bias
    v_hat = (v_max if amsgrad else v) / (1 - beta2 ** t)
    return w - lr * m_hat / (math.sqrt(v_hat) + eps), m, v, v_max


def adamw_update(w: float, g: float, m: float, v: float, v_max: float, t: int, lr: float, beta1: float, beta2: float,
                 eps: float, weight_decay: float = 1e-2, amsgrad: bool = False) -> tuple:
    """w *= 1 - lr * weight_decay (decoupled: the decay never enters m or v), then
    adam_update(w, g, ...) without weight decay. Returns (w, m, v, v_max)."""
    return adam_update(w * (1 - lr * weight_decay), g, m, v, v_max, t, lr, beta1, beta2, eps, 0.0, amsgrad)


def rmsprop_update(w: float, g: float, square_avg: float, grad_avg: float, buf: float, lr: float, alpha: float,
                   eps: float, weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False) -> tuple:
    """g += weight_decay * w;  square_avg = alpha * square_avg + (1 - alpha) * g * g;  centered:
    grad_avg = alpha * grad_avg + (1 - alpha) * g and square_avg - grad_avg**2 is used for square_avg;
    d = g / (sqrt(square_avg) + eps)  (eps outside the root);  with momentum buf = momentum * buf + d
    and w -= lr * buf, else w -= lr * d. Returns (w, square_avg, grad_avg, buf)."""
    if weight_decay:
        g = g + weight_decay * w
    square_avg = alpha * square_avg + (1 - alpha) * g * g
    mean_square = square_avg
    if centered:
        grad_avg = alpha * grad_avg + (1 - alpha) * g
        # a variance, never below 0; rounding can make it -1e-20, whose root would be an error
        mean_square = square_avg - grad_avg * grad_avg
        mean_square = 0.0 if mean_square < 0 else mean_square
    d = g / (math.sqrt(mean_square) + eps)
    if momentum:
        buf = momentum * buf + d
        d = buf
    return w - lr * d, square_avg, grad_avg, buf


# ---- argument checks: every error names the optimizer and the argument ----

def _number(x, where: str, name: str, low: float = 0.0, high: float = math.inf, high_open: bool = False) -> float:
    """``x`` as a float if it is a real number in [low, high] ([low, high) with ``high_open``), else ValueError."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or isinstance(x, Value):
        raise TypeError(f"{where}: {name} must be a number, got {type(x).__name__} {reprlib.repr(x)}")
    x = float(x)
    inside = low <= x < high if high_open else low <= x <= high
    if not inside or math.isnan(x):
        span = f"in [{low:g}, {high:g}{')' if high_open else ']'}" if high != math.inf else f">= {low:g}"
        raise ValueError(f"{where}: {name} must be a number {span}, got {x!r}")
    return x


def _flag(x, where: str, name: str) -> bool:
    if not isinstance(x, bool):
        raise TypeError(f"{where}: {name} must be True or False, got {reprlib.repr(x)}")
    return x


def _betas(x, where: str) -> tuple:
    if isinstance(x, (str, bytes)) or not hasattr(x, "__len__") or len(x) != 2:
        raise ValueError(f"{where}: betas must be a pair (beta1, beta2), each in [0, 1), got {reprlib.repr(x)}")
    return tuple(_number(b, where, f"betas[{i}]", 0.0, 1.0, high_open=True) for i, b in enumerate(x))


def _param_list(params, where: str, name: str = "params") -> list:
    """The Values in ``params``, checked: leaves, each once; TypeError/ValueError naming the offender."""
    if isinstance(params, Value):
        raise TypeError(f"{where}: {name} must be a list of Values such as model.parameters(), got one Value; "
                        "put it in a list")
    if isinstance(params, (str, bytes, dict)) or not hasattr(params, "__iter__"):
        raise TypeError(f"{where}: {name} must be a list of Values such as model.parameters(), "
                        f"got {type(params).__name__} {reprlib.repr(params)}")
    items = list(params)
    for i, p in enumerate(items):
        if not isinstance(p, Value):
            raise TypeError(f"{where}: {name}[{i}] must be a Value, got {type(p).__name__} {reprlib.repr(p)}")
        if p.op:
            raise ValueError(f"{where}: {name}[{i}] ({p!r}) is not a leaf: it was computed by {p.op!r}, so "
                             "setting its data would change nothing; optimize the leaves it came from "
                             "(model.parameters())")
    return items


class Optimizer:
    """What every optimizer shares: ``param_groups``, per-parameter ``state``, ``step()``, ``zero_grad()``,
    ``state_dict()`` and ``load_state_dict()``, as ``torch.optim.Optimizer``.

    ``params`` is a list of leaf Values (``model.parameters()``), or a list of dicts each with its own
    ``"params"`` and any hyperparameter to override (PyTorch's parameter groups)."""

    STATE_KEYS: tuple = ()  # the names of one parameter's state, as torch.optim names them
    FRESH: tuple = ()  # a parameter's state before its first step, in the order of STATE_KEYS

    def __init__(self, params, defaults: dict) -> None:
        self.defaults = defaults
        self.param_groups: list = []
        # The state as parallel lists, per group one list per STATE_KEYS name, one entry per
        # parameter in the order of the group's params (self._order): a step reads and writes
        # list slots, not a dict per parameter. A parameter whose entries are FRESH has no state.
        self._state: list = []
        self._order: list = []
        where = type(self).__name__
        if isinstance(params, (list, tuple)) and params and all(isinstance(g, dict) for g in params):
            groups = list(params)
        else:
            groups = [{"params": _param_list(params, where)}]
        if not groups[0]["params"]:
            raise ValueError(f"{where}: params is empty; pass the parameters to train, such as model.parameters()")
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict) -> None:
        """Add a dict with ``"params"`` (and hyperparameters; the rest from the defaults), checked."""
        where = type(self).__name__
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"{where}: a parameter group must be a dict with 'params', got {reprlib.repr(group)}")
        unknown = sorted(set(group) - set(self.defaults) - {"params", "initial_lr"})
        if unknown:
            raise ValueError(f"{where}: unknown option {unknown[0]!r} in a parameter group; "
                             f"{where} takes {', '.join(self.defaults)}")
        params = group["params"]
        params = _param_list([params] if isinstance(params, Value) else params, where, "group['params']")
        if not params:
            raise ValueError(f"{where}: a parameter group's params is empty")
        seen = {id(q) for g in self.param_groups for q in g["params"]}
        for i, p in enumerate(params):
            if id(p) in seen:
                raise ValueError(f"{where}: params[{i}] ({p!r}) is given twice; each parameter may appear once")
            seen.add(id(p))
        self.param_groups.append({**self.defaults, **group, **self._check(group, where), "params": params})
        self._order.append(list(params))
        self._state.append(self._lists([self.FRESH] * len(params)))

    def _check(self, group: dict, where: str) -> dict:
        """The group's hyperparameters (the defaults filling gaps), checked; raise naming a bad one."""
        raise NotImplementedError

    def _group_step(self, params: list, group: dict, state: tuple) -> tuple:
        """(new values, new state lists) of one group's parameters by this optimizer's update
        function; writes only into copies of the lists, so a failure changes nothing."""
        raise NotImplementedError

    def _shown(self, group: dict) -> tuple:
        """The STATE_KEYS this group's settings use (torch keeps only those)."""
        return self.STATE_KEYS

    def _lists(self, rows: list) -> tuple:
        """Per-parameter state tuples (in STATE_KEYS order) as one list per name."""
        return tuple(list(column) for column in zip(*rows)) if rows else tuple([] for _ in self.STATE_KEYS)

    def _rows(self) -> dict:
        """{parameter: its state tuple} for every parameter that has state."""
        fresh = self.FRESH
        return {p: row for order, lists in zip(self._order, self._state)
                for p, row in zip(order, zip(*lists)) if row != fresh}

    def _aligned(self) -> list:
        """Each group's state lists in the order of its params: realigned by parameter when a list was
        changed by hand (torch keys state by parameter), so a state always follows its parameter."""
        groups = self.param_groups
        if len(groups) != len(self._order) or any(g["params"] != o for g, o in zip(groups, self._order)):
            self._restate(self._rows())
        return self._state

    def _restate(self, rows: dict) -> None:
        """Each group's state lists rebuilt from ``rows`` ({parameter: its state tuple}, FRESH where
        absent), in the order of the group's params now."""
        self._order = [list(g["params"]) for g in self.param_groups]
        self._state = [self._lists([rows.get(p, self.FRESH) for p in order]) for order in self._order]

    def _new_values(self) -> list:
        """Per group: (its params, their new values, the new state lists); changes nothing."""
        return [(g["params"], *self._group_step(g["params"], g, state))
                for g, state in zip(self.param_groups, self._aligned())]

    @property
    def state(self) -> dict:
        """{parameter: {name: number}} for each parameter that has stepped, under torch's names.
        A copy: the optimizer keeps its state in lists; change it with load_state_dict."""
        self._aligned()
        rows, out = self._rows(), {}
        for group, order in zip(self.param_groups, self._order):
            shown = [(name, self.STATE_KEYS.index(name)) for name in self._shown(group)]
            out.update({p: {name: rows[p][i] for name, i in shown} for p in order if p in rows and shown})
        return out

    def step(self, closure=None):
        """Update every parameter once from its ``.grad`` (after ``backward()``); returns ``closure()``'s loss if given."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        new = self._new_values()  # every group computed before any is changed: a failure changes nothing
        for k, (params, values, state) in enumerate(new):
            for p, w in zip(params, values):
                p.data = w
            self._state[k] = state
        return loss

    def updates(self) -> dict:
        """{parameter: the change to its data that ``step()`` would make now}; changes nothing."""
        return {p: w - p.data for params, values, _ in self._new_values() for p, w in zip(params, values)}

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0.0."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = 0.0

    def state_dict(self) -> dict:
        """``{"state": {index: {name: number}}, "param_groups": [{hyperparameters, "params": [indices]}]}``,
        as torch.optim: parameters are numbered in order across the groups; plain data (JSON-able)."""
        index = {}
        groups = []
        for group in self.param_groups:
            ids = [index.setdefault(p, len(index)) for p in group["params"]]
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": ids})
        state = {index[p]: dict(s) for p, s in self.state.items()}
        return {"state": dict(sorted(state.items())), "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Take hyperparameters and state from ``state_dict()`` of an optimizer of the same kind over
        parameters of the same count; on any mismatch raise and change nothing."""
        where = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            raise ValueError(f"{where}: expected a dict with 'state' and 'param_groups' (from state_dict()), "
                             f"got {reprlib.repr(state_dict)}")
        saved, state = state_dict["param_groups"], state_dict["state"]
        sizes = [len(g["params"]) for g in self.param_groups]
        theirs = [len(g["params"]) if isinstance(g, dict) and isinstance(g.get("params"), list) else None
                  for g in saved] if isinstance(saved, list) else saved
        if theirs != sizes:
            raise ValueError(f"{where}: the saved parameter groups have sizes {reprlib.repr(theirs)}, "
                             f"this optimizer's have {sizes}")
        params = [p for g in self.param_groups for p in g["params"]]
        groups = []
        for group, old in zip(saved, self.param_groups):
            missing = [k for k in self.defaults if k not in group]
            if missing:
                raise ValueError(f"{where}: a saved group lacks {missing[0]!r}; is it from another kind of optimizer?")
            groups.append({**group, **self._check(group, where), "params": old["params"]})  # keeps initial_lr
        if not isinstance(state, dict):
            raise ValueError(f"{where}: 'state' must be a dict {{index: {{name: number}}}}, got {reprlib.repr(state)}")
        rows = {}
        for key, s in state.items():
            i = int(key) if isinstance(key, str) and key.isdigit() else key  # JSON turns keys into text
            if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(params):
                raise ValueError(f"{where}: state key {key!r} is not a parameter index 0..{len(params) - 1}")
            if not isinstance(s, dict) or not set(s) <= set(self.STATE_KEYS) or not all(
                    x is None or (isinstance(x, numbers.Real) and not isinstance(x, bool)) for x in s.values()):
                raise ValueError(f"{where}: the state of parameter {key!r} must map names among "
                                 f"{', '.join(self.STATE_KEYS)} to numbers, got {reprlib.repr(s)}")
            rows[params[i]] = tuple(f if s.get(k) is None else s[k] for k, f in zip(self.STATE_KEYS, self.FRESH))
        for group, new in zip(self.param_groups, groups):
            group.clear()
            group.update(new)
        self._restate(rows)

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.param_groups[0].items() if k != "params")
        n = sum(len(g["params"]) for g in self.param_groups)
        return f"{type(self).__name__}({n} parameters, {options})"


class SGD(Optimizer):
    """Gradient descent (``sgd_update``): with momentum, dampening, Nesterov momentum and weight decay.

    ``SGD(params, lr)`` alone is the hand-written update ``p.data -= lr * p.grad``."""

    STATE_KEYS = ("momentum_buffer",)
    FRESH = (None,)  # no buffer: the first step with momentum starts it at the gradient

    def __init__(self, params, lr: float, momentum: float = 0.0, dampening: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov,
                                      weight_decay=weight_decay))

    def _check(self, group: dict, where: str) -> dict:
        g = {**self.defaults, **group}
        out = dict(lr=_number(g["lr"], where, "lr"), momentum=_number(g["momentum"], where, "momentum"),
                   dampening=_number(g["dampening"], where, "dampening"),
                   nesterov=_flag(g["nesterov"], where, "nesterov"),
                   weight_decay=_number(g["weight_decay"], where, "weight_decay"))
        if out["nesterov"] and (out["momentum"] <= 0 or out["dampening"] != 0):
            raise ValueError(f"{where}: nesterov=True needs momentum > 0 and dampening 0, got momentum "
                             f"{out['momentum']!r} and dampening {out['dampening']!r}")
        return out

    def _shown(self, group):
        return self.STATE_KEYS if group["momentum"] else ()

    def _group_step(self, params, group, state):
        update = sgd_update  # looked up at each step, so a patched or wrapped one is used
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        nesterov, weight_decay = group["nesterov"], group["weight_decay"]
        values, bufs = [0.0] * len(params), list(state[0])
        for i, p in enumerate(params):
            values[i], bufs[i] = update(p.data, p.grad, bufs[i], lr, momentum, dampening, nesterov, weight_decay)
        return values, (bufs,)


class Adam(Optimizer):
    """Adam (``adam_update``): moving averages of the gradient and its square, bias-corrected; weight
    decay added to the gradient (L2); ``amsgrad`` divides by the largest second moment so far."""

    STATE_KEYS = ("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    FRESH = (0, 0.0, 0.0, 0.0)
    decoupled = False  # AdamW: weight decay outside the moving averages (adamw_update)

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad))

    def _check(self, group: dict, where: str) -> dict:
        g = {**self.defaults, **group}
        return dict(lr=_number(g["lr"], where, "lr"), betas=_betas(g["betas"], where),
                    eps=_number(g["eps"], where, "eps"), weight_decay=_number(g["weight_decay"], where, "weight_decay"),
                    amsgrad=_flag(g["amsgrad"], where, "amsgrad"))

    def _shown(self, group):
        return self.STATE_KEYS if group["amsgrad"] else self.STATE_KEYS[:3]

    def _group_step(self, params, group, state):
        update = adamw_update if self.decoupled else adam_update  # looked up now, so a patched one is used
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        weight_decay, amsgrad = group["weight_decay"], group["amsgrad"]
        values = [0.0] * len(params)
        steps, ms, vs, v_maxs = (list(column) for column in state)
        for i, p in enumerate(params):
            t = steps[i] = steps[i] + 1
            values[i], ms[i], vs[i], v_maxs[i] = update(p.data, p.grad, ms[i], vs[i], v_maxs[i], t, lr, beta1,
                                                        beta2, eps, weight_decay, amsgrad)
        return values, (steps, ms, vs, v_maxs)


class AdamW(Adam):
    """Adam with decoupled weight decay (``adamw_update``): the weights shrink by lr * weight_decay
    each step, outside the moving averages (Loshchilov and Hutter)."""

    decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)


class RMSprop(Optimizer):
    """RMSprop (``rmsprop_update``): divide the gradient by the root of a moving average of its square;
    ``centered`` subtracts the squared moving average of the gradient first (a variance)."""

    STATE_KEYS = ("step", "square_avg", "grad_avg", "momentum_buffer")
    FRESH = (0, 0.0, 0.0, 0.0)

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False) -> None:
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))

    def _check(self, group: dict, where: str) -> dict:
        g = {**self.defaults, **group}
        return dict(lr=_number(g["lr"], where, "lr"), alpha=_number(g["alpha"], where, "alpha", 0.0, 1.0),
                    eps=_number(g["eps"], where, "eps"), weight_decay=_number(g["weight_decay"], where, "weight_decay"),
                    momentum=_number(g["momentum"], where, "momentum"), centered=_flag(g["centered"], where, "centered"))

    def _shown(self, group):
        return ("step", "square_avg") + ("grad_avg",) * group["centered"] + ("momentum_buffer",) * bool(group["momentum"])

    def _group_step(self, params, group, state):
        update = rmsprop_update  # looked up at each step, so a patched or wrapped one is used
        lr, alpha, eps, weight_decay = group["lr"], group["alpha"], group["eps"], group["weight_decay"]
        momentum, centered = group["momentum"], group["centered"]
        values = [0.0] * len(params)
        steps, squares, means, bufs = (list(column) for column in state)
        for i, p in enumerate(params):
            steps[i] += 1
            values[i], squares[i], means[i], bufs[i] = update(p.data, p.grad, squares[i], means[i], bufs[i], lr, alpha,
                                                              eps, weight_decay, momentum, centered)
        return values, (steps, squares, means, bufs)


# ---- learning-rate schedules: torch.optim.lr_scheduler's recursive forms, so the rates agree ----

class LRScheduler:
    """What every schedule shares: it sets each group's ``"lr"`` when made and at each ``step()``
    (call it after ``optimizer.step()``); ``get_last_lr()`` is the list of rates it set last."""

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: optimizer must be an nn.optim optimizer, "
                            f"got {type(optimizer).__name__} {reprlib.repr(optimizer)}")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = -1
        self._last_lr: list = []
        self._first = True  # the step made by the constructor (torch's "initial step")
        self.step()
        self._first = False

    def _next(self, lr: float, base_lr: float) -> float:
        """The group's rate after this step (``self.last_epoch`` already counts it)."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance the schedule by one step and set the new rate in every parameter group."""
        self.last_epoch += 1
        for group, base_lr in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = self._next(group["lr"], base_lr)
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list:
        """The rate of each parameter group as this schedule last set it."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """Everything but the optimizer, as torch: plain data."""
        return {k: (list(v) if isinstance(v, list) else v) for k, v in vars(self).items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        """Continue from ``state_dict()`` of a schedule of the same kind and settings."""
        own = self.state_dict()
        if not isinstance(state_dict, dict) or set(state_dict) != set(own):
            raise ValueError(f"{type(self).__name__}.load_state_dict: expected the keys {sorted(own)} "
                             f"(from state_dict()), got {reprlib.repr(state_dict)}")
        self.__dict__.update({k: (list(v) if isinstance(v, list) else v) for k, v in state_dict.items()})


def _count(x, where: str, name: str) -> int:
    if isinstance(x, bool) or not isinstance(x, numbers.Integral) or x < 1:
        raise ValueError(f"{where}: {name} must be a positive int, got {reprlib.repr(x)}")
    return int(x)


class StepLR(LRScheduler):
    """Multiply the rate by ``gamma`` every ``step_size`` steps."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = _count(step_size, "StepLR", "step_size")
        self.gamma = _number(gamma, "StepLR", "gamma")
        super().__init__(optimizer)

    def _next(self, lr, base_lr):
        if self.last_epoch == 0 or self.last_epoch % self.step_size:
            return lr
        return lr * self.gamma


class CosineAnnealingLR(LRScheduler):
    """From the initial rate down to ``eta_min`` along half a cosine over ``T_max`` steps:
    eta_min + (base - eta_min) * (1 + cos(pi * step / T_max)) / 2 (then back up, as torch)."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        self.T_max = _count(T_max, "CosineAnnealingLR", "T_max")
        self.eta_min = _number(eta_min, "CosineAnnealingLR", "eta_min")
        super().__init__(optimizer)

    def _next(self, lr, base_lr):
        # torch's recursive form (each rate from the last), kept so the rates agree to the last digit
        e, T, low = self.last_epoch, self.T_max, self.eta_min
        if self._first:
            return lr
        if (e - 1 - T) % (2 * T) == 0:  # the bottom of the cosine, where the ratio below would divide by 0
            return lr + (base_lr - low) * (1 - math.cos(math.pi / T)) / 2
        return (1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T)) * (lr - low) + low


class LinearLR(LRScheduler):
    """Scale the rate linearly from ``start_factor`` to ``end_factor`` times the initial rate over
    ``total_iters`` steps, then keep it."""

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5) -> None:
        self.start_factor = _number(start_factor, "LinearLR", "start_factor", 0.0, 1.0)
        if self.start_factor == 0:
            raise ValueError("LinearLR: start_factor must be in (0, 1], got 0.0")
        self.end_factor = _number(end_factor, "LinearLR", "end_factor", 0.0, 1.0)
        self.total_iters = _count(total_iters, "LinearLR", "total_iters")
        super().__init__(optimizer)

    def _next(self, lr, base_lr):
        e, start, end = self.last_epoch, self.start_factor, self.end_factor
        if e == 0:
            return lr * start
        if e > self.total_iters:
            return lr
        return lr * (1.0 + (end - start) / (self.total_iters * start + (e - 1) * (end - start)))


# ---- gradient clipping ----

def _total_norm(grads: list, p: float) -> float:
    """The p-norm of the gradients (p = inf: the largest |g|), without overflow for huge finite ones."""
    if any(math.isnan(g) for g in grads):
        return math.nan
    sizes = [abs(g) for g in grads]
    top = max(sizes, default=0.0)
    if p == math.inf or top in (0.0, math.inf):
        return top
    if p == 2:
        return math.hypot(*sizes)
    return top * sum((s / top) ** p for s in sizes) ** (1 / p)  # scaled by the largest: no overflow


def clip_grad_norm(params, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False) -> float:
    """Scale every gradient by max_norm / (total norm + 1e-6) when that is below 1, as PyTorch's
    ``clip_grad_norm_``; returns the total norm before clipping (``norm_type`` inf: the largest |grad|).

    A NaN gradient makes the total NaN and every gradient NaN; an infinite one makes it inf, the
    finite gradients 0 and the infinite ones NaN (``error_if_nonfinite=True`` raises instead, changing
    nothing). Unlike torch, huge finite gradients (1e200) give their true norm, not inf."""
    where = "clip_grad_norm"
    params = [params] if isinstance(params, Value) else _param_list(params, where)
    max_norm = _number(max_norm, where, "max_norm")
    if norm_type == "inf":
        norm_type = math.inf
    norm_type = _number(norm_type, where, "norm_type")
    if norm_type == 0:
        raise ValueError(f"{where}: norm_type must be a number > 0 or inf, got 0.0")
    total = _total_norm([p.grad for p in params], norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"{where}: the total norm of order {norm_type} of the gradients is {total}, "
                           "so they cannot be clipped; error_if_nonfinite=False would scale them anyway")
    coef = max_norm / (total + 1e-6)
    if not coef >= 1.0:  # NaN too: then every gradient becomes NaN, as in torch
        for p in params:
            p.grad = p.grad * coef
    return total
