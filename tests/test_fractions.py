"""ProcessFractions: yield scaling, staged isotonic calibration, reliability, bad input."""
import pickle

import matplotlib
import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks

from bpt import ProcessFractions, plot_reliability, toys

matplotlib.use("Agg")


class Squashed(ClassifierMixin, BaseEstimator):
    """A deliberately miscalibrated classifier: probabilities at temperature 3.

    softmax(log p / T) with T = 3 pulls every probability towards 1/n_classes while keeping
    the ranking: good discrimination, bad calibration.
    """

    def __init__(self, temperature=3.0):
        self.temperature = temperature

    def fit(self, X, y, sample_weight=None):
        self.model_ = HistGradientBoostingClassifier(max_iter=50, random_state=0)
        self.model_.fit(X, y, sample_weight=sample_weight)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        log_p = np.log(self.model_.predict_proba(X)) / self.temperature
        p = np.exp(log_p - log_p.max(axis=1, keepdims=True))
        return p / p.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def samples():
    return (toys.process_mixture(5000, random_state=0),
            toys.process_mixture(5000, random_state=1))


@pytest.fixture(scope="module")
def squashed_models(samples):
    train, _ = samples
    return {calibration: ProcessFractions(Squashed(), calibration=calibration,
                                          random_state=0).fit(train.X, train.target,
                                                              train.weights)
            for calibration in (None, "staged")}


def test_calibration_repairs_a_miscalibrated_classifier(samples, squashed_models):
    """Staged isotonic calibration of the temperature-3 classifier, on held-out events.

    Measured over three seeds (training/test/split seeds (0, 1, 0), (10, 11, 1),
    (20, 21, 2); this test runs the first): expected calibration error per process
    0.095-0.098 / 0.164-0.171 / 0.114-0.115 uncalibrated, 0.002-0.007 / 0.016-0.024 /
    0.014-0.025 calibrated; Brier score 0.467-0.470 uncalibrated, 0.405-0.411 calibrated
    (the true fractions: 0.392-0.398); RMS of g - g_true 0.111-0.118 / 0.178-0.181 / 0.134
    uncalibrated, 0.052-0.064 / 0.081-0.084 / 0.070-0.074 calibrated (at most 0.55 of the
    uncalibrated). Bounds: calibrated ECE below 0.04 and below a third of the uncalibrated
    one; Brier below 0.43 and at least 0.03 below the uncalibrated one; RMS to the truth
    below 0.12 and below 0.75 times the uncalibrated one.
    """
    _, test = samples
    raw = squashed_models[None].reliability(test.X, test.target, test.weights)
    calibrated = squashed_models["staged"].reliability(test.X, test.target, test.weights)
    raw_ece = np.array([c.ece for c in raw.curves])
    ece = np.array([c.ece for c in calibrated.curves])
    assert (ece < 0.04).all() and (ece < raw_ece / 3).all(), (raw_ece, ece)
    assert calibrated.brier < min(0.43, raw.brier - 0.03), (raw.brier, calibrated.brier)
    truth = test.fractions(test.X)
    rms = {k: np.sqrt(np.mean((m.predict_fractions(test.X) - truth) ** 2, axis=0))
           for k, m in squashed_models.items()}
    assert (rms["staged"] < 0.12).all() and (rms["staged"] < 0.75 * rms[None]).all(), rms


