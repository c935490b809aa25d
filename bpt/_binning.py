"""Binning of the features into uint8 codes, computed once per fit."""
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ._core._binning import map_to_bins

# Features are binned on a random subsample of at most this many events.
BINNING_SUBSAMPLE = 200_000


STRATEGIES = ("mixed", "quantile")


class BinMapper:
    """Per-feature bin thresholds from a subsample.

    A feature with at most ``max_bins`` distinct values gets one bin per value (thresholds
    at the midpoints). Otherwise, with ``strategy="quantile"`` the thresholds are
    ``max_bins - 1`` quantiles (as in scikit-learn's HistGradientBoosting); with
    ``strategy="mixed"`` half of them are quantiles and half are equally spaced between the
    smallest and largest value, so that sparsely populated tails keep their resolution.
    Missing values (NaN) always go to bin ``max_bins``, so binned data fit in uint8 for
    ``max_bins <= 255``.

    Attributes
    ----------
    thresholds_ : list of ndarray
        Increasing thresholds per feature: ``x <= thresholds_[f][b]`` exactly when
        ``bin <= b``.
    n_bins_non_missing_ : ndarray of int32, shape (n_features,)
    missing_bin : int
    n_bins : int
        ``max_bins + 1``: bins per feature including the missing-value bin.
    """

    def __init__(self, max_bins=255, strategy="mixed", subsample=BINNING_SUBSAMPLE,
                 random_state=None, n_threads=1):
        if strategy not in STRATEGIES:
            raise ValueError(f"bin_strategy must be one of {STRATEGIES}, got {strategy!r}")
        self.max_bins = max_bins
        self.strategy = strategy
        self.subsample = subsample
        self.random_state = random_state
        self.n_threads = n_threads
        self.missing_bin = max_bins
        self.n_bins = max_bins + 1

    def fit(self, X, rows=None):
        """Thresholds from the events ``X`` (or its rows ``rows``), one column at a time:
        neither ``X`` nor the subsample is copied whole."""
        n_features = X.shape[1]
        n_samples = X.shape[0] if rows is None else len(rows)
        rng = np.random.default_rng(self.random_state)
        if self.subsample is not None and n_samples > self.subsample:
            subsample = np.sort(rng.choice(n_samples, self.subsample, replace=False))
            rows = subsample if rows is None else rows[subsample]
        elif rows is None:
            rows = slice(None)
        def thresholds(f):
            return _feature_thresholds(X[rows, f], self.max_bins, self.strategy)

        if self.n_threads > 1 and n_features > 1:
            # NumPy's sort releases the GIL: the features are sorted side by side.
            with ThreadPoolExecutor(min(self.n_threads, n_features)) as pool:
                return self.set_thresholds(list(pool.map(thresholds, range(n_features))))
        return self.set_thresholds([thresholds(f) for f in range(n_features)])

    def set_thresholds(self, thresholds):
        """Use the given increasing thresholds per feature (as fitted, or read from a file)."""
        self.thresholds_ = [np.asarray(t, dtype=np.float64) for t in thresholds]
        n_features = len(self.thresholds_)
        self.n_bins_non_missing_ = np.array([t.size + 1 for t in self.thresholds_],
                                            dtype=np.int32)
        width = max(1, max((t.size for t in self.thresholds_), default=0))
        self._padded = np.full((n_features, width), np.inf)
        for f, t in enumerate(self.thresholds_):
            self._padded[f, :t.size] = t
        self._n_thresholds = (self.n_bins_non_missing_ - 1).astype(np.int32)
        return self

    def transform(self, X, rows=None):
        """Binned features, feature-major: uint8 array of shape (n_features, n_samples).

        With ``rows`` (int32 indices into ``X``), the events ``X[rows]`` in that order,
        without copying ``X``.
        """
        if rows is not None:
            rows = np.ascontiguousarray(rows, dtype=np.int32)  # checked by map_to_bins
        n_rows = X.shape[0] if rows is None else rows.size
        binned = np.empty((X.shape[1], n_rows), dtype=np.uint8)
        map_to_bins(X, self._padded, self._n_thresholds, self.missing_bin, binned,
                    self.n_threads, rows)
        return binned

    def split_threshold(self, feature, bin_threshold):
        """Raw-value threshold equivalent to ``bin <= bin_threshold``."""
        thresholds = self.thresholds_[feature]
        return thresholds[bin_threshold] if bin_threshold < thresholds.size else np.inf


def _feature_thresholds(column, max_bins, strategy):
    column = np.sort(column[~np.isnan(column)])
    if column.size == 0:
        return np.empty(0)
    is_new = np.empty(column.size, dtype=bool)
    is_new[0] = True
    np.not_equal(column[1:], column[:-1], out=is_new[1:])
    distinct = column[is_new]
    if distinct.size <= max_bins:
        return (distinct[:-1] + distinct[1:]) / 2.0
    n_quantile_bins = max_bins if strategy == "quantile" else max_bins // 2
    thresholds = _midpoint_quantiles(column, np.linspace(0, 1, n_quantile_bins + 1)[1:-1])
    if strategy == "mixed":
        uniform = np.linspace(distinct[0], distinct[-1], max_bins - n_quantile_bins + 1)[1:-1]
        thresholds = np.concatenate([thresholds, uniform])
    thresholds = np.unique(thresholds)
    # A threshold at the maximum would leave the last bin empty.
    return thresholds[thresholds < distinct[-1]]


def _midpoint_quantiles(sorted_values, fractions):
    """np.percentile(..., method="midpoint") on already sorted values."""
    position = fractions * (sorted_values.size - 1)
    below = np.floor(position).astype(np.intp)
    above = np.ceil(position).astype(np.intp)
    return (sorted_values[below] + sorted_values[above]) / 2.0
