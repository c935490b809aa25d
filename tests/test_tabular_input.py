"""Tabular input: pandas DataFrames, dicts of arrays, awkward records and uproot branches.

Feature names are kept by every fit form and by model files, columns are matched by name at
prediction, parameter names come from a nu DataFrame, and parameter points can be given by
name.
"""
import numpy as np
import pytest

import bpt
from bpt import BoostedInformationTree, BoostedParametricTree, toys

pd = pytest.importorskip("pandas")

FEATURES = ["pt", "eta", "phi"]


@pytest.fixture(scope="module")
def toy():
    return toys.gaussian_mean_width(1500, random_state=3)


@pytest.fixture(scope="module")
def frames(toy):
    X = pd.DataFrame(toy.X[:, :2], columns=FEATURES[:2]).assign(phi=toy.X[:, 0] ** 2)
    nu = pd.DataFrame(toy.target, columns=["jes", "res"])
    return X, nu


def small(**params):
    return BoostedParametricTree("linear", n_estimators=8, min_samples_leaf=20,
                                 early_stopping=False, random_state=0, **params)


@pytest.fixture(scope="module")
def fitted(frames):
    X, nu = frames
    return small().fit(X, nu)


def test_dataframe_keeps_feature_and_parameter_names(fitted):
    assert list(fitted.feature_names_in_) == FEATURES
    assert fitted.parametrization_.param_names == ["jes", "res"]


def test_reordered_columns_predict_the_same(fitted, frames):
    X, _ = frames
    reordered = X[["phi", "pt", "eta"]]
    np.testing.assert_array_equal(fitted.predict(reordered), fitted.predict(X))
    with pytest.warns(UserWarning, match="no feature names.*taken in that order"):
        positional = fitted.predict(X.to_numpy())
    np.testing.assert_array_equal(fitted.predict(X), positional)


@pytest.mark.parametrize("change, message", [
    (lambda X: X.drop(columns="eta"), "yet now missing:\n- eta"),
    (lambda X: X.assign(mass=1.0), "unseen at fit time:\n- mass"),
])
def test_missing_or_extra_columns_refused_by_name(fitted, frames, change, message):
    with pytest.raises(ValueError, match=message):
        fitted.predict(change(frames[0]))


@pytest.mark.parametrize("column", [
    lambda X: np.where(X["pt"] > 0, "ee", "mm"),
    lambda X: pd.Categorical(np.where(X["pt"] > 0, "ee", "mm")),
    lambda X: np.where(X["pt"] > 0, "ee", "mm").astype(object),
])
def test_string_and_categorical_columns_refused_by_name(frames, column):
    X, nu = frames
    with pytest.raises(ValueError, match="column 'channel' has dtype .*must be numeric"):
        small().fit(X.assign(channel=column(X)), nu)


def test_named_parameter_points(fitted, frames):
    X, _ = frames
    by_position = fitted.predict_log_ratio(X, [0.5, -0.3])
    np.testing.assert_array_equal(fitted.predict_log_ratio(X, {"res": -0.3, "jes": 0.5}),
                                  by_position)
    np.testing.assert_array_equal(fitted.predict_log_ratio(X, pd.Series({"jes": 0.5,
                                                                        "res": -0.3})),
                                  by_position)
    several = pd.DataFrame({"res": [-0.3, 0.0], "jes": [0.5, 1.0]})
    np.testing.assert_array_equal(fitted.predict_ratio(X, several),
                                  fitted.predict_ratio(X, [[0.5, -0.3], [1.0, 0.0]]))
    with pytest.raises(ValueError, match=r"missing \['res'\]"):
        fitted.predict_log_ratio(X, {"jes": 0.5})
    with pytest.raises(ValueError, match=r"unknown \['mu'\]"):
        fitted.predict_log_ratio(X, {"jes": 0.5, "res": 0.0, "mu": 1.0})


