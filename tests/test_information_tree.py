"""BoostedInformationTree: truth, the reference engine, HistGradientBoosting, behaviour."""
import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingRegressor

from bpt import BoostedInformationTree, toys
from bpt._core._information_criterion import SquaredErrorInformationCriterion
from naive_tree import (NaiveCrossEntropyInformationCriterion, NaiveSquaredInformationCriterion,
                        assert_same_tree, boost, nested)

ONE_PARAMETER = ["exponential", "power_law", "gaussian_mean", "gaussian_width"]

# Largest RMS of t_hat - t on held-out events over training seeds 0-2 (50 000 events, 100
# trees, defaults otherwise), times 1.5.
RMS_BOUNDS = {
    ("exponential", "squared_error"): [0.070],
    ("power_law", "squared_error"): [0.030],
    ("gaussian_mean", "squared_error"): [0.029],
    ("gaussian_width", "squared_error"): [0.152],
    ("quadratic_linear", "squared_error"): [0.022, 0.0116],
    ("quadratic_linear", "cross_entropy"): [0.018, 0.0099],
    ("quadratic_sine", "squared_error"): [0.0372, 0.0195],
    ("quadratic_sine", "cross_entropy"): [0.0363, 0.0219],
    ("two_parameter_sine_cosine", "squared_error"): [0.0401, 0.045, 0.021, 0.0347, 0.021],
    ("two_parameter_sine_cosine", "cross_entropy"): [0.0468, 0.0513, 0.0245, 0.0545, 0.0276],
}


def fit_toy(information_toys, name, loss="squared_error"):
    """The session's BIT on toy ``name`` (fitted once per run) and its held-out events."""
    order = "linear" if name in ONE_PARAMETER else "quadratic"
    return information_toys(name, loss, order)


@pytest.mark.parametrize("name, loss", sorted(RMS_BOUNDS))
def test_closure(information_toys, name, loss):
    model, test = fit_toy(information_toys, name, loss)
    truth = test.coefficients(test.X)
    rms = np.sqrt(np.mean((model.predict(test.X) - truth) ** 2, axis=0))
    np.testing.assert_array_less(rms, RMS_BOUNDS[name, loss])
    assert (rms < 0.1 * np.sqrt(np.mean(truth ** 2, axis=0))).all()


@pytest.mark.parametrize("name", ONE_PARAMETER)
def test_fisher_information_captured(information_toys, name):
    """Share of the Fisher information on held-out events: sum w t t_hat / sum w t^2.

    Measured 0.9975 to 0.9995 over seeds 0-2 (0.978 for gaussian_width with pure quantile
    binning, whose outermost bins lump together the tails where t = x^2 - 1 is largest).
    """
    model, test = fit_toy(information_toys, name)
    t = test.coefficients(test.X)[:, 0]
    t_hat = model.predict(test.X)[:, 0]
    share = np.sum(test.weights * t * t_hat) / np.sum(test.weights * t * t)
    assert share >= 0.99


def test_quadratic_toys_predict_the_ratio(information_toys):
    """Relative RMS of r(x|theta): measured at most 0.0095 and 0.0135 (seeds 0-2), x1.5."""
    model, test = fit_toy(information_toys, "two_parameter_sine_cosine")
    for theta, bound in (([0.3, -0.2], 0.0143), ([1.0, 1.0], 0.0203)):
        true = test.ratio(test.X, theta)
        assert np.sqrt(np.mean((model.predict_ratio(test.X, theta) - true) ** 2)) \
            < bound * np.sqrt(np.mean(true ** 2))


