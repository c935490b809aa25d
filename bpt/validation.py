"""Validation of surrogates against simulated samples: closure in bins and a classifier test.

Both checks take events labelled by the base point they were simulated at, as
``BoostedParametricTree.fit`` does, and compare, for every non-nominal point nu_k, the
nominal sample reweighted by the surrogate's ``r(x|nu_k)`` with the sample simulated at
nu_k. Use events that took no part in the surrogate's training: on training events the
surrogate's own fluctuations make both checks look better than they are.

- :func:`closure_test`: weighted histograms in quantile bins of every feature, chi2/ndf
  (plot: :func:`bpt.plotting.plot_closure`).
- :func:`classifier_two_sample_test`: a classifier trained to separate the reweighted
  nominal sample from the varied one; its AUC on held-out events against the AUCs under
  label permutations (plot: :func:`bpt.plotting.plot_two_sample`).
"""
import warnings
from typing import List, NamedTuple, Optional

import numpy as np
from scipy import stats
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state

from ._input import as_rows, check_weights
from .parametrization import _format_point, nominal_points

# Below this many held-out events in either sample the two-sample test warns: it cannot
# reject anything.
MIN_HELD_OUT_EVENTS = 20


# ------------------------------------------------------------------------------ inputs

def _log_ratio_function(surrogate):
    if hasattr(surrogate, "predict_log_ratio"):
        return surrogate.predict_log_ratio
    if callable(surrogate):
        return surrogate
    raise TypeError("surrogate must have predict_log_ratio(X, nu) or be a callable "
                    f"f(X, nu) returning log r per event; got {surrogate!r}")


def _labelled(X, nu, sample_weight):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-d (n_samples, n_features), got shape {X.shape}")
    nu = as_rows(nu, "nu", n_rows=X.shape[0])
    weights = check_weights(sample_weight, X.shape[0])
    points, slots = np.unique(nu, axis=0, return_inverse=True)
    slots = slots.reshape(-1)
    nominal = np.flatnonzero(nominal_points(points))
    if nominal.size == 0:
        raise ValueError("no nominal events (nu = 0): the checks reweight the nominal sample")
    return X, weights, points, slots, int(nominal[0])


def _select_points(points, nominal, requested):
    if requested is None:
        return [k for k in range(points.shape[0]) if k != nominal]
    requested = as_rows(requested, "points")
    if requested.shape[1] != points.shape[1]:
        raise ValueError(f"points must have {points.shape[1]} columns, got {requested.shape[1]}")
    chosen = []
    for point in requested:
        match = np.flatnonzero((points == point).all(axis=1))
        if match.size == 0 or match[0] == nominal:
            raise ValueError(f"no events at the point {_format_point(point)} (non-nominal "
                             f"points present: {[_format_point(p) for p in points if p.any()]})")
        chosen.append(int(match[0]))
    return chosen


def _reweighted_nominal(log_ratio, X_nominal, w_nominal, point):
    log_r = np.asarray(log_ratio(X_nominal, point), dtype=np.float64).reshape(-1)
    if log_r.shape != (X_nominal.shape[0],):
        raise ValueError(f"the surrogate returned shape {log_r.shape} for "
                         f"{X_nominal.shape[0]} events at one point")
    if not np.isfinite(log_r).all():
        raise ValueError(f"the surrogate's log ratio at {_format_point(point)} is not finite "
                         "for some events")
    return w_nominal * np.exp(log_r)


# ----------------------------------------------------------------------------- closure

class FeatureClosure(NamedTuple):
    """Closure of one feature at one base point.

    Attributes
    ----------
    feature : int
    name : str
    edges : ndarray, shape (n_bins + 1,)
        Quantile bin edges of the varied sample; the outer bins extend to the data's range.
    reweighted, reweighted_error : ndarray, shape (n_bins,)
        The nominal sample weighted by ``w r(x|nu)``, and its standard error
        ``sqrt(sum (w r)^2)``.
    varied, varied_error : ndarray, shape (n_bins,)
        The sample simulated at nu.
    nominal : ndarray, shape (n_bins,)
        The nominal sample without reweighting (for reference).
    chi2 : float
        ``sum (reweighted - varied)^2 / (reweighted_error^2 + varied_error^2)``, or with
        ``difference_error`` ``sum (reweighted - varied)^2 / difference_error^2``.
    ndf : int
        Bins with entries, minus one with ``normalize=True``.
    difference_error : ndarray, shape (n_bins,), or None
        When the two samples share events (:func:`weight_closure_test`): the standard
        error of ``reweighted - varied``, ``sqrt(sum (w_k - w_0 r)^2)`` over the events of
        a bin, which accounts for their correlation. None for independent samples.
    """

    feature: int
    name: str
    edges: np.ndarray
    reweighted: np.ndarray
    reweighted_error: np.ndarray
    varied: np.ndarray
    varied_error: np.ndarray
    nominal: np.ndarray
    chi2: float
    ndf: int
    difference_error: Optional[np.ndarray] = None

    @property
    def p_value(self):
        return float(stats.chi2.sf(self.chi2, self.ndf)) if self.ndf > 0 else float("nan")


