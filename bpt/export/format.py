"""Save a fitted BPT or BIT to a versioned JSON model file and load it back.

The format is described in :mod:`bpt.export.evaluator`, the standalone NumPy reader that
defines it; this module converts between that document and a fitted estimator.
"""
import gzip
import json
import math
import os

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._binning import BinMapper
from .._core._common import NODE_DTYPE
from .._ensemble import TreeEnsemble
from ..information import BoostedInformationTree
from ..parametric import BoostedParametricTree
from .._threads import effective_n_threads
from ..parametrization import Parametrization
from .evaluator import (FORMAT_NAME, FORMAT_VERSION, Model, check_document, floats, integers,
                        read_document)

_CLASSES = {cls.__name__: cls for cls in (BoostedParametricTree, BoostedInformationTree)}


def _float(value):
    value = float(value)
    if math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def _floats(array):
    return [_float(v) for v in np.asarray(array, dtype=np.float64).ravel()]


def _float_rows(array):
    return [_floats(row) for row in np.asarray(array, dtype=np.float64)]


def _encode_param(value):
    """A hyper-parameter as JSON; types JSON lacks are tagged so that they load back."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return int(value)
    if isinstance(value, (float, np.floating)):
        result = _float(value)
        return result if isinstance(result, float) else {"float": result}
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, Parametrization):
        return {"parametrization": {"param_names": list(value.param_names),
                                    "exponents": value.exponents.tolist()}}
    if isinstance(value, np.ndarray):
        return {"ndarray": [_encode_param(v) for v in value.tolist()],
                "dtype": value.dtype.str}
    if isinstance(value, tuple):
        return {"tuple": [_encode_param(v) for v in value]}
    if isinstance(value, list):
        return [_encode_param(v) for v in value]
    return {"unsupported": repr(value)}


def _decode_param(value):
    if isinstance(value, list):
        return [_decode_param(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "float" in value:
        return float(value["float"])
    if "tuple" in value:
        return tuple(_decode_param(v) for v in value["tuple"])
    if "ndarray" in value:
        return np.array(_decode_param(value["ndarray"]), dtype=np.dtype(value["dtype"]))
    if "parametrization" in value:
        spec = value["parametrization"]
        return Parametrization(spec["param_names"],
                               exponents=np.array(spec["exponents"], dtype=np.int64))
    # A value that has no JSON form (e.g. a RandomState as random_state): not restored.
    return None


def to_document(model):
    """The model-file document (a JSON-ready dict) of a fitted BPT or BIT.

    Parameters
    ----------
    model : BoostedParametricTree or BoostedInformationTree
        A fitted estimator.

    Returns
    -------
    dict
    """
    name = type(model).__name__
    if not isinstance(model, tuple(_CLASSES.values())):
        raise TypeError(f"can only save a BoostedParametricTree or BoostedInformationTree, "
                        f"got {name}")
    check_is_fitted(model, "_ensemble")
    from .. import __version__

    ensemble = model._ensemble
    nodes = ensemble.nodes
    leaf = nodes["is_leaf"].astype(bool)
    parametrization = model.parametrization_
    feature_names = getattr(model, "feature_names_in_", None)
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "estimator": name,
        "params": {key: _encode_param(value)
                   for key, value in model.get_params(deep=False).items()},
        "parametrization": {
            "param_names": list(parametrization.param_names),
            "exponents": parametrization.exponents.tolist(),
            "term_names": list(parametrization.names),
        },
        "n_features": int(model.n_features_in_),
        "feature_names": None if feature_names is None else [str(n) for n in feature_names],
        "base_points": _float_rows(model.base_points_),
        "binning": {
            "thresholds": [_floats(t) for t in model.bin_mapper_.thresholds_],
            "missing_bin": int(model.bin_mapper_.missing_bin),
        },
        "ensemble": {
            "baseline": _floats(ensemble.baseline),
            "roots": ensemble.roots.tolist(),
            "nodes": {
                "feature": np.where(leaf, -1, nodes["feature_idx"]).tolist(),
                "threshold": _floats(np.where(leaf, 0.0, nodes["threshold"])),
                "missing_go_to_left": nodes["missing_go_to_left"].tolist(),
                "is_leaf": nodes["is_leaf"].tolist(),
                "left": np.where(leaf, -1, nodes["left"]).tolist(),
                "right": np.where(leaf, -1, nodes["right"]).tolist(),
                "bin_threshold": nodes["bin_threshold"].tolist(),
                "gain": _floats(nodes["gain"]),
                "count": nodes["count"].tolist(),
                "depth": nodes["depth"].tolist(),
            },
            "values": _float_rows(ensemble.values),
        },
        "training": {
            "bpt_version": __version__,
            "n_iter": int(model.n_iter_),
            "train_loss": _floats(model.train_loss_),
            "validation_loss": _floats(model.validation_loss_),
        },
    }


def save(model, path, *, compress=None):
    """Save a fitted BoostedParametricTree or BoostedInformationTree to a model file.

    The file is JSON (format ``"bpt-model"``, version 1; see :mod:`bpt.export.evaluator`),
    readable by :func:`bpt.load` and, without bpt, by the standalone NumPy evaluator.

    Parameters
    ----------
    model : BoostedParametricTree or BoostedInformationTree
        A fitted estimator.
    path : str or path-like
        Destination file.
    compress : bool, optional
        Write gzip-compressed JSON. Default: when ``path`` ends in ``.gz``.

    Returns
    -------
    path : str or path-like
        ``path``, for chaining: ``bpt.load(bpt.save(model, "model.json"))``.
    """
    text = json.dumps(to_document(model), allow_nan=False, separators=(",", ":"))
    data = text.encode("utf-8")
    if compress is None:
        compress = os.fspath(path).endswith(".gz")
    if compress:
        # mtime=0: the same model always gives the same bytes.
        data = gzip.compress(data, mtime=0)
    with open(path, "wb") as f:
        f.write(data)
    return path


def from_document(document, source="the document"):
    """A fitted estimator from a model-file document (see :func:`to_document`)."""
    check_document(document, source)
    # The evaluator's reader checks the tree structure, so that the compiled predictor
    # never follows an index outside the node array.
    reader = Model(document)
    try:
        return _estimator(document, reader, source)
    except (KeyError, TypeError, AttributeError, IndexError, OverflowError) as exc:
        raise ValueError(f"{source}: incomplete or malformed bpt model file: "
                         f"{type(exc).__name__} {exc}") from None


def _estimator(document, reader, source):
    cls = _CLASSES[document["estimator"]]
    params = {key: _decode_param(value) for key, value in document["params"].items()}
    valid = cls().get_params(deep=False)
    model = cls(**{key: value for key, value in params.items() if key in valid})
    try:
        model._check_hyperparameters()
        effective_n_threads(model.n_jobs)
    except ValueError as exc:
        raise ValueError(f"{source}: invalid params: {exc}") from None

    model.parametrization_ = Parametrization(reader.param_names, exponents=reader.exponents)
    if model.parametrization_.names != reader.term_names:
        raise ValueError(f"{source}: term names {reader.term_names} do not match the exponents "
                         f"(expected {model.parametrization_.names})")
    model.n_features_in_ = reader.n_features
    if reader.feature_names is not None:
        model.feature_names_in_ = np.array(reader.feature_names, dtype=object)
    model.base_points_ = reader.base_points
    model.bin_mapper_ = _bin_mapper(document["binning"], model)

    nodes_doc = document["ensemble"]["nodes"]
    n_nodes = reader.feature.size
    nodes = np.zeros(n_nodes, dtype=NODE_DTYPE)
    internal = ~reader.is_leaf
    nodes["is_leaf"] = reader.is_leaf
    nodes["feature_idx"] = np.where(internal, reader.feature, 0)
    nodes["threshold"] = np.where(internal, reader.threshold, 0.0)
    nodes["missing_go_to_left"] = reader.missing_go_to_left
    nodes["left"] = np.where(internal, reader.left, 0)
    nodes["right"] = np.where(internal, reader.right, 0)
    for field in ("bin_threshold", "count", "depth"):
        if field in nodes_doc:
            limits = np.iinfo(NODE_DTYPE[field])
            nodes[field] = integers(nodes_doc[field], f"node field {field!r}",
                                    max(int(limits.min), -1), int(limits.max))
    if "gain" in nodes_doc:
        nodes["gain"] = floats(nodes_doc["gain"], "node field 'gain'")
    ensemble = TreeEnsemble(reader.baseline)
    ensemble.nodes = nodes
    ensemble.values = np.ascontiguousarray(reader.values)
    ensemble.roots = reader.roots.astype(np.int32)
    model._ensemble = ensemble

    training = document.get("training", {})
    model.n_iter_ = integers([training.get("n_iter", ensemble.n_trees)], "training n_iter", 0,
                             2**31 - 1)[0]
    model.train_loss_ = floats(training.get("train_loss", []), "training train_loss")
    model.validation_loss_ = floats(training.get("validation_loss", []),
                                    "training validation_loss")
    return model


def _bin_mapper(binning, model):
    # The reader has checked the binning (counts, finiteness, order) when it is present.
    mapper = BinMapper(binning["missing_bin"], model.bin_strategy)
    return mapper.set_thresholds([floats(t) for t in binning["thresholds"]])


def load(path, max_bytes=None):
    """Load a model file written by :func:`bpt.save` as a fitted estimator.

    Parameters
    ----------
    path : str or path-like
        A JSON model file, optionally gzip-compressed.
    max_bytes : int, optional
        Largest JSON text accepted (default 512 MiB); a compressed file is refused as soon
        as it expands past it.

    Returns
    -------
    BoostedParametricTree or BoostedInformationTree
        Fitted, predicting exactly as the saved model.

    Raises
    ------
    ValueError
        If the file is not a bpt model file, has another format version, is too large,
        or has a field of the wrong type, range or finiteness (named in the message).
    """
    return from_document(read_document(path, max_bytes), os.fspath(path))
