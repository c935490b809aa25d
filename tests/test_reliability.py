"""Regression tests for hostile, extreme or inconsistent input: each a clear error or a
correct result, never a read past an array, a silent NaN or a fit that claims to be valid."""
import numpy as np
import pytest

from bpt import BoostedInformationTree, BoostedParametricTree, toys
from bpt.likelihood import (POI, LogRatioSystematic, Model, Normalization, Nuisance, Parameter,
                            PoiDependence, Process, Scale, Systematic, UnbinnedRegion)


def _fractions(X):
    return np.column_stack([np.full(len(X), 0.3), np.full(len(X), 0.7)])


def small_model(n_signal=200, n_background=400, slope=0.5, poi_coefficient=-2.0,
                background_systematic=None, extra_parameters=(), seed=0):
    """Signal with r = 1 + poi_coefficient * theta and a shape nuisance on the background.

    Callable surrogates: Delta(x) = slope * x for the nuisance, t = poi_coefficient.
    """
    rng = np.random.default_rng(seed)
    signal_X = rng.normal(size=(n_signal, 1))
    background_X = rng.normal(size=(n_background, 1))
    poi = PoiDependence(lambda X: np.full((len(X), 1), poi_coefficient), ["theta"], "linear")
    systematic = background_systematic or Systematic(lambda X: slope * X[:, :1], ["es"], "linear")
    region = UnbinnedRegion("sr", [
        Process("signal", signal_X, np.full(n_signal, 0.25), rate=[Scale("mu")], poi=poi),
        Process("background", background_X, np.full(n_background, 0.5),
                rate=[Normalization("norm", 0.1)], systematics=[systematic]),
    ], fractions=_fractions)
    parameters = [POI("mu", 1.0, bounds=(-5, 10)), Parameter("theta", 0.0, bounds=(-10, 10)),
                  Nuisance("es"), Nuisance("norm")] + list(extra_parameters)
    return Model(parameters, [region])


@pytest.fixture(scope="module")
def model():
    return small_model()


# ------------------------------------------------------------------ likelihood data checks

def test_observed_weights_of_the_wrong_length(model):
    X = np.random.default_rng(1).normal(size=(50, 1))
    with pytest.raises(ValueError, match=r"region 'sr': data weights must have shape \(50,\)"):
        model.data({"sr": (X, np.ones(49))})
    with pytest.raises(ValueError, match=r"region 'sr': data weights must have shape \(50,\)"):
        model.data({"sr": (X, np.ones(1))})


@pytest.mark.parametrize("bad", [np.nan, -1.0, np.inf])
def test_observed_weights_not_finite_or_negative(model, bad):
    X = np.random.default_rng(1).normal(size=(5, 1))
    with pytest.raises(ValueError, match="region 'sr': data weights must be finite and "
                                         "non-negative"):
        model.data({"sr": (X, np.array([1, 1, bad, 1, 1.0]))})


def test_string_features_name_the_region(model):
    with pytest.raises(ValueError, match="region 'sr': data must be numeric"):
        model.data({"sr": np.array([["abc"], ["1.0"]])})


def test_dataset_of_another_model_is_refused(model):
    other = small_model(n_signal=20, n_background=30)
    toy = other.toy({"mu": 1.0}, random_state=0)
    with pytest.raises(ValueError, match="the dataset has 50 weights for the 600 simulated "
                                         "events of this model"):
        model.likelihood(toy)
    observed = other.data({"sr": np.zeros((3, 1))})
    with pytest.raises(ValueError, match="prepared by another model"):
        model.likelihood(observed)


