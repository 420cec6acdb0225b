"""The pieces around a training loop: split, batches, Standardizer, init, dropout, l2, accuracy,
early stopping and the PyTorch bridge."""

import math
import random
import statistics

import pytest

import nn
from autograd import Value
from nn.data import Standardizer, batches, make_moons, split


def rows(n):
    return [[float(i), float(-i)] for i in range(n)], list(range(n))


# split

def test_split_is_a_disjoint_cover_of_the_rows():
    """train, val and test hold every row exactly once, with each row's own target, in the asked sizes."""
    X, y = rows(50)
    train, val, test = split(X, y, val=0.2, test=0.1, seed=3)
    assert (len(train[0]), len(val[0]), len(test[0])) == (35, 10, 5)
    seen = train[1] + val[1] + test[1]
    assert sorted(seen) == y
    for part_X, part_y in (train, val, test):
        assert all(x == X[t] for x, t in zip(part_X, part_y))


def test_split_is_seeded_and_shuffles():
    """The same seed gives the same split, another seed another one, and the rows are not left in order."""
    X, y = rows(40)
    assert split(X, y, seed=1) == split(X, y, seed=1)
    assert split(X, y, seed=1) != split(X, y, seed=2)
    assert split(X, y, seed=1)[0][1] != sorted(split(X, y, seed=1)[0][1])


def test_split_with_no_test_fraction_gives_an_empty_pair():
    """test=0 (the default) gives ([], []) for the test part."""
    X, y = rows(10)
    assert split(X, y)[2] == ([], [])
    assert split(X, y, val=0.0)[1] == ([], [])


@pytest.mark.parametrize("kwargs, error, words", [
    ({"val": 1.0}, ValueError, "val must be a fraction in [0, 1), got 1.0"),
    ({"val": -0.1}, ValueError, "val must be a fraction in [0, 1), got -0.1"),
    ({"test": 2}, ValueError, "test must be a fraction in [0, 1), got 2"),
    ({"val": "0.2"}, TypeError, "val must be a fraction in [0, 1), got '0.2'"),
    ({"val": 0.6, "test": 0.5}, ValueError, "val + test must be below 1"),
    ({"val": 0.55, "test": 0.4}, ValueError, "leave no training rows"),
])
def test_split_rejects_bad_fractions(kwargs, error, words):
    """A fraction outside [0, 1), or fractions that leave no training rows, are clear errors naming the value."""
    X, y = rows(10)
    with pytest.raises(error) as info:
        split(X, y, **kwargs)
    assert words in str(info.value)


def test_split_refuses_a_fraction_that_rounds_to_no_rows():
    """A nonzero val or test fraction too small for the rows is a ValueError saying how many rows it asked for,
    never a silently empty part."""
    X, y = rows(2)
    with pytest.raises(ValueError, match=r"val=0.2 of 2 rows is 0.4 rows, which rounds to none"):
        split(X, y, val=0.2)
    X, y = rows(10)
    with pytest.raises(ValueError, match=r"test=0.01 of 10 rows is 0.1 rows"):
        split(X, y, val=0.2, test=0.01)


@pytest.mark.parametrize("n, val, sizes", [(2, 0.25, (1, 1)), (10, 0.25, (7, 3)), (10, 0.35, (6, 4)), (6, 0.25, (4, 2))])
def test_split_rounds_halves_up_every_time(n, val, sizes):
    """The validation part is val * n rounded to the nearest row, halves up (not Python's round-half-even)."""
    X, y = rows(n)
    train, val_part, _ = split(X, y, val=val)
    assert (len(train[0]), len(val_part[0])) == sizes


def test_split_and_batches_reject_mismatched_or_empty_data():
    """X and y of different lengths, or an empty X, are ValueErrors saying so."""
    for f in (split, lambda X, y: batches(X, y, 2)):
        with pytest.raises(ValueError, match="X has 3 rows but y has 2"):
            f([[1], [2], [3]], [1, 2])
        with pytest.raises(ValueError, match="X is empty"):
            f([], [])


