"""Calibrated process fractions g_p(x) = dsigma_p(x) / sum_q dsigma_q(x) from a classifier.

The mixture model of the likelihood (:mod:`bpt.likelihood`) weighs every process by its share of
the differential cross section at the reference point. For simulated events it is known;
for observed events it is estimated by a multiclass classifier trained on the simulated
processes with weights scaled to the expected yields (so that the class priors are the
yield fractions), then calibrated by isotonic regression, interpolated between its blocks,
on out-of-fold predictions (cross-fitting), so that no event is held out of the training.
"""
from numbers import Integral, Real
from typing import List, NamedTuple

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.isotonic import IsotonicRegression
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ._input import check_weights, require_target

CALIBRATIONS = ("staged", "isotonic", None)


class ProcessFractions(ClassifierMixin, BaseEstimator):
    """Process fractions g_p(x) from a calibrated multiclass classifier.

    The classifier is trained on events of all processes, each process's weights scaled so
    that their total is its expected yield; its class probabilities then estimate
    ``g_p(x) = dsigma_p(x) / sum_q dsigma_q(x)``. The probabilities are calibrated per
    class by weighted isotonic regression fitted to out-of-fold predictions (``cv`` folds,
    stratified by process) and applied to a classifier trained on all events.

    Parameters
    ----------
    classifier : scikit-learn classifier, optional
        Anything with ``fit(X, y, sample_weight)`` and ``predict_proba``. Default:
        ``HistGradientBoostingClassifier(random_state=random_state)``.
    signal : label, optional
        The process calibrated on its own in the staged scheme. Default: the first of the
        sorted labels (``classes_[0]``).
    expected_yields : dict or array-like, optional
        Expected yield of every process: ``{label: yield}`` or one value per label in the
        order of ``classes_``. Default: each process's total weight as given to ``fit``.
    calibration : {"staged", "isotonic", None}, default="staged"
        ``"staged"``: the signal fraction is calibrated alone (isotonic regression of the
        signal indicator on the classifier's signal probability); every background fraction
        is calibrated in the same way against its own indicator, and the calibrated
        backgrounds are then rescaled to share ``1 - g_signal``. The signal fraction is
        thereby exactly its own calibrated curve. ``"isotonic"``: every class calibrated
        alone, then all rows normalized to 1 (as scikit-learn's ``CalibratedClassifierCV``).
        ``None``: the classifier's probabilities, trained on all events.
    cv : int or None, default=5
        Folds of the cross-fitted calibration (``cv + 1`` classifier fits). None: one
        split, holding ``calibration_fraction`` of the events out of the training.
    calibration_fraction : float, default=0.3
        Share of the events held out for the calibration when ``cv=None``.
    interpolate : bool, default=True
        Join the isotonic blocks' weighted-mean scores linearly instead of keeping the
        steps, which would map every score of a block to one value.
    random_state : int, RandomState or None
        Seeds the calibration split and the default classifier.

    Attributes
    ----------
    classes_ : ndarray
        Process labels, sorted; the columns of :meth:`predict_fractions` follow this order.
    signal_index_ : int
        Column of the signal process.
    expected_yields_ : ndarray, shape (n_processes,)
    classifier_ : estimator
        The fitted classifier.
    calibrators_ : list or None
        The calibration curve of every process (``predict(score)``); None without
        calibration.
    n_features_in_ : int

    Examples
    --------
    >>> from bpt import ProcessFractions, toys
    >>> toy = toys.process_mixture(2000, random_state=0)
    >>> model = ProcessFractions(random_state=0).fit(toy.X, toy.target, toy.weights)
    >>> model.predict_fractions(toy.X[:2]).sum(axis=1)
    array([1., 1.])
    """

    def __init__(self, classifier=None, *, signal=None, expected_yields=None,
                 calibration="staged", cv=5, calibration_fraction=0.3, interpolate=True,
                 random_state=None):
        self.classifier = classifier
        self.signal = signal
        self.expected_yields = expected_yields
        self.calibration = calibration
        self.calibration_fraction = calibration_fraction
        self.cv = cv
        self.interpolate = interpolate
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None):
        """Train the classifier and calibrate its probabilities on held-out events.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,)
            The process of each event.
        sample_weight : array-like, shape (n_samples,), optional
            Event weights (non-negative); rescaled per process to the expected yields.

        Returns
        -------
        self
        """
        if self.calibration not in CALIBRATIONS:
            raise ValueError(f"calibration must be one of {CALIBRATIONS}, got "
                             f"{self.calibration!r}")
        X, y = self._validate_data_xy(X, y)
        weights = check_weights(sample_weight, X.shape[0])
        if (weights < 0).any():
            raise ValueError("sample_weight has negative entries; the isotonic calibration "
                             "needs non-negative weights (merge or drop negative-weight "
                             "events before estimating process fractions)")
        self.classes_, codes = np.unique(y, return_inverse=True)
        codes = codes.reshape(-1)
        n_classes = self.classes_.size
        if n_classes < 2:
            raise ValueError(f"process fractions need at least two processes (classes), got "
                             f"{n_classes} class: {self.classes_.tolist()}")
        totals = np.bincount(codes, weights=weights, minlength=n_classes)
        for c in np.flatnonzero(~(totals > 0)):
            raise ValueError(f"process (class) {self.classes_[c]!r} has a total weight of "
                             f"{totals[c]:.6g} (zero or negative); every process needs a "
                             "positive weight")
        self.signal_index_ = self._resolve_signal()
        self.expected_yields_ = self._resolve_yields(totals)

        if self.calibration is None:
            self.classifier_ = self._fit_classifier(X, codes, weights, np.arange(X.shape[0]))
            self.calibrators_ = None
            return self
        if self.cv is None:
            # One split: the classifier never sees the calibration events.
            train, calibrate = self._holdout_split(codes)
            self.classifier_ = self._fit_classifier(X, codes, weights, train)
            raw = self._raw_fractions(X[calibrate])
        else:
            # Cross-fitting: every event is calibrated on the prediction of a classifier that
            # did not see it, and the final classifier is trained on all events.
            if not (isinstance(self.cv, Integral) and not isinstance(self.cv, bool)
                    and self.cv >= 2):
                raise ValueError(f"cv must be None or an integer >= 2, got {self.cv!r}")
            calibrate = np.arange(X.shape[0])
            raw = np.empty((X.shape[0], n_classes))
            folds = StratifiedKFold(self.cv, shuffle=True, random_state=_seed(self.random_state))
            try:
                splits = list(folds.split(X, codes))
            except ValueError as exc:
                raise ValueError(f"cannot split every process into cv={self.cv} folds: "
                                 f"{exc}") from exc
            for fold_train, fold_test in splits:
                self.classifier_ = self._fit_classifier(X, codes, weights, fold_train)
                raw[fold_test] = self._raw_fractions(X[fold_test])
            self.classifier_ = self._fit_classifier(X, codes, weights, np.arange(X.shape[0]))
        w_cal = self._yield_weights(codes[calibrate], weights[calibrate])
        calibrator = _InterpolatedIsotonic if self.interpolate else _StepIsotonic
        self.calibrators_ = [calibrator().fit(raw[:, c], codes[calibrate] == c, w_cal)
                             for c in range(n_classes)]
        return self

    def _holdout_split(self, codes):
        if not (isinstance(self.calibration_fraction, Real)
                and 0 < self.calibration_fraction < 1):
            raise ValueError("calibration_fraction must be a number between 0 and 1, got "
                             f"{self.calibration_fraction!r}")
        try:
            return train_test_split(np.arange(codes.size), test_size=self.calibration_fraction,
                                    stratify=codes, random_state=self.random_state)
        except ValueError as exc:
            raise ValueError(f"cannot hold out calibration_fraction="
                             f"{self.calibration_fraction} of every process: {exc}") from exc

    def _fit_classifier(self, X, codes, weights, rows):
        classifier = (HistGradientBoostingClassifier(random_state=self.random_state)
                      if self.classifier is None else clone(self.classifier))
        w_train = self._yield_weights(codes[rows], weights[rows])
        # Mean weight 1: only the ratios between processes set the priors, and weight-based
        # regularization (e.g. HistGradientBoosting's min_hessian_to_split) stays in scale.
        w_train *= rows.size / w_train.sum()
        classifier.fit(X[rows], codes[rows], sample_weight=w_train)
        self.classifier_ = classifier
        self._check_classifier_classes()
        return classifier

    # ------------------------------------------------------------------------- prediction

    def predict_fractions(self, X):
        """Calibrated g_p(x), shape (n_samples, n_processes); every row sums to 1."""
        check_is_fitted(self, "classifier_")
        raw = self._raw_fractions(self._validate_X(X))
        if self.calibrators_ is None:
            return raw / raw.sum(axis=1, keepdims=True)
        calibrated = np.column_stack([iso.predict(raw[:, c])
                                      for c, iso in enumerate(self.calibrators_)])
        if self.calibration == "isotonic":
            return _normalized_rows(calibrated, raw, np.ones(raw.shape[0]))
        s = self.signal_index_
        signal = calibrated[:, s]
        others = np.delete(np.arange(raw.shape[1]), s)
        fractions = np.empty_like(raw)
        fractions[:, s] = signal
        fractions[:, others] = _normalized_rows(calibrated[:, others], raw[:, others],
                                                1.0 - signal)
        return fractions

    def predict_proba(self, X):
        """Same as :meth:`predict_fractions` (scikit-learn's name)."""
        return self.predict_fractions(X)

    def predict(self, X):
        """The process with the largest fraction."""
        check_is_fitted(self, "classifier_")
        return self.classes_[np.argmax(self.predict_fractions(X), axis=1)]

    def predict_uncalibrated(self, X):
        """The classifier's probabilities before calibration, shape (n_samples, n_processes)."""
        check_is_fitted(self, "classifier_")
        return self._raw_fractions(self._validate_X(X))

    def information(self, X, true_fractions, sample_weight=None):
        """Information on process strengths kept by the fitted fractions, against the truth.

        See :func:`fraction_information`; ``X`` and ``sample_weight`` are events of the
        mixture (all processes, weights summing to their yields), ``true_fractions`` the
        true g_p at those events (a toy's ``fractions(X)``).
        """
        return fraction_information(self.predict_fractions(X), true_fractions, sample_weight)

    # ------------------------------------------------------------------------ reliability

    def reliability(self, X, y, sample_weight=None, n_bins=10, strategy="quantile",
                    calibrated=True):
        """Binned calibration curve of every process on labelled events.

        Weights are rescaled per process to the fitted expected yields (as in training), so
        the observed fraction in a bin estimates g_p there. Use events that took no part in
        the fit.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,)
            The process of each event; every process of the fit must be present.
        sample_weight : array-like, shape (n_samples,), optional
        n_bins : int, default=10
        strategy : {"quantile", "uniform"}, default="quantile"
            Bins of equal event count in the predicted fraction, or of equal width in [0, 1].
        calibrated : bool, default=True
            False evaluates the classifier's raw probabilities instead.

        Returns
        -------
        Reliability
            Per-process curves, expected calibration errors and the Brier score; ``print``
            it for a summary, :func:`bpt.plotting.plot_reliability` to draw it.
        """
        check_is_fitted(self, "classifier_")
        X = self._validate_X(X)
        y = np.asarray(y).reshape(-1)
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"y has {y.shape[0]} entries but X has {X.shape[0]} samples")
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if unknown.size:
            raise ValueError(f"y contains processes not seen in fit: {unknown.tolist()}")
        codes = np.searchsorted(self.classes_, y)
        weights = check_weights(sample_weight, X.shape[0])
        totals = np.bincount(codes, weights=weights, minlength=self.classes_.size)
        for c in np.flatnonzero(~(totals > 0)):
            raise ValueError(f"process {self.classes_[c]!r} has no positive weight in the "
                             "sample; the reliability needs every process")
        if strategy not in ("quantile", "uniform"):
            raise ValueError(f"strategy must be 'quantile' or 'uniform', got {strategy!r}")
        weights = self._yield_weights(codes, weights)
        fractions = self.predict_fractions(X) if calibrated else self.predict_uncalibrated(X)
        curves = [_reliability_curve(self.classes_[c], fractions[:, c], codes == c, weights,
                                     n_bins, strategy) for c in range(self.classes_.size)]
        indicator = codes[:, None] == np.arange(self.classes_.size)[None, :]
        brier = float(np.sum(weights[:, None] * (fractions - indicator) ** 2) / weights.sum())
        return Reliability(curves, brier, calibrated)

    # ------------------------------------------------------------------------------ helpers

    def _validate_data_xy(self, X, y):
        require_target(self, y, "the process of each event")
        X = self._validate_X(X, reset=True)
        y = column_or_1d(y, warn=True)
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"y has {y.shape[0]} entries but X has {X.shape[0]} samples")
        check_classification_targets(y)
        return X, y

    def _validate_X(self, X, reset=False):
        # NaN passes through: the default classifier routes missing values itself.
        return validate_data(self, X, reset=reset, ensure_all_finite="allow-nan")

    def _resolve_signal(self):
        if self.signal is None:
            return 0
        matches = np.flatnonzero(self.classes_ == self.signal)
        if matches.size == 0:
            raise ValueError(f"signal={self.signal!r} is not one of the processes "
                             f"{self.classes_.tolist()}")
        return int(matches[0])

    def _resolve_yields(self, totals):
        given = self.expected_yields
        if given is None:
            return totals.copy()
        if isinstance(given, dict):
            missing = [c for c in self.classes_.tolist() if c not in given]
            extra = [k for k in given if k not in self.classes_.tolist()]
            if missing or extra:
                raise ValueError(f"expected_yields must give one yield per process "
                                 f"{self.classes_.tolist()}; missing {missing}, unknown {extra}")
            yields = np.array([given[c] for c in self.classes_.tolist()], dtype=np.float64)
        else:
            yields = np.asarray(given, dtype=np.float64).reshape(-1)
            if yields.size != self.classes_.size:
                raise ValueError(f"expected_yields has {yields.size} entries for "
                                 f"{self.classes_.size} processes {self.classes_.tolist()}")
        if not (np.isfinite(yields).all() and (yields > 0).all()):
            raise ValueError(f"expected_yields must be positive and finite, got {yields}")
        return yields

    def _yield_weights(self, codes, weights):
        """Weights rescaled so that each process's total equals its expected yield."""
        totals = np.bincount(codes, weights=weights, minlength=self.classes_.size)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(totals > 0, self.expected_yields_ / totals, 0.0)
        return weights * scale[codes]

    def _check_classifier_classes(self):
        seen = np.asarray(getattr(self.classifier_, "classes_", np.arange(self.classes_.size)))
        if not np.array_equal(seen, np.arange(self.classes_.size)):
            raise ValueError(f"the classifier was fitted on classes {seen.tolist()}; expected "
                             f"0..{self.classes_.size - 1}")

    def _raw_fractions(self, X):
        proba = np.asarray(self.classifier_.predict_proba(X), dtype=np.float64)
        if proba.shape != (X.shape[0], self.classes_.size):
            raise ValueError(f"the classifier's predict_proba returned shape {proba.shape}; "
                             f"expected ({X.shape[0]}, {self.classes_.size})")
        return proba


    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Missing values go to the classifier (the default one routes them itself).
        tags.input_tags.allow_nan = True
        return tags


