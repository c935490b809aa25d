"""BoostedParametricTree behaviour: input forms, tree shape rules, losses, options."""
import numpy as np
import pytest

from bpt import BoostedParametricTree, toys


@pytest.fixture(scope="module")
def sine():
    return toys.sine_shape(20_000, random_state=11)


def model(**params):
    defaults = dict(n_estimators=15, max_depth=3, min_samples_leaf=200, early_stopping=False,
                    random_state=0)
    defaults.update(params)
    return BoostedParametricTree(**defaults)


def test_fit_datasets_equals_fit(sine):
    points = sine.base_points[:, 0]
    datasets = [(sine.X[sine.target[:, 0] == p], sine.weights[sine.target[:, 0] == p])
                for p in points]
    by_dataset = model().fit_datasets(datasets, points)
    by_label = model().fit(sine.X, sine.target, sine.weights)
    np.testing.assert_array_equal(by_dataset.predict(sine.X), by_label.predict(sine.X))
    np.testing.assert_array_equal(by_dataset.base_points_, by_label.base_points_)


def test_fit_weights_one_hot_columns_equal_fit(sine):
    points = sine.base_points[::-1]  # nominal last: the order of the columns is free
    columns = (sine.target[:, 0][:, None] == points[:, 0]) * sine.weights[:, None]
    by_columns = model().fit_weights(sine.X, columns, points)
    by_label = model().fit(sine.X, sine.target, sine.weights)
    # The base points are numbered in another order: the least-squares solve differs in the
    # last digits only.
    np.testing.assert_allclose(by_columns.predict(sine.X), by_label.predict(sine.X),
                               rtol=1e-10, atol=1e-12)


# Measured coefficient RMS over four seeds: 0.0116-0.0118 (weight variations: every event
# carries all base points, so the ratios are free of sampling noise between points) and
# 0.026-0.029 (mixed); bounds are the largest with 1.5x headroom.
@pytest.mark.parametrize("mixed, bound", [(False, 0.018), (True, 0.047)])
def test_weight_variations_closure(mixed, bound):
    """The same events weighted to every base point, optionally stacked with samples
    simulated at single points."""
    rng = np.random.default_rng(2)
    points = np.array([[0.0], [0.5], [1.0], [1.5]])
    x = rng.uniform(-np.pi, np.pi, size=(100_000, 1))
    weights = np.exp(np.outer(np.sin(x[:, 0]), points[:, 0]))
    X = x
    if mixed:
        separate = toys.sine_shape(25_000, random_state=3)
        columns = (separate.target[:, 0][:, None] == points[:, 0]) * separate.weights[:, None]
        X = np.vstack([x, separate.X])
        weights = np.vstack([weights, columns])
    fitted = model(n_estimators=60, min_samples_leaf=500).fit_weights(X, weights, points)
    grid = np.linspace(-3, 3, 601)[:, None]
    rms = np.sqrt(np.mean((fitted.predict(grid)[:, 0] - np.sin(grid[:, 0])) ** 2))
    assert rms < bound


def test_early_stopping_records_losses_and_cuts_the_significant_rise(sine):
    fitted = model(n_estimators=300, max_depth=5, min_samples_leaf=20, learning_rate=0.5,
                   early_stopping=True, n_iter_no_change=5).fit(sine.X, sine.target,
                                                                sine.weights)
    n_run = fitted.validation_loss_.size - 1
    assert n_run < 300, "overfitting trees should trigger early stopping"
    assert fitted.train_loss_.size == fitted.validation_loss_.size
    # Kept: every tree up to the last one not significantly worse than the best; cut: the
    # n_iter_no_change trees that were, all above the minimum.
    best = int(np.argmin(fitted.validation_loss_))
    assert best <= fitted.n_iter_ <= n_run - 5
    assert (fitted.validation_loss_[n_run - 4:] > fitted.validation_loss_[best]).all()
    assert fitted._ensemble.n_trees == fitted.n_iter_
    assert fitted.train_loss_[-1] < fitted.train_loss_[0]
    assert fitted.validation_loss_[fitted.n_iter_] < fitted.validation_loss_[0]


