"""nn.optim: the update functions on hand-computed numbers, the optimizers' state and errors,
schedules, clip_grad_norm; and (with torch installed) 100 steps of every optimizer against torch.optim."""

import json
import math

import pytest

import nn
from autograd import Value
from nn.data import make_moons
from nn.optim import adam_update, adamw_update, rmsprop_update, sgd_update

NAN, INF = math.nan, math.inf


# ---- the update functions, by hand ----

def test_sgd_update_by_hand():
    """Plain, weight-decayed, momentum (first step: the buffer is the gradient), dampened and Nesterov steps
    give the numbers worked out by hand."""
    assert sgd_update(1.0, 0.5, None, lr=0.1) == (0.95, None)
    assert sgd_update(2.0, 0.5, None, lr=0.1, weight_decay=0.25) == (2.0 - 0.1 * (0.5 + 0.5), None)
    assert sgd_update(1.0, 0.5, None, lr=0.1, momentum=0.9, dampening=0.5) == (0.95, 0.5)  # no dampening at first
    w, buf = sgd_update(0.95, 0.5, 0.5, lr=0.1, momentum=0.9, dampening=0.5)
    assert buf == 0.9 * 0.5 + 0.5 * 0.5 and w == 0.95 - 0.1 * buf
    w, buf = sgd_update(1.0, 0.5, 0.5, lr=0.1, momentum=0.9, nesterov=True)
    assert buf == 0.9 * 0.5 + 0.5 and w == 1.0 - 0.1 * (0.5 + 0.9 * buf)


def test_adam_update_by_hand():
    """Adam's first step moves by lr * g / (|g| + eps) (bias correction undoes the zero start); the second
    step's moments follow the moving averages; AMSGrad keeps the largest second moment."""
    w, m, v, v_max = adam_update(1.0, 2.0, 0.0, 0.0, 0.0, 1, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8)
    assert math.isclose(w, 1.0 - 0.1 * 2.0 / (2.0 + 1e-8), rel_tol=1e-15)
    assert math.isclose(m, 0.2, rel_tol=1e-15) and math.isclose(v, 0.004, rel_tol=1e-12) and v_max == 0.0
    w2, m2, v2, _ = adam_update(w, -1.0, m, v, 0.0, 2, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8)
    assert math.isclose(m2, 0.9 * 0.2 - 0.1, rel_tol=1e-14) and math.isclose(v2, 0.999 * 0.004 + 0.001, rel_tol=1e-14)
    m_hat, v_hat = m2 / (1 - 0.9 ** 2), v2 / (1 - 0.999 ** 2)
    assert math.isclose(w2, w - 0.1 * m_hat / (math.sqrt(v_hat) + 1e-8), rel_tol=1e-15)
    *_, v3, v_max3 = adam_update(1.0, 0.0, 0.5, 4.0, 4.0, 3, 0.1, 0.9, 0.5, 1e-8, amsgrad=True)
    assert v3 == 2.0 and v_max3 == 4.0
    w4, *_ = adam_update(1.0, 0.0, 0.0, 0.0, 0.0, 1, 0.1, 0.9, 0.999, 1e-8, weight_decay=0.5)
    assert math.isclose(w4, 1.0 - 0.1 * 0.5 / (0.5 + 1e-8), rel_tol=1e-15)  # L2: the decay went through m and v


def test_adamw_decays_outside_the_moments():
    """AdamW shrinks the weight by lr * weight_decay first and leaves m and v to the gradient alone."""
    ours = adamw_update(2.0, 0.5, 0.0, 0.0, 0.0, 1, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.5)
    plain = adam_update(2.0 * 0.95, 0.5, 0.0, 0.0, 0.0, 1, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8)
    assert ours == plain and math.isclose(ours[1], 0.05, rel_tol=1e-15)