def test_compiled_pass_checks_lengths(model):
    from bpt._core._likelihood import evaluate_events
    events = model.reference["sr"]
    layout = events.layout
    vector = model.parameters.nominal
    rate, minus_one, _, _ = layout.rate_values(vector)
    terms, _ = layout.term_values(vector)
    short = np.ones(events.n_events - 1)
    with pytest.raises(ValueError, match="data_weights has 599 entries for 600 events"):
        evaluate_events(events.yield_weights, short, events.fractions, events.coefficients,
                        layout.ratio_start, layout.ratio_stop, layout.shape_start,
                        layout.shape_stop, terms, rate, minus_one, None, None, True, 1)
    with pytest.raises(ValueError, match="terms has 1 entries for 2 columns"):
        evaluate_events(events.yield_weights, np.ones(600), events.fractions,
                        events.coefficients, layout.ratio_start, layout.ratio_stop,
                        layout.shape_start, layout.shape_stop, terms[:1], rate, minus_one,
                        None, None, True, 1)
    bad_stop = layout.shape_stop.copy()
    bad_stop[-1] = 7
    with pytest.raises(ValueError, match="column range 1:7 of process 1 is outside 0..2"):
        evaluate_events(events.yield_weights, np.ones(600), events.fractions,
                        events.coefficients, layout.ratio_start, layout.ratio_stop,
                        layout.shape_start, bad_stop, terms, rate, minus_one, None, None,
                        True, 1)


def test_parameter_vector_checked(model):
    u = model.likelihood(model.asimov())
    with pytest.raises(ValueError, match=r"must have shape \(4,\), one value per parameter"):
        u(np.zeros(3))
    with pytest.raises(ValueError, match=r"parameter values must be finite, got \{'es': nan\}"):
        u(np.array([1.0, 0.0, np.nan, 0.0]))
    with pytest.raises(ValueError, match="must be finite"):
        u.grad(np.array([np.inf, 0.0, 0.0, 0.0]))


def test_log_ratio_systematic_returning_nan():
    class Broken:
        def predict_log_ratio(self, X, nu):
            return np.where(X[:, 0] > 1.5, np.nan, 0.1 * X[:, 0] * nu[0])

    model = small_model(background_systematic=LogRatioSystematic(Broken(), ["es"]))
    with pytest.raises(ValueError, match=r"LogRatioSystematic \['es'\]: the surrogate returned "
                                         "non-finite log ratios"):
        model.likelihood(model.asimov())(model.parameters.nominal)


@pytest.fixture(scope="module")
def shape_surrogate():
    toy = toys.sine_shape(4000, random_state=0)
    return BoostedParametricTree("linear", n_estimators=5, early_stopping=False,
                                 min_samples_leaf=50).fit(toy.X, toy.target, toy.weights)


@pytest.mark.parametrize("surrogate", ["callable", "bpt"])
def test_unbinned_region_without_observed_events(surrogate, shape_surrogate):
    systematic = (Systematic(shape_surrogate, ["es"]) if surrogate == "bpt" else None)
    model = small_model(background_systematic=systematic)
    data = model.data({"sr": np.zeros((0, 1))})
    u = model.likelihood(data)
    value = u(model.parameters.nominal)
    # No events observed: u = 2 * (expected yield - reference yield) + constraints = 0 here.
    assert value == pytest.approx(0.0, abs=1e-12)
    result = model.likelihood(data).fit(fixed={"theta": 0.0})
    # With nothing observed the signal strength runs to its lower bound: said so.
    assert not result.valid
    assert "bound" in result.reason or "not a valid density" in result.reason


# ----------------------------------------------------------------------- honest fits

def test_negative_expected_yield_toy_and_asimov(model):
    # r = 1 - 2 theta: at theta = 1 the signal's expected yield is negative.
    with pytest.raises(ValueError, match="cannot make a toy at .*model ratio is not positive"):
        model.toy({"theta": 1.0, "mu": 3.0}, random_state=0)
    with pytest.raises(ValueError, match="cannot make Asimov data at .*not positive"):
        model.asimov({"theta": 1.0, "mu": 3.0})


def test_fit_running_into_negative_yields_is_not_valid():
    # No observed event: u = 2 * sum a (R - 1) decreases without end as theta grows and the
    # signal's yield turns negative. The fit must not call that a minimum.
    model = small_model()
    data = model.data({"sr": np.zeros((0, 1))})
    result = model.likelihood(data).fit(fixed={"mu": 1.0, "es": 0.0, "norm": 0.0})
    assert not result.valid
    assert result.reason