class PointClosure(NamedTuple):
    """Closure at one base point: one :class:`FeatureClosure` per feature."""

    point: np.ndarray
    features: List[FeatureClosure]

    @property
    def chi2_per_ndf(self):
        """chi2/ndf of every feature, shape (n_features,)."""
        return np.array([f.chi2 / f.ndf if f.ndf > 0 else np.nan for f in self.features])


class ClosureResult(NamedTuple):
    """Result of :func:`closure_test`; ``print`` it for a table.

    The features' chi2 are computed from the same events, so they are correlated: compare
    each with its own ndf rather than adding them up.
    """

    points: List[PointClosure]

    def __str__(self):
        if not self.points:
            return "closure: no points"
        names = [f.name for f in self.points[0].features]
        width = max(12, *(len(n) + 2 for n in names))
        lines = ["closure chi2/ndf (nominal reweighted by the surrogate vs varied sample)",
                 f"{'nu':>16s}" + "".join(f"{n:>{width}s}" for n in names)]
        for point in self.points:
            cells = "".join(f"{f'{f.chi2:.1f}/{f.ndf}':>{width}s}" for f in point.features)
            lines.append(f"{_format_point(point.point):>16s}{cells}")
        return "\n".join(lines)

    def max_chi2_per_ndf(self):
        """The largest chi2/ndf over points and features."""
        return float(np.nanmax([p.chi2_per_ndf for p in self.points]))


def closure_test(surrogate, X, nu, sample_weight=None, *, points=None, n_bins=10,
                 features=None, feature_names=None, normalize=False):
    """Compare the reweighted nominal sample with each varied sample, feature by feature.

    For every non-nominal base point nu_k and every feature, events are counted in
    ``n_bins`` quantile bins of the sample simulated at nu_k: the nominal events with
    weights ``w r(x|nu_k)`` against the varied events with weights ``w``. With a correct
    surrogate and independent samples the chi2 follows a chi2 distribution with ndf = the
    number of bins (chi2/ndf about 1).

    Parameters
    ----------
    surrogate : object with ``predict_log_ratio(X, nu)``, or callable ``f(X, nu)``
        The surrogate (BPT, FactorizedInterpolation, ...) or a function such as a toy's
        true ``log_ratio``.
    X : array-like, shape (n_samples, n_features)
    nu : array-like, shape (n_samples,) or (n_samples, n_params)
        The base point of each event; the nominal point must be present.
    sample_weight : array-like, shape (n_samples,), optional
    points : array-like, shape (m, n_params), optional
        The points to check; default every non-nominal point present.
    n_bins : int, default=10
    features : list of int, optional
        Columns to check; default all.
    feature_names : list of str, optional
        Names of all columns of X (for the table and plots).
    normalize : bool, default=False
        Scale the reweighted nominal to the varied total first (checks the shape only; one
        degree of freedom less). Leave False when the surrogate should also get the rate
        right, as a BPT does: its ratio includes the change of the total yield.

    Returns
    -------
    ClosureResult
    """
    log_ratio = _log_ratio_function(surrogate)
    X, weights, all_points, slots, nominal = _labelled(X, nu, sample_weight)
    columns, names = _closure_columns(X, n_bins, features, feature_names)
    in_nominal = slots == nominal
    X_nom, w_nom = X[in_nominal], weights[in_nominal]
    results = []
    for k in _select_points(all_points, nominal, points):
        point = all_points[k]
        in_varied = slots == k
        X_var, w_var = X[in_varied], weights[in_varied]
        w_rew = _reweighted_nominal(log_ratio, X_nom, w_nom, point)
        if normalize:
            w_rew = w_rew * (w_var.sum() / w_rew.sum())
        results.append(PointClosure(point.copy(), [
            _feature_closure(c, names[c], X_nom[:, c], w_nom, w_rew, X_var[:, c], w_var,
                             n_bins, normalize) for c in columns]))
    return ClosureResult(results)