def test_single_term_gain_is_poisson_fisher_information():
    rng = np.random.default_rng(3)
    criterion = SquaredErrorInformationCriterion(np.ones((1, 1)), np.zeros(2))
    for _ in range(5):
        w = rng.uniform(0.5, 2, 50)
        t = rng.normal(size=50)
        sums = np.array([w.sum(), (w * t).sum()])
        assert criterion.loss(sums) == pytest.approx(-(w * t).sum() ** 2 / w.sum(), rel=1e-12)
    # In a fit: each split's recorded gain is the information of the children minus the
    # parent's, (sum w t)^2 / sum w, on the residual coefficients of the tree being grown.
    X = rng.normal(size=(2000, 2))
    t = X[:, 0] + 0.2 * rng.normal(size=2000)
    w = rng.uniform(0.5, 2, 2000)
    model = BoostedInformationTree("linear", n_estimators=1, learning_rate=1.0, max_depth=1,
                                   min_samples_leaf=10, early_stopping=False).fit(X, t, w)
    nodes, _ = model._ensemble.tree(0)
    residual = t - np.sum(w * t) / w.sum()
    left = X[:, nodes[0]["feature_idx"]] <= nodes[0]["threshold"]
    information = sum(np.sum(w[m] * residual[m]) ** 2 / w[m].sum() for m in (left, ~left))
    assert nodes[0]["gain"] == pytest.approx(information, rel=1e-9)


@pytest.mark.parametrize("loss", ["squared_error", "cross_entropy"])
def test_matches_reference(loss):
    toy = toys.two_parameter_sine_cosine(1500, n_noise_features=2, random_state=4)
    rng = np.random.default_rng(4)
    X = toy.X.copy()
    X[rng.random(X.shape) < 0.03] = np.nan
    w = rng.uniform(0.5, 1.5, X.shape[0])
    model = BoostedInformationTree("quadratic", loss=loss, n_estimators=4, learning_rate=0.3,
                                   max_depth=3, min_samples_leaf=30, max_bins=32,
                                   early_stopping=False).fit(X, toy.target, w)
    assert model.n_iter_ == 4
    point_terms = model.parametrization_.values(model.base_points_)
    min_weight = 1e-10 * w.sum()
    if loss == "squared_error":
        criterion = NaiveSquaredInformationCriterion(point_terms.T @ point_terms, min_weight)
    else:
        criterion = NaiveCrossEntropyInformationCriterion(point_terms, min_weight)
    targets = np.column_stack([w, w[:, None] * toy.target])
    baseline, trees = boost(model.bin_mapper_.transform(X), targets, criterion,
                            model.bin_mapper_.n_bins_non_missing_, model.bin_mapper_.missing_bin,
                            4, 0.3, 3, 30)
    np.testing.assert_allclose(model._ensemble.baseline, baseline, rtol=1e-10)
    assert len(trees) == 4
    for i, tree in enumerate(trees):
        assert_same_tree(nested(*model._ensemble.tree(i)), tree, rtol=1e-7)


def test_agrees_with_hist_gradient_boosting_for_one_term():
    """One term: the BIT is weighted least-squares boosting of t, as HistGradientBoosting.

    Both get the same bins by training on bin indices. Documented differences: node order
    (best-first creation vs depth-first), float32 gradients in scikit-learn (predictions
    agree to ~1e-9 here), and the choice between exactly tied splits.
    """
    rng = np.random.default_rng(0)
    n = 20_000
    X = rng.normal(size=(n, 3))
    t = X[:, 0] + 0.3 * np.sin(3 * X[:, 1]) + 0.5 * rng.normal(size=n)
    w = rng.uniform(0.5, 2.0, n)
    params = dict(n_estimators=30, learning_rate=0.2, max_depth=3, min_samples_leaf=50,
                  early_stopping=False)
    bins = BoostedInformationTree("linear", **params).fit(X, t, w).bin_mapper_
    X_binned = bins.transform(X).T.astype(np.float64)
    bit = BoostedInformationTree("linear", **params).fit(X_binned, t, w)
    hgb = HistGradientBoostingRegressor(max_iter=30, learning_rate=0.2, max_depth=3,
                                        max_leaf_nodes=None, min_samples_leaf=50,
                                        l2_regularization=0.0, early_stopping=False)
    hgb.fit(X_binned, t, sample_weight=w)
    np.testing.assert_allclose(bit.predict(X_binned)[:, 0], hgb.predict(X_binned), atol=1e-6)