def test_staged_scheme_signal_alone_backgrounds_share_the_rest(samples, squashed_models):
    _, test = samples
    model = squashed_models["staged"]
    fractions = model.predict_fractions(test.X)
    np.testing.assert_allclose(fractions.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert (fractions >= 0).all()
    raw = model.predict_uncalibrated(test.X)
    s = model.signal_index_
    # The signal fraction is its own isotonic curve, untouched by the normalization.
    np.testing.assert_array_equal(fractions[:, s], model.calibrators_[s].predict(raw[:, s]))
    # The backgrounds keep the proportions of their own calibrated curves.
    calibrated = np.column_stack([iso.predict(raw[:, c])
                                  for c, iso in enumerate(model.calibrators_)])
    backgrounds = [c for c in range(3) if c != s]
    fine = (calibrated[:, backgrounds].sum(axis=1) > 0) & (fractions[:, s] < 1)
    np.testing.assert_allclose(
        fractions[fine][:, backgrounds] / (1 - fractions[fine][:, [s]]),
        calibrated[fine][:, backgrounds] / calibrated[fine][:, backgrounds].sum(axis=1,
                                                                                keepdims=True),
        rtol=1e-10)
    np.testing.assert_array_equal(model.predict_proba(test.X), fractions)
    assert set(model.predict(test.X[:50])) <= {0, 1, 2}


def test_signal_choice_and_isotonic_scheme(samples):
    train, test = samples
    for signal in (0, 2):
        model = ProcessFractions(Squashed(), signal=signal, random_state=0).fit(
            train.X, train.target, train.weights)
        s = model.signal_index_
        assert s == signal
        raw = model.predict_uncalibrated(test.X[:500])
        np.testing.assert_array_equal(model.predict_fractions(test.X[:500])[:, s],
                                      model.calibrators_[s].predict(raw[:, s]))
    isotonic = ProcessFractions(Squashed(), calibration="isotonic", random_state=0).fit(
        train.X, train.target, train.weights)
    np.testing.assert_allclose(isotonic.predict_fractions(test.X).sum(axis=1), 1.0, atol=1e-12)


def test_expected_yields_set_the_priors():
    """Weights are rescaled to the expected yields: the fractions follow the yields given.

    The same events fitted with yields (50, 400, 200), given directly or through the
    weights, predict the same fractions. Fitted with the signal yield x10, the fractions
    follow the truth for the new yields. Measured over three seeds (5, 6, 7; this test runs
    the first): RMS of the signal fraction against the truth for the new yields
    0.071-0.076, against the truth for the old yields 0.286-0.293; bounds 0.11 and 0.18.
    """
    old = toys.process_mixture(3000, random_state=5)
    new = toys.process_mixture(3000, yields=(500.0, 400.0, 200.0), random_state=5)
    np.testing.assert_array_equal(old.X, new.X)   # same events, only the yields differ
    classifier = HistGradientBoostingClassifier(max_iter=30, random_state=0)
    by_weights = ProcessFractions(classifier, calibration=None).fit(old.X, old.target,
                                                                    old.weights)
    by_yields = ProcessFractions(classifier, calibration=None,
                                 expected_yields={0: 50.0, 1: 400.0, 2: 200.0}).fit(
        old.X, old.target, np.ones(old.target.size))
    np.testing.assert_allclose(by_yields.expected_yields_, [50, 400, 200])
    np.testing.assert_allclose(by_yields.predict_fractions(old.X[:300]),
                               by_weights.predict_fractions(old.X[:300]), rtol=1e-6, atol=1e-9)
    more_signal = ProcessFractions(classifier, expected_yields=[500.0, 400.0, 200.0],
                                   random_state=0).fit(old.X, old.target)
    g = more_signal.predict_fractions(old.X)[:, 0]
    rms_new = np.sqrt(np.mean((g - new.fractions(old.X)[:, 0]) ** 2))
    rms_old = np.sqrt(np.mean((g - old.fractions(old.X)[:, 0]) ** 2))
    assert rms_new < 0.11 and rms_old > 0.18, (rms_new, rms_old)


def test_reliability_prints_and_plots(samples, squashed_models):
    _, test = samples
    model = squashed_models["staged"]
    calibrated = model.reliability(test.X, test.target, test.weights, n_bins=8)
    raw = model.reliability(test.X, test.target, test.weights, n_bins=8, calibrated=False)
    text = str(calibrated)
    assert "Brier" in text and "ECE" in text and len(text.splitlines()) == 2 + 3
    assert len(calibrated.curves) == 3 and calibrated.curves[0].predicted.size <= 8
    uniform = model.reliability(test.X, test.target, test.weights, strategy="uniform")
    assert sum(c.weight.sum() for c in uniform.curves) == pytest.approx(3 * 650.0)
    ax = plot_reliability([raw, calibrated], process_names=["signal", "ttbar", "W"]).axes[0]
    assert len(ax.lines) >= 1 and ax.get_xlabel().startswith("predicted")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("ttbar (calibrated") for t in legend)


