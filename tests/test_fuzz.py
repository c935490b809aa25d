"""Property-based fuzzing of the public API: estimators, prediction, likelihood, model files.

For every generated input the call must either raise a ValueError or TypeError whose message
names the problem, or return a finite result that agrees with an independent reference
(closed-form root fits, the standalone NumPy evaluator, a direct NumPy evaluation of u).
Hypothesis runs derandomized, so every run tries the same cases. With ``BPT_FUZZ_REPORT=FILE``
the numbers of cases, errors and results per test are written to FILE as JSON.
"""
import json
import os
import warnings
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bpt
from bpt import BoostedInformationTree, BoostedParametricTree, toys
from bpt.export import evaluator
from bpt.export import format as model_format
from bpt.likelihood import (POI, Model, Normalization, Nuisance, ObservedEvents, PoiDependence,
                            Process, Scale, Systematic, UnbinnedRegion)

EXAMPLES = 60
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
# Messages of errors raised deep inside NumPy or the kernels instead of by a check.
UNCLEAR = ("could not convert", "cannot reshape", "broadcast", "index ", "not aligned",
           "matmul", "object of type", "unsupported operand", "out of bounds", "NoneType")
OUTCOMES = {}


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    path = os.environ.get("BPT_FUZZ_REPORT")
    if path:
        with open(path, "w") as f:
            json.dump({name: dict(counts) for name, counts in OUTCOMES.items()}, f, indent=1)


def outcome(test, call):
    """Run ``call``; a clear ValueError/TypeError counts as an error, else its result is
    returned for checking. Any other exception, or an unclear message, fails the test."""
    counts = OUTCOMES.setdefault(test, Counter())
    counts["cases"] += 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = call()
    except (ValueError, TypeError) as exc:
        message = str(exc)
        assert len(message) > 15, f"terse error: {message!r}"
        assert not any(phrase in message for phrase in UNCLEAR), f"unclear: {message!r}"
        counts["errors"] += 1
        if os.environ.get("BPT_FUZZ_MESSAGES"):
            counts[message[:110]] += 1
        return None
    counts["results"] += 1
    return result


special_floats = st.sampled_from([0.0, -0.0, 1.0, -1.0, 1e-300, 1e300, -1e300, np.nan,
                                  np.inf, -np.inf, 5e-324])
# Mostly ordinary numbers, so that valid inputs reach the checks of results.
reals = st.one_of(st.floats(-10, 10), st.floats(-10, 10), st.floats(-10, 10), special_floats)


def mostly(valid, *invalid):
    """``valid`` in about four cases of five, otherwise one of ``invalid``."""
    choices = list(invalid)
    return st.integers(0, 4 * len(choices) + len(choices) - 1).map(
        lambda i: choices[i - 4 * len(choices)] if i >= 4 * len(choices) else valid)


# ---------------------------------------------------------------------------- estimators

@st.composite
def training_inputs(draw):
    n = draw(st.integers(10, 120))
    n_features = draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    X = rng.normal(size=(n, n_features))
    for _ in range(draw(st.integers(0, 3))):
        X[draw(st.integers(0, n - 1)), draw(st.integers(0, n_features - 1))] = draw(reals)
    labels = draw(mostly("points", "continuous", "no_nominal"))
    # (a few events may all miss nu = 0 even with labels from the base points)
    if labels == "points":
        nu = rng.choice([0.0, 1.0, -1.0, 0.5], size=n)
    elif labels == "continuous":
        nu = rng.normal(size=n)
    else:
        nu = rng.choice([1.0, 2.0], size=n)
    weights = draw(st.sampled_from(["none", "unit", "scaled", "scaled", "special", "short"]))
    if weights == "none":
        w = None
    elif weights == "unit":
        w = np.ones(n)
    elif weights == "scaled":
        w = rng.uniform(0.5, 2.0, n) * draw(st.sampled_from([1e-300, 1e-100, 1.0, 1e100,
                                                              1e300, -1.0]))
    elif weights == "special":
        w = rng.uniform(0.5, 2.0, n)
        w[draw(st.integers(0, n - 1))] = draw(reals)
    else:
        w = np.ones(n - 1)
    params = dict(n_estimators=draw(mostly(draw(st.sampled_from([1, 3])), 0, -1, 2.5)),
                  max_bins=draw(mostly(draw(st.sampled_from([2, 16, 255])), 256, 1)),
                  learning_rate=draw(mostly(draw(st.sampled_from([0.3, 1.0])), 0.0, np.nan)),
                  min_samples_leaf=draw(mostly(draw(st.sampled_from([1, 5])), 0)),
                  max_depth=draw(mostly(draw(st.sampled_from([2, None])), 0)),
                  early_stopping=False)
    return X, nu, w, params