# batches

def test_batches_cover_every_row_once_in_order_without_a_seed():
    """Without a seed the batches are the rows in order, size rows each, the last one smaller."""
    X, y = rows(10)
    out = batches(X, y, 4)
    assert [b[1] for b in out] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert [b[0] for b in out][2] == [X[8], X[9]]


def test_batches_are_shuffled_by_seed():
    """A seed shuffles the rows (the same seed the same way) and every row still appears once."""
    X, y = rows(30)
    a, b, c = batches(X, y, 8, seed=1), batches(X, y, 8, seed=1), batches(X, y, 8, seed=2)
    assert a == b and a != c
    flat = [t for _, ys in a for t in ys]
    assert sorted(flat) == y and flat != y
    assert all(x == X[t] for xs, ys in a for x, t in zip(xs, ys))


@pytest.mark.parametrize("size, error", [(0, ValueError), (-3, ValueError), (2.0, TypeError), (True, TypeError)])
def test_batches_rejects_a_bad_size(size, error):
    """A batch size below 1 or not an int is an error naming the size."""
    X, y = rows(5)
    with pytest.raises(error, match=f"size must be an int >= 1, got {size!r}"):
        batches(X, y, size)


# Standardizer

def test_standardizer_learns_from_the_rows_it_is_fitted_on_only():
    """fit's rows get mean 0 and std 1 per column; other rows are transformed with fit's statistics."""
    train = [[1.0, 10.0], [3.0, 30.0], [5.0, 20.0]]
    s = Standardizer.fit(train)
    out = s.transform(train)
    for column in zip(*out):
        assert abs(statistics.fmean(column)) < 1e-12
        assert math.isclose(statistics.pstdev(column), 1.0)
    assert s.mean == [3.0, 20.0]
    other = s.transform([[7.0, 20.0]])  # not refitted: 7 is (7 - 3) / std(train) away
    assert math.isclose(other[0][0], 4.0 / statistics.pstdev([1.0, 3.0, 5.0])) and other[0][1] == 0.0


def test_standardizer_centres_a_constant_column_without_dividing_by_zero():
    """A constant column becomes exactly 0 and other values in it are only shifted."""
    s = Standardizer.fit([[0.1, 1.0], [0.1, 2.0], [0.1, 3.0]])
    out = s.transform([[0.1, 2.0], [1.1, 2.0]])
    assert out[0] == [0.0, 0.0] and math.isclose(out[1][0], 1.0)


def test_standardizer_errors():
    """Empty X, ragged rows and a width that does not fit are ValueErrors naming the row."""
    with pytest.raises(ValueError, match="non-empty"):
        Standardizer.fit([])
    with pytest.raises(ValueError, match="row 1 has 1 columns"):
        Standardizer.fit([[1.0, 2.0], [3.0]])
    with pytest.raises(ValueError, match="row 0 has 3 columns; fitted on 2"):
        Standardizer.fit([[1.0, 2.0]]).transform([[1.0, 2.0, 3.0]])


@pytest.mark.parametrize("column", [[0.0, 1e-300], [1e200, -1e200], [1e308, 1.7e308, -1e308], [1e-310, 0.0, 3e-310],
                                    [1.0, 2.0, 3.0]])
def test_standardizer_works_on_any_finite_column(column):
    """Tiny and huge finite columns fit without overflow or underflow and come out with mean 0 and spread 1."""
    s = Standardizer.fit([[v] for v in column])
    out = [r[0] for r in s.transform([[v] for v in column])]
    assert all(math.isfinite(v) for v in out + s.mean + s.std) and s.std[0] > 0
    assert abs(statistics.fmean(out)) < 1e-9 and statistics.pstdev(out) == pytest.approx(1.0, rel=1e-9)
    smallest = Standardizer.fit([[5e-324], [0.0], [1e-323]])  # a spread below the smallest float still divides
    assert smallest.std[0] > 0 and smallest.transform([[0.0], [1e-323]]) == [[-1.0], [1.0]]