def weight_closure_test(surrogate, X, weights, nu_points, *, points=None, n_bins=10,
                        features=None, feature_names=None, normalize=False):
    """Closure for events that carry a weight at every base point (weight variations).

    The form of :meth:`BoostedParametricTree.fit_weights`: ``weights[:, k]`` is each
    event's weight at ``nu_points[k]``. For every non-nominal point the events weighted by
    ``w_0 r(x|nu_k)`` are compared with the same events weighted by ``w_k``, in quantile
    bins of every feature. The two histograms share events, so their difference has the
    variance ``sum (w_k - w_0 r)^2`` over the events of a bin, not the sum of the two
    histograms' variances (which would overstate the noise and hide a bad surrogate).
    Rows with a single non-zero weight (separately simulated samples) enter the same
    formula as independent events. Parameters and result as for :func:`closure_test`;
    ``difference_error`` of every :class:`FeatureClosure` holds the per-bin noise.
    """
    log_ratio = _log_ratio_function(surrogate)
    X, weights, all_points, nominal = _weight_variation_input(X, weights, nu_points)
    columns, names = _closure_columns(X, n_bins, features, feature_names)
    results = []
    for point, w_nom, w_rew, w_var in _weight_variations(log_ratio, X, weights, all_points,
                                                         nominal, points):
        if normalize:
            w_rew = w_rew * (w_var.sum() / w_rew.sum())
        results.append(PointClosure(point.copy(), [
            _feature_closure(c, names[c], X[:, c], w_nom, w_rew, X[:, c], w_var, n_bins,
                             normalize, shared=True) for c in columns]))
    return ClosureResult(results)


def _weight_variations(log_ratio, X, weights, all_points, nominal, points):
    """Per checked point: (point, nominal weights, reweighted nominal, varied weights)."""
    w_nom = weights[:, nominal]
    for k in _select_points(all_points, nominal, points):
        yield (all_points[k], w_nom, _reweighted_nominal(log_ratio, X, w_nom, all_points[k]),
               weights[:, k])