def _check_parametric_fit(model, X, nu, w):
    """The baseline is the root's least-squares fit of log(W_k / W_0); predictions finite."""
    points = model.base_points_
    weights = np.ones(len(X)) if w is None else w
    totals = np.array([weights[nu == p[0]].sum() for p in points])
    design = model.parametrization_.values(points[1:])
    expected = np.linalg.lstsq(design, np.log(totals[1:] / totals[0]), rcond=None)[0]
    np.testing.assert_allclose(model._ensemble.baseline, expected, rtol=1e-9, atol=1e-12)
    finite_rows = ~np.isnan(X).any(axis=1) & np.isfinite(X).all(axis=1)
    assert np.isfinite(model.predict(X[finite_rows] if finite_rows.any() else X[:0])).all()


@FUZZ
@given(training_inputs())
def test_fuzz_parametric_fit(inputs):
    X, nu, w, params = inputs
    model = outcome("parametric fit", lambda: BoostedParametricTree("linear", **params)
                    .fit(X, nu, w))
    if model is not None:
        _check_parametric_fit(model, X, nu, w)


@FUZZ
@given(training_inputs())
def test_fuzz_information_fit(inputs):
    X, nu, w, params = inputs
    t = np.column_stack([nu, nu ** 2])   # any coefficients: the tree fits their weighted mean
    model = outcome("information fit", lambda: BoostedInformationTree("linear", **params)
                    .fit(X, t, w))
    if model is not None:
        weights = np.ones(len(X)) if w is None else w
        scale = np.abs(weights).max()
        expected = (weights / scale) @ t / (weights / scale).sum()
        np.testing.assert_allclose(model._ensemble.baseline, expected, rtol=1e-9, atol=1e-12)
        assert np.isfinite(model.predict(np.nan_to_num(X, posinf=0, neginf=0))).all()


# ---------------------------------------------------------------------------- prediction

@pytest.fixture(scope="module")
def fitted():
    toy = toys.gaussian_mean_width(1500, random_state=0)
    model = BoostedParametricTree("quadratic", n_estimators=5, min_samples_leaf=20,
                                  early_stopping=False).fit(toy.X, toy.target)
    return model, evaluator.Model(model_format.to_document(model))


@st.composite
def prediction_inputs(draw):
    n = draw(st.integers(0, 40))
    n_features = draw(mostly(3, 1, 2))   # the model has 3 features
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    X = rng.normal(size=(n, n_features)) * draw(st.sampled_from([1.0, 1e300, 1e-300]))
    for _ in range(draw(st.integers(0, 3)) if n else 0):
        X[draw(st.integers(0, n - 1)), draw(st.integers(0, n_features - 1))] = draw(reals)
    dtype = draw(mostly(np.float64, np.float32, object))
    with np.errstate(over="ignore"):
        X = X.astype(dtype)
    shape = draw(mostly(draw(st.sampled_from([(2,), (3, 2)])), (1,), (2, 3), ()))
    nu = np.asarray(draw(st.lists(reals, min_size=int(np.prod(shape)),
                                  max_size=int(np.prod(shape))))).reshape(shape)
    return X, nu