@pytest.mark.parametrize("data", ["toy", "observed"])
def test_density_check_from_the_pass_matches_the_model(model, data):
    """A fit checks its minimum with what the last pass counted over the simulated events
    (R_i <= 0, the smallest R_i, the expected yield): the same messages as
    Model.invalid_ratios, which computes the ratios anew."""
    dataset = (model.toy({"mu": 1.0}, random_state=0) if data == "toy" else
               model.data({"sr": np.random.default_rng(4).normal(size=(300, 1))}))
    u = model.likelihood(dataset)
    calls = []
    original = model.invalid_ratios
    model.invalid_ratios = lambda vector: calls.append(1) or original(vector)
    try:
        for vector in ([1.0, 0.0, 0.2, 0.0], [3.0, 1.0, 0.0, 0.0], [1.0, 0.5, 0.0, 0.0]):
            vector = np.array(vector)
            u.value_and_gradient(vector)
            from_pass = u.invalid_ratios(vector)
            assert not calls                  # answered from the pass
            assert from_pass == original(vector)
        assert u.invalid_ratios(np.array([3.0, 1.0, 0.0, 0.0]))  # not the last pass: anew
        assert calls == [1]
    finally:
        del model.invalid_ratios
    assert "not positive at" in original(np.array([3.0, 1.0, 0.0, 0.0]))[0]
    assert original(np.array([1.0, 0.0, 0.2, 0.0])) == []


def test_ratios_in_blocks_of_events_equal_one_block(model, monkeypatch):
    from bpt.likelihood import events as events_module
    events = model.reference["sr"]
    vector = np.array([1.3, 0.2, 0.4, -0.5])
    whole = events.process_ratios(vector)
    monkeypatch.setattr(events_module, "RATIO_CHUNK", 7)     # 600 events: 86 blocks
    np.testing.assert_array_equal(events.process_ratios(vector), whole)
    assert np.all(whole > 0) and whole.shape == (events.n_events, 2)


def test_fit_started_where_u_is_infinite(model):
    X = np.random.default_rng(3).normal(size=(300, 1))
    u = model.likelihood(model.data({"sr": X}))
    # theta = 5 makes R = 1 - 10 * 0.3 < 0 for every observed event: u = inf.
    assert u(np.array([1.0, 5.0, 0.0, 0.0])) == np.inf
    result = u.fit(start={"theta": 5.0}, fixed={"theta": 5.0})
    assert not result.valid
    assert "not finite" in result.reason
    assert result.errors == {} and result.covariance is None


def test_parameter_nothing_depends_on():
    model = small_model(extra_parameters=[Parameter("unused", 0.0)])
    result = model.likelihood(model.asimov()).fit()
    assert not result.valid
    assert "['unused'] are not constrained" in result.reason


def test_valid_fit_has_no_reason(model):
    # (theta is held: with a constant t, mu and theta change only the signal's rate.)
    result = model.likelihood(model.asimov({"mu": 1.5, "es": 0.3})).fit(fixed=["theta"])
    assert result.valid and result.reason == ""
    assert result["mu"] == pytest.approx(1.5, abs=1e-3)
    assert result["es"] == pytest.approx(0.3, abs=1e-3)


def test_nuisance_width_zero_named():
    with pytest.raises(ValueError, match=r"Nuisance\('es'\): width must be a positive finite"):
        Nuisance("es", width=0)
    with pytest.raises(ValueError, match="nominal must be a finite number"):
        Parameter("x", nominal=np.nan)


# ----------------------------------------------------------------------------- estimators

@pytest.fixture(scope="module")
def sine():
    return toys.sine_shape(3000, random_state=0)


def bpt_model(**params):
    options = dict(n_estimators=8, early_stopping=False, min_samples_leaf=40)
    options.update(params)
    return BoostedParametricTree("linear", **options)


@pytest.mark.parametrize("scale", [1e300, 1e-300, 1e-150])
def test_information_tree_weight_scale(scale):
    toy = toys.quadratic_sine(3000, random_state=0)
    reference = BoostedInformationTree(n_estimators=8, early_stopping=False).fit(toy.X,
                                                                                toy.target)
    scaled = BoostedInformationTree(n_estimators=8, early_stopping=False).fit(
        toy.X, toy.target, np.full(3000, scale))
    assert scaled.n_iter_ == reference.n_iter_ == 8
    np.testing.assert_allclose(scaled.predict(toy.X), reference.predict(toy.X), atol=1e-12)


