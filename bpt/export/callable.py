"""log r at a fixed set of events as a plain function of the parameters, with its gradient.

Other likelihood frameworks (iminuit's cost functions, zfit, pyhf-style code, a hand-written
NLL) need only ``f(params) -> per-event log ratios`` and its derivative. The surrogate is
evaluated once: the per-event coefficients are cached, and each call is a matrix product
with the term values m(params).
"""
import numpy as np

from ..information import BoostedInformationTree
from ..parametrization import Parametrization
from .evaluator import Model


class LogRatioFunction:
    """Per-event log r(x_i | params) of a fitted model at fixed events.

    Create it with :func:`log_ratio_function`. Calling it with a parameter point returns
    the log ratios of the events; :meth:`gradient` returns their derivatives.

    - BoostedParametricTree: ``log r_i = m(nu) . Delta(x_i)``;
    - BoostedInformationTree: ``log r_i = log(1 + m(theta) . t(x_i))`` (NaN where the
      surrogate ratio is negative, -inf where it is zero).

    Attributes
    ----------
    coefficients : ndarray, shape (n_events, n_terms)
        Delta_A(x_i) or t_A(x_i), computed once.
    parametrization : Parametrization
    param_names : list of str
    n_params : int
    n_events : int
    polynomial : bool
        True for a BoostedInformationTree, where r (not log r) is linear in the terms.
    """

    def __init__(self, coefficients, parametrization, polynomial):
        self.coefficients = np.ascontiguousarray(coefficients, dtype=np.float64)
        self.parametrization = parametrization
        self.polynomial = bool(polynomial)

    @property
    def param_names(self):
        return list(self.parametrization.param_names)

    @property
    def n_params(self):
        return self.parametrization.n_params

    @property
    def n_events(self):
        return self.coefficients.shape[0]

    def _point(self, params):
        point = np.asarray(params[0] if len(params) == 1 else params, dtype=np.float64)
        if point.size != self.n_params:
            raise ValueError(f"expected {self.n_params} parameter values "
                             f"{self.param_names}, got {point.size}")
        return point.reshape(self.n_params)

    def __call__(self, *params):
        """log r of every event at a parameter point.

        Parameters
        ----------
        *params : array-like of shape (n_params,), or n_params numbers
            ``f(nu)`` and ``f(nu0, nu1, ...)`` are the same.

        Returns
        -------
        ndarray, shape (n_events,)
        """
        dot = self.coefficients @ self.parametrization.values(self._point(params))
        if not self.polynomial:
            return dot
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.log1p(dot)

    def ratio(self, *params):
        """r of every event at a parameter point, shape (n_events,)."""
        dot = self.coefficients @ self.parametrization.values(self._point(params))
        return 1.0 + dot if self.polynomial else np.exp(dot)

    def gradient(self, *params):
        """Derivatives of log r with respect to the parameters, shape (n_events, n_params).

        ``d log r_i / d p = (dm/dp) . Delta(x_i)`` (BPT) or
        ``(dm/dp) . t(x_i) / (1 + m . t(x_i))`` (BIT).
        """
        point = self._point(params)
        grad = self.coefficients @ self.parametrization.gradient(point)
        if not self.polynomial:
            return grad
        ratio = 1.0 + self.coefficients @ self.parametrization.values(point)
        with np.errstate(invalid="ignore", divide="ignore"):
            return grad / ratio[:, None]

    def __repr__(self):
        kind = "log(1 + m.t)" if self.polynomial else "m.Delta"
        return (f"LogRatioFunction({kind}, {self.n_events} events, parameters "
                f"{self.param_names})")


def log_ratio_function(model, X):
    """Per-event log ratios at fixed events as a function of the parameters.

    Parameters
    ----------
    model : BoostedParametricTree, BoostedInformationTree or evaluator Model
        A fitted estimator, or a model read by the standalone evaluator (or by
        :func:`bpt.export.evaluator.load`).
    X : array-like, shape (n_events, n_features)
        The events, e.g. the observed data or the simulated sample that gives the expected
        yield.

    Returns
    -------
    LogRatioFunction
        ``f(params)`` -> log r, shape (n_events,); ``f.gradient(params)`` -> shape
        (n_events, n_params); ``f.ratio(params)`` -> r.

    Examples
    --------
    >>> from bpt import BoostedParametricTree, log_ratio_function, toys
    >>> toy = toys.sine_shape(2000, random_state=0)
    >>> model = BoostedParametricTree("linear", n_estimators=10).fit(toy.X, toy.target)
    >>> f = log_ratio_function(model, toy.X[:5])
    >>> f(0.5).shape, f.gradient(0.5).shape
    ((5,), (5, 1))
    """
    if isinstance(model, Model):
        coefficients = model.predict(X)
        parametrization = Parametrization(model.param_names, exponents=model.exponents)
        polynomial = model.estimator == "BoostedInformationTree"
    else:
        coefficients = model.predict(X)
        parametrization = model.parametrization_
        polynomial = isinstance(model, BoostedInformationTree)
    return LogRatioFunction(coefficients, parametrization, polynomial)