@FUZZ
@given(prediction_inputs())
def test_fuzz_predict(fitted, inputs):
    model, reference = fitted
    X, nu = inputs
    result = outcome("predict", lambda: model.predict_log_ratio(X, nu))
    if result is not None:
        assert np.isfinite(result).all()
        expected = reference.predict_log_ratio(np.asarray(X, dtype=np.float64)
                                               if X.dtype == object else X, nu)
        np.testing.assert_array_equal(result, expected)


# ---------------------------------------------------------------------------- likelihood

def _fractions(X):
    return np.column_stack([np.full(len(X), 0.3), np.full(len(X), 0.7)])


@pytest.fixture(scope="module")
def likelihood_model():
    rng = np.random.default_rng(0)
    region = UnbinnedRegion("sr", [
        Process("signal", rng.normal(size=(150, 1)), np.full(150, 0.2), rate=[Scale("mu")],
                poi=PoiDependence(lambda X: 0.5 * X[:, :1], ["theta"], "linear")),
        Process("background", rng.normal(size=(250, 1)), np.full(250, 0.6),
                rate=[Normalization("norm", 0.1)],
                systematics=[Systematic(lambda X: 0.3 * X[:, :1], ["es"], "linear")]),
    ], fractions=_fractions)
    return Model([POI("mu", 1.0, bounds=(-5, 10)), POI("theta", 0.0, bounds=(-3, 3)),
                  Nuisance("es"), Nuisance("norm")], [region])


def _direct_u(model, data, vector):
    """u from the model's per-event ratios in NumPy: the reference for the compiled pass."""
    reference = model.reference["sr"]
    R = reference.ratios(vector)
    total = 2 * np.sum(reference.yield_weights * (R - 1))
    entry = data.regions["sr"]
    if isinstance(entry, ObservedEvents):
        d, R_data = entry.weights, entry.events.ratios(vector)
    else:
        d, R_data = entry.weights, R
    used = d != 0
    if (R_data[used] <= 0).any():
        return np.inf
    total -= 2 * np.sum(d[used] * np.log(R_data[used]))
    ps = model.parameters
    pull = np.where(ps.constrained, (vector - data.global_observables) / ps.widths, 0.0)
    return total + np.sum(pull ** 2)


@st.composite
def likelihood_inputs(draw):
    kind = draw(st.sampled_from(["observed", "observed", "toy", "asimov", "foreign"]))
    vector = np.array([draw(reals) for _ in range(draw(mostly(4, 3)))])
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    n = draw(st.integers(0, 60))
    X = rng.normal(size=(n, draw(mostly(1, 2))))
    if n and draw(st.booleans()):
        X[draw(st.integers(0, n - 1)), 0] = draw(reals)
    weights = draw(st.sampled_from([None, "ok", None, "ok", "short", "special"]))
    if weights == "ok":
        weights = rng.uniform(0, 2, n)
    elif weights == "short":
        weights = np.ones(max(n - 1, 0) if n else 1)
    elif weights == "special":
        weights = np.ones(n + 1)[:n]
        if n:
            weights[0] = draw(reals)
    values = {"mu": draw(st.one_of(st.floats(-1, 4), special_floats)),
              "theta": draw(st.floats(-3, 3)), "es": draw(st.floats(-2, 2))}
    return kind, X, weights, values, vector, draw(st.integers(0, 1000))


@FUZZ
@given(likelihood_inputs())
def test_fuzz_likelihood(likelihood_model, inputs):
    model = likelihood_model
    kind, X, weights, values, vector, seed = inputs

    def evaluate():
        if kind == "observed":
            data = model.data({"sr": X if weights is None else (X, weights)})
        elif kind == "toy":
            data = model.toy(values, random_state=seed)
        elif kind == "asimov":
            data = model.asimov(values)
        else:   # a toy of a model with other events
            rng = np.random.default_rng(seed)
            other = Model(model.parameters.parameters, [UnbinnedRegion("sr", [
                Process("signal", rng.normal(size=(20, 1)), rate=[Scale("mu")])])])
            data = other.toy({"mu": 1.0}, random_state=seed)
        return data, model.likelihood(data)(vector)

    result = outcome("likelihood", evaluate)
    if result is not None:
        data, u = result
        with np.errstate(all="ignore"):
            expected = _direct_u(model, data, vector)
        if not np.isfinite(expected):   # R <= 0 at a data event, or overflow
            assert u == np.inf
        else:
            assert np.isfinite(u)
            np.testing.assert_allclose(u, expected, rtol=1e-9, atol=1e-9)