def test_prediction_shapes_and_ratio():
    toy = toys.quadratic_sine(5000, random_state=1)
    model = BoostedInformationTree(n_estimators=10, early_stopping=False).fit(toy.X, toy.target)
    t_hat = model.predict(toy.X[:4])
    assert t_hat.shape == (4, 2)
    np.testing.assert_allclose(model.predict_ratio(toy.X[:4], 0.5), 1 + t_hat @ [0.5, 0.25])
    assert model.predict_ratio(toy.X[:4], [[0.5], [1.0], [0.0]]).shape == (4, 3)
    np.testing.assert_allclose(model.predict_ratio(toy.X[:4], [[0.0]])[:, 0], 1.0)


@pytest.mark.parametrize("loss", ["squared_error", "cross_entropy"])
def test_early_stopping_and_loss_curves(loss):
    toy = toys.quadratic_sine(30_000, n_noise_features=3, random_state=2)
    model = BoostedInformationTree(loss=loss, n_estimators=400, max_depth=5, min_samples_leaf=5,
                                   learning_rate=0.5, n_iter_no_change=5,
                                   random_state=0).fit(toy.X, toy.target)
    n_run = model.validation_loss_.size - 1
    assert n_run < 400
    best = int(np.argmin(model.validation_loss_))
    assert best <= model.n_iter_ <= n_run - 5
    assert (model.validation_loss_[n_run - 4:] > model.validation_loss_[best]).all()
    assert model.train_loss_[-1] < model.train_loss_[0]
    assert model.feature_importances_[0] > 0.5


def test_score_prefers_the_fitted_model():
    train = toys.quadratic_linear(20_000, random_state=0)
    test = toys.quadratic_linear(10_000, random_state=1)
    fitted = BoostedInformationTree(n_estimators=30, early_stopping=False).fit(train.X,
                                                                              train.target)
    constant = BoostedInformationTree(n_estimators=1, learning_rate=1e-9,
                                      early_stopping=False).fit(train.X, train.target)
    assert fitted.score(test.X, test.target) > constant.score(test.X, test.target)


def test_parameter_count_inferred_from_the_columns():
    toy = toys.two_parameter_sine_cosine(3000, random_state=0)
    model = BoostedInformationTree("quadratic", n_estimators=2, early_stopping=False)
    model.fit(toy.X, toy.target)
    assert model.parametrization_.n_params == 2
    assert model.base_points_.tolist() == [[2, 0], [1, 1], [0, 2], [1, 0], [0, 1]]
    named = BoostedInformationTree("quadratic", parameter_names=["cW", "cHq"], n_estimators=2,
                                   early_stopping=False).fit(toy.X, toy.target)
    assert named.parametrization_.names == ["cW", "cHq", "cW^2", "cW*cHq", "cHq^2"]


def test_negative_weights_and_missing_values():
    """10% negative weights, 5% missing x: RMS of t_1 measured 0.066-0.071 (seeds 0-2), x1.5."""
    toy = toys.quadratic_sine(20_000, random_state=6)
    rng = np.random.default_rng(60)
    w = np.where(rng.random(toy.weights.size) < 0.1, -1.0, 1.0)
    X = toy.X.copy()
    X[rng.random(X.shape[0]) < 0.05, 0] = np.nan
    model = BoostedInformationTree(n_estimators=30, early_stopping=False).fit(X, toy.target, w)
    prediction = model.predict(X)
    assert np.isfinite(prediction).all()
    finite = ~np.isnan(X[:, 0])
    truth = toy.coefficients(toy.X)
    assert np.sqrt(np.mean((prediction[finite, 0] - truth[finite, 0]) ** 2)) < 0.106