class FractionInformation(NamedTuple):
    """Result of :func:`fraction_information`, one entry per process.

    Attributes
    ----------
    captured : ndarray
        ``(sum w g g_hat)^2 / (sum w g_hat^2 sum w g^2)``: the share of the Fisher
        information on the process's strength that a fit using ``g_hat`` keeps (1 for the
        true fractions; below 1 when the estimate blurs the processes).
    calibration : ndarray
        ``sum w g_hat^2 / sum w g g_hat``: the information the fit *claims* over the one it
        has. Above 1 the intervals are too narrow, below 1 too wide.
    """

    captured: np.ndarray
    calibration: np.ndarray

    def __str__(self):
        return ("process fractions against the truth\n"
                + "".join(f"  process {p}: information kept {c:.4f}, claimed/true {k:.4f}\n"
                          for p, (c, k) in enumerate(zip(self.captured, self.calibration))))


def fraction_information(fractions, true_fractions, sample_weight=None):
    """How much information on process strengths estimated fractions keep.

    In the mixture ``R = sum_p mu_p g_p(x)`` the derivative of the per-event ratio with
    respect to the strength mu_p at the reference point is ``g_p(x)``. A fit that uses an
    estimate ``g_hat`` has, on data drawn with the true ``g``, the curvature
    ``A = sum w g_hat^2`` and the response ``dmu_hat/dmu = sum w g g_hat / A``; the
    information it keeps on the true strength is ``(sum w g g_hat)^2 / A``, at most the
    truth's ``sum w g^2`` (Cauchy-Schwarz).

    Parameters
    ----------
    fractions, true_fractions : array-like, shape (n_samples, n_processes)
    sample_weight : array-like, shape (n_samples,), optional
        Events of the whole mixture, weighted to their expected yields.

    Returns
    -------
    FractionInformation
    """
    estimate = np.asarray(fractions, dtype=np.float64)
    truth = np.asarray(true_fractions, dtype=np.float64)
    if estimate.ndim != 2 or estimate.shape != truth.shape:
        raise ValueError(f"fractions {estimate.shape} and true_fractions {truth.shape} must "
                         "have the same shape (n_samples, n_processes)")
    weights = check_weights(sample_weight, estimate.shape[0])
    cross = weights @ (estimate * truth)
    claimed = weights @ estimate ** 2
    true = weights @ truth ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        return FractionInformation(cross ** 2 / (claimed * true), claimed / cross)


