"""Standalone evaluator for bpt model files, in pure NumPy.

This module imports only NumPy and the standard library, so it can be copied next to a model
file and used where bpt is not installed::

    import evaluator
    model = evaluator.load("model.json")        # or "model.json.gz"
    coefficients = model.predict(X)            # Delta_A(x) (BPT) or t_A(x) (BIT)
    log_r = model.predict_log_ratio(X, nu)     # BPT only
    r = model.predict_ratio(X, nu)

It reproduces bpt's own predictions bit for bit: the trees are walked with the same
comparisons (``x <= threshold`` in double precision, float32 features promoted exactly,
NaN to the learned side) and the leaf values are added to the baseline in the same order,
tree by tree.

File format (``"format": "bpt-model"``, ``"version": 1``): a JSON object, optionally gzip
compressed, with the keys

``format``, ``version``
    Identify the file; a reader refuses another format or version.
``estimator``
    ``"BoostedParametricTree"`` (``log r = m(nu) . Delta(x)``) or
    ``"BoostedInformationTree"`` (``r = 1 + m(theta) . t(x)``).
``params``
    The estimator's hyper-parameters (``get_params()``), tagged where JSON has no type.
``parametrization``
    ``param_names`` (P strings), ``exponents`` (T rows of P non-negative integers: term A is
    ``prod_p nu_p ** exponents[A][p]``) and ``term_names`` (T strings).
``n_features``, ``feature_names``
    Number of features and their names (null when the model was fitted on an array).
``base_points``
    The base points of the fit, one row of P numbers each.
``binning``
    ``thresholds`` (per feature, increasing bin thresholds), ``missing_bin``.
``ensemble``
    ``baseline`` (T numbers), ``roots`` (index of each tree's root node), ``nodes`` (one array
    per field, one entry per node, trees stored one after another): ``feature``,
    ``threshold``, ``missing_go_to_left``, ``is_leaf``, ``left``, ``right`` (absolute node
    indices, -1 for leaves), and, informational, ``bin_threshold``, ``gain``, ``count``,
    ``depth``; ``values`` (one row of T numbers per node, shrinkage applied; only leaf rows
    enter predictions).
``training``
    ``bpt_version``, ``n_iter``, ``train_loss``, ``validation_loss``.

Numbers are written with Python's shortest round-trip representation, so every float64 is
read back exactly; the non-finite values JSON lacks are written as the strings ``"inf"``,
``"-inf"`` and ``"nan"``.
"""
import gzip
import json
import zlib

import numpy as np

FORMAT_NAME = "bpt-model"
FORMAT_VERSION = 1
ESTIMATORS = ("BoostedParametricTree", "BoostedInformationTree")
_GZIP_MAGIC = b"\x1f\x8b"
# Events per block in predict: keeps the (events x trees) work arrays around 2 MiB each,
# which measured fastest (larger blocks fall out of the cache).
_BLOCK_ELEMENTS = 1 << 18
# Largest JSON text of a model file read by default (plain, or after decompression).
MAX_DOCUMENT_BYTES = 512 * 1024 * 1024
# Bounds on fields that size arrays or loops: far above any fitted model.
MAX_FEATURES = 10_000_000
MAX_EXPONENT = 64
MAX_BINS = 255
_NON_FINITE = ("inf", "-inf", "nan")
_INDEX_MAX = 2**31 - 1


def read_document(path, max_bytes=None):
    """Read and check the JSON document of a model file (plain or gzip-compressed).

    Parameters
    ----------
    path : str or path-like
    max_bytes : int, optional
        Largest JSON text accepted, compressed or not (default ``MAX_DOCUMENT_BYTES``,
        512 MiB): decompression stops, and the file is refused, before expanding past it.

    Returns
    -------
    dict
        The parsed document.

    Raises
    ------
    ValueError
        If the file is not a bpt model file, was written in another format version, is
        larger than ``max_bytes`` or nested more deeply than JSON parsing allows.
    """
    limit = MAX_DOCUMENT_BYTES if max_bytes is None else int(max_bytes)
    with open(path, "rb") as f:
        raw = f.read(limit + 1)
    compressed = raw[:2] == _GZIP_MAGIC
    if compressed:
        raw = _bounded_gunzip(path, limit)
    if len(raw) > limit:
        raise ValueError(f"{path} is larger than {limit} bytes"
                         + (" once decompressed" if compressed else "")
                         + ", the limit for a model file (pass max_bytes to read larger files)")
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not a bpt model file: it is not JSON ({exc})") from None
    except RecursionError:
        raise ValueError(f"{path} is not a bpt model file: its JSON is nested too deeply") \
            from None
    check_document(document, str(path))
    return document


