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
