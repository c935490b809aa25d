"""The boosting loop shared by BPT and BIT: binning, trees, updates, losses, early stopping.

A concrete estimator turns its inputs into per-event statistics and a criterion, then calls
:meth:`BaseBoostedTree._boost`; everything after that is criterion-agnostic.
"""
import functools
import time
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._binning import BinMapper
from ._core._histogram import HistogramBuilder
from ._core._update import update_leaves
from ._ensemble import TreeEnsemble
from ._grower import TreeGrower
from ._statistics import EventStatistics
from ._stopping import StoppingMonitor, validation_split
from ._threads import effective_n_threads
from ._validation import validate_features
from .parametrization import Parametrization

# Early stopping is switched on by early_stopping="auto" above this many events.
AUTO_EARLY_STOPPING_MIN_SAMPLES = 10_000
# Weights below this fraction of a statistic's total count as zero in a node: a histogram
# obtained by subtraction leaves rounding residue where a child has no events of a slot.
RELATIVE_WEIGHT_TOLERANCE = 1e-10


def atomic_fit(fit_method):
    """Decorate a fit method so that the estimator's fitted state changes only when it
    succeeds: on any exception (bad input, interruption) the previous state is restored."""
    @functools.wraps(fit_method)
    def fit(self, *args, **kwargs):
        previous = dict(self.__dict__)
        try:
            return fit_method(self, *args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(previous)
            raise
    return fit


class BaseBoostedTree(BaseEstimator):
    """Hyper-parameters, fitting loop and prediction shared by the boosted trees."""

    def __init__(self, parametrization="quadratic", *, parameter_names=None, n_estimators=100,
                 learning_rate=0.2, max_depth=3, max_leaf_nodes=None, min_samples_leaf=50,
                 min_weight_leaf=0.0, max_bins=255, bin_strategy="mixed",
                 early_stopping="auto", validation_fraction=0.1, n_iter_no_change=10, tol=1e-7, verbose=0,
                 random_state=None, n_jobs=None):
        self.parametrization = parametrization
        self.parameter_names = parameter_names
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.min_weight_leaf = min_weight_leaf
        self.max_bins = max_bins
        self.bin_strategy = bin_strategy
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.n_jobs = n_jobs

    # ----------------------------------------------------------------------------- fitting

    def _boost(self, X, statistics, make_criterion):
        """Fit the ensemble.

        Parameters
        ----------
        X : ndarray (n_samples, n_features), validated
        statistics : EventStatistics
            Owned by the fit: updated in place.
        make_criterion : callable
            ``make_criterion(train_statistics, min_weight)`` returns the Criterion;
            ``min_weight`` (n_stats,) is the admissibility bound per statistic.
        """
        self._check_hyperparameters()
        # Leaf values and splits do not depend on the scale of the weights; bounds on them do.
        weight_scale = statistics.normalize()
        n_threads = effective_n_threads(self.n_jobs)
        rng = check_random_state(self.random_state)
        early_stopping = self._early_stopping_enabled(X.shape[0])
        if early_stopping:
            train_rows, val_rows = self._validation_split(X, statistics, rng)
            train, validation = statistics.take(train_rows), statistics.take(val_rows)
        else:
            train_rows, val_rows, train, validation = None, None, statistics, None

        # X is binned once, row by row in the order of the split: neither part is copied.
        bin_mapper = BinMapper(self.max_bins, self.bin_strategy, random_state=rng.randint(2**31),
                               n_threads=n_threads).fit(X, train_rows)
        binned = bin_mapper.transform(X, train_rows)
        binned_val = bin_mapper.transform(X, val_rows) if early_stopping else None
        del train_rows, val_rows

        root_sums = train.sums()
        min_weight = np.maximum(self.min_weight_leaf / weight_scale,
                                RELATIVE_WEIGHT_TOLERANCE * np.abs(root_sums))
        criterion = make_criterion(train, min_weight)
        baseline = criterion.baseline(root_sums)
        if not np.all(np.isfinite(baseline)):
            raise ValueError("the fit of the whole training set is not finite; check that "
                             "every statistic has a positive total weight")
        # Losses cost about as much as growing a tree: computed only when early stopping or
        # verbose output needs them. A refreshing criterion recomputes its statistics from
        # the targets and the predictions after every tree.
        track_loss = early_stopping or self.verbose > 0
        refresh = criterion.refreshes_statistics
        targets = train.copy() if (track_loss or refresh) else None
        n_train, n_values = binned.shape[1], criterion.n_values
        predictions = np.zeros((n_train, n_values)) if (track_loss or refresh) else None
        if refresh:
            predictions[:] = baseline
            train = EventStatistics(criterion.n_stats, dense=criterion.working_statistics(
                targets.dense, predictions, n_threads))
        else:
            everything = np.arange(n_train, dtype=np.int32)
            self._apply_leaves(criterion, everything, np.array([0], dtype=np.int32),
                               np.array([n_train], dtype=np.int32), baseline[None, :],
                               predictions, train, n_threads)
        ensemble = TreeEnsemble(baseline)
        builder = HistogramBuilder(binned, *train.arrays(), train.n_stats, bin_mapper.n_bins,
                                   n_threads)
        grower = TreeGrower(binned, builder, criterion, bin_mapper, self.max_depth,
                            self.max_leaf_nodes, self.min_samples_leaf, n_threads)
        train_loss, val_loss = [], []
        if early_stopping:
            val_predictions = np.tile(baseline, (binned_val.shape[1], 1))
            val_norm = validation.sums()[0]
            val_event_losses = np.empty(binned_val.shape[1])
            monitor = StoppingMonitor(self.n_iter_no_change, self.tol, val_norm)

        def record_losses():
            train_loss.append(criterion.total_loss(*targets.arrays(), predictions, n_threads)
                              / targets_norm)
            if early_stopping:
                criterion.event_losses(*validation.arrays(), val_predictions,
                                       val_event_losses, n_threads)
                val_loss.append(val_event_losses.sum() / val_norm)
                return monitor.update(len(val_loss) - 1, val_event_losses)
            return False

        if track_loss:
            targets_norm = targets.sums()[0]
            record_losses()
        if self.verbose:
            print(f"{type(self).__name__}: {n_train} training events, {X.shape[1]} features, "
                  f"{train.n_stats} statistics, {n_values} terms"
                  + (f", {binned_val.shape[1]} validation events" if early_stopping else ""))

        for iteration in range(1, self.n_estimators + 1):
            tic = time.perf_counter()
            tree = grower.grow()
            if tree is None:
                warnings.warn(f"boosting stopped after {iteration - 1} trees: the residual "
                              "weight of some statistic is no longer positive", RuntimeWarning)
                break
            nodes, values, leaves, leaf_starts, leaf_stops = tree
            if nodes.size == 1:
                break  # no admissible split: every further tree would be a single leaf
            values *= self.learning_rate
            with np.errstate(over="ignore"):   # gains in units of the weights given
                nodes["gain"] *= weight_scale
            self._apply_leaves(criterion, grower.sample_indices, leaf_starts, leaf_stops,
                               values[leaves], predictions, train, n_threads)
            if refresh:
                criterion.refresh(train.dense, targets.dense, predictions, n_threads)
            ensemble.append(nodes, values)
            if early_stopping:
                ensemble.add_tree_binned(ensemble.n_trees - 1, binned_val,
                                         bin_mapper.missing_bin, val_predictions, n_threads)
            stop = record_losses() if track_loss else False
            if self.verbose:
                print(f"[{iteration:>4}/{self.n_estimators}] {leaves.size:>3} leaves, "
                      f"train loss {train_loss[-1]:.6g}"
                      + (f", validation loss {val_loss[-1]:.6g}" if early_stopping else "")
                      + f", {time.perf_counter() - tic:.3f} s")
            if stop:
                break

        if early_stopping:
            ensemble.truncate(monitor.n_keep)
            if self.verbose and monitor.n_keep < len(val_loss) - 1:
                print(f"early stopping: kept {monitor.n_keep} trees; the validation loss of "
                      f"the next {monitor.n_worse} was significantly above its minimum")
        self._ensemble = ensemble
        self.bin_mapper_ = bin_mapper
        self.n_iter_ = ensemble.n_trees
        self.train_loss_ = np.asarray(train_loss)
        self.validation_loss_ = np.asarray(val_loss)
        return self

    @staticmethod
    def _apply_leaves(criterion, sample_indices, leaf_starts, leaf_stops, leaf_values,
                      predictions, statistics, n_threads):
        scale, shift = criterion.leaf_update(leaf_values)
        update_leaves(sample_indices, leaf_starts, leaf_stops,
                      np.ascontiguousarray(leaf_values), scale, shift, predictions,
                      *statistics.arrays(), n_threads)

    def _early_stopping_enabled(self, n_samples):
        if self.early_stopping == "auto":
            return n_samples > AUTO_EARLY_STOPPING_MIN_SAMPLES
        return bool(self.early_stopping)

    def _validation_split(self, X, statistics, rng):
        """Sorted training and validation rows (int32): a pure function of the events
        and the seed, stratified by base point (see :func:`bpt._stopping.validation_split`)."""
        train_rows, val_rows = validation_split(X, statistics, self.validation_fraction,
                                                rng.randint(2**31))
        return train_rows.astype(np.int32), val_rows.astype(np.int32)

    def _check_hyperparameters(self):
        def check(name, ok, expected):
            if not ok:
                raise ValueError(f"{name} must be {expected}, got {getattr(self, name)!r}")

        def is_int(v, low):
            return isinstance(v, Integral) and not isinstance(v, bool) and v >= low

        check("n_estimators", is_int(self.n_estimators, 1), "an integer >= 1")
        check("learning_rate", isinstance(self.learning_rate, Real) and self.learning_rate > 0,
              "a positive number")
        check("max_depth", self.max_depth is None or is_int(self.max_depth, 1),
              "None or an integer >= 1")
        check("max_leaf_nodes", self.max_leaf_nodes is None or is_int(self.max_leaf_nodes, 2),
              "None or an integer >= 2")
        check("min_samples_leaf", is_int(self.min_samples_leaf, 1), "an integer >= 1")
        check("min_weight_leaf", isinstance(self.min_weight_leaf, Real)
              and self.min_weight_leaf >= 0, "a non-negative number")
        check("max_bins", is_int(self.max_bins, 2) and self.max_bins <= 255,
              "an integer between 2 and 255")
        check("early_stopping", self.early_stopping in ("auto", True, False),
              "'auto', True or False")
        check("validation_fraction", isinstance(self.validation_fraction, Real)
              and 0 < self.validation_fraction < 1, "a number between 0 and 1")
        check("n_iter_no_change", is_int(self.n_iter_no_change, 1), "an integer >= 1")
        check("tol", isinstance(self.tol, Real) and self.tol >= 0, "a non-negative number")

    def _resolve_parametrization(self, n_params, data_names=None):
        """The parametrization, its parameters named by ``parameter_names`` or else by the
        data (the columns of a nu DataFrame)."""
        names = self.parameter_names if self.parameter_names is not None else data_names
        self.parametrization_ = Parametrization.from_spec(self.parametrization, n_params,
                                                          names)
        return self.parametrization_

    # ----------------------------------------------------------------------- input checks

    def _validate_X(self, X, reset):
        return validate_features(self, X, reset)

    # ------------------------------------------------------------------------- prediction

    def _predict_terms(self, X):
        check_is_fitted(self, "_ensemble")
        X = self._validate_X(X, reset=False)
        return self._ensemble.predict(X, effective_n_threads(self.n_jobs))

    def _term_values(self, point, argument):
        """m(point) for the parameter point(s) passed to predict_*; keeps the (P,)/(m, P) shape."""
        check_is_fitted(self, "_ensemble")
        try:
            values = self.parametrization_.values(point)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{argument}: {exc}") from None
        if not np.isfinite(values).all():
            raise ValueError(f"{argument} must be finite, got {np.asarray(point).tolist()}")
        return values

    @property
    def feature_importances_(self):
        """Total split gain per feature over all trees, normalized to sum to 1."""
        check_is_fitted(self, "_ensemble")
        nodes = self._ensemble.nodes
        internal = nodes["is_leaf"] == 0
        gains = np.bincount(nodes["feature_idx"][internal], weights=nodes["gain"][internal],
                            minlength=self.n_features_in_)
        total = gains.sum()
        return gains / total if total > 0 else gains

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.target_tags.required = True
        return tags
