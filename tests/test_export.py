"""Export: the JSON model file (save/load, versions), the standalone NumPy evaluator, ONNX
and the log-ratio callable."""
import ast
import copy
import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import bpt
from bpt import BoostedInformationTree, BoostedParametricTree, toys
from bpt.export import evaluator, format as model_format

EVALUATOR_SOURCE = Path(evaluator.__file__)
BPT_POINTS = np.array([[0.5, -1.0], [1.0, 1.0], [-0.3, 0.2], [0.0, 0.0]])
BIT_POINTS = np.array([[0.5, -1.0], [1.0, 1.0], [-0.3, 0.2]])


def with_missing(X, rng, fraction=0.1):
    X = X.copy()
    X[rng.random(X.shape) < fraction] = np.nan
    return X


@pytest.fixture(scope="module")
def parametric():
    rng = np.random.default_rng(0)
    train = toys.gaussian_mean_width(3000, random_state=0)
    X = with_missing(train.X, rng)
    model = BoostedParametricTree("quadratic", parameter_names=["mean", "width"],
                                  n_estimators=25, max_depth=3, min_samples_leaf=40,
                                  early_stopping=True, random_state=0).fit(X, train.target)
    return model, with_missing(toys.gaussian_mean_width(300, random_state=1).X, rng)


@pytest.fixture(scope="module")
def information():
    rng = np.random.default_rng(1)
    toy = toys.two_parameter_sine_cosine(8000, n_noise_features=2, random_state=0)
    X = with_missing(toy.X, rng)
    model = BoostedInformationTree("quadratic", n_estimators=20, max_depth=4,
                                   min_samples_leaf=40, random_state=0).fit(X, toy.target)
    test = toys.two_parameter_sine_cosine(2000, n_noise_features=2, random_state=1).X
    return model, with_missing(test, rng)


@pytest.fixture(params=["parametric", "information"])
def fitted(request):
    return request.getfixturevalue(request.param)


def points_of(model):
    return BPT_POINTS if isinstance(model, BoostedParametricTree) else BIT_POINTS


def at_thresholds(model, n_features):
    """Events whose features sit on, and one float64/float32 step around, split thresholds."""
    nodes = model._ensemble.nodes
    internal = nodes[nodes["is_leaf"] == 0]
    thresholds = internal["threshold"][np.isfinite(internal["threshold"])]
    rows = []
    for feature, threshold in zip(internal["feature_idx"], thresholds):
        for value in (threshold, np.nextafter(threshold, np.inf),
                      np.nextafter(threshold, -np.inf), float(np.float32(threshold))):
            row = np.zeros(n_features)
            row[feature] = value
            rows.append(row)
    return np.array(rows)


def ratio_outputs(model, X, points):
    if isinstance(model, BoostedParametricTree):
        return {"log_ratio": model.predict_log_ratio(X, points),
                "ratio": model.predict_ratio(X, points)}
    return {"ratio": model.predict_ratio(X, points)}


# ------------------------------------------------------------------------------ save/load


def test_fixtures_route_missing_values_both_ways(parametric, information):
    for model, _ in (parametric, information):
        nodes = model._ensemble.nodes[model._ensemble.nodes["is_leaf"] == 0]
        assert set(nodes["missing_go_to_left"]) == {0, 1}