def _bounded_gunzip(path, limit):
    """Decompress a gzip file, reading at most ``limit + 1`` bytes of output."""
    try:
        with gzip.open(path, "rb") as f:
            return f.read(limit + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{path} is not a bpt model file: corrupt gzip data ({exc})") from None


def check_document(document, source="the document"):
    """Raise ValueError unless ``document`` is a bpt model of the supported format version."""
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        found = document.get("format") if isinstance(document, dict) else type(document).__name__
        raise ValueError(f"{source} is not a bpt model file: expected \"format\": "
                         f"\"{FORMAT_NAME}\", found {found!r}")
    version = document.get("version")
    if version != FORMAT_VERSION:
        raise ValueError(f"{source} is a bpt model file of format version {version!r}; this "
                         f"reader supports version {FORMAT_VERSION} only. Use the bpt release "
                         "(or the evaluator.py) that matches the file's version.")
    if document.get("estimator") not in ESTIMATORS:
        raise ValueError(f"{source}: unknown estimator {document.get('estimator')!r}; "
                         f"expected one of {ESTIMATORS}")


def floats(values, name="values"):
    """float64 array from a list of JSON numbers, where the strings "inf", "-inf" and "nan"
    stand for the non-finite values; anything else is a ValueError naming ``name``."""
    if not isinstance(values, list):
        raise ValueError(f"{name} must be a list of numbers, got {type(values).__name__}")
    array = np.array(values) if values else np.zeros(0)
    if array.ndim == 1 and array.dtype.kind in "fi":
        return array.astype(np.float64)
    result = np.empty(len(values))
    for i, value in enumerate(values):
        if isinstance(value, str) and value in _NON_FINITE:
            result[i] = float(value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            result[i] = float(value)
        else:
            raise ValueError(f"{name}[{i}] must be a number or one of {_NON_FINITE}, got "
                             f"{value!r}")
    return result


def float_rows(rows, n_columns, name="values"):
    """2-d float64 array, shape (len(rows), n_columns), from a list of rows."""
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ValueError(f"{name} must be a list of rows of numbers")
    if any(len(row) != n_columns for row in rows):
        raise ValueError(f"{name}: expected rows of {n_columns} numbers")
    flat = floats([v for row in rows for v in row], name)
    return flat.reshape(len(rows), n_columns)


def integers(values, name, low, high):
    """int64 array from a list of JSON integers within [low, high]."""
    if not isinstance(values, list):
        raise ValueError(f"{name} must be a list of integers, got {type(values).__name__}")
    if not values:
        return np.zeros(0, dtype=np.int64)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        bad = next(v for v in values if not isinstance(v, int) or isinstance(v, bool))
        raise ValueError(f"{name} must contain integers only, got {bad!r}")
    if min(values) < low or max(values) > high:
        raise ValueError(f"{name} has entries outside {low}..{high}")
    return np.array(values, dtype=np.int64)


def integer(value, name, low, high):
    """A JSON integer within [low, high]."""
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer between {low} and {high}, got {value!r}")
    return value


def flags(values, name):
    """bool array from a list of 0/1 integers (or JSON booleans)."""
    if not isinstance(values, list) or not all(v in (0, 1) and isinstance(v, (int, bool))
                                               for v in values):
        raise ValueError(f"{name} must be a list of 0/1 flags")
    return np.array(values, dtype=bool).reshape(-1)


def strings(values, name, length=None):
    """A list of strings (of ``length`` entries when given)."""
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError(f"{name} must be a list of strings")
    if length is not None and len(values) != length:
        raise ValueError(f"{name} has {len(values)} entries, expected {length}")
    return list(values)


class Model:
    """A bpt model read from a model file, evaluated with NumPy only.

    Build it with :func:`load` (from a file) or ``Model(document)`` (from the parsed JSON).

    Attributes
    ----------
    estimator : str
        ``"BoostedParametricTree"`` or ``"BoostedInformationTree"``.
    n_features : int
    feature_names : list of str or None
    param_names : list of str
    term_names : list of str
    exponents : ndarray of int64, shape (n_terms, n_params)
    baseline : ndarray, shape (n_terms,)
    roots : ndarray of int64, shape (n_trees,)
    feature, threshold, missing_go_to_left, is_leaf, left, right : ndarray, shape (n_nodes,)
        The nodes of all trees.
    values : ndarray, shape (n_nodes, n_terms)
    max_depth : int
        Depth of the deepest tree (edges from root to leaf).
    document : dict
        The parsed file, including the metadata not needed for evaluation.
    """

    def __init__(self, document):
        check_document(document)
        self.document = document
        try:
            self._read(document)
        except (KeyError, TypeError, AttributeError, IndexError) as exc:
            raise ValueError(f"incomplete or malformed bpt model file: {type(exc).__name__} "
                             f"{exc}") from None
        except ValueError as exc:
            raise ValueError(f"malformed bpt model file: {exc}") from None
        self._check_structure()
        self._prepare_walk()

    def _read(self, document):
        self.estimator = document["estimator"]
        parametrization = document["parametrization"]
        if not isinstance(parametrization, dict):
            raise ValueError("parametrization must be an object")
        self.param_names = strings(parametrization["param_names"], "param_names")
        n_params = len(self.param_names)
        if n_params == 0:
            raise ValueError("param_names must name at least one parameter")
        exponents = parametrization["exponents"]
        if not isinstance(exponents, list) or not exponents or \
                not all(isinstance(row, list) and len(row) == n_params for row in exponents):
            raise ValueError(f"exponents must be a non-empty list of rows of {n_params} "
                             "integers")
        self.exponents = integers([e for row in exponents for e in row], "exponents", 0,
                                  MAX_EXPONENT).reshape(-1, n_params)
        if not self.exponents.any(axis=1).all():
            raise ValueError("exponents: a term with all exponents zero is a constant")
        self.term_names = strings(parametrization["term_names"], "term_names",
                                  self.exponents.shape[0])
        self.n_features = integer(document["n_features"], "n_features", 1, MAX_FEATURES)
        names = document.get("feature_names")
        self.feature_names = None if names is None else strings(names, "feature_names",
                                                                self.n_features)
        ensemble = document["ensemble"]
        self.baseline = floats(ensemble["baseline"], "baseline")
        n_terms = self.baseline.size
        nodes = ensemble["nodes"]
        if not isinstance(nodes, dict):
            raise ValueError("ensemble nodes must be an object of per-node arrays")
        self.is_leaf = flags(nodes["is_leaf"], "node field 'is_leaf'")
        self.missing_go_to_left = flags(nodes["missing_go_to_left"],
                                        "node field 'missing_go_to_left'")
        self.feature = integers(nodes["feature"], "node field 'feature'", -1, _INDEX_MAX)
        self.threshold = floats(nodes["threshold"], "node field 'threshold'")
        self.left = integers(nodes["left"], "node field 'left'", -1, _INDEX_MAX)
        self.right = integers(nodes["right"], "node field 'right'", -1, _INDEX_MAX)
        self.values = float_rows(ensemble["values"], n_terms, "ensemble values")
        self.roots = integers(ensemble["roots"], "tree roots", 0, _INDEX_MAX)
        self.base_points = float_rows(document.get("base_points", []), n_params, "base_points")
        binning = document.get("binning")
        if binning is not None:
            self._check_binning(binning)

    def _check_binning(self, binning):
        if not isinstance(binning, dict):
            raise ValueError("binning must be an object")
        missing_bin = integer(binning["missing_bin"], "binning missing_bin", 2, MAX_BINS)
        thresholds = binning["thresholds"]
        if not isinstance(thresholds, list) or len(thresholds) != self.n_features:
            raise ValueError(f"binning thresholds must be one list per feature "
                             f"({self.n_features})")
        for f, values in enumerate(thresholds):
            values = floats(values, f"binning thresholds of feature {f}")
            if values.size > missing_bin - 1 or not np.isfinite(values).all() \
                    or (np.diff(values) <= 0).any():
                raise ValueError(f"binning thresholds of feature {f} must be at most "
                                 f"{missing_bin - 1} finite, increasing numbers")

    # ------------------------------------------------------------------------------ checks

    def _check_structure(self):
        n_nodes = self.feature.size
        if self.exponents.shape[0] != self.baseline.size:
            raise ValueError(f"the parametrization has {self.exponents.shape[0]} terms but the "
                             f"baseline {self.baseline.size} values")
        for name, array in (("threshold", self.threshold),
                            ("missing_go_to_left", self.missing_go_to_left),
                            ("is_leaf", self.is_leaf), ("left", self.left),
                            ("right", self.right), ("values", self.values)):
            if array.shape[0] != n_nodes:
                raise ValueError(f"node field {name!r} has {array.shape[0]} entries for "
                                 f"{n_nodes} nodes")
        for name, array in (("baseline", self.baseline), ("values", self.values),
                            ("base_points", self.base_points)):
            if not np.isfinite(array).all():
                raise ValueError(f"{name} must be finite numbers")
        internal = ~self.is_leaf
        if np.isnan(self.threshold[internal]).any():
            raise ValueError("node field 'threshold' is NaN at an internal node")
        for name, index, bound in (("left", self.left, n_nodes), ("right", self.right, n_nodes),
                                   ("feature", self.feature, self.n_features)):
            if ((index[internal] < 0) | (index[internal] >= bound)).any():
                raise ValueError(f"node field {name!r} has entries outside 0..{bound - 1}")
        if ((self.roots < 0) | (self.roots >= n_nodes)).any():
            raise ValueError("tree roots outside the node array")
        # Every node is a root or the child of exactly one internal node, never both: then
        # no walk meets a cycle or a shared subtree, and each level has at most n_nodes
        # nodes.
        parents = np.bincount(np.concatenate([self.left[internal], self.right[internal],
                                              self.roots]), minlength=n_nodes)
        if (parents > 1).any():
            node = int(np.flatnonzero(parents > 1)[0])
            raise ValueError(f"the trees contain a cycle or a shared node: node {node} is "
                             "reached from more than one parent or root")
        # Walking from the roots must reach a leaf within n_nodes steps.
        current = self.roots.copy()
        depth = 0
        while not self.is_leaf[current].all():
            if depth > n_nodes:
                raise ValueError("the trees contain a cycle")
            current = current[~self.is_leaf[current]]
            current = np.concatenate([self.left[current], self.right[current]])
            depth += 1
        self.max_depth = depth

    def _prepare_walk(self):
        # A leaf points to itself on both sides, so that walking every tree for max_depth
        # levels leaves each event on its leaf whatever the depth of the tree.
        n_nodes = self.feature.size
        own = np.arange(n_nodes)
        left = np.where(self.is_leaf, own, self.left)
        right = np.where(self.is_leaf, own, self.right)
        # children[2 * node + go_left]: one gather per level instead of a where().
        self._children = np.column_stack([right, left]).ravel().astype(np.intp)
        self._walk_roots = self.roots.astype(np.intp)
        self._walk_feature = np.where(self.is_leaf, 0, self.feature).astype(np.intp)
        self._walk_threshold = np.where(self.is_leaf, 0.0, self.threshold)

    # -------------------------------------------------------------------------- prediction

    @property
    def n_trees(self):
        return self.roots.size

    @property
    def n_params(self):
        return len(self.param_names)

    @property
    def n_terms(self):
        return self.baseline.size

    def _check_X(self, X):
        columns = getattr(X, "columns", None)
        if columns is not None and self.feature_names is not None:
            if [str(c) for c in columns] != self.feature_names:
                raise ValueError(f"feature names {list(columns)} differ from those of the "
                                 f"fit {self.feature_names}")
        X = np.asarray(X)
        if X.dtype != np.float32:
            X = X.astype(np.float64, copy=False)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"X must have shape (n_samples, {self.n_features}), got "
                             f"{X.shape}")
        if np.isinf(X).any():
            raise ValueError("X contains infinite values (NaN marks a missing value)")
        return np.ascontiguousarray(X)

    def apply(self, X):
        """Index of the leaf node reached in every tree, shape (n_samples, n_trees)."""
        X = self._check_X(X)
        out = np.empty((X.shape[0], self.n_trees), dtype=np.int64)
        for lo, hi in self._blocks(X.shape[0]):
            out[lo:hi] = self._walk(X[lo:hi])
        return out

    def predict(self, X):
        """Coefficients Delta_A(x) (BPT) or t_A(x) (BIT), shape (n_samples, n_terms).

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
            Features, float64 or float32; NaN marks a missing value.
        """
        X = self._check_X(X)
        out = np.empty((X.shape[0], self.n_terms))
        out[:] = self.baseline
        for lo, hi in self._blocks(X.shape[0]):
            leaves = self._walk(X[lo:hi])
            block = out[lo:hi]
            # Tree by tree, in the order of the compiled predictor: the same float64 sums.
            for t in range(self.n_trees):
                block += self.values[leaves[:, t]]
        return out

    def _blocks(self, n_samples):
        size = max(1, _BLOCK_ELEMENTS // max(1, self.n_trees))
        return [(lo, min(lo + size, n_samples)) for lo in range(0, n_samples, size)]

    def _walk(self, X):
        """Leaf reached by each event of X (n, n_features) in each tree: (n, n_trees)."""
        n, n_features = X.shape
        node = np.broadcast_to(self._walk_roots, (n, self.n_trees)).copy()
        row_start = (np.arange(n, dtype=np.intp) * n_features)[:, None]
        flat_X = X.reshape(-1)
        has_missing = np.isnan(flat_X).any()
        for _ in range(self.max_depth):
            x = flat_X[row_start + self._walk_feature[node]]
            # float32 features compare as their exact float64 value, as in bpt's predictor.
            go_left = x <= self._walk_threshold[node]
            if has_missing:
                go_left |= np.isnan(x) & self.missing_go_to_left[node]
            node = self._children[2 * node + go_left]
        return node

    def term_values(self, point):
        """Term values m(point): shape (n_terms,) for one point, (m, n_terms) for m points."""
        points, single = self._as_points(point)
        values = np.ones((points.shape[0], self.n_terms))
        for p in range(self.n_params):
            powers = self.exponents[:, p]
            if powers.any():
                values *= points[:, p:p + 1] ** powers
        return values[0] if single else values

    def _as_points(self, point):
        arr = np.asarray(point, dtype=np.float64)
        if arr.ndim == 0 and self.n_params == 1:
            return arr.reshape(1, 1), True
        if arr.ndim == 1 and arr.shape[0] == self.n_params:
            return arr.reshape(1, -1), True
        if arr.ndim == 2 and arr.shape[1] == self.n_params:
            return arr, False
        raise ValueError(f"parameter points must have shape ({self.n_params},) or "
                         f"(m, {self.n_params}); got shape {arr.shape}")

    def predict_log_ratio(self, X, point):
        """log r(x|nu) = m(nu) . Delta(x) of a BoostedParametricTree.

        Shape (n_samples,) for one point (n_params,), (n_samples, m) for m points.
        """
        if self.estimator != "BoostedParametricTree":
            raise ValueError("predict_log_ratio is defined for a BoostedParametricTree; a "
                             "BoostedInformationTree gives the ratio (predict_ratio)")
        terms = self.term_values(point)
        return self.predict(X) @ terms.T

    def predict_ratio(self, X, point):
        """r(x|point): ``exp(m . Delta(x))`` (BPT) or ``1 + m . t(x)`` (BIT); shapes as
        :meth:`predict_log_ratio`."""
        if self.estimator == "BoostedParametricTree":
            return np.exp(self.predict_log_ratio(X, point))
        terms = self.term_values(point)
        return 1.0 + self.predict(X) @ terms.T

    def __repr__(self):
        return (f"Model({self.estimator}, {self.n_trees} trees, {self.n_features} features, "
                f"terms {self.term_names})")


def load(path, max_bytes=None):
    """Read a bpt model file (JSON, optionally gzip-compressed) into a :class:`Model`.

    Every field is checked (types, ranges, finiteness, tree structure) before use; files
    larger than ``max_bytes`` (default 512 MiB of JSON) are refused while reading."""
    return Model(read_document(path, max_bytes))