def test_validation_split_is_stratified_by_base_point(sine, monkeypatch):
    """The split early stopping uses holds out round(0.25 n_k) of the n_k events of every
    base point k (a split of the pooled events would miss that by about 40 events)."""
    import bpt._boosting
    splits = []

    def recorded(*args, **kwargs):
        splits.append(validation_split(*args, **kwargs))
        return splits[-1]

    validation_split = bpt._boosting.validation_split
    monkeypatch.setattr(bpt._boosting, "validation_split", recorded)
    fitted = model(early_stopping=True, validation_fraction=0.25).fit(sine.X, sine.target,
                                                                      sine.weights)
    (train, validation), = splits
    points = sine.target[:, 0]
    assert np.intersect1d(train, validation).size == 0
    assert train.size + validation.size == points.size
    for point in np.unique(points):
        assert np.sum(points[validation] == point) == round(0.25 * np.sum(points == point))
    assert np.isfinite(fitted.validation_loss_).all()


def test_no_losses_without_early_stopping(sine):
    fitted = model().fit(sine.X, sine.target, sine.weights)
    assert fitted.train_loss_.size == 0 and fitted.validation_loss_.size == 0


def test_verbose_reports_loss_and_time(sine, capsys):
    model(n_estimators=3, verbose=1).fit(sine.X, sine.target, sine.weights)
    out = capsys.readouterr().out
    assert "80000 training events" in out
    assert out.count("train loss") == 3 and out.count(" s\n") == 3


def test_tree_shape_rules(sine):
    fitted = model(max_depth=3, min_samples_leaf=300).fit(sine.X, sine.target, sine.weights)
    nodes = fitted._ensemble.nodes
    leaves = nodes[nodes["is_leaf"] == 1]
    assert nodes["depth"].max() == 3
    assert leaves["count"].min() >= 300
    for t in range(fitted.n_iter_):
        tree_nodes, _ = fitted._ensemble.tree(t)
        assert tree_nodes["is_leaf"].sum() <= 2 ** 3
    limited = model(max_depth=None, max_leaf_nodes=5).fit(sine.X, sine.target, sine.weights)
    for t in range(limited.n_iter_):
        tree_nodes, _ = limited._ensemble.tree(t)
        assert tree_nodes["is_leaf"].sum() <= 5


def test_prediction_shapes(sine):
    fitted = model().fit(sine.X, sine.target, sine.weights)
    X = sine.X[:7]
    delta = fitted.predict(X)
    assert delta.shape == (7, 2)
    single = fitted.predict_log_ratio(X, [0.7])
    np.testing.assert_allclose(single, delta @ [0.7, 0.49])
    np.testing.assert_allclose(fitted.predict_log_ratio(X, 0.7), single)
    several = fitted.predict_log_ratio(X, [[0.7], [1.2], [0.0]])
    assert several.shape == (7, 3)
    np.testing.assert_allclose(several[:, 0], single)
    np.testing.assert_array_equal(several[:, 2], 0.0)
    np.testing.assert_allclose(fitted.predict_ratio(X, [[0.7], [1.2]]),
                               np.exp(fitted.predict_log_ratio(X, [[0.7], [1.2]])))


def test_score_prefers_the_fitted_model(sine):
    test = toys.sine_shape(10_000, random_state=99)
    fitted = model().fit(sine.X, sine.target, sine.weights)
    barely = model(n_estimators=1, learning_rate=1e-9).fit(sine.X, sine.target, sine.weights)
    assert fitted.score(test.X, test.target, test.weights) > barely.score(test.X, test.target,
                                                                          test.weights)