def test_rmsprop_update_by_hand():
    """RMSprop's first step divides g by sqrt((1 - alpha) g^2) + eps (eps outside the root); momentum
    accumulates those steps; centered subtracts the squared mean of the gradient."""
    w, sq, _, buf = rmsprop_update(1.0, 2.0, 0.0, 0.0, 0.0, lr=0.01, alpha=0.99, eps=1e-8)
    assert math.isclose(sq, 0.04, rel_tol=1e-14) and math.isclose(w, 1.0 - 0.01 * 2.0 / (0.2 + 1e-8), rel_tol=1e-15)
    w, sq, _, buf = rmsprop_update(1.0, 2.0, 0.04, 0.0, 3.0, lr=0.01, alpha=0.5, eps=0.0, momentum=0.5)
    assert sq == 2.02 and buf == 0.5 * 3.0 + 2.0 / math.sqrt(2.02) and w == 1.0 - 0.01 * buf
    w, sq, ga, _ = rmsprop_update(1.0, 2.0, 0.0, 0.0, 0.0, lr=0.1, alpha=0.5, eps=0.0, centered=True)
    assert (sq, ga) == (2.0, 1.0) and w == 1.0 - 0.1 * 2.0 / math.sqrt(2.0 - 1.0)


def test_update_functions_carry_nan_and_overflow_without_raising():
    """A NaN gradient makes a NaN weight, a 1e200 gradient squares to inf without an OverflowError."""
    assert math.isnan(adam_update(1.0, NAN, 0.0, 0.0, 0.0, 1, 0.1, 0.9, 0.999, 1e-8, amsgrad=True)[0])
    w, _, v, _ = adam_update(1.0, 1e200, 0.0, 0.0, 0.0, 1, 0.1, 0.9, 0.999, 1e-8)
    assert v == INF and w == 1.0  # m / sqrt(inf): the step is 0, as in torch
    assert math.isnan(rmsprop_update(1.0, NAN, 0.0, 0.0, 0.0, 0.01, 0.99, 1e-8, centered=True)[0])


# ---- the optimizers ----

def data(n=10):
    return make_moons(n, seed=3)


def loss_of(model, X, y):
    return nn.mse_loss([model(x) for x in X], y)


def train(model, opt, X, y, steps):
    losses = []
    for _ in range(steps):
        loss = loss_of(model, X, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.data)
    return losses


def test_sgd_alone_is_the_hand_written_update():
    """SGD(params, lr) makes exactly the weights of `p.data -= lr * p.grad`."""
    X, y = data()
    a, b = nn.MLP(2, [4, 1], seed=0), nn.MLP(2, [4, 1], seed=0)
    train(a, nn.optim.SGD(a.parameters(), lr=0.1), X, y, 5)
    for _ in range(5):
        loss = loss_of(b, X, y)
        b.zero_grad()
        loss.backward()
        for p in b.parameters():
            p.data -= 0.1 * p.grad
    assert a.state_dict() == b.state_dict()


OPTIMIZERS = [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
              ("Adam", dict(lr=0.01, amsgrad=True)), ("AdamW", dict(lr=0.01)),
              ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True))]


@pytest.mark.parametrize("name, options", OPTIMIZERS)
def test_state_dict_round_trip_continues_identically(name, options):
    """Saving an optimizer's state (through JSON) and loading it into a fresh optimizer over a copy of the
    model continues with exactly the same weights as the original."""
    X, y = data()
    model = nn.MLP(2, [4, 1], seed=0)
    opt = getattr(nn.optim, name)(model.parameters(), **options)
    train(model, opt, X, y, 3)
    saved = json.loads(json.dumps(opt.state_dict()))
    copy = nn.MLP(2, [4, 1], seed=5)
    copy.load_state_dict(model.state_dict())
    other = getattr(nn.optim, name)(copy.parameters(), lr=0.5)  # lr comes back from the state
    other.load_state_dict(saved)
    assert other.param_groups[0]["lr"] == options["lr"]
    assert train(model, opt, X, y, 3) == train(copy, other, X, y, 3)
    assert model.state_dict() == copy.state_dict()


