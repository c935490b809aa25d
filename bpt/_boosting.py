"""The boosting loop shared by BPT and BIT: binning, trees, updates, losses, early stopping.

A concrete estimator turns its inputs into per-event statistics and a criterion, then calls
:meth:`BaseBoostedTree._boost`; everything after that is criterion-agnostic.
"""
import functools
import time
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._binning import STRATEGIES as BIN_STRATEGIES
from ._binning import BinMapper
from ._core._histogram import HistogramBuilder
from ._core._update import update_leaves
from ._ensemble import TreeEnsemble
from ._grower import TreeGrower
from ._hyperparameters import Interval, Options, check_hyperparameters
from ._statistics import EventStatistics
from ._stopping import StoppingMonitor, validation_split
from ._threads import effective_n_threads
from ._input import validate_features
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


# Memory allowed for the histograms of one tree's leaves (see _BoostingRun).
LEAF_HISTOGRAM_BYTES = 64 * 2 ** 20


class _Validation:
    """The held-out events of early stopping, their predictions and the stopping rule."""

    def __init__(self, targets, binned, baseline, monitor):
        self.targets = targets
        self.binned = binned
        self.predictions = np.tile(baseline, (binned.shape[1], 1))
        self.event_losses = np.empty(binned.shape[1])
        self.monitor = monitor
        self.norm = monitor.norm


class _BoostingRun:
    """The state of one fit between trees: training events, their predictions and
    statistics, the ensemble and the loss curves.

    The criterion declares how the statistics follow the predictions (see
    ``bpt._core._criterion``): an affine update per leaf, or a refresh from the targets. The
    baseline is applied as a tree of one leaf covering every event, so both modes start the
    same way as they continue.
    """

    def __init__(self, criterion, targets, binned, bin_mapper, baseline, weight_scale,
                 validation, track_loss, tree_limits, n_threads):
        self.criterion = criterion
        self.binned = binned
        self.bin_mapper = bin_mapper
        self.weight_scale = weight_scale
        self.n_threads = n_threads
        self.refresh = criterion.refreshes_statistics
        # Losses cost about as much as growing a tree: computed only when early stopping or
        # verbose output needs them.
        self.track_loss = track_loss
        n_train = binned.shape[1]
        if self.refresh:
            # Newton statistics, recomputed from the (untouched) targets after every tree.
            self.targets = targets
            self.statistics = EventStatistics(criterion.n_stats,
                                              dense=np.zeros((n_train, criterion.n_stats)))
        else:
            # The statistics are the targets, updated in place; the loss needs the originals.
            self.targets = targets.copy() if track_loss else None
            self.statistics = targets
        self.predictions = (np.zeros((n_train, criterion.n_values))
                            if track_loss or self.refresh else None)
        self.targets_norm = targets.sums()[0]
        self.ensemble = TreeEnsemble(baseline)
        self.validation = validation
        self.train_loss, self.validation_loss = [], []
        self._apply_leaves(np.arange(n_train, dtype=np.int32), np.array([0], dtype=np.int32),
                           np.array([n_train], dtype=np.int32), baseline[None, :])
        # The histograms read the statistics that the updates change in place.
        builder = HistogramBuilder(binned, *self.statistics.arrays(), self.statistics.n_stats,
                                   bin_mapper.n_bins, n_threads)
        self.grower = TreeGrower(binned, builder, criterion, bin_mapper, **tree_limits,
                                 n_threads=n_threads)
        # After an affine update the next root histogram is the sum of the mapped leaf
        # histograms, which replaces a pass over all events by one over the leaves' cells
        # (the last level's histograms this needs cost less than the root's). Only when the
        # leaves' histograms are few enough to hold.
        max_leaves = 2 ** tree_limits["max_depth"] if self.grower.grows_by_level else 0
        leaf_bytes = 8 * binned.shape[0] * bin_mapper.n_bins * (self.statistics.n_stats + 1)
        self.keep_leaf_histograms = (not self.refresh and 0 < max_leaves
                                     and max_leaves * leaf_bytes <= LEAF_HISTOGRAM_BYTES)
        self._root_histogram = None

    def grow_tree(self):
        """Grow the next tree on the current statistics (None if the root is not
        admissible)."""
        tree = self.grower.grow(self._root_histogram, self.keep_leaf_histograms)
        self._root_histogram = None
        return tree

    def add_tree(self, tree, learning_rate):
        """Shrink a grown tree, update predictions and statistics, add it to the ensemble."""
        tree.values[:] *= learning_rate
        with np.errstate(over="ignore"):   # gains in units of the weights given
            tree.nodes["gain"] *= self.weight_scale
        scale, shift = self._apply_leaves(self.grower.sample_indices, tree.leaf_starts,
                                          tree.leaf_stops, tree.leaf_values)
        if tree.leaf_histograms is not None:  # kept only for an affine update
            self._root_histogram = self.grower.builder.compute_updated_root(
                tree.leaf_histograms, scale, shift)
        self.ensemble.append(tree.nodes, tree.values)
        if self.validation is not None:
            self.ensemble.add_tree_binned(self.ensemble.n_trees - 1, self.validation.binned,
                                          self.bin_mapper.missing_bin,
                                          self.validation.predictions, self.n_threads)

    def _apply_leaves(self, sample_indices, leaf_starts, leaf_stops, leaf_values):
        """Add the leaf values to the predictions and bring the statistics up to date;
        returns the per-leaf ``scale`` and ``shift`` of the update (None when the
        statistics are refreshed from the targets)."""
        if self.refresh:
            scale = shift = None
        else:
            scale, shift = self.criterion.leaf_update(leaf_values)
        update_leaves(sample_indices, leaf_starts, leaf_stops,
                      np.ascontiguousarray(leaf_values), scale, shift, self.predictions,
                      *self.statistics.arrays(), self.n_threads)
        if self.refresh:
            self.criterion.refresh(self.statistics.dense, self.targets.dense,
                                   self.predictions, self.n_threads)
        return scale, shift

    def record_losses(self):
        """Append the current losses (when tracked); True when early stopping says stop."""
        if not self.track_loss:
            return False
        self.train_loss.append(self.criterion.total_loss(*self.targets.arrays(),
                                                         self.predictions, self.n_threads)
                               / self.targets_norm)
        if self.validation is None:
            return False
        validation = self.validation
        self.criterion.event_losses(*validation.targets.arrays(), validation.predictions,
                                    validation.event_losses, self.n_threads)
        self.validation_loss.append(validation.event_losses.sum() / validation.norm)
        return validation.monitor.update(len(self.validation_loss) - 1,
                                         validation.event_losses)