def test_thread_count_does_not_change_the_model(sine):
    one = model(n_jobs=1).fit(sine.X, sine.target, sine.weights)
    two = model(n_jobs=2).fit(sine.X, sine.target, sine.weights)
    # Thread-local histograms change only the summation order.
    np.testing.assert_allclose(one.predict(sine.X), two.predict(sine.X), atol=1e-9)


def test_random_state_reproducible(sine):
    a = model(early_stopping=True, random_state=4).fit(sine.X, sine.target, sine.weights)
    b = model(early_stopping=True, random_state=4).fit(sine.X, sine.target, sine.weights)
    np.testing.assert_array_equal(a.predict(sine.X), b.predict(sine.X))


def test_feature_importances_find_the_relevant_feature():
    toy = toys.gaussian_mean_width(5000, random_state=0, n_noise_features=3)
    fitted = model(n_estimators=20).fit(toy.X, toy.target)
    importances = fitted.feature_importances_
    assert importances.shape == (5,) and importances.sum() == pytest.approx(1.0)
    assert importances[:2].sum() > 0.9


@pytest.mark.parametrize("estimator", ["parametric", "information"])
def test_root_histograms_from_the_leaves_give_the_trees_of_direct_roots(estimator,
                                                                        monkeypatch):
    """Every root histogram after the first is summed from the previous tree's leaves
    (mapped by the update of the statistics); filled from the events instead (no memory
    for the leaves' histograms), the trees are the same up to rounding."""
    from bpt import BoostedInformationTree, _boosting
    if estimator == "parametric":
        data = toys.sine_shape(20_000, random_state=11)
        make = lambda: model(n_estimators=30, max_depth=4, min_samples_leaf=100)
        fit_args = (data.X, data.target, data.weights)
    else:
        data = toys.quadratic_sine(20_000, random_state=3)
        make = lambda: BoostedInformationTree("quadratic", n_estimators=30, max_depth=4,
                                              min_samples_leaf=100, early_stopping=False,
                                              random_state=0)
        fit_args = (data.X, data.target)
    from_leaves = make().fit(*fit_args)
    monkeypatch.setattr(_boosting, "LEAF_HISTOGRAM_BYTES", 0)
    direct = make().fit(*fit_args)
    a, b = from_leaves._ensemble, direct._ensemble
    assert a.nodes.shape == b.nodes.shape and a.nodes.shape[0] > 30 * 8
    for field in ("feature_idx", "bin_threshold", "left", "right", "count"):
        assert np.array_equal(a.nodes[field], b.nodes[field]), field
    np.testing.assert_allclose(a.values, b.values, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(from_leaves.predict(data.X), direct.predict(data.X),
                               rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("layout", ["blocks", "shuffled", "many-blocks"])
def test_grouping_by_base_point_matches_numpy_unique(layout):
    # Events in blocks of one point (as concatenated samples come) take the one-pass path,
    # shuffled ones np.unique; both give np.unique's points and slots (nominal first).
    from bpt.parametric import _group_by_point
    rng = np.random.default_rng(3)
    points = np.array([[0.0, 0.0], [1.0, -0.5], [-1.0, 0.0], [2.0, 0.5], [0.0, 1.0]])
    block_lengths = rng.integers(1, 200, size=2000 if layout == "many-blocks" else 12)
    labels = np.repeat(rng.integers(0, len(points), block_lengths.size), block_lengths)
    labels[:3] = 0
    if layout == "shuffled":
        rng.shuffle(labels)
    nu = points[labels]
    nu[labels == 0] = -0.0  # signed zeros are the nominal point too
    got_points, slots = _group_by_point(nu)
    distinct, inverse = np.unique(nu, axis=0, return_inverse=True)
    assert got_points.shape == distinct.shape and np.all(got_points[0] == 0)
    np.testing.assert_array_equal(got_points[slots], nu)
    # Events with the same point share a slot, others do not.
    assert len(np.unique(slots)) == len(distinct)
    np.testing.assert_array_equal(np.unique(np.column_stack([inverse.reshape(-1), slots]),
                                            axis=0).shape[0], len(distinct))