def test_state_dict_names_the_state_as_torch_does():
    """Adam's state per parameter index is step, exp_avg and exp_avg_sq; the groups list parameter indices."""
    X, y = data()
    model = nn.MLP(2, [2, 1], seed=0)
    opt = nn.optim.Adam(model.parameters())
    assert opt.state_dict()["state"] == {}
    train(model, opt, X, y, 2)
    sd = opt.state_dict()
    assert set(sd["state"]) == set(range(9)) and set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    assert sd["state"][0]["step"] == 2 and sd["param_groups"][0]["params"] == list(range(9))
    assert sd["param_groups"][0]["betas"] == (0.9, 0.999) and sd["param_groups"][0]["lr"] == 1e-3


def test_load_state_dict_that_does_not_fit_changes_nothing():
    """A state of another size, another kind or with a bad number is a ValueError, and the optimizer keeps its own."""
    X, y = data()
    model = nn.MLP(2, [2, 1], seed=0)
    opt = nn.optim.Adam(model.parameters(), lr=0.01)
    train(model, opt, X, y, 1)
    before = opt.state_dict()
    small = nn.optim.Adam(nn.MLP(2, [1], seed=0).parameters()).state_dict()
    sgd = nn.optim.SGD(model.parameters(), lr=0.1).state_dict()
    bad_lr = json.loads(json.dumps(before))
    bad_lr["param_groups"][0]["lr"] = -1
    bad_state = json.loads(json.dumps(before))
    bad_state["state"]["0"]["exp_avg"] = "big"
    for state, words in [(small, r"sizes \[3\], this optimizer.s have \[9\]"), (sgd, "lacks 'betas'"), (bad_lr, "lr must be a number >= 0"),
                         (bad_state, "parameter '0'"), ({"state": {}}, "'state' and 'param_groups'")]:
        with pytest.raises(ValueError, match=words):
            opt.load_state_dict(state)
        assert opt.state_dict() == before


def test_updates_predict_step_and_change_nothing():
    """updates() is exactly the change step() then makes, and calling it changes no weight or state."""
    X, y = data()
    model = nn.MLP(2, [3, 1], seed=0)
    opt = nn.optim.Adam(model.parameters(), lr=0.05)
    train(model, opt, X, y, 2)
    loss_of(model, X, y).backward()
    before, state = model.state_dict(), opt.state_dict()
    changes = opt.updates()
    assert model.state_dict() == before and opt.state_dict() == state
    opt.step()
    assert [p.data for p in model.parameters()] == [w + changes[p] for p, w in zip(model.parameters(), before.values())]


def test_param_groups_train_at_their_own_rates():
    """A group's own lr overrides the default; param_groups[0]["lr"] is the rate the schedule changes."""
    a, b = Value(1.0, "a"), Value(1.0, "b")
    opt = nn.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    a.grad = b.grad = 1.0
    opt.step()
    assert (a.data, b.data) == (0.9, 0.5) and opt.param_groups[0]["lr"] == 0.1


def test_step_calls_the_closure_and_returns_its_loss():
    """step(closure) runs the closure (which does backward), then updates with the gradients it left."""
    w = Value(3.0, "w")
    opt = nn.optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = w * w
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.data == 9.0 and w.data == 3.0 - 0.25 * 6.0