def test_clone_and_pickle(samples, squashed_models):
    _, test = samples
    model = squashed_models["staged"]
    assert clone(model).get_params()["calibration"] == "staged"
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict_fractions(test.X[:100]),
                                  model.predict_fractions(test.X[:100]))


def test_bad_input(samples):
    train, _ = samples
    X, y, w = train.X, train.target, train.weights
    with pytest.raises(ValueError, match="at least two processes .classes., got 1 class"):
        ProcessFractions().fit(X[y == 0], y[y == 0])
    with pytest.raises(ValueError, match="negative entries"):
        ProcessFractions().fit(X, y, np.where(np.arange(y.size) == 3, -1.0, w))
    with pytest.raises(ValueError, match="signal=7 is not one of the processes"):
        ProcessFractions(signal=7).fit(X, y, w)
    with pytest.raises(ValueError, match="expected_yields has 2 entries for 3 processes"):
        ProcessFractions(expected_yields=[1.0, 2.0]).fit(X, y, w)
    with pytest.raises(ValueError, match=r"missing \[2\]"):
        ProcessFractions(expected_yields={0: 1.0, 1: 2.0}).fit(X, y, w)
    with pytest.raises(ValueError, match="calibration must be one of"):
        ProcessFractions(calibration="platt").fit(X, y, w)
    with pytest.raises(ValueError, match="calibration_fraction must be"):
        ProcessFractions(cv=None, calibration_fraction=1.5).fit(X, y, w)
    with pytest.raises(ValueError, match="cv must be None or an integer >= 2"):
        ProcessFractions(cv=1).fit(X, y, w)
    model = ProcessFractions(HistGradientBoostingClassifier(max_iter=5)).fit(X, y, w)
    with pytest.raises(ValueError, match="not seen in fit"):
        model.reliability(X[:10], np.full(10, 9))
    with pytest.raises(ValueError, match="features"):
        model.predict_fractions(X[:, :2])


def test_process_mixture_toy():
    toy = toys.process_mixture(1000, yields=(5.0, 50.0, 20.0), random_state=0)
    np.testing.assert_allclose(np.bincount(toy.target, weights=toy.weights), [5, 50, 20])
    g = toy.fractions(toy.X)
    np.testing.assert_allclose(g.sum(axis=1), 1.0, atol=1e-12)
    # Bayes with the yields as priors: g_0 / g_1 = (Y_0 phi_0) / (Y_1 phi_1).
    x = toy.X[:3, :2]
    means, widths = np.array(toys.MIXTURE_MEANS), np.array(toys.MIXTURE_WIDTHS)
    phi = np.exp(-0.5 * ((x[:, None, :] - means) ** 2).sum(axis=2) / widths ** 2) / widths ** 2
    np.testing.assert_allclose(g[:3, 0] / g[:3, 1], 5 * phi[:, 0] / (50 * phi[:, 1]), rtol=1e-10)


# The calibration split draws events, not weight, and each process's weights are rescaled
# to its yield: an integer weight is not the same as repeating the event.
EXPECTED_FAILED_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data":
        "the calibration folds draw events, so weights are not repetitions",
}


@parametrize_with_checks([ProcessFractions(HistGradientBoostingClassifier(max_iter=5),
                                           random_state=0)],
                         expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