def _weight_variation_input(X, weights, nu_points):
    """Checked (X, weights, nu_points, index of the nominal point) of the weight form."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-d (n_samples, n_features), got shape {X.shape}")
    all_points = as_rows(nu_points, "nu_points")
    weights = as_rows(weights, "weights", n_rows=X.shape[0])
    if weights.shape[1] != all_points.shape[0]:
        raise ValueError(f"weights has {weights.shape[1]} columns but nu_points "
                         f"{all_points.shape[0]} base points; column k is the weight at "
                         "nu_points[k]")
    nominal = np.flatnonzero(nominal_points(all_points))
    if nominal.size == 0:
        raise ValueError("nu_points has no nominal point (nu = 0): the check reweights the "
                         "nominal weights")
    return X, weights, all_points, int(nominal[0])


def _closure_columns(X, n_bins, features, feature_names):
    if not (isinstance(n_bins, (int, np.integer)) and n_bins >= 1):
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    columns = list(range(X.shape[1])) if features is None else [int(f) for f in features]
    if any(not 0 <= c < X.shape[1] for c in columns):
        raise ValueError(f"features must be column indices below {X.shape[1]}, got {columns}")
    names = (list(feature_names) if feature_names is not None
             else [f"x{c}" for c in range(X.shape[1])])
    if len(names) != X.shape[1]:
        raise ValueError(f"{len(names)} feature names for {X.shape[1]} features")
    return columns, names


def _feature_closure(column, name, x_nominal, w_nominal, w_reweighted, x_varied, w_varied,
                     n_bins, normalize, shared=False):
    finite_varied = x_varied[np.isfinite(x_varied)]
    finite_all = np.concatenate([finite_varied, x_nominal[np.isfinite(x_nominal)]])
    if finite_all.size == 0:
        raise ValueError(f"feature {name} has no finite values")
    edges = np.unique(np.quantile(finite_varied if finite_varied.size else finite_all,
                                  np.linspace(0.0, 1.0, n_bins + 1)))
    edges = np.unique(np.concatenate([[finite_all.min()], edges[1:-1], [finite_all.max()]]))
    if edges.size < 2:
        edges = np.array([edges[0], edges[0]])
    n = edges.size - 1

    def histogram(x, w):
        keep = np.isfinite(x)   # missing values are left out of the comparison
        bins = np.searchsorted(edges[1:-1], x[keep], side="right")
        return (np.bincount(bins, weights=w[keep], minlength=n),
                np.sqrt(np.bincount(bins, weights=w[keep] ** 2, minlength=n)))

    reweighted, reweighted_error = histogram(x_nominal, w_reweighted)
    varied, varied_error = histogram(x_varied, w_varied)
    plain, _ = histogram(x_nominal, w_nominal)
    difference_error = None
    if shared:
        # The same events in both histograms: the noise of the difference, event by event.
        _, difference_error = histogram(x_nominal, w_varied - w_reweighted)
        variance = difference_error ** 2
    else:
        variance = reweighted_error ** 2 + varied_error ** 2
    filled = variance > 0
    chi2 = float(np.sum((reweighted - varied)[filled] ** 2 / variance[filled]))
    ndf = int(filled.sum()) - (1 if normalize else 0)
    return FeatureClosure(column, name, edges, reweighted, reweighted_error, varied,
                          varied_error, plain, chi2, ndf, difference_error)


# ---------------------------------------------------------------------- two-sample test

class TwoSampleResult(NamedTuple):
    """Classifier two-sample test at one base point.

    Attributes
    ----------
    point : ndarray, shape (n_params,)
    auc : float
        Weighted ROC AUC of the classifier on held-out events (varied vs reweighted nominal).
    null_aucs : ndarray, shape (n_permutations,)
        AUCs of the same scores with the held-out labels permuted.
    p_value : float
        ``(1 + #(null >= auc)) / (1 + n_permutations)``: small when the classifier separates
        the samples better than chance.
    n_train, n_test : int
    """

    point: np.ndarray
    auc: float
    null_aucs: np.ndarray
    p_value: float
    n_train: int
    n_test: int


class TwoSampleResults(NamedTuple):
    """Result of :func:`classifier_two_sample_test`; ``print`` it for a table."""

    results: List[TwoSampleResult]

    def __getitem__(self, index):
        return self.results[index]

    def __len__(self):
        return len(self.results)

    def __iter__(self):
        return iter(self.results)

    def __str__(self):
        lines = ["classifier two-sample test (varied vs nominal reweighted by the surrogate)",
                 f"{'nu':>16s}{'AUC':>9s}{'null AUC (mean +- sd)':>24s}{'p-value':>10s}"]
        for r in self.results:
            null = f"{r.null_aucs.mean():.4f} +- {r.null_aucs.std():.4f}"
            lines.append(f"{_format_point(r.point):>16s}{r.auc:9.4f}{null:>24s}"
                         f"{r.p_value:10.4f}")
        return "\n".join(lines)


def weighted_auc(scores, labels, sample_weight=None):
    """ROC AUC with event weights; tied scores count one half.

    ``sum_{i: label 1} sum_{j: label 0} w_i w_j (1[s_i > s_j] + 1[s_i = s_j] / 2)``
    divided by ``W_1 W_0``.
    """
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    labels = np.asarray(labels).reshape(-1).astype(bool)
    weights = check_weights(sample_weight, scores.size)
    order = np.argsort(scores, kind="mergesort")
    return _SortedScores(scores[order]).auc(labels[order], weights[order])


class _SortedScores:
    """Groups of tied scores, so that the AUC of many labelings costs O(n) each."""

    def __init__(self, sorted_scores):
        starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
        self.starts = starts

    def auc(self, labels, weights):
        positive = np.add.reduceat(weights * labels, self.starts)
        negative = np.add.reduceat(weights * ~labels, self.starts)
        total_pos, total_neg = positive.sum(), negative.sum()
        if not (total_pos != 0 and total_neg != 0):
            raise ValueError("the AUC needs weight in both classes")
        below = np.cumsum(negative) - negative
        return float(np.sum(positive * (below + 0.5 * negative)) / (total_pos * total_neg))


def classifier_two_sample_test(surrogate, X, nu, sample_weight=None, *, points=None,
                               classifier=None, test_fraction=0.5, n_permutations=200,
                               random_state=None):
    """Can a classifier tell the reweighted nominal sample from the varied one?

    For every checked point nu_k: the nominal events (weights ``w r(x|nu_k)``, label 0) and
    the events simulated at nu_k (weights ``w``, label 1) are split, stratified, into a
    training and a test part; the classifier is trained on the first (each class
    rescaled to the same total weight) and its weighted AUC measured on the second. If the
    surrogate is right the two weighted samples have the same distribution and the AUC is
    0.5 up to fluctuations; their size is estimated by recomputing the AUC of the same
    test scores with the test labels permuted (the trained classifier does not depend on
    the test events, so under the hypothesis the labels are exchangeable given the
    scores, up to the difference of the two samples' weight distributions).

    The classes are balanced for the training and the AUC does not depend on the classes'
    totals, so this tests the shape of the distributions only; a wrong rate shows up in
    :func:`closure_test` (with ``normalize=False``).

    Parameters
    ----------
    surrogate : object with ``predict_log_ratio(X, nu)``, or callable ``f(X, nu)``
    X : array-like, shape (n_samples, n_features)
    nu : array-like, shape (n_samples,) or (n_samples, n_params)
        The base point of each event; the nominal point must be present.
    sample_weight : array-like, shape (n_samples,), optional
    points : array-like, shape (m, n_params), optional
        Default: every non-nominal point present.
    classifier : scikit-learn classifier, optional
        Default: ``HistGradientBoostingClassifier(max_iter=100, early_stopping=False)``.
    test_fraction : float, default=0.5
    n_permutations : int, default=200
    random_state : int, RandomState or None

    Returns
    -------
    TwoSampleResults
        One :class:`TwoSampleResult` per point.
    """
    log_ratio = _log_ratio_function(surrogate)
    X, weights, all_points, slots, nominal = _labelled(X, nu, sample_weight)
    template, rng = _two_sample_setup(classifier, test_fraction, n_permutations, random_state)
    in_nominal = slots == nominal
    X_nom, w_nom = X[in_nominal], weights[in_nominal]
    results = []
    for k in _select_points(all_points, nominal, points):
        in_varied = slots == k
        w_rew = _reweighted_nominal(log_ratio, X_nom, w_nom, all_points[k])
        X_all = np.concatenate([X_nom, X[in_varied]])
        w_all = np.concatenate([w_rew, weights[in_varied]])
        labels = np.concatenate([np.zeros(X_nom.shape[0], dtype=int),
                                 np.ones(int(in_varied.sum()), dtype=int)])
        train, test = train_test_split(np.arange(labels.size), test_size=test_fraction,
                                       stratify=labels, random_state=rng.randint(2**31))
        _warn_if_few(all_points[k], int(np.bincount(labels[test], minlength=2).min()),
                     "held-out events in the smaller sample")
        scores = _trained_scores(template, rng, X_all[train], labels[train], w_all[train],
                                 X_all[test])
        order = np.argsort(scores, kind="mergesort")
        sorted_scores = _SortedScores(scores[order])
        test_labels = labels[test][order].astype(bool)
        test_weights = w_all[test][order]
        auc = sorted_scores.auc(test_labels, test_weights)
        null = np.array([sorted_scores.auc(rng.permutation(test_labels), test_weights)
                         for _ in range(n_permutations)])
        results.append(_two_sample_result(all_points[k], auc, null, train.size, test.size))
    return TwoSampleResults(results)


def weight_two_sample_test(surrogate, X, weights, nu_points, *, points=None, classifier=None,
                           test_fraction=0.5, n_permutations=200, random_state=None):
    """The classifier two-sample test for events that carry a weight at every base point.

    The form of :meth:`BoostedParametricTree.fit_weights`: ``weights[:, k]`` is each
    event's weight at ``nu_points[k]``. For every checked point the same events appear
    twice, weighted by ``w_0 r(x|nu_k)`` (label 0) and by ``w_k`` (label 1). The events,
    not the rows, are split into a training and a test part (an event's two copies stay
    together), the classifier is trained on both copies of the training events (classes
    balanced) and the weighted AUC is measured on both copies of the test events. The two
    weighted samples share their events, so their difference fluctuates only by
    ``w_k - w_0 r`` per event; the null distribution comes from swapping each test
    event's two weights with probability 1/2 (a paired, sign-flip permutation), which has
    exactly that noise. Treating the samples as independent (:func:`classifier_two_sample_test`
    on stacked copies) would overstate the noise and hide a wrong surrogate.

    Parameters
    ----------
    surrogate : object with ``predict_log_ratio(X, nu)``, or callable ``f(X, nu)``
    X : array-like, shape (n_samples, n_features)
    weights : array-like, shape (n_samples, n_points)
    nu_points : array-like, shape (n_points, n_params) or (n_points,)
        The nominal point (nu = 0) must be among them.
    points, classifier, test_fraction, n_permutations, random_state
        As for :func:`classifier_two_sample_test`.

    Returns
    -------
    TwoSampleResults
        One :class:`TwoSampleResult` per point; ``n_train`` and ``n_test`` count events.
    """
    log_ratio = _log_ratio_function(surrogate)
    X, weights, all_points, nominal = _weight_variation_input(X, weights, nu_points)
    template, rng = _two_sample_setup(classifier, test_fraction, n_permutations, random_state)
    results = []
    for point, _, w_rew, w_var in _weight_variations(log_ratio, X, weights, all_points,
                                                     nominal, points):
        train, test = train_test_split(np.arange(X.shape[0]), test_size=test_fraction,
                                       random_state=rng.randint(2**31))
        _warn_if_few(point, test.size, "held-out events")
        labels = np.repeat([0, 1], train.size)
        scores = _trained_scores(template, rng, np.concatenate([X[train], X[train]]), labels,
                                 np.concatenate([w_rew[train], w_var[train]]), X[test])
        doubled = np.concatenate([scores, scores])     # both copies of every test event
        order = np.argsort(doubled, kind="mergesort")
        sorted_scores = _SortedScores(doubled[order])
        test_labels = np.repeat([False, True], test.size)[order]
        first, second = w_rew[test], w_var[test]

        def auc(swap):
            pair = (np.where(swap, second, first), np.where(swap, first, second))
            return sorted_scores.auc(test_labels, np.concatenate(pair)[order])

        observed = auc(np.zeros(test.size, dtype=bool))
        null = np.array([auc(rng.random(test.size) < 0.5) for _ in range(n_permutations)])
        results.append(_two_sample_result(point, observed, null, train.size,
                                          test.size))
    return TwoSampleResults(results)


def _two_sample_setup(classifier, test_fraction, n_permutations, random_state):
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction!r}")
    if not (isinstance(n_permutations, (int, np.integer)) and n_permutations >= 1):
        raise ValueError(f"n_permutations must be a positive integer, got {n_permutations!r}")
    template = (HistGradientBoostingClassifier(max_iter=100, early_stopping=False)
                if classifier is None else classifier)
    return template, check_random_state(random_state)


def _warn_if_few(point, count, what):
    if count < MIN_HELD_OUT_EVENTS:
        warnings.warn(f"two-sample test at nu={_format_point(point)}: only {count} {what} "
                      f"(fewer than {MIN_HELD_OUT_EVENTS}); the test has almost no power and "
                      "its p-value says little", RuntimeWarning, stacklevel=3)


def _trained_scores(template, rng, X_train, labels, w_train, X_test):
    """Scores of ``X_test`` by a clone of ``template`` trained with balanced classes."""
    w_train = np.array(w_train, dtype=np.float64)
    for c in (0, 1):
        # Balanced classes, mean weight 1: the classifier sees both samples equally.
        in_class = labels == c
        w_train[in_class] *= 0.5 * labels.size / w_train[in_class].sum()
    model = clone(template)
    if "random_state" in model.get_params():
        model.set_params(random_state=rng.randint(2**31))
    model.fit(X_train, labels, sample_weight=w_train)
    return model.predict_proba(X_test)[:, 1]


def _two_sample_result(point, auc, null, n_train, n_test):
    p_value = (1.0 + np.sum(null >= auc)) / (1.0 + null.size)
    return TwoSampleResult(point.copy(), auc, null, float(p_value), n_train, n_test)


# ------------------------------------------------------------ choosing the order in nu

class ParametrizationComparison(NamedTuple):
    """Result of :func:`compare_parametrizations`; ``print`` it for a table.

    Attributes
    ----------
    parametrizations : list
        The candidates, as given.
    chi2_per_ndf : ndarray, shape (n_candidates,)
        Held-out closure at the worst base point: the chi2 of :func:`closure_test` summed
        over the features of a point and divided by their ndf, largest over the
        non-nominal points (NaN when the candidate cannot be fitted, see ``errors``). A
        missing term shows at the points where it matters, so the worst point, not the
        average, separates the candidates.
    scores : ndarray, shape (n_candidates,)
        Held-out ``score`` (minus the cross-entropy per unit of nominal weight).
    closures : list of ClosureResult or None
    errors : list of str or None
        Why a candidate could not be fitted (e.g. too few base points for its terms).
    best : int
        Index of the candidate with the lowest held-out chi2/ndf.
    """

    parametrizations: list
    chi2_per_ndf: np.ndarray
    scores: np.ndarray
    closures: list
    errors: list
    best: int

    def __str__(self):
        lines = ["held-out closure of each parametrization",
                 f"{'parametrization':>24s}{'worst chi2/ndf':>16s}{'score':>14s}"]
        for i, spec in enumerate(self.parametrizations):
            mark = "  <- best" if i == self.best else ""
            if self.errors[i] is not None:
                lines.append(f"{str(spec):>24s}  not fitted: {self.errors[i]}")
            else:
                lines.append(f"{str(spec):>24s}{self.chi2_per_ndf[i]:>16.3f}"
                             f"{self.scores[i]:>14.6f}{mark}")
        return "\n".join(lines)


def compare_parametrizations(X, nu, sample_weight=None, *,
                             parametrizations=("linear", "quadratic", "cubic"),
                             estimator=None, test_fraction=0.3, n_bins=10, random_state=0):
    """Compare parametrizations m(nu) of a BoostedParametricTree by held-out closure.

    Real variations can need terms beyond the quadratic (a cubic dependence between the
    +-1 points, say). For every candidate the same estimator is fitted on the same
    training events and checked with :func:`closure_test` on held-out events at every
    base point: a parametrization that cannot represent the dependence leaves a closure
    chi2/ndf well above that of one that can, while a needlessly high order costs only
    statistical precision. The base points must determine the highest order's terms.

    Parameters
    ----------
    X, nu, sample_weight
        Labelled events, as for :meth:`BoostedParametricTree.fit`.
    parametrizations : sequence
        Candidates, anything the ``parametrization`` parameter accepts.
    estimator : BoostedParametricTree, optional
        Its other settings are used for every candidate (default settings otherwise).
    test_fraction : float, default=0.3
        Held out of the training, stratified by base point (the split of early stopping:
        a seeded hash of the features).
    n_bins : int, default=10
        Bins per feature of the closure test.
    random_state : int, default=0
        Seeds the split, and the estimator's binning and early-stopping split when its own
        ``random_state`` is None, so that every candidate sees the same bins.

    Returns
    -------
    ParametrizationComparison
    """
    from sklearn.base import clone

    from ._statistics import EventStatistics
    from ._stopping import validation_split
    from .parametric import BoostedParametricTree, _group_by_point

    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-d (n_samples, n_features), got shape {X.shape}")
    nu = as_rows(nu, "nu", n_rows=X.shape[0])
    weights = check_weights(sample_weight, X.shape[0])
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction!r}")
    if len(parametrizations) == 0:
        raise ValueError("parametrizations must name at least one candidate")
    _, slots = _group_by_point(nu)
    train, test = validation_split(X, EventStatistics(int(slots.max()) + 1, weights=weights,
                                                      slots=slots),
                                   test_fraction, int(random_state))
    template = BoostedParametricTree() if estimator is None else estimator
    chi2, scores, closures, errors = [], [], [], []
    for spec in parametrizations:
        model = clone(template).set_params(parametrization=spec)
        if model.random_state is None:
            # Every candidate on the same bins and validation split: a fair, repeatable
            # comparison.
            model.set_params(random_state=int(random_state))
        try:
            model.fit(X[train], nu[train], weights[train])
        except ValueError as exc:
            chi2.append(np.nan)
            scores.append(np.nan)
            closures.append(None)
            errors.append(str(exc))
            continue
        closure = closure_test(model, X[test], nu[test], weights[test], n_bins=n_bins)
        chi2.append(max(sum(f.chi2 for f in p.features) / max(sum(f.ndf for f in p.features), 1)
                        for p in closure.points))
        scores.append(model.score(X[test], nu[test], weights[test]))
        closures.append(closure)
        errors.append(None)
    chi2 = np.array(chi2)
    if np.isnan(chi2).all():
        raise ValueError("no parametrization could be fitted: " + "; ".join(errors))
    return ParametrizationComparison(list(parametrizations), chi2, np.array(scores),
                                     closures, errors, int(np.nanargmin(chi2)))