@pytest.mark.parametrize("suffix", [".json", ".json.gz"])
def test_save_load_round_trip(fitted, tmp_path, suffix):
    model, X = fitted
    path = tmp_path / f"model{suffix}"
    assert bpt.save(model, path) == path
    if suffix.endswith(".gz"):
        assert path.read_bytes()[:2] == b"\x1f\x8b"
    loaded = bpt.load(path)
    assert type(loaded) is type(model)
    assert loaded.get_params() == model.get_params()
    assert loaded.parametrization_ == model.parametrization_
    assert loaded.parametrization_.names == model.parametrization_.names
    assert loaded.n_features_in_ == model.n_features_in_
    assert not hasattr(loaded, "feature_names_in_")
    assert loaded.n_iter_ == model.n_iter_
    np.testing.assert_array_equal(loaded.base_points_, model.base_points_)
    np.testing.assert_array_equal(loaded.train_loss_, model.train_loss_)
    np.testing.assert_array_equal(loaded.validation_loss_, model.validation_loss_)
    np.testing.assert_array_equal(loaded.feature_importances_, model.feature_importances_)
    for mine, theirs in zip(loaded.bin_mapper_.thresholds_, model.bin_mapper_.thresholds_):
        np.testing.assert_array_equal(mine, theirs)
    np.testing.assert_array_equal(loaded.bin_mapper_.transform(X),
                                  model.bin_mapper_.transform(X))
    ours, theirs = loaded._ensemble, model._ensemble
    assert ours.nodes.tobytes() == theirs.nodes.tobytes()
    np.testing.assert_array_equal(ours.values, theirs.values)
    np.testing.assert_array_equal(ours.roots, theirs.roots)
    np.testing.assert_array_equal(ours.baseline, theirs.baseline)

    points = points_of(model)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    for name, expected in ratio_outputs(model, X, points).items():
        np.testing.assert_array_equal(ratio_outputs(loaded, X, points)[name], expected)


def test_saved_file_is_deterministic_json(parametric, tmp_path):
    model, _ = parametric
    first, second = tmp_path / "a.json.gz", tmp_path / "b.json.gz"
    bpt.save(model, first)
    bpt.save(model, second)
    assert first.read_bytes() == second.read_bytes()
    document = json.loads(gzip.decompress(first.read_bytes()))
    assert document["format"] == "bpt-model" and document["version"] == 1
    assert document["estimator"] == "BoostedParametricTree"
    assert document["parametrization"]["term_names"] == model.parametrization_.names
    assert document["training"]["bpt_version"] == bpt.__version__


def test_parameter_objects_and_feature_names_round_trip(information, tmp_path):
    model, X = information
    model = copy.deepcopy(model)
    names = ["a", "b", "c", "d"][:model.n_features_in_]
    model.feature_names_in_ = np.array(names, dtype=object)
    parametrization = bpt.Parametrization(["cw", "cb"], order=2)
    model.set_params(parametrization=parametrization, base_points=BIT_POINTS,
                     random_state=np.random.RandomState(0), learning_rate=0.25)
    loaded = bpt.load(bpt.save(model, tmp_path / "model.json"))
    assert list(loaded.feature_names_in_) == names
    assert loaded.parametrization == parametrization
    np.testing.assert_array_equal(loaded.base_points, BIT_POINTS)
    assert loaded.random_state is None      # a RandomState has no JSON form
    assert loaded.learning_rate == 0.25
    assert evaluator.load(tmp_path / "model.json").feature_names == names


def test_save_rejects_unfitted_and_foreign_models(tmp_path):
    from sklearn.exceptions import NotFittedError
    from sklearn.linear_model import LinearRegression
    with pytest.raises(NotFittedError):
        bpt.save(BoostedParametricTree(), tmp_path / "m.json")
    with pytest.raises(TypeError, match="BoostedParametricTree or BoostedInformationTree"):
        bpt.save(LinearRegression(), tmp_path / "m.json")


@pytest.mark.parametrize("reader", [bpt.load, evaluator.load], ids=["bpt", "evaluator"])
def test_other_format_version_is_refused(parametric, tmp_path, reader):
    model, _ = parametric
    document = model_format.to_document(model)
    for version in (2, 0, "1", None):
        document["version"] = version
        path = tmp_path / "model.json"
        path.write_text(json.dumps(document))
        with pytest.raises(ValueError, match=f"format version {version!r}.*supports version 1"):
            reader(path)


@pytest.mark.parametrize("reader", [bpt.load, evaluator.load], ids=["bpt", "evaluator"])
@pytest.mark.parametrize("content", [b'{"format": "onnx", "version": 1}', b"[1, 2, 3]",
                                     b"plain text, not JSON", b"\x00\x01binary",
                                     gzip.compress(b'{"trees": []}', mtime=0)])
