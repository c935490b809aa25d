"""Surrogate validation: closure chi2 and the classifier two-sample test, on analytic truth.

The toy is gaussian_mean_width (nu0 shifts the mean of x0, nu1 scales the width of x1,
4000 events per base point). The true log ratio must pass both checks and a wrong one
(no effect at all, or half the true effect) must fail them. Bounds come from ten test
samples (seeds 100..109, two-sample seeds 0..9; the tests run the first) and are quoted
with each test.
"""
import matplotlib
import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from bpt import (BoostedParametricTree, classifier_two_sample_test, closure_test, plot_closure,
                 plot_two_sample, toys, weighted_auc)

matplotlib.use("Agg")

POINTS = [(1, 0), (0, 1), (1, 1)]
N_PERMUTATIONS = 200


def no_effect(X, nu):
    return np.zeros(X.shape[0])


@pytest.fixture(scope="module")
def sample():
    return toys.gaussian_mean_width(4000, random_state=100)


def two_sample(surrogate, sample, points=POINTS):
    classifier = HistGradientBoostingClassifier(max_iter=50, max_depth=3)
    return classifier_two_sample_test(surrogate, sample.X, sample.target, points=points,
                                      classifier=classifier, n_permutations=N_PERMUTATIONS,
                                      random_state=0)


def z_score(result):
    return (result.auc - result.null_aucs.mean()) / result.null_aucs.std()


def test_closure_of_the_true_ratio(sample):
    """chi2/ndf per (point, feature), 6 points x 3 features x 10 bins.

    Measured over ten samples: mean 0.71-1.11, largest 1.34-2.36 (the mean sits a little
    below 1 because each sample has a fixed size: its bin counts are multinomial, with less
    variance than the Poisson errors used). Bounds: mean in [0.5, 1.5], largest below 3.5.
    """
    result = closure_test(sample.log_ratio, sample.X, sample.target)
    assert len(result.points) == 6 and all(len(p.features) == 3 for p in result.points)
    chi2 = np.array([p.chi2_per_ndf for p in result.points])
    assert 0.5 < chi2.mean() < 1.5 and chi2.max() < 3.5, chi2
    assert all(f.ndf == 10 for p in result.points for f in p.features)
    assert 0 < result.points[0].features[0].p_value <= 1


def test_closure_rejects_a_surrogate_without_the_effect(sample):
    """No effect: the feature each nuisance acts on is far off at every point.

    Measured smallest chi2/ndf (x0 where nu0 != 0, x1 where nu1 != 0) over ten samples:
    7.9-12.4; bound 4. The unaffected feature x2 stays near 1.
    """
    result = closure_test(no_effect, sample.X, sample.target)
    affected = [p.chi2_per_ndf[0] if p.point[0] else p.chi2_per_ndf[1] for p in result.points]
    assert min(affected) > 4, affected
    text = str(result)
    assert "x0" in text and "(1, 1)" in text


def test_closure_options(sample):
    result = closure_test(sample.log_ratio, sample.X, sample.target, points=[(1, 1)],
                          features=[1], feature_names=["mean", "width", "noise"], n_bins=5,
                          normalize=True)
    (point,) = result.points
    (feature,) = point.features
    assert feature.name == "width" and feature.ndf == 4 and feature.edges.size == 6
    assert feature.reweighted.sum() == pytest.approx(feature.varied.sum())
    with pytest.raises(ValueError, match=r"no events at the point \(2, 0\)"):
        closure_test(sample.log_ratio, sample.X, sample.target, points=[(2, 0)])
    nominal_only = (sample.target != 0).any(axis=1)
    with pytest.raises(ValueError, match="no nominal events"):
        closure_test(sample.log_ratio, sample.X[nominal_only], sample.target[nominal_only])


def test_two_sample_accepts_the_true_ratio(sample):
    """Measured over ten samples x 3 points: z = (AUC - mean null) / sd null between -2.2
    and 1.9, p-values 0.035 to 0.99. Bounds: |z| < 3 and p > 0.01.
    """
    results = two_sample(sample.log_ratio, sample)
    assert len(results) == 3
    for result in results:
        assert abs(z_score(result)) < 3 and result.p_value > 0.01, result
        assert result.null_aucs.shape == (N_PERMUTATIONS,)
        assert result.n_train + result.n_test == 8000


def test_two_sample_rejects_wrong_surrogates(sample):
    """No effect, and half the true effect, at the points where nu0 = 1.

    Measured over ten samples: z >= 12.8 (no effect) and >= 4.8 (half effect), the AUC
    above every permutation (p = 1/201). Bounds: z > 6 and z > 3, p at its minimum.
    """
    minimum_p = 1.0 / (N_PERMUTATIONS + 1)
    for surrogate, bound in ((no_effect, 6.0),
                             (lambda X, nu: 0.5 * sample.log_ratio(X, nu), 3.0)):
        for result in two_sample(surrogate, sample, points=[(1, 0), (1, 1)]):
            assert z_score(result) > bound and result.p_value == pytest.approx(minimum_p), result


def test_surrogate_objects_are_accepted(sample):
    """A fitted BPT goes in through predict_log_ratio (closure on its training events)."""
    model = BoostedParametricTree("quadratic", n_estimators=20, min_samples_leaf=200,
                                  early_stopping=False, random_state=0)
    model.fit(sample.X, sample.target)
    result = closure_test(model, sample.X, sample.target, points=[(1, 0)])
    assert result.points[0].chi2_per_ndf[0] < 3
    with pytest.raises(TypeError, match="predict_log_ratio"):
        closure_test(42, sample.X, sample.target)


