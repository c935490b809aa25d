"""BoostedParametricTree: learn log r(x|nu) = m(nu) . Delta(x) from samples at base points."""
import numpy as np

from ._boosting import BaseBoostedTree, atomic_fit
from ._core._parametric_criterion import ParametricCriterion
from ._statistics import EventStatistics
from ._input import (Table, as_table, check_weights, match_columns, named_rows,
                          real_array, require_target)
from .parametrization import _format_point, nominal_points

_NU = "nu, the base point of each event"
# Labelled events come from a few base points: more distinct points than MAX_BASE_POINTS,
# or than max(FEW_BASE_POINTS, n_events / MIN_EVENTS_PER_BASE_POINT), is a continuous label.
MAX_BASE_POINTS = 1000
FEW_BASE_POINTS = 20
MIN_EVENTS_PER_BASE_POINT = 10
_OTHER_FORMS = ("for one sample per base point use fit(datasets, nu_points) or fit_datasets; "
                "for per-event weights at every base point use fit_weights(X, weights, "
                "nu_points)")


def _is_dataset_list(X):
    """Whether ``X`` is a list of samples, one per base point, rather than a feature matrix.

    A list or tuple whose first entry is a 2-d array (or DataFrame) or an ``(X, weights)``
    pair; a plain feature matrix given as nested lists has 1-d rows.
    """
    if isinstance(X, Table) or not isinstance(X, (list, tuple)) or len(X) == 0:
        return False
    first = X[0]
    return isinstance(first, tuple) or np.ndim(first) == 2