def test_standardizer_gives_ordinary_columns_the_plain_formulas_numbers():
    """On ordinary columns the overflow-safe statistics are bitwise the plain mean and population std."""
    rng = random.Random(5)
    for _ in range(200):
        column = [rng.uniform(-1e3, 1e3) for _ in range(rng.randint(2, 20))]
        m = math.fsum(column) / len(column)
        std = math.sqrt(math.fsum((v - m) ** 2 for v in column) / len(column))
        s = Standardizer.fit([[v] for v in column])
        assert (s.mean, s.std) == ([m], [std])


@pytest.mark.parametrize("X, where", [([[1.0], [math.nan]], "column 0, row 1"), ([[math.nan, 0.0], [1.0, 1.0], [3.0, 2.0]], "column 0, row 0"),
                                      ([[1.0, 2.0], [3.0, math.inf]], "column 1, row 1"), ([[1.0, -math.inf]], "column 1, row 0")])
def test_standardizer_refuses_nan_and_infinity_naming_the_column_and_row(X, where):
    """NaN or infinity in a column, at fit or at transform, is a ValueError naming the column, the row and the value."""
    with pytest.raises(ValueError, match=f"fit: .*{where}"):
        Standardizer.fit(X)
    with pytest.raises(ValueError, match=f"transform: .*{where}"):
        Standardizer([0.0] * len(X[0]), [1.0] * len(X[0])).transform(X)


def test_standardizer_refuses_a_value_that_is_not_a_number():
    """A string in a row is a TypeError naming the column, the row and the value."""
    with pytest.raises(TypeError, match="column 1, row 0.*'a'"):
        Standardizer.fit([[1.0, "a"]])


# init

def test_uniform_init_is_still_the_default_and_unchanged():
    """init="uniform" is the default and draws exactly the weights chainrule always drew for a seed."""
    a = nn.MLP(2, [3, 1], seed=4)
    rng = random.Random(4)
    expected = [rng.uniform(-1.0, 1.0) for _ in range(2)], [rng.uniform(-1.0, 1.0) for _ in range(2)]
    assert [w.data for w in a.layers[0].neurons[0].w] == expected[0]
    assert [w.data for w in a.layers[0].neurons[1].w] == expected[1]
    assert a.state_dict() == nn.MLP(2, [3, 1], seed=4, init="uniform").state_dict()


@pytest.mark.parametrize("init, bound", [("xavier", lambda nin, nout: math.sqrt(6 / (nin + nout))),
                                         ("he", lambda nin, nout: math.sqrt(6 / nin))])
def test_xavier_and_he_draw_within_their_bounds_with_their_variance(init, bound):
    """Xavier draws from U(-sqrt(6/(nin+nout)), +) and He from U(-sqrt(6/nin), +): bounds and variance."""
    model = nn.MLP(50, [200, 1], seed=0, init=init)
    b = bound(50, 200)
    ws = [w.data for n in model.layers[0].neurons for w in n.w]
    assert max(map(abs, ws)) <= b and max(map(abs, ws)) > 0.99 * b
    assert math.isclose(statistics.pvariance(ws), b * b / 3, rel_tol=0.03)
    assert all(n.b.data == 0.0 for layer in model.layers for n in layer.neurons)


def test_unknown_init_is_a_value_error():
    """An init name that is not uniform, xavier or he is a ValueError listing the choices."""
    with pytest.raises(ValueError, match="init must be one of uniform, xavier, he; got 'glorot'"):
        nn.MLP(2, [3, 1], init="glorot")


# dropout, train() and eval()