def test_not_a_model_file_is_refused(tmp_path, reader, content):
    path = tmp_path / "other.json"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="is not a bpt model file"):
        reader(path)


@pytest.mark.parametrize("corrupt, message", [
    (lambda d: d["ensemble"]["nodes"]["left"].__setitem__(0, 10**6), "'left' has entries"),
    (lambda d: d["ensemble"]["nodes"]["feature"].__setitem__(0, 99), "'feature' has entries"),
    (lambda d: d["ensemble"]["nodes"]["right"].pop(), "'right' has"),
    (lambda d: d["ensemble"]["nodes"]["left"].__setitem__(1, 0), "cycle"),
    (lambda d: d.__setitem__("estimator", "GradientBoosting"), "unknown estimator"),
    (lambda d: d.pop("ensemble"), "incomplete or malformed.*'ensemble'"),
    (lambda d: d["parametrization"].__setitem__("exponents", None), "malformed"),
])
def test_inconsistent_file_is_refused(parametric, tmp_path, corrupt, message):
    model, _ = parametric
    document = model_format.to_document(model)
    corrupt(document)
    path = tmp_path / "model.json"
    path.write_text(json.dumps(document))
    for reader in (bpt.load, evaluator.load):
        with pytest.raises(ValueError, match=message):
            reader(path)


def test_file_without_bpt_fields_is_refused_by_bpt_load(parametric, tmp_path):
    model, _ = parametric
    document = model_format.to_document(model)
    del document["binning"]      # not needed by the evaluator, needed by the estimator
    path = tmp_path / "model.json"
    path.write_text(json.dumps(document))
    evaluator.load(path)
    with pytest.raises(ValueError, match="malformed bpt model file: KeyError 'binning'"):
        bpt.load(path)


# ----------------------------------------------------------------------------- evaluator


def test_evaluator_reproduces_predictions_exactly(fitted, tmp_path):
    model, X = fitted
    reader = evaluator.load(bpt.save(model, tmp_path / "model.json"))
    edge = at_thresholds(model, X.shape[1])
    for events in (X, X.astype(np.float32), edge, edge.astype(np.float32), X[:1]):
        np.testing.assert_array_equal(reader.predict(events), model.predict(events))
        np.testing.assert_array_equal(reader.apply(events), model._ensemble.apply(events, 1))
        for points in (points_of(model), points_of(model)[0]):
            expected = ratio_outputs(model, events, points)
            if "log_ratio" in expected:
                np.testing.assert_array_equal(reader.predict_log_ratio(events, points),
                                              expected["log_ratio"])
            np.testing.assert_array_equal(reader.predict_ratio(events, points),
                                          expected["ratio"])
    np.testing.assert_array_equal(reader.term_values(points_of(model)),
                                  model.parametrization_.values(points_of(model)))


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_evaluator_agrees_on_events_with_and_without_missing_values(fitted, n_jobs):
    # predict routes missing values through a copy of each block of events with NaN
    # replaced by -inf: blocks without NaN, blocks with NaN, and values at the thresholds
    # (the estimators refuse infinities; the kernel test covers them).
    model, X = fitted
    reader = evaluator.Model(model_format.to_document(model))
    complete = np.random.default_rng(2).normal(size=(1000, X.shape[1]))
    events = np.concatenate([complete, at_thresholds(model, X.shape[1]), X, complete[:300]])
    assert not np.isnan(events[:1000]).any() and np.isnan(events).any()
    model = copy.deepcopy(model).set_params(n_jobs=n_jobs)
    for dtype in (np.float64, np.float32):
        np.testing.assert_array_equal(model.predict(events.astype(dtype)),
                                      reader.predict(events.astype(dtype)))


def test_evaluator_blocks_of_events_give_the_same_result(parametric, monkeypatch):
    model, X = parametric
    reader = evaluator.Model(model_format.to_document(model))
    monkeypatch.setattr(evaluator, "_BLOCK_ELEMENTS", 7 * reader.n_trees)   # 7 events
    np.testing.assert_array_equal(reader.predict(X), model.predict(X))
    np.testing.assert_array_equal(reader.apply(X), model._ensemble.apply(X, 1))