class BoostedParametricTree(BaseBoostedTree):
    """Boosted trees whose leaves carry a closed-form fit of the log cross-section ratio.

    Learns how nuisance parameters nu change the differential cross section,
    ``log r(x|nu) = log dsigma(x|nu)/dsigma(x|0) = sum_A m_A(nu) Delta_A(x)``, from events
    simulated at a few base points nu_k (one of them the nominal nu = 0), or from per-event
    weights at those points. Each leaf solves the least-squares fit of the per-point log
    ratios ``log(W_k / W_0)``; splits minimize the cross-entropy of the K binary problems
    nominal-vs-point-k.

    Parameters
    ----------
    parametrization : {"linear", "quadratic", "cubic"}, int, list of tuples or \
Parametrization, default="quadratic"
        Terms m(nu): an order (all monomials up to it), explicit index tuples such as
        ``[(0,), (0, 0)]``, or a :class:`~bpt.Parametrization`.
    parameter_names : list of str, optional
        Names of the parameters, used in term names (``"jes^2"``).
    n_estimators : int, default=100
        Maximum number of trees.
    learning_rate : float, default=0.2
        Shrinkage of every tree's values.
    max_depth : int or None, default=3
        Depth limit: a tree of depth d has at most 2**d leaves.
    max_leaf_nodes : int or None, default=None
        Leaf limit; nodes are split best-first.
    min_samples_leaf : int, default=50
        Minimum number of events in a leaf.
    min_weight_leaf : float, default=0.0
        A leaf must have a total weight above this at every base point. Leaves with a
        non-positive yield at some base point are never created.
    max_bins : int, default=255
        Bins per feature (missing values get one more).
    bin_strategy : {"mixed", "quantile"}, default="mixed"
        ``"quantile"``: bin edges at quantiles, as in HistGradientBoosting. ``"mixed"``: half
        the edges at quantiles, half equally spaced over the range, which keeps resolution
        in sparsely populated tails.
    early_stopping : "auto" or bool, default="auto"
        Hold out ``validation_fraction`` of the events of every base point (chosen by a
        seeded hash of the features, so copies of an event at several points stay
        together) and stop only when the validation loss has been significantly above its
        minimum (by more than two standard errors of the paired per-event loss
        differences, plus ``tol``) for ``n_iter_no_change`` consecutive trees; every tree up
        to the last one not significantly worse is kept. "auto" enables it above 10 000
        events. Trees whose effect the validation sample cannot resolve are kept: the
        noisy minimum of the loss of a small effect is not where the model stops improving.
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=10
    tol : float, default=1e-7
        Per unit of nominal weight, added to the significance margin.
    verbose : int, default=0
        Print the loss and time of every tree.
    random_state : int, RandomState or None
        Seeds the binning subsample and the validation split.
    n_jobs : int or None
        Threads of the compiled core; None uses OpenMP's default.

    Attributes
    ----------
    parametrization_ : Parametrization
    base_points_ : ndarray, shape (K + 1, n_params)
        The base points, nominal first.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X has string column names.
    n_iter_ : int
        Number of trees kept.
    train_loss_, validation_loss_ : ndarray
        Cross-entropy per unit of nominal weight before the first tree and after each tree
        (``validation_loss_`` is empty without early stopping).
    feature_importances_ : ndarray, shape (n_features,)
        Total split gain per feature, normalized.
    bin_mapper_ : BinMapper
        The feature binning.

    Examples
    --------
    >>> import numpy as np
    >>> from bpt import BoostedParametricTree
    >>> rng = np.random.default_rng(0)
    >>> nu = np.repeat([0.0, 0.5, 1.0], 2000)
    >>> X = rng.normal(loc=nu, size=nu.size)[:, None]     # nu shifts the mean
    >>> model = BoostedParametricTree("linear", n_estimators=20).fit(X, nu)
    >>> model.predict_log_ratio(np.array([[1.0]]), [0.5]).shape
    (1,)
    """

    @atomic_fit
    def fit(self, X, y, sample_weight=None):
        """Fit from events labelled by the base point they were simulated at.

        ``fit(datasets, nu_points)`` with a list of samples, one per base point, is the same
        as :meth:`fit_datasets` and gives the same model.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features), or list of samples
            Features; NaN marks a missing value. A list or tuple of 2-d arrays, DataFrames
            or ``(X, weights)`` pairs is a list of datasets (see :meth:`fit_datasets`).
        y : array-like, shape (n_samples,) or (n_samples, n_params)
            nu, the base point of each event (named ``y`` as the target of any
            scikit-learn estimator). Events with ``nu == 0`` form the nominal sample.
            With a list of datasets: ``nu_points``, one base point per dataset.
        sample_weight : array-like, shape (n_samples,), optional
            Event weights (may be negative); 1 by default. Not with a list of datasets,
            whose weights are given as ``(X, weights)`` pairs.

        Returns
        -------
        self
        """
        if _is_dataset_list(X):
            if sample_weight is not None:
                raise ValueError("sample_weight cannot be combined with a list of datasets: "
                                 "pass each sample's weights as an (X, weights) pair, "
                                 "fit([(X0, w0), (X1, w1), ...], nu_points)")
            return self.fit_datasets(X, y)
        try:
            X = self._validate_X(X, reset=True)
        except ValueError as exc:
            raise ValueError(f"{exc}\nfit(X, nu, sample_weight) takes one feature matrix "
                             f"for all events; {_OTHER_FORMS}") from None
        statistics, points, names = self._labelled_events(X, y, sample_weight, reset=True)
        return self._fit_base_points(X, statistics, points, names)

    def fit_datasets(self, datasets, nu_points):
        """Fit from one sample per base point.

        The samples are stacked in the order given and fitted as :meth:`fit` fits
        labelled events, so the model is the same as ``fit(X, nu, sample_weight)`` on the
        stacked events (and as :meth:`fit_weights` with one non-zero weight per row).

        Parameters
        ----------
        datasets : list of array-like, DataFrames or (X, weights) pairs
            Sample k was simulated at ``nu_points[k]``. DataFrames must share their
            columns; their names become ``feature_names_in_``.
        nu_points : array-like, shape (K + 1, n_params) or (K + 1,)
            Base points; one of them must be the nominal point 0.

        Returns
        -------
        self
        """
        if not isinstance(datasets, (list, tuple)):
            raise ValueError("datasets must be a list of samples (2-d arrays, DataFrames or "
                             f"(X, weights) pairs), got {type(datasets).__name__}; for one "
                             "feature matrix of all events use fit(X, nu, sample_weight)")
        nu_points, point_names = self._nu_rows(nu_points, "nu_points", reset=True)
        if len(datasets) != nu_points.shape[0]:
            raise ValueError(f"{len(datasets)} datasets but {nu_points.shape[0]} base points "
                             "in nu_points: give one base point per dataset")
        features, weights, slots, feature_names = [], [], [], None
        for k, dataset in enumerate(datasets):
            X_k, w_k = dataset if isinstance(dataset, tuple) else (dataset, None)
            if isinstance(dataset, tuple) and len(dataset) != 2:
                raise ValueError(f"dataset {k} is a tuple of {len(dataset)} items; a weighted "
                                 "sample is an (X, weights) pair")
            table = as_table(X_k, f"dataset {k}")
            feature_names = table.names if k == 0 else feature_names
            X_k = np.asarray(match_columns(table, feature_names, f"dataset {k}"))
            if X_k.ndim != 2:
                raise ValueError(f"dataset {k} must be a 2-d array of features, got shape "
                                 f"{X_k.shape}; for one feature matrix of all events "
                                 "use fit(X, nu, sample_weight)")
            if X_k.shape[0] == 0:
                raise ValueError(f"dataset {k} (base point nu="
                                 f"{_format_point(nu_points[k])}) has no events")
            features.append(X_k)
            weights.append(check_weights(w_k, np.shape(X_k)[0], f"weights of dataset {k}"))
            slots.append(np.full(np.shape(X_k)[0], k))
        if len({np.shape(X_k)[1] for X_k in features}) > 1:
            raise ValueError("all datasets must have the same number of features, got "
                             f"{[X_k.shape[1] for X_k in features]}")
        nu = Table(nu_points[np.concatenate(slots)], point_names)
        return self.fit(Table(np.concatenate(features), feature_names), nu,
                        np.concatenate(weights))

    @atomic_fit
    def fit_weights(self, X, weights, nu_points):
        """Fit from events that carry one weight per base point.

        Weight variations (scale, PDF, efficiency weights) give the same events a weight at
        every base point. Samples simulated at a single point fit the same form: their row
        has a non-zero weight in that point's column only, so both kinds can be stacked into
        one fit.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        weights : array-like, shape (n_samples, K + 1)
            Column k is the event's weight at ``nu_points[k]``.
        nu_points : array-like, shape (K + 1, n_params) or (K + 1,)

        Returns
        -------
        self
        """
        try:
            X = self._validate_X(X, reset=True)
        except ValueError as exc:
            raise ValueError(f"{exc}\nfit_weights(X, weights, nu_points) takes one feature "
                             "matrix for all events; for one sample per base point use "
                             "fit(datasets, nu_points) or fit_datasets") from None
        nu_points, point_names = self._nu_rows(nu_points, "nu_points", reset=True)
        weights = real_array(weights, "weights")
        if weights.ndim != 2 or weights.shape != (X.shape[0], nu_points.shape[0]):
            raise ValueError(f"weights must have shape (n_samples, n_base_points) = "
                             f"({X.shape[0]}, {nu_points.shape[0]}), got {weights.shape}; "
                             "for events labelled by their base point use fit(X, nu, "
                             "sample_weight), for one sample per base point fit(datasets, "
                             "nu_points) or fit_datasets")
        if not np.isfinite(weights).all():
            raise ValueError("weights contain NaN or infinite values")
        if np.unique(nu_points, axis=0).shape[0] != nu_points.shape[0]:
            raise ValueError("nu_points contains the same base point twice")
        # The base points in the canonical order of fit (nominal first, then sorted), so
        # that the same events give the same model in every form.
        points, slots = _group_by_point(nu_points)
        order = np.argsort(slots)
        statistics = EventStatistics.from_columns(weights[:, order])
        return self._fit_base_points(X, statistics, points, point_names)

    def _nu_rows(self, nu, name, reset):
        """Parameter points as rows and their names (the columns of a DataFrame or dict),
        ordered as ``parameter_names`` at fit, as the fitted parameters otherwise."""
        expected = (self.parameter_names if reset
                    else self.parametrization_.param_names)
        return named_rows(nu, name, expected)

    def _labelled_events(self, X, y, sample_weight, reset=False):
        """Statistics of events labelled by their base point, the points (nominal first) and
        the parameter names the labels carry."""
        nu, names = self._nu_rows(require_target(self, y, _NU), "y (nu)", reset)
        if nu.shape[0] != X.shape[0]:
            raise ValueError(f"inconsistent numbers of samples: y (nu) has {nu.shape[0]} rows "
                             f"but X has {X.shape[0]}: "
                             f"nu gives the base point of every event; {_OTHER_FORMS}")
        weights = check_weights(sample_weight, X.shape[0])
        points, slots = _group_by_point(nu)
        n_points, n_events = points.shape[0], X.shape[0]
        allowed = min(MAX_BASE_POINTS,
                      max(FEW_BASE_POINTS, n_events // MIN_EVENTS_PER_BASE_POINT))
        if n_points > allowed:
            raise ValueError(
                f"y (nu) has {n_points} distinct base points for {n_events} events (at most "
                f"{allowed} here: {FEW_BASE_POINTS} or one per {MIN_EVENTS_PER_BASE_POINT} "
                f"events, up to {MAX_BASE_POINTS}): nu gives the base point each event was "
                "simulated at, not a "
                "continuous label. Group the events into a few base points, or give each "
                "event its weights at a few points with fit_weights.")
        return EventStatistics(points.shape[0], weights=weights, slots=slots), points, names

    def _fit_base_points(self, X, statistics, points, point_names=None):
        totals = statistics.sums()
        for k in np.flatnonzero(~(totals > 0)):
            raise ValueError(f"base point nu={_format_point(points[k])} has a total weight of "
                             f"{totals[k]:.6g} (zero or negative); every base point needs a "
                             "positive yield")
        parametrization = self._resolve_parametrization(points.shape[1], point_names)
        design = parametrization.design_matrix(points[1:], "non-nominal base points")
        self.base_points_ = points
        return self._boost(X, statistics,
                           lambda min_weight: ParametricCriterion(design, min_weight))

    def predict_log_ratio(self, X, nu):
        """log r(x|nu): shape (n_samples,) for one point nu (n_params,), (n_samples, m) for m."""
        terms = self._term_values(nu, "nu")
        return self.predict(X) @ terms.T

    def predict_ratio(self, X, nu):
        """r(x|nu) = exp(log r(x|nu)), same shapes as :meth:`predict_log_ratio`."""
        return np.exp(self.predict_log_ratio(X, nu))

    def score(self, X, y, sample_weight=None):
        """Minus the cross-entropy per unit of nominal weight on labelled events.

        The events are grouped by their base point ``y`` (nu) as in :meth:`fit` (the
        nominal point must be present; the points need not be the training points).
        Higher is better.
        """
        terms = self.predict(X)
        statistics, points, _ = self._labelled_events(terms, y, sample_weight)
        if points.shape[0] < 2:
            raise ValueError("score needs events at the nominal point and at least one other "
                             "base point: the loss compares them (in cross-validation, "
                             "cv=bpt.BasePointKFold(...) keeps every point in every fold)")
        design = self.parametrization_.values(points[1:])
        criterion = ParametricCriterion(design, np.zeros(points.shape[0]))
        loss = criterion.total_loss(*statistics.arrays(), terms, 1)
        return -loss / statistics.sums()[0]


def _group_by_point(nu):
    """Distinct rows of ``nu`` (nominal first) and the index of each event's row."""
    # Per-column codes combined into one integer: much faster than np.unique(axis=0).
    codes = np.zeros(nu.shape[0], dtype=np.int64)
    radix = 1
    for column in nu.T:
        values, inverse = _distinct_values(column)
        if radix * values.size >= 2**62:
            raise ValueError("nu has too many distinct base points; nu gives the base point "
                             "each event was simulated at, not a continuous label")
        codes += inverse.reshape(-1) * radix
        radix *= values.size
    if nu.shape[1] == 1:
        # One column: its codes already number the distinct points, in order.
        points, slots = values.reshape(-1, 1).astype(nu.dtype), codes
    else:
        _, first, slots = np.unique(codes, return_index=True, return_inverse=True)
        points = nu[first]
    order = _nominal_first(points)
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return points[order], rank[slots.reshape(-1)]


def _distinct_values(column):
    """``np.unique(column, return_inverse=True)``, in one pass when the events come in a few
    blocks of equal values (samples concatenated point by point): the sort is then over
    the blocks, not the events."""
    starts = np.flatnonzero(column[1:] != column[:-1]) + 1
    if column.size == 0 or starts.size >= MAX_BASE_POINTS:
        return np.unique(column, return_inverse=True)
    starts = np.concatenate([[0], starts])
    values, block_codes = np.unique(column[starts], return_inverse=True)
    return values, np.repeat(block_codes.reshape(-1), np.diff(np.append(starts, column.size)))


def _nominal_first(points):
    """Order of the base points with the nominal point nu = 0 first."""
    is_nominal = nominal_points(points)
    nominal = np.flatnonzero(is_nominal)
    if nominal.size == 0:
        raise ValueError("no nominal base point: some events must be simulated at nu = 0 "
                         f"(base points given: {[_format_point(p) for p in points[:10]]}). "
                         "In cross-validation, pass cv=bpt.BasePointKFold(...) so that "
                         "every fold holds every base point")
    return np.concatenate([nominal, np.flatnonzero(~is_nominal)])


