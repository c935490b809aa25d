"""Per-process surrogates entering the likelihood: POI dependence and systematic effects.

Both are linear in the terms of a parametrization, so a dataset's events are evaluated
once (their coefficients cached) and every likelihood call is a few products:

- :class:`PoiDependence`, ``R_p(x|theta) = 1 + m(theta) . t(x)`` (a BoostedInformationTree,
  binned polynomial coefficients, or any function returning t);
- :class:`Systematic`, ``S(x|nu) = exp(m(nu) . Delta(x))`` (a BoostedParametricTree, binned
  log-polynomial coefficients, or any function returning Delta).

A systematic surrogate without such coefficients (anything with ``predict_log_ratio(X, nu)``,
e.g. an interpolation between +-1 sigma variations) can enter through
:class:`LogRatioSystematic`; it is then evaluated at every likelihood call.
"""
import numpy as np

from ..parametrization import Parametrization


class _LinearInTerms:
    """Coefficients of a set of events, and the terms they multiply, for named parameters."""

    def __init__(self, model, parameters, parametrization=None):
        self.model = model
        self.parameters = [parameters] if isinstance(parameters, str) else list(parameters)
        fitted = getattr(model, "parametrization_", None)
        if parametrization is None:
            if fitted is None:
                raise ValueError(f"{type(self).__name__}: give the parametrization of a "
                                 "surrogate that is not a fitted bpt estimator")
            parametrization = fitted
        elif not isinstance(parametrization, Parametrization):
            parametrization = Parametrization.from_spec(parametrization,
                                                        n_params=len(self.parameters))
        if parametrization.n_params != len(self.parameters):
            raise ValueError(f"{type(self).__name__}: the surrogate has "
                             f"{parametrization.n_params} parameters "
                             f"({parametrization.param_names}) but {len(self.parameters)} "
                             f"names were given: {self.parameters}")
        self.parametrization = parametrization
        self.n_terms = parametrization.n_terms

    def coefficients(self, X):
        """Per-event coefficients, shape (n_events, n_terms)."""
        if len(X) == 0:
            return np.zeros((0, self.n_terms))
        predict = getattr(self.model, "predict", None)
        values = predict(X) if predict is not None else self.model(X)
        values = np.asarray(values, dtype=np.float64).reshape(len(X), -1)
        if values.shape[1] != self.n_terms:
            raise ValueError(f"{type(self).__name__}: the surrogate returned {values.shape[1]} "
                             f"coefficients per event for {self.n_terms} terms")
        if not np.isfinite(values).all():
            raise ValueError(f"{type(self).__name__}: the surrogate returned non-finite "
                             "coefficients")
        return values

    def terms(self, point):
        """m at the surrogate's parameters ``point`` (k,), and dm/dpoint (n_terms, k)."""
        return self.parametrization.values(point), self.parametrization.gradient(point)


class PoiDependence(_LinearInTerms):
    """A process's dependence on parameters of interest, ``R_p = 1 + m(theta) . t(x)``.

    Parameters
    ----------
    model : fitted BoostedInformationTree, or callable
        Anything with ``predict(X)`` returning t (n_events, n_terms), or a function of X.
    parameters : str or list of str
        The likelihood parameters that the surrogate's parameters are, in its order.
    parametrization : Parametrization or spec, optional
        Required for a plain function; a fitted estimator brings its own.
    """


class Systematic(_LinearInTerms):
    """A systematic effect on a process, ``S = exp(m(nu) . Delta(x))``.

    Parameters
    ----------
    model : fitted BoostedParametricTree, or callable
        Anything with ``predict(X)`` returning Delta (n_events, n_terms), or a function of X.
    parameters : str or list of str
        The nuisance parameters that the surrogate's parameters are, in its order.
    parametrization : Parametrization or spec, optional
        Required for a plain function; a fitted estimator brings its own.
    """


class LogRatioSystematic:
    """A systematic surrogate known only through ``predict_log_ratio(X, nu)``.

    It is re-evaluated at every likelihood call, and its gradient taken by central finite
    differences of step ``step``; prefer :class:`Systematic` for speed.
    """

    def __init__(self, model, parameters, step=1e-4):
        self.model = model
        self.parameters = [parameters] if isinstance(parameters, str) else list(parameters)
        self.step = step

    def log_ratio(self, X, point):
        if len(X) == 0:
            return np.zeros(0)
        values = np.asarray(self.model.predict_log_ratio(X, np.asarray(point, dtype=np.float64)),
                            dtype=np.float64)
        if values.size != len(X):
            raise ValueError(f"LogRatioSystematic {self.parameters}: the surrogate returned "
                             f"{values.size} log ratios for {len(X)} events")
        if not np.isfinite(values).all():
            raise ValueError(f"LogRatioSystematic {self.parameters}: the surrogate returned "
                             f"non-finite log ratios at {self.parameters} = "
                             f"{np.asarray(point).tolist()}")
        return values.reshape(len(X))

    def log_ratio_gradient(self, X, point):
        point = np.asarray(point, dtype=np.float64)
        columns = []
        for k in range(point.size):
            shift = np.zeros_like(point)
            shift[k] = self.step
            columns.append((self.log_ratio(X, point + shift) - self.log_ratio(X, point - shift))
                           / (2 * self.step))
        return np.column_stack(columns)
