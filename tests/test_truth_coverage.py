"""Coverage under the truth: pseudo-data from the true densities, surrogate and exact fits."""
import numpy as np
import pytest
from scipy.stats import chi2

from bpt import likelihood
from bpt.toys.analysis import PROCESSES


# ------------------------------------------------------------------ the truth generator

def test_pseudo_experiment_counts_are_poisson_with_the_analytic_yields(analysis):
    truth = {"mu": 2.0, "es": 1.0, "bkg_norm": -0.5}
    counts = np.array([np.bincount(analysis.pseudo_experiment(truth, seed).process,
                                   minlength=3) for seed in range(200)])
    rates = analysis.rates(truth["mu"], truth["bkg_norm"])
    expected = np.array([rate * n * analysis._acceptance(p, truth["es"])
                         for rate, n, p in zip(rates, analysis.produced, PROCESSES)])
    # Mean within 4 standard errors, variance equal to the mean (Poisson) within 25%.
    np.testing.assert_array_less(np.abs(counts.mean(axis=0) - expected),
                                 4 * np.sqrt(expected / 200))
    np.testing.assert_allclose(counts.var(axis=0, ddof=1), expected, rtol=0.25)
    assert analysis.expected_yield(**truth) == pytest.approx(expected.sum())


def test_pseudo_experiment_draws_global_observables_or_nuisances(analysis):
    fixed = [analysis.pseudo_experiment({"es": 0.5}, seed) for seed in range(300)]
    centers = np.array([e.global_observables for e in fixed])
    assert all(e.truth == {"mu": 1.0, "es": 0.5, "bkg_norm": 0.0} for e in fixed)
    assert np.all(centers[:, 0] == 1.0)
    np.testing.assert_allclose(centers[:, 1:].mean(axis=0), [0.5, 0.0], atol=4 / np.sqrt(300))
    np.testing.assert_allclose(centers[:, 1:].std(axis=0), 1.0, rtol=0.15)
    drawn = [analysis.pseudo_experiment(None, seed, nuisances="drawn") for seed in range(300)]
    assert all(np.array_equal(e.global_observables, [1.0, 0.0, 0.0]) for e in drawn)
    true_es = np.array([e.truth["es"] for e in drawn])
    assert true_es.std() == pytest.approx(1.0, rel=0.15)
    # The events follow the drawn energy scale: the mean x1 of the signal scales with it.
    high = [e for e in drawn if e.truth["es"] > 1.0]
    low = [e for e in drawn if e.truth["es"] < -1.0]
    x1 = [np.mean(np.concatenate([e.X[e.process == 1, 1] for e in group])) for group in (low, high)]
    assert x1[1] > x1[0]


def test_pseudo_experiment_bad_arguments(analysis):
    with pytest.raises(ValueError, match="nuisances"):
        analysis.pseudo_experiment(nuisances="prior")
    with pytest.raises(KeyError, match="'jes'"):
        analysis.pseudo_experiment({"jes": 1.0})


def test_global_observables_center_the_constraints(analysis, model):
    experiment = analysis.pseudo_experiment(random_state=5)
    centers = np.array([1.0, 0.7, -0.4])
    oracle = analysis.oracle(experiment.X, global_observables=centers)
    plain = analysis.oracle(experiment.X)
    for vector in ([1.0, 0.3, 0.2], [0.8, -1.0, 0.5]):
        shift = np.sum((np.array(vector[1:]) - centers[1:]) ** 2) - np.sum(np.square(vector[1:]))
        assert oracle(vector) - plain(vector) == pytest.approx(shift)
    data = model.data({"signal_region": experiment.X}, global_observables=centers)
    np.testing.assert_array_equal(data.global_observables, centers)
    data = model.data({"signal_region": experiment.X}, global_observables={"es": 0.7})
    np.testing.assert_array_equal(data.global_observables, [1.0, 0.7, 0.0])