def test_evaluator_checks_inputs(information, tmp_path):
    model, X = information
    reader = evaluator.load(bpt.save(model, tmp_path / "model.json"))
    with pytest.raises(ValueError, match="predict_ratio"):
        reader.predict_log_ratio(X, [0.1, 0.2])
    with pytest.raises(ValueError, match=r"shape \(n_samples, 3\)"):
        reader.predict(X[:, :2])
    with pytest.raises(ValueError, match="infinite"):
        reader.predict(np.full((1, 3), np.inf))
    with pytest.raises(ValueError, match="parameter points"):
        reader.predict_ratio(X, [0.1, 0.2, 0.3])
    assert reader.n_trees == model.n_iter_ and "BoostedInformationTree" in repr(reader)


def test_evaluator_imports_only_numpy_and_the_standard_library():
    tree = ast.parse(EVALUATOR_SOURCE.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative import in the standalone evaluator"
            imported.add(node.module.split(".")[0])
    assert imported <= {"numpy", "json", "gzip", "zlib"}


def test_evaluator_runs_as_a_copied_file_without_bpt(parametric, tmp_path):
    model, X = parametric
    bpt.save(model, tmp_path / "model.json")
    (tmp_path / "evaluator.py").write_text(EVALUATOR_SOURCE.read_text())
    np.save(tmp_path / "X.npy", X)
    script = ("import sys; sys.modules['bpt'] = None\n"   # any import of bpt now fails
              "import numpy as np, evaluator\n"
              "m = evaluator.load('model.json')\n"
              "np.save('out.npy', m.predict_log_ratio(np.load('X.npy'), [[0.5, -1.0]]))\n")
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, check=True)
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"),
                                  model.predict_log_ratio(X, [[0.5, -1.0]]))


def handmade_document():
    """A file written by hand from the documented schema: two trees, the second a leaf."""
    return {
        "format": "bpt-model", "version": 1, "estimator": "BoostedParametricTree",
        "params": {"parametrization": "linear", "n_estimators": 2},
        "parametrization": {"param_names": ["s"], "exponents": [[1]], "term_names": ["s"]},
        "n_features": 2, "feature_names": None, "base_points": [[0.0], [1.0]],
        "binning": {"thresholds": [[0.5], [-1.0, 2.0]], "missing_bin": 255},
        "ensemble": {
            "baseline": [0.125],
            "roots": [0, 5],
            "nodes": {"feature": [0, 1, -1, -1, -1, -1],
                      "threshold": [0.5, "inf", 0, 0, 0, 0],
                      "missing_go_to_left": [0, 1, 0, 0, 0, 0],
                      "is_leaf": [0, 0, 1, 1, 1, 1],
                      "left": [4, 2, -1, -1, -1, -1], "right": [1, 3, -1, -1, -1, -1]},
            "values": [[0.0], [0.0], [1.0], [2.0], [3.0], [-0.5]],
        },
    }


def test_handmade_file_follows_the_documented_schema(tmp_path):
    path = tmp_path / "handmade.json"
    path.write_text(json.dumps(handmade_document()))
    X = np.array([[0.0, 0.0], [1.0, 5.0], [np.nan, 5.0], [1.0, np.nan], [0.5, 0.0]])
    # x0 <= 0.5 -> 3; else x1 <= inf (missing: left) -> 1, else 2; plus -0.5 and 0.125.
    expected = np.array([3.0, 1.0, 1.0, 1.0, 3.0])[:, None] - 0.375
    reader = evaluator.load(path)
    np.testing.assert_array_equal(reader.predict(X), expected)
    loaded = bpt.load(path)
    np.testing.assert_array_equal(loaded.predict(X), expected)
    np.testing.assert_array_equal(loaded.predict_log_ratio(X, [2.0]), 2 * expected[:, 0])
    assert loaded.n_iter_ == 2 and loaded.train_loss_.size == 0


# ---------------------------------------------------------------------------------- ONNX


def onnx_session(onnx_model):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed "
                              "(pip install \"bpt[export]\")")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    return ort.InferenceSession(onnx_model.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])


