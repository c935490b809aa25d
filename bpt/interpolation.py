"""HistFactory-style per-event surrogate: code-4 interpolation of +-1 variations, factorized.

The baseline surrogate of the ATLAS NSBI analyses: for every nuisance parameter the ratios
``up(x) = r(x | nu_p = +1)`` and ``down(x) = r(x | nu_p = -1)`` are estimated (by a
classifier, or a BoostedParametricTree restricted to the points {0, +-1}); for any other
value they are interpolated per event with pyhf's interpolation code 4, and the factors of
the nuisances are multiplied:

    r(x | nu) = prod_p I(nu_p; up_p(x), down_p(x))

    I(a) = up^a                       for a >= a0
           1 + sum_{i=1..6} c_i a^i   for |a| < a0
           down^(-a)                  for a <= -a0

with the six c_i fixed by the value, first and second derivative of the exponential
branches at +-a0 (a0 = 1 by default). Whatever the true dependence between and beyond the
+-1 points, and whatever the correlation of nuisances, this surrogate cannot represent it;
that is what :mod:`bpt.validation` and ``examples/compare_surrogates.py`` measure.
"""
import warnings
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, clone, is_classifier
from sklearn.utils.validation import check_is_fitted

from ._input import as_rows, check_weights, require_target
from .parametric import BoostedParametricTree
from .parametrization import _format_point, as_points, nominal_points

_ORDER = 6


def _boundary_matrix(alpha0):
    """Rows: p(a0), p(-a0), p'(a0), p'(-a0), p''(a0), p''(-a0) for p = sum_i c_i a^i."""
    powers = np.arange(1, _ORDER + 1)
    rows = []
    for derivative in range(3):
        # d^k/da^k a^i = i!/(i-k)! a^(i-k); zero for i < k.
        factor = np.ones(_ORDER)
        for j in range(derivative):
            factor *= powers - j
        exponent = np.maximum(powers - derivative, 0)
        for sign in (1.0, -1.0):
            rows.append(np.where(powers >= derivative, factor * (sign * alpha0) ** exponent, 0.0))
    return np.array(rows)


_INVERSE_CACHE = {}


def _inverse_boundary_matrix(alpha0):
    # The determinant is -2048 a0^15 (non-zero for a0 > 0); the inverse depends on a0 only,
    # so it is computed once and shared by every event.
    if alpha0 not in _INVERSE_CACHE:
        _INVERSE_CACHE[alpha0] = np.linalg.inv(_boundary_matrix(alpha0))
    return _INVERSE_CACHE[alpha0]


def _check_alpha0(alpha0):
    if not (isinstance(alpha0, Real) and np.isfinite(alpha0) and alpha0 > 0):
        raise ValueError(f"alpha0 must be a positive number, got {alpha0!r}")
    return float(alpha0)


def code4_coefficients(log_up, log_down, alpha0=1.0):
    """Coefficients c_1..c_6 of the code-4 polynomial, per event.

    Parameters
    ----------
    log_up, log_down : array-like, shape (n,)
        ``log r(x | +1)`` and ``log r(x | -1)`` per event (pyhf's ``log(up/nominal)`` and
        ``log(down/nominal)``).
    alpha0 : float, default=1.0
        Half-width of the polynomial region. As in pyhf, the exponential branches are
        ``up^a`` and ``down^(-a)`` whatever ``alpha0``: the variations stay at +-1.

    Returns
    -------
    ndarray, shape (6, n)
        ``c[i - 1]`` multiplies ``a^i``.
    """
    alpha0 = _check_alpha0(alpha0)
    log_up = np.asarray(log_up, dtype=np.float64)
    log_down = np.asarray(log_down, dtype=np.float64)
    up_a0 = np.exp(alpha0 * log_up)
    down_a0 = np.exp(alpha0 * log_down)
    # Right-hand side: value, first and second derivative of up^a at a0 and of down^(-a)
    # at -a0; the values minus the polynomial's constant 1 (expm1 keeps small effects exact).
    rhs = np.stack([np.expm1(alpha0 * log_up), np.expm1(alpha0 * log_down),
                    log_up * up_a0, -log_down * down_a0,
                    log_up ** 2 * up_a0, log_down ** 2 * down_a0])
    return _inverse_boundary_matrix(alpha0) @ rhs.reshape(6, -1)