@pytest.mark.parametrize("make, error, words", [
    (lambda p: nn.optim.SGD(p, lr=-0.1), ValueError, "SGD: lr must be a number >= 0, got -0.1"),
    (lambda p: nn.optim.Adam(p, lr=NAN), ValueError, "Adam: lr must be"),
    (lambda p: nn.optim.Adam(p, betas=(0.9, 1.0)), ValueError, r"betas\[1\] must be a number in \[0, 1\), got 1.0"),
    (lambda p: nn.optim.AdamW(p, betas=(-0.1, 0.9)), ValueError, r"AdamW: betas\[0\]"),
    (lambda p: nn.optim.Adam(p, betas=0.9), ValueError, "betas must be a pair"),
    (lambda p: nn.optim.RMSprop(p, alpha=-1), ValueError, "RMSprop: alpha must be"),
    (lambda p: nn.optim.RMSprop(p, alpha=2), ValueError, r"RMSprop: alpha must be a number in \[0, 1\], got 2.0"),
    (lambda p: nn.optim.RMSprop(p, eps="small"), TypeError, "eps must be a number, got str"),
    (lambda p: nn.optim.SGD(p, lr=0.1, nesterov=True), ValueError, "nesterov=True needs momentum > 0"),
    (lambda p: nn.optim.SGD(p, lr=0.1, momentum=-0.5), ValueError, "momentum must be"),
    (lambda p: nn.optim.Adam(p, amsgrad=1), TypeError, "amsgrad must be True or False"),
    (lambda p: nn.optim.SGD(p, lr=True), TypeError, "lr must be a number, got bool"),
    (lambda p: nn.optim.SGD([], lr=0.1), ValueError, "SGD: params is empty"),
    (lambda p: nn.optim.Adam(iter(())), ValueError, "Adam: params is empty"),
    (lambda p: nn.optim.SGD(p[0], lr=0.1), TypeError, "got one Value; put it in a list"),
    (lambda p: nn.optim.SGD(p + [0.5], lr=0.1), TypeError, r"params\[2\] must be a Value, got float"),
    (lambda p: nn.optim.SGD([p[0], p[0] * 2], lr=0.1), ValueError, r"params\[1\] .* is not a leaf: it was computed by 'mul'"),
    (lambda p: nn.optim.SGD([p[0], p[1], p[0]], lr=0.1), ValueError, r"params\[2\] .* is given twice"),
    (lambda p: nn.optim.SGD([{"params": p, "momentm": 0.9}], lr=0.1), ValueError, "unknown option 'momentm'"),
    (lambda p: nn.optim.SGD([{"params": [p[0]]}, {"params": [p[0]]}], lr=0.1), ValueError, "given twice"),
    (lambda p: nn.optim.StepLR(object(), 3), TypeError, "StepLR: optimizer must be an nn.optim optimizer"),
    (lambda p: nn.optim.StepLR(nn.optim.SGD(p, lr=0.1), 0), ValueError, "step_size must be a positive int, got 0"),
    (lambda p: nn.optim.CosineAnnealingLR(nn.optim.SGD(p, lr=0.1), 2.5), ValueError, "T_max must be a positive int"),
    (lambda p: nn.optim.LinearLR(nn.optim.SGD(p, lr=0.1), start_factor=0), ValueError, r"start_factor must be in \(0, 1\]"),
    (lambda p: nn.optim.LinearLR(nn.optim.SGD(p, lr=0.1), end_factor=2), ValueError, "end_factor must be a number in"),
    (lambda p: nn.clip_grad_norm(p, -1.0), ValueError, "clip_grad_norm: max_norm must be a number >= 0"),
    (lambda p: nn.clip_grad_norm(p, 1.0, norm_type=0), ValueError, "norm_type must be a number > 0 or inf"),
    (lambda p: nn.clip_grad_norm([1.0], 1.0), TypeError, r"params\[0\] must be a Value"),
])
def test_bad_arguments_are_errors_naming_the_argument(make, error, words):
    """Every bad argument raises TypeError or ValueError whose message names the argument and the value."""
    with pytest.raises(error, match=words):
        make([Value(1.0, "a"), Value(2.0, "b")])


# ---- schedules ----

def rates(schedule, steps):
    out = [schedule.get_last_lr()[0]]
    for _ in range(steps):
        schedule.optimizer.step()
        schedule.step()
        out.append(schedule.get_last_lr()[0])
    return out


def sgd(lr=1.0):
    return nn.optim.SGD([Value(0.0)], lr=lr)