def _seed(random_state):
    """An integer seed for the fold split (None stays None)."""
    if random_state is None or isinstance(random_state, Integral):
        return random_state
    return int(random_state.randint(2**31))


class _StepIsotonic:
    """Weighted isotonic regression: a step function of the classifier's probability."""

    def fit(self, score, is_class, weights):
        self.isotonic_ = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(
            score, is_class, sample_weight=weights)
        return self

    def predict(self, score):
        return self.isotonic_.predict(score)


class _InterpolatedIsotonic(_StepIsotonic):
    """Isotonic regression interpolated linearly between the centres of its blocks.

    The steps of plain isotonic regression map every score of a block to one value, which
    throws away the classifier's resolution inside the block; joining the blocks'
    weighted-mean scores keeps the calibration monotone and the resolution.
    """

    def fit(self, score, is_class, weights):
        super().fit(score, is_class, weights)
        fitted = self.isotonic_.predict(score)
        order = np.argsort(score, kind="mergesort")
        fitted, sorted_score, sorted_weight = fitted[order], score[order], weights[order]
        starts = np.flatnonzero(np.r_[True, np.diff(fitted) != 0])
        block_weight = np.add.reduceat(sorted_weight, starts)
        keep = block_weight > 0
        centres = (np.add.reduceat(sorted_weight * sorted_score, starts)[keep]
                   / block_weight[keep])
        self.knots_ = np.column_stack([centres, fitted[starts][keep]])
        return self

    def predict(self, score):
        if self.knots_.shape[0] < 2:
            return super().predict(score)
        return np.interp(score, self.knots_[:, 0], self.knots_[:, 1])


