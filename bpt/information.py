"""BoostedInformationTree: learn r(x|theta) = 1 + m(theta) . t(x) from per-event coefficients."""
import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._boosting import BaseBoostedTree, atomic_fit
from ._hyperparameters import Options
from ._core._information_criterion import (CrossEntropyInformationCriterion,
                                           SquaredErrorInformationCriterion)
from ._statistics import EventStatistics
from ._input import as_rows, check_weights, require_target

LOSSES = ("squared_error", "cross_entropy")
_T = "t, the ratio coefficients of each event"


def default_base_points(n_params):
    """theta = e_i + e_j for all i <= j, then each e_i: determines every quadratic term."""
    eye = np.eye(n_params)
    pairs = [eye[i] + eye[j] for i in range(n_params) for j in range(i, n_params)]
    return np.array(pairs + list(eye))


class BoostedInformationTree(BaseBoostedTree):
    """Boosted trees for parameter dependence that is polynomial by construction (SMEFT).

    Learns ``t(x) = E_w[t_i | x]``, so that ``r(x|theta) = dsigma(x|theta)/dsigma(x|0) =
    1 + sum_A m_A(theta) t_A(x)``, from events with weights ``w_i`` at theta = 0 and
    coefficients ``t_i`` such that ``w_i(theta) = w_i (1 + m(theta) . t_i)`` (the "joint"
    ratio a generator provides; see :mod:`bpt.coefficients`). Each leaf predicts the
    weighted mean of t; splits maximize the information gain of the chosen loss.

    Parameters
    ----------
    parametrization : {"linear", "quadratic", "cubic"}, int, list of tuples or \
Parametrization, default="quadratic"
        Terms m(theta). With an order, the number of parameters is inferred from the number
        of columns of t (or from ``parameter_names``).
    base_points : array-like, shape (n_points, n_params), optional
        The theta_p at which the loss compares ratios. Default: e_i + e_j (i <= j) and e_i.
    loss : {"squared_error", "cross_entropy"}, default="squared_error"
        ``"squared_error"``: ``sum_i w_i (t_hat - t_i)^T G (t_hat - t_i)`` with
        ``G = sum_p m(theta_p) m(theta_p)^T`` (G = 1 for a single term: the split gain is
        then the Poisson Fisher information ``(sum w t)^2 / sum w``). ``"cross_entropy"``:
        the cross-entropy of the classifiers theta = 0 vs theta_p. Both have the weighted
        mean as node value; they differ in the splits.
    parameter_names : list of str, optional
    n_estimators, learning_rate, max_depth, max_leaf_nodes, min_samples_leaf, \
min_weight_leaf, max_bins, bin_strategy, early_stopping, validation_fraction, \
n_iter_no_change, tol, verbose, random_state, n_jobs
        As for :class:`~bpt.BoostedParametricTree`; ``min_weight_leaf`` bounds a leaf's
        total weight, and the validation split (a seeded hash of the features) is not
        stratified.

    Attributes
    ----------
    parametrization_ : Parametrization
    base_points_ : ndarray, shape (n_points, n_params)
    n_features_in_, n_iter_, train_loss_, validation_loss_, feature_importances_, \
bin_mapper_
        As for :class:`~bpt.BoostedParametricTree`; losses are per unit of total weight.

    Examples
    --------
    >>> from bpt import BoostedInformationTree, toys
    >>> toy = toys.quadratic_sine(20_000, random_state=0)   # r = (1 + theta sin x)^2
    >>> bit = BoostedInformationTree("quadratic", n_estimators=30).fit(toy.X, toy.target)
    >>> bit.predict_ratio(toy.X[:3], 0.5).shape
    (3,)
    """

    _hyperparameter_constraints = {**BaseBoostedTree._hyperparameter_constraints,
                              "loss": [Options(LOSSES)]}

    def __init__(self, parametrization="quadratic", *, base_points=None, loss="squared_error",
                 parameter_names=None, n_estimators=100, learning_rate=0.2, max_depth=3,
                 max_leaf_nodes=None, min_samples_leaf=50, min_weight_leaf=0.0, max_bins=255,
                 bin_strategy="mixed", early_stopping="auto", validation_fraction=0.1,
                 n_iter_no_change=10, tol=1e-7, verbose=0, random_state=None, n_jobs=None):
        super().__init__(parametrization, parameter_names=parameter_names,
                         n_estimators=n_estimators, learning_rate=learning_rate,
                         max_depth=max_depth, max_leaf_nodes=max_leaf_nodes,
                         min_samples_leaf=min_samples_leaf, min_weight_leaf=min_weight_leaf,
                         max_bins=max_bins, bin_strategy=bin_strategy,
                         early_stopping=early_stopping,
                         validation_fraction=validation_fraction,
                         n_iter_no_change=n_iter_no_change, tol=tol, verbose=verbose,
                         random_state=random_state, n_jobs=n_jobs)
        self.base_points = base_points
        self.loss = loss

    @atomic_fit
    def fit(self, X, y, sample_weight=None):
        """Fit from per-event ratio coefficients.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
            Features; NaN marks a missing value.
        y : array-like, shape (n_samples, n_terms) or (n_samples,) for one term
            t, the coefficients of each event: ``w_i(theta) = w_i (1 + m(theta) . t_i)``.
        sample_weight : array-like, shape (n_samples,), optional
            Weights at theta = 0 (may be negative); 1 by default.

        Returns
        -------
        self
        """
        X = self._validate_X(X, reset=True)
        t = as_rows(require_target(self, y, _T), "y (t)", X.shape[0])
        weights = check_weights(sample_weight, X.shape[0])
        if not weights.sum() > 0:
            raise ValueError(f"the total weight is {weights.sum():.6g} (zero or negative); the "
                             "events need a positive yield")
        point_terms = self._resolve_model(t.shape[1])
        with np.errstate(over="ignore"):   # an overflow is reported by the fit
            statistics = EventStatistics(t.shape[1] + 1,
                                         dense=np.column_stack([weights, weights[:, None] * t]))
        if self.loss == "cross_entropy":
            yields = statistics.sums()[0] + point_terms @ statistics.sums()[1:]
            for p in np.flatnonzero(~(yields > 0)):
                raise ValueError(f"the total yield at base point {self.base_points_[p]} is "
                                 f"{yields[p]:.6g}; the cross-entropy loss needs positive "
                                 "yields at every base point")
        return self._boost(X, statistics,
                           lambda min_weight: self._criterion(point_terms, min_weight))

    def _resolve_model(self, n_terms):
        """The parametrization and the base points; returns the term values at the points."""
        if self.base_points is None:
            parametrization = self._resolve_parametrization(n_terms=n_terms)
            points = default_base_points(parametrization.n_params)
        else:
            points = as_rows(self.base_points, "base_points")
            parametrization = self._resolve_parametrization(points.shape[1], n_terms=n_terms)
        self.base_points_ = points
        return parametrization.design_matrix(points, "base points")

    def _criterion(self, point_terms, min_weight):
        if self.loss == "cross_entropy":
            return CrossEntropyInformationCriterion(point_terms, min_weight)
        metric = (np.ones((1, 1)) if point_terms.shape[1] == 1
                  else point_terms.T @ point_terms)
        return SquaredErrorInformationCriterion(metric, min_weight)

    def predict_ratio(self, X, theta):
        """r(x|theta) = 1 + m(theta) . t(x): shape (n_samples,) for one point theta
        (n_params,), (n_samples, m) for m points."""
        terms = self._term_values(theta, "theta")
        return 1.0 + self.predict(X) @ terms.T

    def score(self, X, y, sample_weight=None):
        """Minus the loss per unit of weight on events with coefficients ``y``; higher is
        better."""
        check_is_fitted(self, "_ensemble")
        prediction = self.predict(X)
        t = as_rows(require_target(self, y, _T), "y (t)", prediction.shape[0])
        if t.shape[1] != prediction.shape[1]:
            raise ValueError(f"y (t) has {t.shape[1]} columns, the model {prediction.shape[1]} "
                             "terms")
        weights = check_weights(sample_weight, prediction.shape[0])
        criterion = self._criterion(self.parametrization_.values(self.base_points_),
                                    np.zeros(t.shape[1] + 1))
        stats = np.column_stack([weights, weights[:, None] * t])
        return -criterion.total_loss(stats, None, None, prediction, 1) / weights.sum()
