"""scikit-learn behaviour: estimator checks, clone, params, pipelines, pickling, CV."""
import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from bpt import BoostedInformationTree, BoostedParametricTree, Parametrization, toys

# scikit-learn's generic checks label events with classes 1 and 2 (or 0 and 1 with a single
# other point). A BPT target is the base point each event was simulated at and must contain
# the nominal point nu = 0, so these checks fail with the (correct) error "no nominal base
# point". The behaviour each of them probes is tested below with valid base points.
NO_NOMINAL_POINT = ("the check's targets are {1, 2}: no event at the nominal point nu = 0; "
                    "covered by a test in this module with valid base points")
EXPECTED_FAILED_CHECKS = {
    "check_estimators_dtypes": NO_NOMINAL_POINT + " (test_float32_and_float64_agree)",
    "check_sample_weights_not_an_array": NO_NOMINAL_POINT + " (test_weights_as_lists)",
    "check_sample_weights_shape": NO_NOMINAL_POINT + " (test_bad_input: wrong weight shape)",
    "check_sample_weights_not_overwritten": NO_NOMINAL_POINT + " (test_inputs_not_modified)",
    "check_fit2d_1feature": NO_NOMINAL_POINT + " (the closure tests fit one feature)",
    "check_sample_weights_pandas_series": NO_NOMINAL_POINT
    + " (test_tabular_input.py: test_pandas_series_weights)",
}
# Columns are matched by name, so a DataFrame with the fitted columns in another order is
# accepted (and predicts the same) where scikit-learn requires the fitted order; unseen and
# missing names are refused with scikit-learn's messages (test_tabular_input.py).
REORDERED_COLUMNS = ("columns are matched by name: reordered columns are accepted "
                     "(test_tabular_input.py: test_reordered_columns_predict_the_same)")
EXPECTED_FAILED_CHECKS["check_dataframe_column_names_consistency"] = REORDERED_COLUMNS


# As for scikit-learn's HistGradientBoosting: min_samples_leaf counts events and the bin
# edges are computed from unweighted events, so an integer weight is not the same as
# repeating the event.
BIT_EXPECTED_FAILED_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data":
        "sample_weight is not equivalent to removing/repeating samples (as for "
        "HistGradientBoosting: leaf sizes and bin edges count events)",
    "check_dataframe_column_names_consistency": REORDERED_COLUMNS,
}


def expected_failures(estimator):
    if isinstance(estimator, BoostedParametricTree):
        return EXPECTED_FAILED_CHECKS
    return BIT_EXPECTED_FAILED_CHECKS


@parametrize_with_checks([BoostedParametricTree("linear", n_estimators=5, min_samples_leaf=1),
                          BoostedInformationTree("linear", n_estimators=5, min_samples_leaf=1)],
                         expected_failed_checks=expected_failures)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def toy():
    return toys.gaussian_mean_width(2000, random_state=1)


def small_model(**params):
    defaults = dict(parametrization="quadratic", n_estimators=10, min_samples_leaf=20,
                    early_stopping=False, random_state=0)
    defaults.update(params)
    return BoostedParametricTree(**defaults)


def test_clone_and_params():
    model = small_model(max_depth=4, parameter_names=["a", "b"])
    params = model.get_params()
    assert params["max_depth"] == 4 and params["parametrization"] == "quadratic"
    copy = clone(model)
    assert copy.get_params() == params and copy is not model
    copy.set_params(max_depth=2, learning_rate=0.05)
    assert (copy.max_depth, copy.learning_rate) == (2, 0.05)
    assert model.max_depth == 4


def test_pipeline_with_scaler(toy):
    pipeline = make_pipeline(StandardScaler(), small_model())
    pipeline.fit(toy.X, toy.target)
    direct = small_model().fit(StandardScaler().fit_transform(toy.X), toy.target)
    np.testing.assert_allclose(pipeline.predict(toy.X[:50]),
                               direct.predict(StandardScaler().fit(toy.X).transform(toy.X[:50])))
    assert np.isfinite(pipeline.score(toy.X, toy.target))