def test_nu_columns_follow_parameter_names(frames):
    X, nu = frames
    named = small(parameter_names=["res", "jes"]).fit(X, nu)
    swapped = small(parameter_names=["res", "jes"]).fit(X, nu[["res", "jes"]].to_numpy())
    np.testing.assert_array_equal(named.predict(X), swapped.predict(X))
    with pytest.raises(ValueError, match="do not name the parameters"):
        small(parameter_names=["a", "b"]).fit(X, nu)
    # score matches the nu columns by name too
    assert named.score(X, nu) == named.score(X, nu[["res", "jes"]])


def test_every_fit_form_keeps_feature_names(toy, frames):
    X, nu = frames
    points = np.unique(toy.target, axis=0)
    rows = [(toy.target == p).all(axis=1) for p in points]
    # Datasets with their columns in different orders are matched by name.
    datasets = [X[r][["eta", "phi", "pt"]] if k % 2 else X[r] for k, r in enumerate(rows)]
    point_frame = pd.DataFrame(points, columns=["jes", "res"])
    from_datasets = small().fit_datasets(datasets, point_frame)
    weights = np.column_stack([r.astype(float) for r in rows])
    from_weights = small().fit_weights(X, weights, point_frame)
    reference = small().fit(X, nu)
    for model in (from_datasets, from_weights):
        assert list(model.feature_names_in_) == FEATURES
        assert model.parametrization_.param_names == ["jes", "res"]
    np.testing.assert_allclose(from_datasets.predict(X), reference.predict(X), atol=1e-10)
    bit_toy = toys.quadratic_sine(2000, random_state=0)
    frame = pd.DataFrame({"x": bit_toy.X[:, 0]})
    bit = BoostedInformationTree("quadratic", n_estimators=5).fit(frame, bit_toy.target)
    assert list(bit.feature_names_in_) == ["x"]
    with pytest.warns(UserWarning, match="no feature names"):
        positional = bit.predict_ratio(bit_toy.X, 0.5)
    np.testing.assert_array_equal(bit.predict_ratio(frame, {"nu0": 0.5}), positional)


def test_pandas_series_weights(frames):
    X, nu = frames
    weights = pd.Series(np.linspace(0.5, 1.5, len(X)))
    np.testing.assert_array_equal(small().fit(X, nu, weights).predict(X),
                                  small().fit(X, nu, weights.to_numpy()).predict(X))


def test_model_file_keeps_feature_names(fitted, frames, tmp_path):
    loaded = bpt.load(bpt.save(fitted, tmp_path / "model.json"))
    assert list(loaded.feature_names_in_) == FEATURES
    X = frames[0]
    np.testing.assert_array_equal(loaded.predict(X[["eta", "phi", "pt"]]), fitted.predict(X))
    with pytest.raises(ValueError, match="missing:\n- phi"):
        loaded.predict(X.drop(columns="phi"))


def test_dict_of_arrays(fitted, frames):
    X, _ = frames
    columns = {name: X[name].to_numpy() for name in ["phi", "eta", "pt"]}
    np.testing.assert_array_equal(fitted.predict(columns), fitted.predict(X))
    with pytest.raises(ValueError, match="different lengths"):
        fitted.predict({"pt": np.zeros(3), "eta": np.zeros(2), "phi": np.zeros(3)})


def test_awkward_records_and_uproot_file(fitted, frames, tmp_path):
    ak = pytest.importorskip("awkward")
    uproot = pytest.importorskip("uproot")
    X, _ = frames
    # uproot writes and reads the branches in its own order: matched by name.
    with uproot.recreate(tmp_path / "events.root") as root_file:
        root_file["events"] = {name: X[name].to_numpy() for name in ["eta", "phi", "pt"]}
    with uproot.open(tmp_path / "events.root") as root_file:
        records = root_file["events"].arrays(library="ak")
        branches = root_file["events"].arrays(library="np")
        frame = root_file["events"].arrays(library="pd")
    assert ak.fields(records) == ["eta", "phi", "pt"]
    expected = fitted.predict(X)
    for data in (records, branches, frame):
        np.testing.assert_array_equal(fitted.predict(data), expected)
    jagged = ak.Array({"pt": [[1.0, 2.0], [3.0]], "eta": [0.1, 0.2], "phi": [0.0, 1.0]})
    with pytest.raises(ValueError, match="field 'pt' does not have exactly one value"):
        fitted.predict(jagged)