def test_weighted_auc_matches_scikit_learn():
    rng = np.random.default_rng(3)
    scores = np.round(rng.normal(size=500), 1)        # many ties
    labels = rng.random(500) < 0.4
    weights = rng.exponential(size=500)
    assert weighted_auc(scores, labels, weights) == pytest.approx(
        roc_auc_score(labels, scores, sample_weight=weights), rel=1e-12)
    assert weighted_auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores),
                                                         rel=1e-12)


def test_plots(sample):
    closure = closure_test(sample.log_ratio, sample.X, sample.target, points=[(1, 1)])
    fig = plot_closure(closure, features=[0, 1])
    assert len(fig.axes) == 4
    results = two_sample(no_effect, sample, points=[(1, 0)])
    ax = plot_two_sample(results[0]).axes[0]
    assert "AUC" in ax.get_xlabel()
    # The test's own result draws one panel per point.
    assert len(plot_two_sample(two_sample(no_effect, sample,
                                          points=[(1, 0), (0, 1)])).axes) == 2
    assert "p-value" in str(results)


# -------------------------------------------------------- closure with shared events

def hidden_weight_variation(n, sigma=0.3, seed=0):
    """Weight variations w_k = exp(nu_k (sin x + z)) with a hidden z ~ N(0, sigma): the
    same events at every point, per-event weights scattered around the true ratio
    r(x|nu) = exp(nu sin x + nu^2 sigma^2 / 2)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-np.pi, np.pi, size=(n, 1))
    z = rng.normal(0.0, sigma, size=n)
    points = np.array([[0.0], [0.5], [1.0]])
    weights = np.exp(points[:, 0] * (np.sin(x[:, 0]) + z)[:, None])

    def truth(X, nu):
        nu = float(np.ravel(nu)[0])
        return nu * np.sin(X[:, 0]) + nu ** 2 * sigma ** 2 / 2

    return x, weights, points, truth


def test_weight_closure_uses_the_correlated_noise():
    from bpt import weight_closure_test

    x, weights, points, truth = hidden_weight_variation(40_000)
    shared = weight_closure_test(truth, x, weights, points, n_bins=40)
    # The same events stacked as independent samples: the variances added.
    n = x.shape[0]
    stacked = closure_test(truth, np.tile(x, (3, 1)), np.repeat(points, n, axis=0),
                           weights.T.reshape(-1), n_bins=40)
    shared_chi2 = shared.points[0].chi2_per_ndf[0], shared.points[1].chi2_per_ndf[0]
    stacked_chi2 = stacked.points[0].chi2_per_ndf[0], stacked.points[1].chi2_per_ndf[0]
    # With the truth, chi2/ndf is about 1 with the right noise (ndf = 40: sd 0.22) ...
    assert all(0.5 < c < 1.6 for c in shared_chi2), shared_chi2
    # ... and far below 1 when the correlated samples are treated as independent.
    assert all(c < 0.2 for c in stacked_chi2), stacked_chi2
    # A surrogate missing the rate term nu^2 sigma^2 / 2 (a 4.6% rate error at nu = 1):
    # visible with the right noise, hidden by the overstated one.
    def wrong(X, nu):
        return float(np.ravel(nu)[0]) * np.sin(X[:, 0])

    assert weight_closure_test(wrong, x, weights, points, n_bins=40,
                               points=[[1.0]]).max_chi2_per_ndf() > 5
    assert closure_test(wrong, np.tile(x, (3, 1)), np.repeat(points, n, axis=0),
                        weights.T.reshape(-1), n_bins=40,
                        points=[[1.0]]).max_chi2_per_ndf() < 3
    fc = shared.points[0].features[0]
    assert fc.difference_error is not None and (fc.difference_error > 0).all()
    with pytest.raises(ValueError, match="weights has 2 columns but nu_points 3"):
        weight_closure_test(truth, x, weights[:, :2], points)


def test_weight_two_sample_test_uses_the_paired_noise():
    """Shared events: the sign-flip null has the noise of w_k - w_0 r per event. It accepts
    the true ratio, and it rejects a shape error (log r scaled by 0.95) that the unpaired test
    on stacked copies, whose permutation null treats the copies as independent, misses.
    Measured (random_state 0, 1): true ratio p = 0.10, 0.19; scaled p = 0.0099 (the
    smallest possible) against 1.0, 0.95 for the stacked test."""
    from bpt import weight_two_sample_test

    x, weights, points, truth = hidden_weight_variation(20_000, sigma=0.3, seed=2)
    classifier = HistGradientBoostingClassifier(max_iter=30, max_depth=2, early_stopping=False)
    accepted = weight_two_sample_test(truth, x, weights, points, classifier=classifier,
                                      points=[[1.0]], n_permutations=100, random_state=0)
    result = accepted[0]
    assert result.p_value > 0.02 and result.n_test == 10_000
    assert abs(result.null_aucs.mean() - result.auc) < 3 * result.null_aucs.std()

    def wrong(X, nu):
        return 0.95 * truth(X, nu)

    paired = weight_two_sample_test(wrong, x, weights, points, classifier=classifier,
                                    points=[[1.0]], n_permutations=100, random_state=0)[0]
    n = x.shape[0]
    stacked = classifier_two_sample_test(wrong, np.tile(x, (3, 1)), np.repeat(points, n, axis=0),
                                         weights.T.reshape(-1), classifier=classifier,
                                         points=[[1.0]], n_permutations=100,
                                         random_state=0)[0]
    assert paired.p_value < 0.02, paired.p_value
    # The paired null is much narrower than the independent-samples one.
    assert paired.null_aucs.std() < 0.5 * stacked.null_aucs.std()
    assert stacked.p_value > 0.05, stacked.p_value
    with pytest.raises(ValueError, match="weights has 2 columns but nu_points 3"):
        weight_two_sample_test(truth, x, weights[:, :2], points)