def test_dropout_keeps_about_one_minus_p_and_scales_the_kept_by_one_over_one_minus_p():
    """In training mode each unit survives with probability 1 - p and is multiplied by 1/(1-p)."""
    d = nn.Dropout(0.3, seed=0)
    out = d([2.0] * 20000)
    kept = [v for v in out if v != 0.0]
    assert all(math.isclose(v, 2.0 / 0.7) for v in kept)
    # 20000 draws: the standard deviation of the kept fraction is about 0.0032, so 0.015 is over 4 sigmas
    assert abs(len(kept) / len(out) - 0.7) < 0.015


def test_dropout_is_seeded_and_passes_gradients_only_through_kept_units():
    """The same seed drops the same units; a dropped unit's input gets gradient 0, a kept one 1/(1-p)."""
    xs = [Value(1.0) for _ in range(50)]
    out = nn.Dropout(0.5, seed=7)(xs)
    assert [o.data for o in out] == [o.data for o in nn.Dropout(0.5, seed=7)(xs)]
    sum(out).backward()
    assert {x.grad for x in xs} == {0.0, 2.0}
    assert all(x.grad == o.data for x, o in zip(xs, out))


def test_eval_mode_is_deterministic_and_independent_of_the_dropout_seed():
    """In eval mode dropout is the identity: outputs repeat and equal the same network without dropout."""
    plain = nn.MLP(2, [8, 8, 1], seed=3)
    dropped = nn.MLP(2, [8, 8, 1], seed=3, dropout=0.5)
    assert dropped.state_dict() == plain.state_dict()
    x = [0.4, -0.7]
    dropped.eval()
    assert dropped(x).data == dropped(x).data == plain(x).data
    assert nn.Dropout(0.5, seed=1).eval()([1.0, 2.0]) == nn.Dropout(0.5, seed=2).eval()([1.0, 2.0]) == [1.0, 2.0]


def test_train_mode_is_the_default_and_switches_every_submodule():
    """New models are in training mode; eval() and train() return the model and reach every Dropout."""
    model = nn.MLP(2, [16, 16, 1], seed=0, dropout=0.5)
    assert model.training and all(d.training for d in model.dropouts)
    x = [0.4, -0.7]
    outputs = {model(x).data for _ in range(10)}
    assert len(outputs) > 1  # training mode: a different mask each call
    assert model.eval() is model and not any(d.training for d in model.dropouts)
    assert not model.layers[0].neurons[0].training
    assert model.train() is model and all(d.training for d in model.dropouts)


@pytest.mark.parametrize("p", [1.0, -0.1, 1.5, "0.5"])
def test_dropout_p_outside_0_1_is_a_value_error(p):
    """Dropout(p) and MLP(dropout=p) reject p outside [0, 1) naming the value."""
    with pytest.raises(ValueError, match=f"must be a probability in \\[0, 1\\), got {p!r}"):
        nn.Dropout(p)
    with pytest.raises(ValueError, match="MLP: dropout must be a probability"):
        nn.MLP(2, [3, 1], dropout=p)


# l2 and accuracy

def test_l2_is_the_sum_of_squared_weights_without_biases():
    """nn.l2 adds w*w over every weight, not the biases, and its gradient is 2w on weights, 0 on biases."""
    model = nn.MLP(2, [3, 1], seed=0)
    for layer in model.layers:
        for n in layer.neurons:
            n.b.data = 5.0
    penalty = nn.l2(model)
    weights = [w.data for layer in model.layers for n in layer.neurons for w in n.w]
    assert isinstance(penalty, Value) and math.isclose(penalty.data, sum(w * w for w in weights))
    penalty.backward()
    for layer in model.layers:
        for n in layer.neurons:
            assert n.b.grad == 0.0 and all(w.grad == 2 * w.data for w in n.w)
    with pytest.raises(TypeError, match="l2: expected an nn.MLP"):
        nn.l2(object())