def test_parametric_tree_weight_scale(sine):
    reference = bpt_model().fit(sine.X, sine.target, sine.weights)
    scaled = bpt_model().fit(sine.X, sine.target, sine.weights * 1e306)
    np.testing.assert_allclose(scaled.predict(sine.X), reference.predict(sine.X), atol=1e-12)


def test_statistics_that_overflow_are_named():
    toy = toys.quadratic_sine(500, random_state=0)
    with pytest.raises(ValueError, match="weights times targets.*overflow"):
        BoostedInformationTree(n_estimators=2).fit(toy.X, toy.target * 1e10,
                                                   np.full(500, 1e300))


def test_failed_refit_leaves_the_model_unchanged(sine):
    model = bpt_model().fit(sine.X, sine.target, sine.weights)
    before = model.predict(sine.X)
    state = {k: v for k, v in model.__dict__.items()}
    model.set_params(max_bins=300)
    with pytest.raises(ValueError, match="max_bins must be an integer between 2 and 255"):
        model.fit(sine.X, sine.target, sine.weights)
    model.set_params(max_bins=255, parametrization="cubic")
    two_points = np.isin(sine.target[:, 0], [0.0, 1.0])
    with pytest.raises(ValueError, match="cannot determine"):
        model.fit(sine.X[two_points], sine.target[two_points])
    assert model.parametrization_ is state["parametrization_"]
    assert model.base_points_ is state["base_points_"]
    np.testing.assert_array_equal(model.predict(sine.X), before)
    with pytest.raises(ValueError, match="weights must have shape"):
        model.fit_weights(sine.X, np.ones((len(sine.X), 5)), [0.0, 1.0])
    np.testing.assert_array_equal(model.predict(sine.X), before)


def test_continuous_nu_is_refused(sine):
    n = len(sine.X)
    nu = np.random.default_rng(0).normal(size=n)
    nu[:100] = 0.0
    with pytest.raises(ValueError, match=rf"distinct base points for {n} events.*fit_weights"):
        bpt_model().fit(sine.X, nu)


@pytest.mark.parametrize("point", [[np.nan], [np.inf]])
def test_non_finite_parameter_point_in_predict(sine, point):
    model = bpt_model().fit(sine.X, sine.target, sine.weights)
    with pytest.raises(ValueError, match="nu must be finite"):
        model.predict_log_ratio(sine.X[:3], point)
    with pytest.raises(ValueError, match="nu must be finite"):
        model.predict_ratio(sine.X[:3], [[0.5], point])


def test_string_feature_column_is_named(sine):
    X = sine.X.astype(object)
    X[3, 0] = "abc"
    with pytest.raises(ValueError, match="X must be numeric"):
        bpt_model().fit(X, sine.target)


def test_empty_dataset_at_a_base_point(sine):
    X = sine.X
    with pytest.raises(ValueError, match=r"dataset 1 \(base point nu=\(1\)\) has no events"):
        bpt_model().fit_datasets([X[:1000], X[:0], X[1000:2000]], [0.0, 1.0, -1.0])


# ------------------------------------------------------------------------------ model files

import gzip  # noqa: E402
import json  # noqa: E402

import bpt  # noqa: E402
from bpt.export import evaluator  # noqa: E402
from bpt.export import format as model_format  # noqa: E402


@pytest.fixture(scope="module")
def saved_document(sine):
    model = bpt_model(n_estimators=3, max_depth=2).fit(sine.X, sine.target, sine.weights)
    return model_format.to_document(model)


def _set_node(field, index, value):
    return lambda d: d["ensemble"]["nodes"][field].__setitem__(index, value)