def run_onnx(model, X, points, **kwargs):
    pytest.importorskip("onnx", reason="onnx is not installed (pip install \"bpt[export]\")")
    session = onnx_session(bpt.to_onnx(model, **kwargs))
    point_name = session.get_inputs()[1].name
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(None, {"X": X, point_name: points})))


@pytest.mark.parametrize("float_input", [False, True])
def test_onnx_agrees_with_predict(fitted, float_input):
    model, X = fitted
    X = np.vstack([X, at_thresholds(model, X.shape[1])])
    if float_input:
        X = X.astype(np.float32)
    points = points_of(model)
    outputs = run_onnx(model, X, points, float_input=float_input)
    expected = {"coefficients": model.predict(X), **ratio_outputs(model, X, points)}
    assert sorted(outputs) == sorted(expected)
    for name, value in expected.items():
        # rtol 1e-6 as required; atol only for values that cancel to ~1e-16.
        np.testing.assert_allclose(outputs[name], value, rtol=1e-6, atol=1e-13,
                                   err_msg=name)
    # The ONNX graph and the NumPy evaluator agree with each other as well.
    reader = evaluator.Model(model_format.to_document(model))
    np.testing.assert_allclose(outputs["ratio"], reader.predict_ratio(X, points),
                               rtol=1e-6, atol=1e-13)


def test_onnx_legacy_tree_ensemble_regressor(fitted):
    model, X = fitted
    points = points_of(model)
    outputs = run_onnx(model, X, points, tree_op="TreeEnsembleRegressor")
    coefficients = model.predict(X)
    # The legacy operator sums the trees in float32: the error is bounded by float32
    # rounding of the summed magnitudes of the leaf values, not of the result.
    ensemble = model._ensemble
    magnitude = np.abs(ensemble.baseline) + sum(
        np.abs(ensemble.values[leaves]) for leaves in ensemble.apply(X, 1).T)
    assert np.all(np.abs(outputs["coefficients"] - coefficients) <= 1e-6 * magnitude)
    terms = model.parametrization_.values(points)
    got = outputs.get("log_ratio", outputs["ratio"] - 1.0)
    assert np.all(np.abs(got - coefficients @ terms.T) <= 1e-6 * magnitude @ np.abs(terms).T)


def test_onnx_from_file_handles_a_single_leaf_tree(tmp_path):
    path = tmp_path / "handmade.json"
    path.write_text(json.dumps(handmade_document()))
    X = np.array([[0.0, 0.0], [1.0, 5.0], [np.nan, 5.0], [1.0, np.nan], [0.5, 0.0]])
    expected = evaluator.load(path).predict_log_ratio(X, [[2.0], [-1.0]])
    for tree_op in ("TreeEnsemble", "TreeEnsembleRegressor"):
        outputs = run_onnx(path, X, np.array([[2.0], [-1.0]]), tree_op=tree_op)
        np.testing.assert_allclose(outputs["log_ratio"], expected, rtol=1e-6)
        np.testing.assert_allclose(outputs["ratio"], np.exp(expected), rtol=1e-6)


@pytest.mark.parametrize("opset", [13, 18, 21])
def test_onnx_default_domain_opsets(information, opset):
    model, X = information
    outputs = run_onnx(model, X, BIT_POINTS, opset=opset)
    np.testing.assert_allclose(outputs["ratio"], model.predict_ratio(X, BIT_POINTS),
                               rtol=1e-6, atol=1e-13)


def test_onnx_written_to_file(parametric, tmp_path):
    onnx = pytest.importorskip("onnx", reason="onnx is not installed")
    model, X = parametric
    bpt.to_onnx(model, tmp_path / "model.onnx")
    loaded = onnx.load(tmp_path / "model.onnx")
    props = {p.key: p.value for p in loaded.metadata_props}
    assert props["terms"] == ",".join(model.parametrization_.names)
    session = onnx_session(loaded)
    (log_ratio,) = session.run(["log_ratio"], {"X": X, "nu": BPT_POINTS[:1]})
    np.testing.assert_allclose(log_ratio[:, 0], model.predict_log_ratio(X, BPT_POINTS[0]),
                               rtol=1e-6, atol=1e-13)