def code4_log_factor(alpha, log_up, log_down, alpha0=1.0, min_ratio=1e-6):
    """log I(a) of code 4 for every event and every value of the nuisance.

    Parameters
    ----------
    alpha : float or array-like, shape (m,)
        Values of the nuisance parameter.
    log_up, log_down : array-like, shape (n,)
        Per-event log ratios at +1 and -1.
    alpha0 : float, default=1.0
    min_ratio : float, default=1e-6
        Floor of the factor where the polynomial is not positive (possible for large,
        same-sign variations); a RuntimeWarning counts the floored entries.

    Returns
    -------
    ndarray, shape (n,) for a scalar ``alpha``, (n, m) otherwise
    """
    alpha0 = _check_alpha0(alpha0)
    scalar = np.ndim(alpha) == 0
    alpha = np.atleast_1d(np.asarray(alpha, dtype=np.float64)).reshape(-1)
    log_up = np.asarray(log_up, dtype=np.float64).reshape(-1)
    log_down = np.asarray(log_down, dtype=np.float64).reshape(-1)
    out = np.empty((log_up.size, alpha.size))
    above, below = alpha >= alpha0, alpha <= -alpha0
    inside = ~(above | below)
    out[:, above] = log_up[:, None] * alpha[above]
    out[:, below] = log_down[:, None] * -alpha[below]
    if inside.any():
        coefficients = code4_coefficients(log_up, log_down, alpha0)
        powers = alpha[inside][None, :] ** np.arange(1, _ORDER + 1)[:, None]   # (6, m_in)
        polynomial = coefficients.T @ powers                                    # (n, m_in)
        bad = polynomial <= min_ratio - 1.0
        if bad.any():
            warnings.warn(f"code-4 interpolation: the polynomial is below min_ratio="
                          f"{min_ratio:g} for {int(bad.sum())} of {bad.size} (event, nu) "
                          "pairs; floored there", RuntimeWarning, stacklevel=2)
            polynomial = np.maximum(polynomial, min_ratio - 1.0)
        out[:, inside] = np.log1p(polynomial)
    return out[:, 0] if scalar else out


class _EstimatorAt:
    """log r of a fitted surrogate at one fixed point: a picklable per-event function."""

    def __init__(self, estimator, point):
        self.estimator = estimator
        self.point = np.asarray(point, dtype=np.float64)

    def __call__(self, X):
        return self.estimator.predict_log_ratio(X, self.point)


class _ClassifierRatio:
    """log r(x) = logit p(x) + log(W_varied / W_nominal) from a nominal-vs-varied classifier.

    The classifier is trained on classes of equal total weight (balanced, so that its
    probabilities are well resolved even for a small varied sample); the rate ratio
    W_varied / W_nominal is restored afterwards.
    """

    def __init__(self, classifier, X, w_nominal, X_varied, w_varied):
        X_all = np.concatenate([X, X_varied])
        labels = np.concatenate([np.zeros(X.shape[0], int), np.ones(X_varied.shape[0], int)])
        total_nominal, total_varied = w_nominal.sum(), w_varied.sum()
        weights = np.concatenate([w_nominal / total_nominal, w_varied / total_varied])
        # Mean weight 1: keeps weight-based regularization (e.g. min_hessian_to_split) in scale.
        weights *= weights.size / 2.0
        self.classifier = classifier.fit(X_all, labels, sample_weight=weights)
        self.log_rate = float(np.log(total_varied / total_nominal))

    def __call__(self, X):
        proba = self.classifier.predict_proba(X)
        eps = np.finfo(np.float64).tiny
        return np.log(proba[:, 1] + eps) - np.log(proba[:, 0] + eps) + self.log_rate


class _Variation:
    """The +1 and -1 log ratios of one nuisance, as two per-event functions."""

    def __init__(self, log_up, log_down):
        self.log_up, self.log_down = log_up, log_down

    def __call__(self, X):
        up = np.asarray(self.log_up(X), dtype=np.float64).reshape(-1)
        down = np.asarray(self.log_down(X), dtype=np.float64).reshape(-1)
        n = _n_rows(X)
        if up.shape != (n,) or down.shape != (n,):
            raise ValueError(f"a variation returned log ratios of shapes {up.shape} and "
                             f"{down.shape} for {n} events; expected ({n},)")
        return up, down


def _n_rows(X):
    return X.shape[0] if hasattr(X, "shape") else len(X)