@pytest.mark.parametrize("corrupt, message", [
    (_set_node("threshold", 0, "nan"), "'threshold' is NaN at an internal node"),
    (_set_node("threshold", 0, "abc"), r"threshold'\[0\] must be a number"),
    (lambda d: d["ensemble"]["nodes"].__setitem__("is_leaf", ["no", "yes"]), "0/1 flags"),
    (_set_node("missing_go_to_left", 0, "false"), "0/1 flags"),
    (lambda d: d["ensemble"]["values"][0].__setitem__(0, "nan"), "values must be finite"),
    (lambda d: d["ensemble"]["baseline"].__setitem__(0, "inf"), "baseline must be finite"),
    (lambda d: d.__setitem__("n_features", "abc"), "n_features must be an integer"),
    (lambda d: d.__setitem__("n_features", -1), "n_features must be an integer"),
    (lambda d: d.__setitem__("n_features", 1e9), "n_features must be an integer"),
    (_set_node("left", 0, 2**63), "'left' has entries outside"),
    (_set_node("right", 0, True), "'right' must contain integers only"),
    (_set_node("left", 0, 2), "cycle or a shared node"),
    (lambda d: d["base_points"].__setitem__(0, ["nan"]), "base_points must be finite"),
    (lambda d: d["parametrization"].__setitem__("exponents", [[-1]]), "outside 0..64"),
    (lambda d: d["binning"]["thresholds"].__setitem__(0, [2.0, 1.0]), "increasing"),
    (lambda d: d["binning"].__setitem__("missing_bin", 300), "missing_bin must be"),
    (lambda d: d["params"].__setitem__("max_bins", 1000), "invalid params: max_bins"),
])
def test_hostile_model_fields_are_refused(saved_document, tmp_path, corrupt, message):
    document = json.loads(json.dumps(saved_document))
    corrupt(document)
    path = tmp_path / "model.json"
    path.write_text(json.dumps(document))
    readers = [bpt.load] + ([] if "params" in message else [evaluator.load])
    for reader in readers:
        with pytest.raises(ValueError, match=message):
            reader(path)


def test_compressed_bomb_is_refused_before_expanding(tmp_path):
    path = tmp_path / "bomb.json.gz"
    # 64 MiB of spaces in front of a document: compresses to about 64 KiB.
    with gzip.open(path, "wb") as f:
        for _ in range(64):
            f.write(b" " * (1 << 20))
        f.write(b"{}")
    assert path.stat().st_size < 1 << 20
    for reader in (bpt.load, evaluator.load):
        with pytest.raises(ValueError, match="larger than"):
            reader(path, max_bytes=1 << 20)


def test_deeply_nested_json_is_refused(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    for reader in (bpt.load, evaluator.load):
        with pytest.raises(ValueError, match="nested too deeply"):
            reader(path)


def test_truncated_gzip_is_refused(saved_document, tmp_path):
    data = gzip.compress(json.dumps(saved_document).encode())
    path = tmp_path / "cut.json.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="corrupt gzip data"):
        bpt.load(path)


def test_two_sample_test_on_a_handful_of_events_warns():
    from bpt import classifier_two_sample_test
    X = np.random.default_rng(0).normal(size=(6, 1))
    nu = np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    with pytest.warns(RuntimeWarning, match="only 1 held-out events.*almost no power"):
        classifier_two_sample_test(lambda X, nu: np.zeros(len(X)), X, nu, n_permutations=5,
                                   random_state=0)


class _InfiniteBeyondObjective:
    """u = (x - 1)^2, infinite for x > 0.5 (as u is where a model ratio is not positive):
    Migrad then steps to NaN values, which the objective refuses (as ProfileLikelihood
    does) with a ValueError."""

    names = ["x"]
    start = np.array([0.0])
    bounds = np.array([[-np.inf, np.inf]])
    fixed = np.zeros(1, dtype=bool)

    def __call__(self, vector):
        vector = np.asarray(vector, dtype=np.float64)
        if not np.isfinite(vector).all():
            raise ValueError("parameter values must be finite")
        return np.inf if vector[0] > 0.5 else float((vector[0] - 1.0) ** 2)


def test_fit_whose_minimizer_steps_to_nan_returns_instead_of_raising():
    # Migrad's NaN step is treated as a point of infinite u: the fit stays in the finite
    # domain (it used to stop with the objective's ValueError).
    from bpt.likelihood import fit
    result = fit(_InfiniteBeyondObjective())
    assert np.isfinite(result.u) and result["x"] <= 0.5