def test_yields_from_labels(analysis, surrogates):
    """Observed data: the expected yields are the per-process sums of the simulated events."""
    labelled = analysis.unbinned_model(surrogates, n_reference=20_000, yields_from="labels")
    mixed = analysis.unbinned_model(surrogates, n_reference=20_000, yields_from="fractions")
    X = analysis.pseudo_experiment(random_state=2).X
    region = labelled.region("signal_region")
    vector = np.array([1.3, 0.8, -0.2])
    u_labels = labelled.likelihood(labelled.data({"signal_region": X}))(vector)
    u_fractions = mixed.likelihood(mixed.data({"signal_region": X}))(vector)
    rates = analysis.rates(vector[0], vector[2])
    labels_yield = fractions_yield = 0.0
    for k, (process, rate) in enumerate(zip(region.processes, rates)):
        scaled = process.weights * rate * surrogates[PROCESSES[k]].predict_ratio(process.X, [0.8])
        labels_yield += scaled.sum()
        g = analysis.fractions(np.vstack([p.X for p in region.processes]))[:, k]
        every = np.concatenate([p.weights for p in region.processes])
        ratio = surrogates[PROCESSES[k]].predict_ratio(np.vstack([p.X for p in region.processes]),
                                                       [0.8])
        fractions_yield += np.sum(every * g * rate * ratio)
    assert u_labels - u_fractions == pytest.approx(2 * (labels_yield - fractions_yield),
                                                   rel=1e-6)
    # Asimov data keep the fractions, so their best fit is still the truth.
    best = labelled.likelihood(labelled.asimov({"mu": 1.2})).fit()
    assert best["mu"] == pytest.approx(1.2, abs=1e-3)
    with pytest.raises(ValueError, match="yields_from"):
        likelihood.UnbinnedRegion("r", region.processes, analysis.fractions, yields_from="x")


# ------------------------------------------------------------------- the generic study

class GaussianMean:
    """u = ((mean - mu) / sigma)^2 for the mean of n unit Gaussians: a known interval."""

    names = ["mu"]
    bounds = np.array([[-10.0, 10.0]])
    fixed = np.zeros(1, dtype=bool)

    def __init__(self, mean, sigma, offset=0.0):
        self.mean, self.sigma, self.offset = mean, sigma, offset
        self.start = np.array([0.0])

    has_hessian = True

    def __call__(self, vector):
        return float(((self.mean + self.offset - vector[0]) / self.sigma) ** 2)

    def value_and_gradient(self, vector):
        return self(vector), np.array([2 * (vector[0] - self.mean - self.offset)
                                       / self.sigma ** 2])

    def hessian(self, vector):
        return np.array([[2 / self.sigma ** 2]])


def _gaussian_mean(seed):
    return np.random.default_rng(seed).normal(0.5, 1.0, 25).mean()


def _exact(mean):
    return GaussianMean(mean, 0.2)


def _too_narrow(mean):
    return GaussianMean(mean, 0.1)


def test_truth_coverage_on_a_known_interval():
    result = likelihood.truth_coverage(_gaussian_mean, {"exact": _exact, "narrow": _too_narrow},
                                       "mu", 0.5, n_toys=200, random_state=0)
    assert result.all_valid.all()
    for cl in (0.68, 0.95):
        covered, error = result.coverage("exact", cl)
        assert abs(covered - cl) < 3 * np.sqrt(cl * (1 - cl) / 200), cl
    # Half the true error: q(truth) = 4 z^2 with z standard normal.
    narrow, _ = result.coverage("narrow", 0.68)
    expected = chi2.cdf(chi2.ppf(0.68, 1) / 4, 1)
    assert abs(narrow - expected) < 3 * np.sqrt(expected * (1 - expected) / 200)
    # Adding the missing uncertainty in quadrature (0.2^2 = 0.1^2 + 0.173^2) restores it.
    repaired, _ = result.coverage("narrow", 0.68, added_error=np.sqrt(0.2 ** 2 - 0.1 ** 2))
    assert repaired == result.coverage("exact", 0.68)[0]
    assert result.pulls("narrow").std() == pytest.approx(2 * result.pulls("exact").std(), rel=1e-3)
    np.testing.assert_allclose(result.differences("narrow", "exact"), 0.0, atol=0.01)
    rows = {row["objective"]: row for row in result.summary("exact")}
    assert rows["exact"]["pull_width"] == pytest.approx(1.0, abs=3 / np.sqrt(2 * 200))
    assert "difference_mean" in rows["narrow"] and "difference_mean" not in rows["exact"]


def test_truth_coverage_bad_arguments():
    with pytest.raises(ValueError, match="objectives"):
        likelihood.truth_coverage(_gaussian_mean, {}, "mu", 0.5)
    with pytest.raises(ValueError, match="n_toys"):
        likelihood.truth_coverage(_gaussian_mean, {"exact": _exact}, "mu", 0.5, n_toys=0)
    result = likelihood.truth_coverage(_gaussian_mean, {"exact": _exact}, "mu", 0.5, n_toys=3)
    with pytest.raises(KeyError, match="'surrogate'"):
        result.coverage("surrogate")


# ---------------------------------------------------------------- the toy analysis study