def test_schedules_by_hand():
    """StepLR halves every 2 steps; CosineAnnealingLR reaches eta_min at T_max and the middle halfway;
    LinearLR climbs from a third to the full rate in 5 steps and stays; each sets param_groups[0]["lr"]."""
    step = nn.optim.StepLR(sgd(), step_size=2, gamma=0.5)
    assert rates(step, 5) == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25] and step.optimizer.param_groups[0]["lr"] == 0.25
    cosine = rates(nn.optim.CosineAnnealingLR(sgd(), T_max=10, eta_min=0.1), 10)
    assert cosine[0] == 1.0 and math.isclose(cosine[5], 0.55, rel_tol=1e-14) and math.isclose(cosine[10], 0.1, rel_tol=1e-14)
    assert all(a > b for a, b in zip(cosine, cosine[1:]))
    linear = rates(nn.optim.LinearLR(sgd(0.3)), 7)
    assert [round(r, 12) for r in linear] == [0.1, 0.14, 0.18, 0.22, 0.26, 0.3, 0.3, 0.3]


def test_schedule_state_dict_continues_identically():
    """A schedule loaded from state_dict() (through JSON) continues with the same rates."""
    a = nn.optim.CosineAnnealingLR(sgd(), T_max=7)
    rates(a, 3)
    b = nn.optim.CosineAnnealingLR(sgd(), T_max=7)
    b.load_state_dict(json.loads(json.dumps(a.state_dict())))
    b.optimizer.param_groups[0]["lr"] = a.optimizer.param_groups[0]["lr"]
    assert rates(a, 6) == rates(b, 6)
    with pytest.raises(ValueError, match="expected the keys"):
        b.load_state_dict({"last_epoch": 3})


# ---- clip_grad_norm ----

def grads(*gs):
    ps = [Value(0.0) for _ in gs]
    for p, g in zip(ps, gs):
        p.grad = g
    return ps


def test_clip_grad_norm_scales_to_max_norm_and_returns_the_norm_before():
    """Gradients (3, 4) clipped to 1 come back as about (0.6, 0.8) and the call returns 5; gradients
    already inside the ball are untouched; the inf-norm and the 1-norm are the largest and the sum."""
    ps = grads(3.0, 4.0)
    assert nn.clip_grad_norm(ps, 1.0) == 5.0
    assert math.isclose(ps[0].grad, 0.6, rel_tol=1e-6) and math.isclose(ps[1].grad, 0.8, rel_tol=1e-6)
    ps = grads(0.3, -0.4)
    assert nn.clip_grad_norm(ps, 1.0) == 0.5 and [p.grad for p in ps] == [0.3, -0.4]
    assert nn.clip_grad_norm(grads(3.0, -4.0), 10.0, norm_type=INF) == 4.0
    assert nn.clip_grad_norm(grads(3.0, -4.0), 10.0, norm_type="inf") == 4.0
    assert nn.clip_grad_norm(grads(3.0, -4.0), 10.0, norm_type=1) == 7.0
    assert nn.clip_grad_norm([], 1.0) == 0.0
    one = Value(0.0)
    one.grad = -8.0
    assert nn.clip_grad_norm(one, 2.0) == 8.0 and math.isclose(one.grad, -2.0, rel_tol=1e-6)


def test_clip_grad_norm_with_nan_and_inf_as_torch():
    """A NaN gradient turns every gradient NaN; an infinite one makes the finite ones 0 and itself NaN;
    error_if_nonfinite raises instead and changes nothing."""
    ps = grads(1.0, NAN, 2.0)
    assert math.isnan(nn.clip_grad_norm(ps, 1.0)) and all(math.isnan(p.grad) for p in ps)
    ps = grads(1.0, INF, -2.0)
    assert nn.clip_grad_norm(ps, 1.0) == INF
    assert ps[0].grad == 0.0 and math.isnan(ps[1].grad) and ps[2].grad == 0.0
    ps = grads(1.0, -INF)
    with pytest.raises(RuntimeError, match="total norm of order 2.0 of the gradients is inf"):
        nn.clip_grad_norm(ps, 1.0, error_if_nonfinite=True)
    assert [p.grad for p in ps] == [1.0, -INF]