def test_pickle_round_trip(toy):
    model = small_model(parameter_names=["mu", "sigma"]).fit(toy.X, toy.target)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(toy.X), model.predict(toy.X))
    np.testing.assert_array_equal(restored.predict_log_ratio(toy.X, [0.5, -0.5]),
                                  model.predict_log_ratio(toy.X, [0.5, -0.5]))
    assert restored.parametrization_ == model.parametrization_
    assert restored.parametrization_.names[3] == "mu*sigma"


def test_cross_validation_uses_score(toy):
    scores = cross_val_score(small_model(), toy.X, toy.target,
                             cv=KFold(3, shuffle=True, random_state=0))
    assert scores.shape == (3,) and np.all(np.isfinite(scores))
    # A fitted model scores better than one that predicts no dependence at all.
    worse = cross_val_score(small_model(n_estimators=1, learning_rate=1e-6), toy.X, toy.target,
                            cv=KFold(3, shuffle=True, random_state=0))
    assert scores.mean() > worse.mean()


def test_float32_and_float64_agree(toy):
    model = small_model().fit(toy.X, toy.target)
    model32 = small_model().fit(toy.X.astype(np.float32), toy.target)
    np.testing.assert_allclose(model32.predict(toy.X.astype(np.float32)),
                               model.predict(toy.X.astype(np.float32).astype(np.float64)),
                               atol=1e-10)


def test_weights_as_lists(toy):
    n = 300
    rows = np.concatenate([np.arange(k * 2000, k * 2000 + n) for k in range(7)])
    X, nu = toy.X[rows], toy.target[rows]
    from_lists = small_model().fit(X.tolist(), nu.tolist(), [1.0] * rows.size)
    from_arrays = small_model().fit(X, nu, np.ones(rows.size))
    np.testing.assert_array_equal(from_lists.predict(X), from_arrays.predict(X))


def test_inputs_not_modified(toy):
    X, nu = toy.X.copy(), toy.target.copy()
    w = np.random.default_rng(0).uniform(0.5, 1.5, X.shape[0])
    w_before = w.copy()
    small_model().fit(X, nu, w)
    np.testing.assert_array_equal(X, toy.X)
    np.testing.assert_array_equal(nu, toy.target)
    np.testing.assert_array_equal(w, w_before)
    weights = np.column_stack([w, w, w])
    before = weights.copy()
    BoostedParametricTree("linear", n_estimators=3, early_stopping=False).fit_weights(
        X, weights * np.exp(np.outer(X[:, 0], [0.0, 0.1, -0.1])), [[0.0], [1.0], [-1.0]])
    np.testing.assert_array_equal(weights, before)


def test_parametrization_argument_forms(toy):
    explicit = Parametrization(["m", "s"], terms=[(0,), (1,), (0, 0), (0, 1), (1, 1)])
    for spec in ("quadratic", 2, [(0,), (1,), (0, 0), (0, 1), (1, 1)], explicit):
        model = small_model(parametrization=spec, n_estimators=2).fit(toy.X, toy.target)
        assert model.parametrization_.exponents.tolist() == explicit.exponents.tolist()
    named = small_model(parameter_names=["m", "s"], n_estimators=2).fit(toy.X, toy.target)
    assert named.parametrization_.names == ["m", "s", "m^2", "m*s", "s^2"]


def test_information_tree_clone_pickle_pipeline():
    toy = toys.quadratic_sine(4000, n_noise_features=1, random_state=0)
    model = BoostedInformationTree(n_estimators=8, loss="cross_entropy", early_stopping=False)
    assert clone(model).get_params() == model.get_params()
    pipeline = make_pipeline(StandardScaler(), model).fit(toy.X, toy.target)
    restored = pickle.loads(pickle.dumps(pipeline))
    np.testing.assert_array_equal(restored.predict(toy.X), pipeline.predict(toy.X))
    np.testing.assert_array_equal(restored[-1].predict_ratio(toy.X[:5], 0.5),
                                  pipeline[-1].predict_ratio(toy.X[:5], 0.5))