def _normalized_rows(values, fallback, share):
    """Rows of ``values`` rescaled to sum to ``share``.

    Rows whose calibrated values are all zero (isotonic regression can map to 0) keep the
    proportions of ``fallback`` (the raw probabilities), or equal parts if those vanish too.
    """
    values = np.array(values, dtype=np.float64)
    total = values.sum(axis=1)
    empty = ~(total > 0)
    if empty.any():
        values[empty] = fallback[empty]
        total = values.sum(axis=1)
        still = ~(total > 0)
        values[still] = 1.0
        total = values.sum(axis=1)
    return values * (share / total)[:, None]


class ReliabilityCurve(NamedTuple):
    """Binned calibration curve of one process.

    Attributes
    ----------
    Bins without events are left out of the arrays.

    process : label
    predicted : ndarray, shape (n_bins,)
        Weighted mean predicted fraction per bin.
    observed : ndarray, shape (n_bins,)
        Weighted share of the process's events per bin.
    error : ndarray, shape (n_bins,)
        Standard error of ``observed`` (weighted binomial).
    weight : ndarray, shape (n_bins,)
        Total (yield-scaled) weight per bin.
    ece : float
        Expected calibration error: weight-averaged ``|observed - predicted|``.
    chi2 : float
        ``sum ((observed - predicted) / error)^2`` over bins with a non-zero error.
    """

    process: object
    predicted: np.ndarray
    observed: np.ndarray
    error: np.ndarray
    weight: np.ndarray
    ece: float
    chi2: float