def test_clip_grad_norm_of_huge_and_tiny_gradients_is_their_true_norm():
    """Gradients of 1e200 have norm 1.41e200 (no overflow to inf) and are clipped to max_norm; 1e-200 ones are left alone."""
    ps = grads(1e200, -1e200)
    assert math.isclose(nn.clip_grad_norm(ps, 1.0), math.sqrt(2) * 1e200, rel_tol=1e-15)
    assert math.isclose(math.hypot(ps[0].grad, ps[1].grad), 1.0, rel_tol=1e-12)
    ps = grads(1e-200, 1e-200)
    assert math.isclose(nn.clip_grad_norm(ps, 1.0, norm_type=3), 2 ** (1 / 3) * 1e-200, rel_tol=1e-14)
    assert [p.grad for p in ps] == [1e-200, 1e-200]


# ---- against torch.optim (skipped without torch) ----

TORCH_CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.6), weight_decay=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, momentum=0.9, weight_decay=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, centered=True, momentum=0.5)),
]


@pytest.fixture
def torch():
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny network: threads only add overhead on a shared machine
    yield torch
    torch.set_num_threads(threads)


def both(torch, name, options, activation="relu", schedule=None):
    """The same MLP and data in chainrule and (through nn.to_torch) torch, each with its optimizer."""
    X, y = data(12)
    model = nn.MLP(2, [5, 4, 1], activation=activation, seed=2)
    net = nn.to_torch(model)
    ours = getattr(nn.optim, name)(model.parameters(), **options)
    theirs = getattr(torch.optim, name)(net.parameters(), **options)
    Xt, yt = torch.tensor(X, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)

    def torch_loss():
        return ((net(Xt).squeeze(1) - yt) ** 2).mean()
    return X, y, model, net, ours, theirs, torch_loss


@pytest.mark.parametrize("name, options", TORCH_CASES, ids=[f"{n}-{'-'.join(o) or 'defaults'}" for n, o in TORCH_CASES])
def test_100_steps_match_torch_optim(torch, name, options):
    """100 steps of each optimizer and option on the same MLP give torch.optim's weights and losses to 1e-12."""
    X, y, model, net, ours, theirs, torch_loss = both(torch, name, options)
    for _ in range(100):
        loss = loss_of(model, X, y)
        ours.zero_grad()
        loss.backward()
        ours.step()
        tl = torch_loss()
        theirs.zero_grad()
        tl.backward()
        theirs.step()
        assert abs(loss.data - tl.item()) < 1e-12
    after = nn.from_torch(net, nn.MLP(2, [5, 4, 1], seed=0))
    moved = max(abs(a - b) for a, b in zip(model.state_dict().values(), nn.MLP(2, [5, 4, 1], seed=2).state_dict().values()))
    assert moved > 1e-3  # it trained
    assert max(abs(a.data - b.data) for a, b in zip(model.parameters(), after.parameters())) < 1e-12


@pytest.mark.parametrize("make", [
    lambda o, m: m.StepLR(o, step_size=3, gamma=0.7),
    lambda o, m: m.CosineAnnealingLR(o, T_max=10),
    lambda o, m: m.CosineAnnealingLR(o, T_max=7, eta_min=0.05),
    lambda o, m: m.LinearLR(o),
    lambda o, m: m.LinearLR(o, start_factor=0.5, end_factor=0.1, total_iters=12),
])
def test_schedules_match_torch(torch, make):
    """Each schedule sets exactly torch's learning rates for 40 steps (past T_max and total_iters too)."""
    ours = make(nn.optim.SGD([Value(0.0)], lr=0.3), nn.optim)
    theirs = make(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.3), torch.optim.lr_scheduler)
    assert rates(ours, 40) == rates(theirs, 40)