class BaseBoostedTree(BaseEstimator):
    """Hyper-parameters, fitting loop and prediction shared by the boosted trees."""

    _hyperparameter_constraints = {
        "n_estimators": [Interval(1, integer=True)],
        "learning_rate": [Interval(0, open_low=True)],
        "max_depth": [None, Interval(1, integer=True)],
        "max_leaf_nodes": [None, Interval(2, integer=True)],
        "min_samples_leaf": [Interval(1, integer=True)],
        "min_weight_leaf": [Interval(0)],
        "max_bins": [Interval(2, 255, integer=True)],
        "bin_strategy": [Options(BIN_STRATEGIES)],
        "early_stopping": [Options(("auto", True, False))],
        "validation_fraction": [Interval(0, 1, open_low=True, open_high=True)],
        "n_iter_no_change": [Interval(1, integer=True)],
        "tol": [Interval(0)],
    }

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
            The per-event targets. Owned by the fit: normalized in place and, with early
            stopping, emptied (its events move to the training and validation parts).
        make_criterion : callable
            ``make_criterion(min_weight)`` returns the Criterion; ``min_weight`` (n_stats,)
            is the admissibility bound per statistic.
        """
        self._check_hyperparameters()
        run = self._start_boosting(X, statistics, make_criterion)
        for iteration in range(1, self.n_estimators + 1):
            tic = time.perf_counter()
            tree = run.grow_tree()
            if tree is None:
                warnings.warn(f"boosting stopped after {iteration - 1} trees: the residual "
                              "weight of some statistic is no longer positive", RuntimeWarning)
                break
            if tree.nodes.size == 1:
                break  # no admissible split: every further tree would be a single leaf
            run.add_tree(tree, self.learning_rate)
            stop = run.record_losses()
            if self.verbose:
                print(f"[{iteration:>4}/{self.n_estimators}] {tree.leaves.size:>3} leaves, "
                      f"train loss {run.train_loss[-1]:.6g}"
                      + (f", validation loss {run.validation_loss[-1]:.6g}"
                         if run.validation is not None else "")
                      + f", {time.perf_counter() - tic:.3f} s")
            if stop:
                break
        return self._finish_boosting(run)

    def _start_boosting(self, X, statistics, make_criterion):
        """Split, bin, build the criterion and fit the baseline: the state before the first
        tree."""
        # Leaf values and splits do not depend on the scale of the weights; bounds on them do.
        weight_scale = statistics.normalize()
        n_threads = effective_n_threads(self.n_jobs, leave_busy_cpus=True)
        rng = check_random_state(self.random_state)
        early_stopping = self._early_stopping_enabled(X.shape[0])
        if early_stopping:
            train_rows, val_rows = self._validation_split(X, statistics, rng)
            # The parts replace the whole: ``statistics`` holds no events after this.
            targets, validation = statistics.split(train_rows, val_rows)
        else:
            train_rows, val_rows, targets, validation = None, None, statistics, None

        # X is binned once, row by row in the order of the split: neither part is copied.
        bin_mapper = BinMapper(self.max_bins, self.bin_strategy, random_state=rng.randint(2**31),
                               n_threads=n_threads).fit(X, train_rows)
        binned = bin_mapper.transform(X, train_rows)
        binned_val = bin_mapper.transform(X, val_rows) if early_stopping else None

        root_sums = targets.sums()
        min_weight = np.maximum(self.min_weight_leaf / weight_scale,
                                RELATIVE_WEIGHT_TOLERANCE * np.abs(root_sums))
        criterion = make_criterion(min_weight)
        baseline = criterion.baseline(root_sums)
        if not np.all(np.isfinite(baseline)):
            raise ValueError("the fit of the whole training set is not finite; check that "
                             "every statistic has a positive total weight")
        if early_stopping:
            validation = _Validation(validation, binned_val, baseline, StoppingMonitor(
                self.n_iter_no_change, self.tol, validation.sums()[0]))
        tree_limits = dict(max_depth=self.max_depth, max_leaf_nodes=self.max_leaf_nodes,
                           min_samples_leaf=self.min_samples_leaf)
        run = _BoostingRun(criterion, targets, binned, bin_mapper, baseline, weight_scale,
                           validation, track_loss=early_stopping or self.verbose > 0,
                           tree_limits=tree_limits, n_threads=n_threads)
        run.record_losses()
        if self.verbose:
            print(f"{type(self).__name__}: {binned.shape[1]} training events, {X.shape[1]} "
                  f"features, {criterion.n_stats} statistics, {criterion.n_values} terms"
                  + (f", {binned_val.shape[1]} validation events" if early_stopping else ""))
        return run

    def _finish_boosting(self, run):
        """Keep the trees early stopping chose and set the fitted attributes."""
        if run.validation is not None:
            monitor = run.validation.monitor
            run.ensemble.truncate(monitor.n_keep)
            if self.verbose and monitor.n_keep < len(run.validation_loss) - 1:
                print(f"early stopping: kept {monitor.n_keep} trees; the validation loss of "
                      f"the next {monitor.n_worse} was significantly above its minimum")
        self._ensemble = run.ensemble
        self.bin_mapper_ = run.bin_mapper
        self.n_iter_ = run.ensemble.n_trees
        self.train_loss_ = np.asarray(run.train_loss)
        self.validation_loss_ = np.asarray(run.validation_loss)
        return self

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
        check_hyperparameters(self, self._hyperparameter_constraints)

    def _resolve_parametrization(self, n_params=None, data_names=None, n_terms=None):
        """The parametrization, its parameters named by ``parameter_names`` or else by the
        data (the columns of a nu DataFrame); ``n_params`` and ``n_terms`` are what the data
        say, if they say it."""
        names = self.parameter_names if self.parameter_names is not None else data_names
        self.parametrization_ = Parametrization.from_spec(self.parametrization, n_params,
                                                          names, n_terms)
        return self.parametrization_

    # ----------------------------------------------------------------------- input checks

    def _validate_X(self, X, reset):
        return validate_features(self, X, reset)

    # ------------------------------------------------------------------------- prediction

    def predict(self, X):
        """Per-event coefficients of the terms, shape (n_samples, n_terms): Delta_A(x) of
        the log ratio for a BoostedParametricTree, t_A(x) of the ratio for a
        BoostedInformationTree."""
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