class FactorizedInterpolation(BaseEstimator):
    """Per-event code-4 interpolation of +-1 variations, multiplied across nuisances.

    ``log r(x|nu) = sum_p log I(nu_p; up_p(x), down_p(x))`` with pyhf's interpolation code 4
    (exponential beyond +-alpha0, a 6th-order polynomial matching value, first and second
    derivative inside). Same ``predict_log_ratio(X, nu)`` interface as
    :class:`~bpt.BoostedParametricTree`, so either can serve as a surrogate.

    Two ways to build it:

    - ``fit(X, nu, sample_weight)`` on events labelled by base point, as for the BPT: for
      each nuisance p a clone of ``estimator`` is fitted on the nominal events and those at
      ``+e_p`` and ``-e_p`` (all other base points are ignored: the baseline only uses the
      +-1 variations);
    - :meth:`from_variations` with already-fitted estimators or per-event functions.

    Parameters
    ----------
    estimator : estimator, optional
        What learns each variation. A surrogate with ``predict_log_ratio`` (default:
        ``BoostedParametricTree("quadratic")``, which with the points {0, -1, +1} reproduces
        both log ratios exactly) is fitted once per nuisance on those points. A scikit-learn
        classifier (with ``predict_proba``) is fitted twice per nuisance, nominal vs +1 and
        nominal vs -1; ``log r = logit p + log(W_varied / W_nominal)``.
    parameter_names : list of str, optional
        Names of the nuisances.
    alpha0 : float, default=1.0
        Half-width of the polynomial region (pyhf's ``alpha0``).
    min_ratio : float, default=1e-6
        Floor of a factor where the interpolating polynomial is not positive (warned).

    Attributes
    ----------
    variations_ : list
        Per nuisance, the per-event functions giving ``(log up, log down)``.
    estimators_ : list
        The fitted estimators (after :meth:`fit`): one per nuisance, or a pair
        ``(up, down)`` of classifiers.
    n_params_ : int
    parameter_names_ : list of str

    Examples
    --------
    >>> import numpy as np
    >>> from bpt import FactorizedInterpolation
    >>> shift = lambda X: 0.3 * X[:, 0]                # log r at nu = +1; -shift at nu = -1
    >>> model = FactorizedInterpolation.from_variations([(shift, lambda X: -shift(X))])
    >>> X = np.array([[1.0], [-2.0]])
    >>> np.round(model.predict_log_ratio(X, [2.0]), 6)   # exponential beyond +-1: 2 * 0.3 x
    array([ 0.6, -1.2])
    """

    def __init__(self, estimator=None, *, parameter_names=None, alpha0=1.0, min_ratio=1e-6):
        self.estimator = estimator
        self.parameter_names = parameter_names
        self.alpha0 = alpha0
        self.min_ratio = min_ratio

    # ----------------------------------------------------------------------------- building

    def fit(self, X, y, sample_weight=None):
        """Fit one +-1 variation per nuisance from events labelled by their base point.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,) or (n_samples, n_params)
            nu, the base point of each event. The nominal point and, for every nuisance p,
            the points ``+e_p`` and ``-e_p`` must be present; other points are ignored.
        sample_weight : array-like, shape (n_samples,), optional

        Returns
        -------
        self
        """
        _check_alpha0(self.alpha0)
        nu = as_rows(require_target(self, y, "nu, the base point of each event"), "y (nu)")
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[0] != nu.shape[0]:
            raise ValueError(f"X must have shape (n_samples, n_features) with {nu.shape[0]} "
                             f"rows, got {X.shape}")
        weights = check_weights(sample_weight, X.shape[0])
        n_params = nu.shape[1]
        template = BoostedParametricTree("quadratic") if self.estimator is None else self.estimator
        nominal = nominal_points(nu)
        if not nominal.any():
            raise ValueError("no nominal base point: some events must be simulated at nu = 0")
        others_zero = [np.delete(nu, p, axis=1) for p in range(n_params)]
        self.estimators_, self.variations_ = [], []
        for p in range(n_params):
            on_axis = nominal_points(others_zero[p])   # nominal in the other nuisances
            up, down = on_axis & (nu[:, p] == 1), on_axis & (nu[:, p] == -1)
            # + 0.0 turns -0 into 0 in the message.
            missing = [_format_point(s * np.eye(n_params)[p] + 0.0)
                       for s, m in ((1, up), (-1, down)) if not m.any()]
            if missing:
                raise ValueError(f"nuisance {p} has no events at {' and '.join(missing)}; the "
                                 "interpolation needs the nominal point and +-1 in every "
                                 "nuisance, with the other nuisances at 0")
            if is_classifier(template):
                up_ratio = _ClassifierRatio(clone(template), X[nominal], weights[nominal],
                                            X[up], weights[up])
                down_ratio = _ClassifierRatio(clone(template), X[nominal], weights[nominal],
                                              X[down], weights[down])
                self.estimators_.append((up_ratio.classifier, down_ratio.classifier))
                self.variations_.append(_Variation(up_ratio, down_ratio))
            elif hasattr(template, "predict_log_ratio"):
                selected = nominal | up | down
                model = clone(template).fit(X[selected], nu[selected, p], weights[selected])
                self.estimators_.append(model)
                self.variations_.append(_Variation(_EstimatorAt(model, [1.0]),
                                                   _EstimatorAt(model, [-1.0])))
            else:
                raise TypeError("estimator must have predict_log_ratio (a surrogate such as "
                                f"BoostedParametricTree) or be a classifier, got {template!r}")
        self._set_names(n_params)
        return self

    @classmethod
    def from_variations(cls, variations, *, parameter_names=None, alpha0=1.0, min_ratio=1e-6):
        """Build from already-fitted variations, one entry per nuisance.

        Parameters
        ----------
        variations : list
            Entry p describes nuisance p, as one of

            - ``(log_up, log_down)``: two callables ``X -> log r`` per event, at +1 and -1;
            - ``(surrogate, up_point, down_point)``: a fitted object with
              ``predict_log_ratio``, evaluated at the two given points;
            - a fitted surrogate with ``predict_log_ratio``: evaluated at ``+1`` and ``-1``
              if it has one parameter, at ``+e_p`` and ``-e_p`` if it has as many parameters
              as there are entries (a BPT of all nuisances, used at its axis points only).
        parameter_names, alpha0, min_ratio
            As in the constructor.

        Returns
        -------
        FactorizedInterpolation
            Ready to predict.
        """
        model = cls(parameter_names=parameter_names, alpha0=alpha0, min_ratio=min_ratio)
        _check_alpha0(alpha0)
        if isinstance(variations, (str, bytes)) or not hasattr(variations, "__len__"):
            raise TypeError("variations must be a list with one entry per nuisance")
        n_params = len(variations)
        if n_params == 0:
            raise ValueError("variations is empty: give one entry per nuisance")
        model.variations_ = [_parse_variation(entry, p, n_params)
                             for p, entry in enumerate(variations)]
        model.estimators_ = list(variations)
        model._set_names(n_params)
        return model

    def _set_names(self, n_params):
        names = self.parameter_names
        if names is None:
            names = [f"nu{p}" for p in range(n_params)]
        if len(names) != n_params:
            raise ValueError(f"{len(names)} parameter names for {n_params} nuisances")
        self.parameter_names_ = list(names)
        self.n_params_ = n_params

    # --------------------------------------------------------------------------- prediction

    def log_variations(self, X):
        """Per-event log ratios at +1 and -1.

        Returns
        -------
        log_up, log_down : ndarray, shape (n_samples, n_params)
            Cache these to evaluate many nu quickly with :func:`code4_log_factor`.
        """
        check_is_fitted(self, "variations_")
        pairs = [variation(X) for variation in self.variations_]
        return (np.column_stack([up for up, _ in pairs]),
                np.column_stack([down for _, down in pairs]))

    def predict_log_ratio(self, X, nu):
        """log r(x|nu): shape (n_samples,) for one point nu (n_params,), (n_samples, m) for m."""
        check_is_fitted(self, "variations_")
        points, single = as_points(nu, self.n_params_, "nu")
        if not np.isfinite(points).all():
            raise ValueError("nu contains NaN or infinite values")
        log_up, log_down = self.log_variations(X)
        total = np.zeros((log_up.shape[0], points.shape[0]))
        for p in range(self.n_params_):
            total += code4_log_factor(points[:, p], log_up[:, p], log_down[:, p],
                                      self.alpha0, self.min_ratio)
        return total[:, 0] if single else total

    def predict_ratio(self, X, nu):
        """r(x|nu), the product of the per-nuisance factors; shapes as predict_log_ratio."""
        return np.exp(self.predict_log_ratio(X, nu))


def _parse_variation(entry, p, n_params):
    if hasattr(entry, "predict_log_ratio"):
        params = getattr(getattr(entry, "parametrization_", None), "n_params", None)
        if params in (None, 1):
            return _Variation(_EstimatorAt(entry, [1.0]), _EstimatorAt(entry, [-1.0]))
        if params == n_params:
            axis = np.eye(n_params)[p]
            return _Variation(_EstimatorAt(entry, axis), _EstimatorAt(entry, -axis))
        raise ValueError(f"variation {p}: the surrogate has {params} parameters but there are "
                         f"{n_params} nuisances; pass (surrogate, up_point, down_point)")
    if isinstance(entry, tuple) and len(entry) == 3 and hasattr(entry[0], "predict_log_ratio"):
        surrogate, up_point, down_point = entry
        return _Variation(_EstimatorAt(surrogate, up_point), _EstimatorAt(surrogate, down_point))
    if isinstance(entry, tuple) and len(entry) == 2 and all(callable(f) for f in entry):
        return _Variation(*entry)
    raise TypeError(f"variation {p} must be a surrogate with predict_log_ratio, "
                    "(surrogate, up_point, down_point) or (log_up, log_down) callables; got "
                    f"{entry!r}")