def test_accuracy_for_signs_probabilities_and_classes():
    """±1 labels count by the sign of the score, 0/1 targets by logit > 0, classes by the argmax of each row."""
    assert nn.accuracy([0.3, -2.0, 0.1, -0.1], [1, -1, -1, 1]) == 0.5
    assert nn.accuracy([Value(0.3), Value(-2.0), 5], [1, 0, 1]) == 1.0
    assert nn.accuracy([[0.1, 2.0, -1.0], [Value(3.0), 0.0, 0.0], [0, 0, 9]], [1, 0, 1]) == pytest.approx(2 / 3)


def test_a_nan_prediction_is_never_right():
    """A NaN score, or a row of logits holding a NaN, counts as wrong for every kind of target."""
    nan = math.nan
    assert nn.accuracy([nan, nan], [-1, -1]) == 0.0
    assert nn.accuracy([nan, Value(nan), 2.0], [0, 1, 1]) == pytest.approx(1 / 3)
    assert nn.accuracy([[nan, 0.0], [0.0, nan], [nan, nan], [1.0, 0.0]], [1, 0, 0, 0]) == 0.25
    assert nn.accuracy([math.inf, -math.inf], [1, -1]) == 1.0  # infinite scores still have a sign


def test_accuracy_errors():
    """Mismatched lengths, regression targets and out-of-range class indices are ValueErrors naming them."""
    with pytest.raises(ValueError, match="2 predictions and 1 targets"):
        nn.accuracy([1.0, 2.0], [1])
    with pytest.raises(ValueError, match="targets\\[1\\] is 0.5"):
        nn.accuracy([1.0, 2.0], [1, 0.5])
    with pytest.raises(ValueError, match="targets\\[0\\] must be a class index in 0..2, got 3"):
        nn.accuracy([[1.0, 2.0, 3.0]], [3])
    with pytest.raises(TypeError, match="predictions\\[0\\] must be a number"):
        nn.accuracy(["a"], [1])


# early stopping

def test_early_stopping_stops_after_patience_epochs_and_restores_the_best_weights():
    """step() returns True exactly `patience` epochs after the best, and restore() brings back its weights."""
    model = nn.MLP(2, [3, 1], seed=0)
    es = nn.EarlyStopping(patience=3)
    losses = [1.0, 0.5, 0.4, 0.45, 0.41, 0.6, 0.3]
    stopped_at, best_weights = None, None
    for epoch, loss in enumerate(losses):
        for p in model.parameters():
            p.data = epoch + 0.5  # each epoch's weights are recognisable
        if loss == 0.4:
            best_weights = model.state_dict()
        if es.step(loss, model):
            stopped_at = epoch
            break
    assert stopped_at == 5 and es.best == 0.4 and es.best_epoch == 2
    es.restore(model)
    assert model.state_dict() == best_weights


def test_early_stopping_min_delta_ignores_tiny_improvements():
    """An improvement of no more than min_delta counts as no improvement; a Value loss is read by its data."""
    model = nn.MLP(2, [3, 1], seed=0)
    es = nn.EarlyStopping(patience=2, min_delta=0.1)
    assert not es.step(Value(1.0), model)
    assert not es.step(0.95, model)
    assert es.step(0.91, model) and es.best == 1.0 and es.best_epoch == 0


@pytest.mark.parametrize("bad", [math.nan, -math.inf, math.inf])
def test_early_stopping_refuses_a_non_finite_loss_and_never_keeps_it_as_best(bad):
    """A nan or infinite validation loss is a ValueError naming it; the best loss and weights stay those of a finite epoch."""
    model = nn.MLP(2, [3, 1], seed=0)
    es = nn.EarlyStopping(patience=3)
    es.step(1.0, model)
    best = model.state_dict()
    for p in model.parameters():
        p.data = 9.0
    with pytest.raises(ValueError, match=f"val_loss is {bad!r} at epoch 1.*restore"):
        es.step(Value(bad), model)
    assert es.best == 1.0 and es.best_epoch == 0 and es.epoch == 0
    assert not es.step(0.5, model) and es.best == 0.5 and es.best_epoch == 1
    es.restore(model)
    assert model.state_dict() != best and all(v == 9.0 for v in model.state_dict().values())