def test_onnx_missing_gives_an_install_hint(parametric, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"bpt\[export\]"):
        bpt.to_onnx(parametric[0])


def test_onnx_rejects_unknown_tree_op(parametric):
    pytest.importorskip("onnx", reason="onnx is not installed")
    with pytest.raises(ValueError, match="tree_op"):
        bpt.to_onnx(parametric[0], tree_op="TreeEnsembleClassifier")
    with pytest.raises(ValueError, match="opset must be at least 13"):
        bpt.to_onnx(parametric[0], opset=12)


# ------------------------------------------------------------------------------ callable


def test_log_ratio_function_values(fitted, tmp_path):
    model, X = fitted
    f = bpt.log_ratio_function(model, X)
    assert f.n_events == X.shape[0] and f.n_params == 2
    for point in points_of(model):
        if isinstance(model, BoostedParametricTree):
            np.testing.assert_array_equal(f(point), model.predict_log_ratio(X, point))
        else:
            with np.errstate(invalid="ignore"):   # a few surrogate ratios are negative
                expected = np.log(model.predict_ratio(X, point))
            np.testing.assert_allclose(f(point), expected, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(f.ratio(point), model.predict_ratio(X, point), rtol=1e-14)
        np.testing.assert_array_equal(f(*point), f(point))
    reader = evaluator.load(bpt.save(model, tmp_path / "model.json"))
    np.testing.assert_array_equal(bpt.log_ratio_function(reader, X)(points_of(model)[0]),
                                  f(points_of(model)[0]))
    with pytest.raises(ValueError, match="expected 2 parameter values"):
        f([0.1, 0.2, 0.3])


def test_log_ratio_function_gradient_matches_finite_differences(fitted):
    model, X = fitted
    f = bpt.log_ratio_function(model, X)
    step = 1e-6
    for point in points_of(model)[:3]:
        gradient = f.gradient(point)
        assert gradient.shape == (X.shape[0], 2)
        finite = np.empty_like(gradient)
        for p in range(2):
            shift = np.zeros(2)
            shift[p] = step
            finite[:, p] = (f(point + shift) - f(point - shift)) / (2 * step)
        ok = np.isfinite(finite).all(axis=1)
        assert ok.mean() > 0.9
        np.testing.assert_allclose(gradient[ok], finite[ok], rtol=1e-5, atol=1e-7)


# ------------------------------------------------------------------------------ Treelite


def test_treelite_model_agrees_with_predict(fitted):
    treelite = pytest.importorskip("treelite", reason="treelite is not installed "
                                   "(pip install \"bpt[export]\")")
    from bpt.export import to_treelite
    model, X = fitted
    X = np.vstack([X, at_thresholds(model, X.shape[1])])
    tl_model = to_treelite(model)
    assert tl_model.num_tree == model.n_iter_
    prediction = treelite.gtil.predict(tl_model, X)
    np.testing.assert_allclose(prediction[:, :, 0], model.predict(X), rtol=1e-12,
                               atol=1e-15)


def test_treelite_compiled_library_agrees_with_predict(parametric, tmp_path):
    tl2cgen = pytest.importorskip("tl2cgen", reason="tl2cgen is not installed "
                                  "(pip install \"bpt[export]\")")
    from bpt.export import compile_treelite
    model, X = parametric
    predictor = compile_treelite(bpt.save(model, tmp_path / "model.json"),
                                 tmp_path / "model.so", n_threads=2)
    prediction = predictor.predict(tl2cgen.DMatrix(X, dtype="float64"))
    np.testing.assert_allclose(prediction[:, :, 0], model.predict(X), rtol=1e-12,
                               atol=1e-15)


def test_treelite_missing_gives_an_install_hint(parametric, monkeypatch):
    from bpt.export import to_treelite
    monkeypatch.setitem(sys.modules, "treelite", None)
    with pytest.raises(ImportError, match=r"bpt\[export\]"):
        to_treelite(parametric[0])