class Reliability(NamedTuple):
    """Calibration curves of all processes (from :meth:`ProcessFractions.reliability`).

    Attributes
    ----------
    curves : list of ReliabilityCurve
    brier : float
        Weighted multiclass Brier score ``sum_p (g_p - 1[y = p])^2`` per unit weight.
    calibrated : bool
    """

    curves: List[ReliabilityCurve]
    brier: float
    calibrated: bool

    def __str__(self):
        kind = "calibrated" if self.calibrated else "uncalibrated"
        lines = [f"reliability ({kind}): Brier score {self.brier:.5f}",
                 f"{'process':>12s}{'ECE':>9s}{'chi2/ndf':>15s}   observed - predicted per bin"]
        for curve in self.curves:
            ndf = int((curve.error > 0).sum())
            diffs = " ".join(f"{d:+.3f}" for d in curve.observed - curve.predicted)
            lines.append(f"{str(curve.process):>12s}{curve.ece:9.4f}"
                         f"{curve.chi2:>11.1f}/{ndf:<3d}   {diffs}")
        return "\n".join(lines)


def _reliability_curve(process, predicted, is_process, weights, n_bins, strategy):
    if strategy == "quantile":
        edges = np.unique(np.quantile(predicted, np.linspace(0.0, 1.0, n_bins + 1)))
        if edges.size < 2:
            edges = np.array([edges[0], edges[0]])
    else:
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    # Interior edges only: the outer bins take everything beyond them.
    bins = np.searchsorted(edges[1:-1], predicted, side="right")
    n = edges.size - 1
    weight = np.bincount(bins, weights=weights, minlength=n)
    signal_weight = np.bincount(bins, weights=weights * is_process, minlength=n)
    predicted_sum = np.bincount(bins, weights=weights * predicted, minlength=n)
    filled = weight > 0
    observed = np.divide(signal_weight, weight, out=np.zeros(n), where=filled)
    mean_predicted = np.divide(predicted_sum, weight, out=np.zeros(n), where=filled)
    # Weighted binomial: var(sum_i w_i 1_i / W) = sum_i w_i^2 (1_i - f)^2 / W^2.
    residual = np.bincount(bins, weights=weights ** 2 * (is_process - observed[bins]) ** 2,
                           minlength=n)
    error = np.divide(np.sqrt(residual), weight, out=np.zeros(n), where=filled)
    ece = float(np.sum(weight * np.abs(observed - mean_predicted)) / weight.sum())
    nonzero = error > 0
    chi2 = float(np.sum(((observed - mean_predicted)[nonzero] / error[nonzero]) ** 2))
    return ReliabilityCurve(process, mean_predicted[filled], observed[filled], error[filled],
                            weight[filled], ece, chi2)