def test_truth_coverage_small(analysis, model):
    """20 pseudo-experiments from the truth: the surrogate fit follows the exact one.

    Measured: mu-hat - exact mu-hat has mean +0.042 and RMS 0.075 of the exact error, the errors
    differ by at most 2.2%; both fits are valid on every pseudo-experiment."""
    result = analysis.truth_coverage(model, n_toys=20, random_state=11)
    assert result.all_valid.all()
    differences = result.differences("surrogate", "exact")
    assert abs(differences.mean()) < 0.2
    assert np.sqrt(np.mean(differences ** 2)) < 0.3
    # The errors agree too: the surrogate does not claim a different precision.
    np.testing.assert_allclose(result.errors[:, 0], result.errors[:, 1], rtol=0.08)


def test_unbinned_model_takes_log_ratio_systematics(analysis):
    """The true ratios (``true_surrogates``) in the toy's unbinned model (100 000 reference
    events) fit like the exact likelihood on pseudo-data at es = 1.5, and log r = 0 in their
    place does not. Measured, in exact errors: mu-hat 0.17 and es-hat -0.29 away with the
    true ratios (mu error ratio 0.995), 1.00 and -0.97 with log r = 0."""
    experiment = analysis.pseudo_experiment({"es": 1.5}, random_state=5)
    exact = likelihood.fit(analysis.oracle(experiment.X,
                                           global_observables=experiment.global_observables))

    def offsets(surrogates):
        model = analysis.unbinned_model(surrogates, n_reference=100_000)
        fitted = model.likelihood(analysis.surrogate_data(model, experiment)).fit()
        assert fitted.valid
        return ((fitted["mu"] - exact["mu"]) / exact.errors["mu"],
                (fitted["es"] - exact["es"]) / exact.errors["es"],
                fitted.errors["mu"] / exact.errors["mu"])

    mu_offset, es_offset, error_ratio = offsets(analysis.true_surrogates())
    assert abs(mu_offset) < 0.3 and abs(es_offset) < 0.5
    assert error_ratio == pytest.approx(1.0, abs=0.05)
    mu_offset, es_offset, _ = offsets(
        {p: likelihood.LogRatioSystematic(_NoEnergyScale(), ["es"]) for p in PROCESSES})
    assert abs(mu_offset) > 0.6 and abs(es_offset) > 0.6


class _NoEnergyScale:
    def predict_log_ratio(self, X, nu):
        return np.zeros(len(X))


def test_surrogate_uncertainty_from_bootstrap_replicas(analysis, model):
    """Two bootstrap replicas of the surrogates give a spread of mu-hat on the same data that
    is small against its error (measured 0.079 of it) and not zero."""
    replicas = [analysis.unbinned_model(analysis.fit_energy_scale(bootstrap=b))
                for b in range(2)]
    experiment = analysis.pseudo_experiment(random_state=3)
    objectives = [r.likelihood(analysis.surrogate_data(r, experiment)) for r in replicas]
    spread, estimates = likelihood.surrogate_uncertainty(objectives, "mu")
    error = model.likelihood(analysis.surrogate_data(model, experiment)).fit().errors["mu"]
    assert 0 < spread < 0.3 * error
    assert estimates.shape == (2,)
    with pytest.raises(ValueError, match="at least two"):
        likelihood.surrogate_uncertainty(objectives[:1], "mu")


@pytest.mark.slow
@pytest.mark.parametrize("nuisances", ["fixed", "drawn"])
def test_truth_coverage_large(analysis, model, nuisances):
    """500 pseudo-experiments from the truth, default training sizes: 68% coverage within two
    standard errors, pull width <= 1.05, |mean mu-hat - exact mu-hat| <= 0.1 exact errors
    (measured with the cubic surrogates from base points -3..3: 71.4 +- 2.0%, pull width
    0.951, mean difference +0.047); with the true nuisances drawn too, where the surrogates
    are used away from es = 0 (measured: 67.4 +- 2.1%, pull width 1.049, mean difference
    +0.093: inside the bounds by less than the statistical precision of 500 toys)."""
    result = analysis.truth_coverage(model, n_toys=500, random_state=123, n_jobs=2,
                                     nuisances=nuisances)
    assert result.all_valid.mean() > 0.99
    covered, error = result.coverage("surrogate", 0.683)
    assert abs(covered - 0.683) <= 2 * np.sqrt(0.683 * 0.317 / result.all_valid.sum())
    assert result.pulls("surrogate").std(ddof=1) <= 1.05
    assert abs(result.differences("surrogate", "exact").mean()) <= 0.1
