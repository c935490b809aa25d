"""The compiled engine against the naive NumPy reference: same splits, same leaf values."""
import numpy as np
import pytest

from bpt import BoostedParametricTree
from naive_tree import NaiveParametricCriterion, assert_same_tree, boost, nested

N_TREES = 4


def labelled_sample(rng, n_per_point, points, n_features=3, missing_fraction=0.05,
                    negative_fraction=0.0):
    """Events whose features depend on nu, with some missing values and negative weights."""
    X, nu, w = [], [], []
    for point in points:
        x = rng.normal(size=(n_per_point, n_features))
        x[:, 0] += 0.5 * point
        x[:, 1] *= 1 + 0.2 * point
        x[rng.random(x.shape) < missing_fraction] = np.nan
        weights = rng.uniform(0.5, 1.5, n_per_point)
        weights[rng.random(n_per_point) < negative_fraction] *= -0.3
        X.append(x)
        nu.append(np.full(n_per_point, point))
        w.append(weights)
    return np.concatenate(X), np.concatenate(nu), np.concatenate(w)


def reference_fit(model, X, dense_stats):
    binned = model.bin_mapper_.transform(X)
    design = model.parametrization_.values(model.base_points_[1:])
    min_weight = np.maximum(model.min_weight_leaf, 1e-10 * np.abs(dense_stats.sum(axis=0)))
    return boost(binned, dense_stats, NaiveParametricCriterion(design, min_weight),
                 model.bin_mapper_.n_bins_non_missing_, model.bin_mapper_.missing_bin,
                 model.n_iter_, model.learning_rate, model.max_depth, model.min_samples_leaf)


def assert_same_ensemble(model, baseline, trees):
    assert model.n_iter_ == len(trees)
    np.testing.assert_allclose(model._ensemble.baseline, baseline, rtol=1e-10)
    for t, tree in enumerate(trees):
        assert_same_tree(nested(*model._ensemble.tree(t)), tree)


@pytest.mark.parametrize("max_bins", [8, 64])
@pytest.mark.parametrize("negative_fraction", [0.0, 0.1])
def test_one_hot_fit_matches_reference(max_bins, negative_fraction):
    rng = np.random.default_rng(max_bins)
    points = [0.0, -1.0, 1.0, 2.0]
    X, nu, w = labelled_sample(rng, 300, points, negative_fraction=negative_fraction)
    model = BoostedParametricTree("quadratic", n_estimators=N_TREES, learning_rate=0.3,
                                  max_depth=3, min_samples_leaf=20, max_bins=max_bins,
                                  early_stopping=False).fit(X, nu, w)
    assert model.n_iter_ == N_TREES
    dense = np.zeros((nu.size, len(points)))
    slots = np.searchsorted(model.base_points_[:, 0], nu, sorter=np.argsort(model.base_points_[:, 0]))
    dense[np.arange(nu.size), np.argsort(model.base_points_[:, 0])[slots]] = w
    baseline, trees = reference_fit(model, X, dense)
    assert_same_ensemble(model, baseline, trees)


def test_weight_columns_fit_matches_reference():
    """Dense statistics: every event carries a weight at every base point."""
    rng = np.random.default_rng(7)
    n = 1500
    X = rng.normal(size=(n, 4))
    X[rng.random(X.shape) < 0.03] = np.nan
    points = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.0]])
    x0 = np.nan_to_num(X[:, 0])
    x1 = np.nan_to_num(X[:, 1])
    weights = np.exp(np.outer(x0, points[:, 0]) * 0.3 + np.outer(x1 ** 2, points[:, 1]) * 0.2)
    model = BoostedParametricTree([(0,), (1,), (0, 0), (0, 1)], n_estimators=N_TREES,
                                  learning_rate=0.5, max_depth=2, min_samples_leaf=30,
                                  max_bins=32, early_stopping=False)
    model.fit_weights(X, weights, points)
    assert model.n_iter_ == N_TREES
    # fit_weights puts the base points in fit's canonical order (nominal first, sorted).
    order = [int(np.flatnonzero((points == p).all(axis=1))[0]) for p in model.base_points_]
    baseline, trees = reference_fit(model, X, weights[:, order])
    assert_same_ensemble(model, baseline, trees)