@settings(FUZZ, max_examples=25)
@given(st.floats(0.2, 3.0), st.floats(-1.5, 1.5), st.integers(0, 1000))
def test_fuzz_fit_validity(likelihood_model, mu, es, seed):
    """A fit that says valid is a finite interior minimum: gradient ~ 0, curvature positive."""
    model = likelihood_model

    def run():
        data = model.toy({"mu": mu, "es": es}, random_state=seed)
        u = model.likelihood(data)
        return u, u.fit(fixed=["theta"])

    result = outcome("fit", run)
    if result is None:
        return
    u, fit = result
    OUTCOMES["fit"]["valid fits"] += bool(fit.valid)
    if not fit.valid:
        assert fit.reason
        return
    free = np.array([name != "theta" for name in fit.names])
    low, high = u.bounds.T
    assert np.all((fit.vector[free] > low[free]) & (fit.vector[free] < high[free]))
    gradient = u.grad(fit.vector)[free]
    hessian = u.hessian(fit.vector)[np.ix_(free, free)]
    assert np.linalg.eigvalsh(hessian).min() > 0
    assert gradient @ np.linalg.solve(hessian, gradient) < 1e-4   # twice the EDM, 2e-6 * 50


# ---------------------------------------------------------------------------- model files

@pytest.fixture(scope="module")
def document():
    toy = toys.sine_shape(1000, random_state=0)
    model = BoostedParametricTree("quadratic", n_estimators=3, max_depth=2,
                                  early_stopping=False).fit(toy.X, toy.target, toy.weights)
    return model_format.to_document(model)


json_values = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 5), st.sampled_from([2**31, 2**63, -2**40]),
    st.floats(-3, 3), st.sampled_from(["nan", "inf", "-inf", "abc", "", "1.5"]),
    st.lists(st.integers(-1, 3), max_size=3), st.just({"ndarray": [1], "dtype": "zz"}))


def _paths(node, prefix=()):
    """Every path to a value in a JSON document."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield prefix + (key,)
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node[:4]):
            yield prefix + (i,)
            yield from _paths(value, prefix + (i,))


@FUZZ
@given(st.data())
def test_fuzz_model_files(document, tmp_path_factory, data):
    mutated = json.loads(json.dumps(document))
    paths = sorted(_paths(mutated), key=str)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        target = mutated
        try:
            for key in path[:-1]:
                target = target[key]
            if data.draw(st.integers(0, 9)) == 0 and isinstance(target, dict):
                target.pop(path[-1], None)
            else:
                target[path[-1]] = data.draw(json_values)
        except (KeyError, IndexError, TypeError):
            continue   # an earlier mutation replaced a parent of this path
    file = tmp_path_factory.mktemp("fuzz") / "model.json"
    file.write_text(json.dumps(mutated))
    X = np.random.default_rng(0).uniform(-4, 4, size=(50, 1))
    X[::7] = np.nan
    loaded = outcome("model file (bpt.load)", lambda: bpt.load(file))
    standalone = outcome("model file (evaluator)", lambda: evaluator.load(file))
    if loaded is not None:
        predicted = loaded.predict(X)
        assert np.isfinite(predicted).all()
        assert standalone is not None, "bpt.load accepted a file the evaluator refuses"
        np.testing.assert_array_equal(predicted, standalone.predict(X))
    if standalone is not None:
        assert np.isfinite(standalone.predict(X)).all()