def test_a_schedule_drives_the_optimizer_as_in_torch(torch):
    """Adam under a cosine schedule for 30 steps ends at torch's weights to 1e-12."""
    X, y, model, net, ours, theirs, torch_loss = both(torch, "Adam", dict(lr=0.02), activation="tanh")
    sched, tsched = nn.optim.CosineAnnealingLR(ours, T_max=30), torch.optim.lr_scheduler.CosineAnnealingLR(theirs, T_max=30)
    for _ in range(30):
        loss = loss_of(model, X, y)
        ours.zero_grad()
        loss.backward()
        ours.step()
        sched.step()
        tl = torch_loss()
        theirs.zero_grad()
        tl.backward()
        theirs.step()
        tsched.step()
    after = nn.from_torch(net, nn.MLP(2, [5, 4, 1], seed=0))
    assert max(abs(a.data - b.data) for a, b in zip(model.parameters(), after.parameters())) < 1e-12


@pytest.mark.parametrize("gs, norm_type", [
    ([0.3, -1.2, 2.5, 0.0], 2.0), ([0.3, -1.2, 2.5, 0.0], 1.0), ([0.3, -1.2, 2.5], 3.0), ([0.3, -1.2, 2.5], INF),
    ([0.01, 0.02], 2.0), ([1.0, NAN, 2.0], 2.0), ([1.0, INF, -2.0], 2.0), ([1.0, -INF], INF), ([NAN, INF], 2.0),
])
def test_clip_grad_norm_matches_torch(torch, gs, norm_type):
    """clip_grad_norm returns torch's total norm and leaves torch's gradients, NaN and inf included."""
    ps = grads(*gs)
    ts = [torch.zeros((), dtype=torch.float64, requires_grad=True) for _ in gs]
    for t, g in zip(ts, gs):
        t.grad = torch.tensor(g, dtype=torch.float64)
    total = nn.clip_grad_norm(ps, 1.0, norm_type=norm_type)
    theirs = torch.nn.utils.clip_grad_norm_(ts, 1.0, norm_type=norm_type).item()
    assert math.isclose(total, theirs, rel_tol=1e-15) or (math.isnan(total) and math.isnan(theirs))
    for p, t in zip(ps, ts):
        g = t.grad.item()
        assert math.isclose(p.grad, g, rel_tol=1e-15) or (math.isnan(p.grad) and math.isnan(g))


def test_numpy_scalars_are_accepted_as_hyperparameters():
    """numpy scalars for lr, betas and max_norm work and are stored as Python floats."""
    np = pytest.importorskip("numpy")
    p = Value(1.0)
    opt = nn.optim.Adam([p], lr=np.float64(0.01), betas=(np.float32(0.5), 0.999))
    assert type(opt.param_groups[0]["lr"]) is float and opt.param_groups[0]["betas"] == (0.5, 0.999)
    p.grad = 3.0
    assert nn.clip_grad_norm([p], np.float64(1.5)) == 3.0 and math.isclose(p.grad, 1.5, rel_tol=1e-6)


@pytest.mark.parametrize("name, rule", [("SGD", "sgd_update"), ("Adam", "adam_update"), ("AdamW", "adamw_update"),
                                        ("RMSprop", "rmsprop_update")])
def test_each_step_calls_the_named_update_function_once_per_parameter(monkeypatch, name, rule):
    """step() runs the optimizer's module-level update function once for every parameter, so a breakpoint on it
    stops at every parameter's update (AdamW's calls adam_update in turn)."""
    import nn.optim as optim

    calls = []
    real = getattr(optim, rule)
    monkeypatch.setattr(optim, rule, lambda *args: calls.append(args[0]) or real(*args))
    params = [Value(1.0), Value(-2.0), Value(0.5)]
    for p in params:
        p.grad = 0.25
    getattr(nn.optim, name)(params, lr=0.1).step()
    assert calls == [1.0, -2.0, 0.5]