def test_early_stopping_errors():
    """Bad patience or min_delta, and restore() before any step, are ValueErrors naming the value."""
    with pytest.raises(ValueError, match="patience must be an int >= 1, got 0"):
        nn.EarlyStopping(patience=0)
    with pytest.raises(ValueError, match="min_delta must be a finite number >= 0, got -1"):
        nn.EarlyStopping(min_delta=-1)
    with pytest.raises(ValueError, match="call step\\(\\) first"):
        nn.EarlyStopping().restore(nn.MLP(2, [1], seed=0))


# numpy arrays are sequences of rows like any other

def test_helpers_take_numpy_arrays_as_rows():
    """split, batches, Standardizer, accuracy, the losses, health, Recorder and an MLP take numpy arrays as lists."""
    np = pytest.importorskip("numpy")
    X, y = make_moons(20, seed=1)
    Xa, ya = np.array(X), np.array(y)
    assert [[list(map(float, r)) for r in part[0]] for part in split(Xa, ya, seed=2)] == \
        [part[0] for part in split(X, y, seed=2)]
    assert [list(map(int, b[1])) for b in batches(Xa, ya, 6, seed=1)] == [b[1] for b in batches(X, y, 6, seed=1)]
    s = Standardizer.fit(Xa)
    assert s.mean == Standardizer.fit(X).mean and s.transform(Xa) == s.transform(X)
    scores = [0.3, -2.0, 0.1, -0.1]
    assert nn.accuracy(np.array(scores), np.array([1, -1, -1, 1])) == 0.5
    assert type(nn.accuracy(np.array(scores), np.array([1, -1, -1, 1]))) is float
    assert nn.accuracy(np.array([[0.1, 2.0], [3.0, 0.0]]), np.array([1, 1])) == 0.5
    model = nn.MLP(2, [3, 1], seed=0)
    assert nn.hinge_loss([model(x) for x in Xa], ya).data == nn.hinge_loss([model(x) for x in X], y).data
    assert nn.cross_entropy(np.array([[0.1, 2.0], [3.0, 0.0]]), np.array([1, 1])).data == \
        nn.cross_entropy([[0.1, 2.0], [3.0, 0.0]], [1, 1]).data
    assert str(nn.health(model, Xa)) == str(nn.health(model, X))
    recorders = [nn.Recorder(model, train=data, val=data) for data in ((X, y), (Xa, ya))]
    for rec in recorders:
        rec.record(0, 0.5)
    assert recorders[0].history[0] == recorders[1].history[0]


# the PyTorch bridge

@pytest.mark.parametrize("activation", nn.ACTIVATIONS)
def test_to_torch_computes_the_same_outputs(activation):
    """to_torch's Sequential gives the same outputs as the chainrule MLP on random inputs, to 1e-12."""
    torch = pytest.importorskip("torch")
    model = nn.MLP(3, [5, 4, 2], activation=activation, seed=1, init="xavier")
    net = nn.to_torch(model)
    rng = random.Random(0)
    for _ in range(20):
        x = [rng.uniform(-3, 3) for _ in range(3)]
        ours = [v.data for v in model(x)]
        theirs = net(torch.tensor(x, dtype=torch.float64)).tolist()
        assert all(abs(a - b) < 1e-12 for a, b in zip(ours, theirs))


def test_torch_round_trip_keeps_every_weight():
    """from_torch(to_torch(model)) into a fresh model gives the same weights to 1e-12, and training in torch comes back."""
    torch = pytest.importorskip("torch")
    model = nn.MLP(2, [16, 16, 1], seed=1)
    net = nn.to_torch(model)
    assert all(p.dtype == torch.float64 for p in net.parameters())
    other = nn.from_torch(net, nn.MLP(2, [16, 16, 1], seed=2))
    assert all(abs(a - b) < 1e-12 for a, b in zip(other.state_dict().values(), model.state_dict().values()))
    with torch.no_grad():
        net[0].bias += 1.0
    nn.from_torch(net, other)
    assert other.layers[0].neurons[0].b.data == model.layers[0].neurons[0].b.data + 1.0


