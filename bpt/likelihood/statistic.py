"""The statistic u(theta, nu) of a model on a dataset, with its analytic gradient.

:class:`NegativeLogLikelihood` is the objective the inference functions minimize: a
callable of the full parameter vector with ``grad``, ``names``, ``start``, ``bounds`` and
``fixed``. It is the full u(theta, nu), every parameter free; profiling (minimizing over
the nuisances) is done by :mod:`bpt.likelihood.inference`.
"""
from typing import NamedTuple, Optional

import numpy as np

from . import inference
from .events import EventSet
from .model import ObservedEvents


class _Pass(NamedTuple):
    """One compiled pass of the statistic: an event set with its weights."""

    events: EventSet
    yield_weights: Optional[np.ndarray]   # None: the event set's own yield weights a_i
    data_weights: np.ndarray
    region: Optional[str] = None          # set if this pass checks the region's density


class NegativeLogLikelihood:
    """u = -2 ln L + 2 ln L(reference) of ``model`` on ``data``.

    Parameters
    ----------
    model : Model
    data : Dataset

    Each call runs one compiled pass per event set; a value and its gradient come from the
    same pass, which is cached for the last parameter vector. A plain call computes the
    value only.
    """

    def __init__(self, model, data):
        model.check_dataset(data)
        self.model = model
        self.data = data
        parameters = model.parameters
        self.names = list(parameters.names)
        self.start = parameters.nominal.copy()
        self.bounds = parameters.bounds.copy()
        self.fixed = parameters.fixed.copy()
        self.centers = data.global_observables
        self._passes = []
        self._splines = []
        for name, events in model.reference.items():
            entry = data.regions[name]
            spline = model.spline_yields.get(name)
            if spline is not None:
                self._splines.append(spline)
            if isinstance(entry, ObservedEvents):
                if spline is None:
                    # The expected yield: the simulated events, without data weights.
                    yields = model.yield_events.get(name, events)
                    self._passes.append(_Pass(yields, None, np.zeros(yields.n_events),
                                              name if yields is events else None))
                self._passes.append(_Pass(entry.events, None,
                                          np.asarray(entry.weights, np.float64)))
            else:
                # Weights on the region's own simulated events or bins: one pass gives the
                # expected yield and the data term (the yield term left to the spline).
                zero_yields = np.zeros(events.n_events) if spline is not None else None
                self._passes.append(_Pass(events, zero_yields,
                                          np.asarray(entry.weights, np.float64),
                                          name if spline is None else None))
        # Passes over every region's own simulated events with their yield weights: a
        # pass then also tells whether the model is a valid density (see invalid_ratios).
        self._checks_density = ({one.region for one in self._passes} - {None}
                                == set(model.reference))
        self._cache_key = None
        self._cache = None
        self._densities = {}

    def _evaluate(self, vector, with_gradient, with_hessian=False):
        parameters = self.model.parameters
        total, gradient = parameters.constraint(vector, self.centers)
        gradient = gradient.copy()
        hessian = np.diag(np.where(parameters.constrained, 2.0 / parameters.widths ** 2, 0.0))
        n_threads = self.model.n_threads
        densities = {}
        for one in self._passes:
            evaluation = one.events.evaluate(vector, one.data_weights, one.yield_weights,
                                             with_gradient, n_threads, with_hessian)
            total += 2.0 * evaluation.value
            if with_gradient:
                gradient += 2.0 * evaluation.gradient
            if with_hessian:
                hessian += 2.0 * evaluation.hessian
            if one.region is not None:
                densities[one.region] = evaluation.density
        for spline in self._splines:
            value, grad, hess = spline.evaluate(vector, with_hessian)
            total += 2.0 * value
            gradient += 2.0 * grad
            if with_hessian:
                hessian += 2.0 * hess
        return (total, (gradient if with_gradient else None),
                (hessian if with_hessian else None), densities)

    def _evaluated(self, vector, with_gradient, with_hessian):
        """(u, gradient, Hessian) at ``vector``, reusing the last pass if it computed enough."""
        vector = self._checked(vector)
        key = vector.tobytes()
        if (key != self._cache_key or (with_gradient and self._cache[1] is None)
                or (with_hessian and self._cache[2] is None)):
            self._cache_key = key
            with np.errstate(over="ignore", invalid="ignore"):
                value, gradient, hessian, self._densities = self._evaluate(
                    vector, with_gradient or with_hessian, with_hessian)
            if not np.isfinite(value):
                # Overflow (e.g. at extreme parameter values) or an event with R <= 0: u has
                # no finite value here, and no slope.
                value = np.inf
            self._cache = (value, gradient, hessian)
        return self._cache

    def invalid_ratios(self, vector):
        """Where the model is not a valid density at ``vector``, as
        :meth:`Model.invalid_ratios` says; from the last pass when it was at ``vector`` and
        covered every region's simulated events (no extra pass for a fit's minimum)."""
        vector = self._checked(vector)
        if not (self._checks_density and vector.tobytes() == self._cache_key):
            return self.model.invalid_ratios(vector)
        problems = (self._densities[name].problem(name, self.model.density_unit(name))
                    for name in self.model.reference)
        return [problem for problem in problems if problem]

    def _checked(self, vector):
        """``vector`` as float64, or a ValueError naming the length or the NaN parameters."""
        vector = np.asarray(vector, dtype=np.float64)
        if vector.shape != (len(self.names),):
            raise ValueError(f"the parameter vector must have shape ({len(self.names)},), one "
                             f"value per parameter {self.names}, got shape {vector.shape}")
        bad = ~np.isfinite(vector)
        if bad.any():
            raise ValueError(f"parameter values must be finite, got "
                             f"{ {n: float(v) for n, v, b in zip(self.names, vector, bad) if b} }")
        return vector

    def value_and_gradient(self, vector):
        """u and its gradient at ``vector`` (one compiled pass per event set)."""
        return self._evaluated(vector, True, False)[:2]

    def __call__(self, vector):
        # Minimizers ask for many values without gradients: skip their accumulation.
        return self._evaluated(vector, False, False)[0]

    def grad(self, vector):
        return self._evaluated(vector, True, False)[1]

    @property
    def has_hessian(self):
        """Whether :meth:`hessian` is analytic (surrogates with cached coefficients)."""
        return all(not one.events.layout.generic for one in self._passes)

    def hessian(self, vector):
        """The exact second derivatives of u (one compiled pass)."""
        return self._evaluated(vector, True, True)[2]

    def gauss_newton(self, vector):
        """The Gauss-Newton (Fisher-scoring) approximation of the Hessian of u: the part
        2 sum_i d_i / R_i^2 dR_i dR_i^T of the event sums plus the constraints' curvature.
        Positive semi-definite, and cheaper than :meth:`hessian` (no second-order sums);
        the exact Hessian differs by terms weighted by the residuals a_i - d_i / R_i."""
        vector = np.asarray(vector, dtype=np.float64)
        parameters = self.model.parameters
        curvature = np.diag(np.where(parameters.constrained, 2.0 / parameters.widths ** 2, 0.0))
        for one in self._passes:
            curvature += 2.0 * one.events.gauss_newton(vector, one.data_weights,
                                                       one.yield_weights, self.model.n_threads)
        for spline in self._splines:
            curvature += 2.0 * spline.evaluate(vector, True)[2]
        return curvature

    def vector(self, values=None):
        return self.model.parameters.vector(values)

    # Inference, as methods for convenience.

    def fit(self, **options):
        """Maximum-likelihood fit; see :func:`bpt.likelihood.fit`."""
        return inference.fit(self, **options)

    def scan(self, parameter, grid, **options):
        """Profile scan q(parameter); see :func:`bpt.likelihood.profile_scan`."""
        return inference.profile_scan(self, parameter, grid, **options)

    def interval(self, parameter, cl=0.68, **options):
        """Profile-likelihood interval; see :func:`bpt.likelihood.profile_interval`."""
        return inference.profile_interval(self, parameter, cl, **options)