@pytest.mark.parametrize("name, options", TORCH_CASES, ids=[f"{n}-{'-'.join(o) or 'defaults'}" for n, o in TORCH_CASES])
def test_nan_inf_and_unreached_parameters_step_as_in_torch(torch, name, options):
    """A parameter whose gradient is NaN, one whose gradient is inf and one the loss never reaches (its
    gradient stays 0.0, as torch's after zero_grad(set_to_none=False)) take torch's values for 5 steps."""
    gs = [0.5, NAN, INF, -INF, 0.0, 1e-300]
    ps = [Value(float(k) - 2.0) for k in range(len(gs))]
    ts = [torch.tensor(p.data, dtype=torch.float64, requires_grad=True) for p in ps]
    ours, theirs = getattr(nn.optim, name)(ps, **options), getattr(torch.optim, name)(ts, **options)
    for _ in range(5):
        for p, t, g in zip(ps, ts, gs):
            p.grad, t.grad = g, torch.tensor(g, dtype=torch.float64)
        ours.step()
        theirs.step()
        for p, t in zip(ps, ts):
            x, y = p.data, t.item()
            assert math.isclose(x, y, rel_tol=1e-12) or (math.isnan(x) and math.isnan(y)), (p, x, y)


def test_state_is_torch_shaped_per_parameter():
    """opt.state[p] holds each parameter's state under torch's names once it has stepped; plain SGD keeps
    none (as torch), momentum SGD its buffer, Adam with amsgrad its largest second moment too."""
    a, b = Value(1.0), Value(2.0)
    adam = nn.optim.Adam([a, b], lr=0.1, amsgrad=True)
    assert adam.state == {}
    a.grad, b.grad = 0.5, -1.0
    adam.step()
    assert set(adam.state) == {a, b} and adam.state[b]["step"] == 1
    assert set(adam.state[a]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert adam.state[a]["exp_avg"] == (1 - 0.9) * 0.5
    plain, heavy = nn.optim.SGD([a], lr=0.1), nn.optim.SGD([b], lr=0.1, momentum=0.9)
    plain.step()
    heavy.step()
    assert plain.state == {} and heavy.state == {b: {"momentum_buffer": -1.0}}


def test_params_list_changed_by_hand_keeps_each_parameters_state():
    """Changing param_groups[0]["params"] by hand (as torch allows) starts a new parameter fresh, keeps every
    other parameter's state, which follows the parameter, not its place in the list, and drops a removed one's."""
    a, b, c = Value(1.0), Value(2.0), Value(3.0)
    opt = nn.optim.Adam([a, b], lr=0.1)
    alone = nn.optim.Adam([Value(2.0)], lr=0.1)
    for p in (a, b, c, alone.param_groups[0]["params"][0]):
        p.grad = 1.0
    opt.step()
    alone.step()
    opt.param_groups[0]["params"][:] = [c, b]
    opt.step()
    alone.step()
    assert opt.state[c]["step"] == 1 and opt.state[b]["step"] == 2 and a not in opt.state
    assert b.data == alone.param_groups[0]["params"][0].data


def test_a_failing_step_changes_nothing():
    """A gradient that is not a number stops step() with a TypeError before any weight or state changes."""
    a, b = Value(1.0), Value(2.0)
    opt = nn.optim.Adam([a, b], lr=0.1)
    a.grad, b.grad = 1.0, 1.0
    opt.step()
    before = (a.data, b.data, opt.state_dict())
    b.grad = "big"
    with pytest.raises(TypeError):
        opt.step()
    assert (a.data, b.data, opt.state_dict()) == before


def test_a_schedules_rate_takes_effect_at_the_next_step():
    """A rate set in param_groups[0]["lr"] between steps (by hand or by a schedule) is the rate of the next step."""
    w = Value(1.0)
    opt = nn.optim.SGD([w], lr=0.5)
    w.grad = 1.0
    opt.step()
    opt.param_groups[0]["lr"] = 0.25
    opt.step()
    nn.optim.StepLR(opt, step_size=1, gamma=0.5).step()
    opt.step()
    assert w.data == 1.0 - 0.5 - 0.25 - 0.125