def test_to_torch_keeps_dropout_and_the_mode():
    """Dropout layers and train/eval mode carry over to the torch module."""
    torch = pytest.importorskip("torch")
    net = nn.to_torch(nn.MLP(2, [4, 4, 1], seed=0, dropout=0.25).eval())
    drops = [m for m in net if isinstance(m, torch.nn.Dropout)]
    assert len(drops) == 2 and drops[0].p == 0.25 and not net.training


def test_from_torch_rejects_a_module_of_another_shape():
    """Copying from a torch module whose layers do not fit is a ValueError naming both shapes."""
    torch = pytest.importorskip("torch")
    net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    with pytest.raises(ValueError, match=r"\[\(3, 2\), \(1, 3\)\] do not fit"):
        nn.from_torch(net, nn.MLP(2, [4, 1], seed=0))
    with pytest.raises(TypeError, match="expected an nn.MLP"):
        nn.to_torch(nn.Layer(2, 3))


def test_bridge_without_torch_says_how_to_install_it(monkeypatch):
    """Without torch, to_torch raises ImportError naming the extra to install."""
    import builtins

    real = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name == "torch" or name.startswith("torch."):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    with pytest.raises(ImportError, match='pip install "chainrule\\[torch\\]"'):
        nn.to_torch(nn.MLP(2, [1], seed=0))


def test_nn_does_not_import_torch():
    """Importing nn does not import torch (it stays optional)."""
    import subprocess
    import sys

    code = "import sys, nn; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


# compiled mini-batch steps

def test_compiled_minibatch_step_equals_the_eager_one_on_every_batch():
    """compile_graph with the batch's inputs and targets as feeds gives the eager loss and gradients on every batch."""
    from autograd.compile import compile_graph

    X, y = make_moons(40, seed=2)
    compiled_model, eager_model = nn.MLP(2, [6, 6, 1], seed=0), nn.MLP(2, [6, 6, 1], seed=0)
    xs = [[Value(0.0), Value(0.0)] for _ in range(8)]
    ts = [Value(1.0) for _ in range(8)]
    loss = nn.hinge_loss([compiled_model(x) for x in xs], ts) + 1e-3 * nn.l2(compiled_model)
    step = compile_graph(loss, compiled_model.parameters(), feeds=[v for row in xs for v in row] + ts)
    for epoch in range(2):
        for X_batch, y_batch in batches(X, y, 8, seed=epoch):
            for row, x, t, target in zip(xs, X_batch, ts, y_batch):
                row[0].data, row[1].data, t.data = x[0], x[1], target
            compiled_model.zero_grad()
            value = step()
            eager = nn.hinge_loss([eager_model(x) for x in X_batch], y_batch) + 1e-3 * nn.l2(eager_model)
            eager_model.zero_grad()
            eager.backward()
            assert abs(value - eager.data) < 1e-12
            for p, q in zip(compiled_model.parameters(), eager_model.parameters()):
                assert abs(p.grad - q.grad) < 1e-12
                p.data -= 0.1 * p.grad
                q.data -= 0.1 * q.grad
    assert all(x.grad == 0.0 for row in xs for x in row) and all(t.grad == 0.0 for t in ts)


def test_losses_take_value_targets():
    """A loss given Values as targets reads their data (so targets can be compile_graph feeds) and checks it."""
    assert nn.hinge_loss([0.5], [Value(-1.0)]).data == 1.5
    assert nn.mse_loss([1.0], Value(3.0)).data == 4.0
    with pytest.raises(ValueError, match="-1 or \\+1"):
        nn.hinge_loss([0.5], [Value(0.5)])
    with pytest.raises(ValueError, match="\\[0, 1\\]"):
        nn.bce_with_logits([0.5], [Value(2.0)])
