"""Cached event sets: surrogates evaluated once, each likelihood call a compiled pass.

A region's :class:`RegionLayout` places every process's surrogate coefficients in columns of
one matrix and turns parameter values into the rates and term values that multiply them. An
:class:`EventSet` holds the cached coefficients, fractions and weights of one set of events
(a region's simulated events, or an observed dataset) and evaluates the likelihood sum and
its gradient through the compiled kernel.
"""
import numpy as np

from .._core._likelihood import evaluate_events
from .components import LogRatioSystematic
from .modifiers import Rate


class _Component:
    """A linear-in-terms surrogate of process ``process`` at columns ``start:stop``."""

    def __init__(self, surrogate, process, is_poi, start, indices):
        self.surrogate, self.process, self.is_poi = surrogate, process, is_poi
        self.start, self.indices = start, indices
        self.stop = start + surrogate.n_terms


class RegionLayout:
    """Columns, rates and terms of a region's processes, bound to the model's parameters."""

    def __init__(self, processes, parameters):
        self.n_processes = len(processes)
        self.rates = [Rate(p.rate, parameters) for p in processes]
        self.components = []
        self.generic = []          # (process index, LogRatioSystematic, parameter indices)
        ratio, shape = [], []
        column = 0
        for p, process in enumerate(processes):
            start = column
            if process.poi is not None:
                self.components.append(_Component(process.poi, p, True, column,
                                                  _indices(process.poi, parameters)))
                column += process.poi.n_terms
            ratio.append((start, column))
            start = column
            for systematic in process.systematics:
                if isinstance(systematic, LogRatioSystematic):
                    self.generic.append((p, systematic, _indices(systematic, parameters)))
                    continue
                self.components.append(_Component(systematic, p, False, column,
                                                  _indices(systematic, parameters)))
                column += systematic.n_terms
            shape.append((start, column))
        self.n_columns = column
        self.ratio_start = np.array([r[0] for r in ratio], dtype=np.int32)
        self.ratio_stop = np.array([r[1] for r in ratio], dtype=np.int32)
        self.shape_start = np.array([s[0] for s in shape], dtype=np.int32)
        self.shape_stop = np.array([s[1] for s in shape], dtype=np.int32)
        self._processes = processes

    def coefficients(self, X):
        """The coefficient matrix (n_events, n_columns) of events X (bins for binned regions)."""
        matrix = np.empty((len(X), self.n_columns))
        for component in self.components:
            matrix[:, component.start:component.stop] = component.surrogate.coefficients(X)
        return matrix

    def rate_values(self, vector):
        """Rates f_p, f_p - 1, their gradients {index: df/dx} and second derivatives."""
        evaluated = [rate.evaluate(vector) for rate in self.rates]
        return (np.array([e[0] for e in evaluated], dtype=np.float64),
                np.array([e[1] for e in evaluated], dtype=np.float64),
                [e[2] for e in evaluated], [e[3] for e in evaluated])

    def term_values(self, vector):
        """Term value per column, and per component its dm/dpoint."""
        terms = np.zeros(self.n_columns)
        derivatives = []
        for component in self.components:
            values, gradient = component.surrogate.terms(vector[component.indices])
            terms[component.start:component.stop] = values
            derivatives.append(gradient)
        return terms, derivatives

    def derivative_matrices(self, vector, rate, rate_gradients, rate_hessians):
        """Column-space to parameter-space maps for the Hessian.

        Returns J (n_params, P + n_columns) of first derivatives of the rates and terms, the
        rates' second derivatives (P, n, n), the terms' (n_columns, n, n), and the process
        owning each column.
        """
        n, P = vector.size, self.n_processes
        jacobian = np.zeros((n, P + self.n_columns))
        rate_second = np.zeros((P, n, n))
        for p, (gradient, hessian) in enumerate(zip(rate_gradients, rate_hessians)):
            for i, value in gradient.items():
                jacobian[i, p] = value
            for (i, j), value in hessian.items():
                rate_second[p, i, j] = value
        term_second = np.zeros((self.n_columns, n, n))
        owner = np.zeros(self.n_columns, dtype=np.intp)
        for component in self.components:
            owner[component.start:component.stop] = component.process
            point = vector[component.indices]
            idx = component.indices
            columns = slice(component.start, component.stop)
            jacobian[idx[:, None], P + np.arange(component.start, component.stop)[None, :]] = \
                component.surrogate.parametrization.gradient(point).T
            second = component.surrogate.parametrization.hessian(point)
            term_second[columns][:, idx[:, None], idx[None, :]] = second
        return jacobian, rate_second, term_second, owner

    def extra_log(self, X, vector):
        """Summed log ratios of the generic systematics, (n, P), or None."""
        if not self.generic:
            return None
        extra = np.zeros((len(X), self.n_processes))
        for p, systematic, indices in self.generic:
            extra[:, p] += systematic.log_ratio(X, vector[indices])
        return extra


class EventSet:
    """Cached quantities of one set of events in one region.

    Parameters
    ----------
    layout : RegionLayout
    X : ndarray
        The events (features, or bin indices for a binned region); kept only when a generic
        systematic needs them at every call.
    fractions : ndarray, shape (n, P)
    yield_weights : ndarray, shape (n,)
        a_i: zero for observed events.
    """

    def __init__(self, layout, X, fractions, yield_weights):
        self.layout = layout
        self.fractions = np.ascontiguousarray(fractions, dtype=np.float64)
        self.coefficients = np.ascontiguousarray(layout.coefficients(X))
        self.yield_weights = np.ascontiguousarray(yield_weights, dtype=np.float64)
        self.X = X if layout.generic else None
        self.n_events = len(self.yield_weights)

    def evaluate(self, vector, data_weights, yield_weights=None, with_gradient=True,
                 n_threads=1, with_hessian=False):
        """``sum_i [a_i (R_i - 1) - d_i log R_i]``, its gradient and (optionally) its Hessian
        over all parameters: ``(value, gradient or None, hessian or None)``."""
        layout = self.layout
        a = self.yield_weights if yield_weights is None else yield_weights
        rate, rate_minus_one, rate_gradients, rate_hessians = layout.rate_values(vector)
        terms, term_derivatives = layout.term_values(vector)
        extra = layout.extra_log(self.X, vector)
        if with_hessian and extra is not None:
            raise NotImplementedError("analytic Hessians need surrogates with cached "
                                      "coefficients")
        per_event = (np.zeros((self.n_events, layout.n_processes))
                     if (extra is not None and with_gradient) else None)
        outputs = evaluate_events(
            a, data_weights, self.fractions, self.coefficients, layout.ratio_start,
            layout.ratio_stop, layout.shape_start, layout.shape_stop, terms, rate,
            rate_minus_one, extra, per_event, with_gradient, n_threads, with_hessian)
        value, rate_grad, term_grad = outputs[:3]
        if not (with_gradient or with_hessian):
            return value, None, None
        gradient = np.zeros_like(vector)
        for p, partials in enumerate(rate_gradients):
            for index, derivative in partials.items():
                gradient[index] += rate_grad[p] * derivative
        for component, derivative in zip(layout.components, term_derivatives):
            gradient[component.indices] += term_grad[component.start:component.stop] @ derivative
        for p, systematic, indices in layout.generic:
            gradient[indices] += per_event[:, p] @ systematic.log_ratio_gradient(self.X,
                                                                                vector[indices])
        if not with_hessian:
            return value, gradient, None
        fisher, first, second = outputs[4]
        jacobian, rate_second, term_second, owner = layout.derivative_matrices(
            vector, rate, rate_gradients, rate_hessians)
        P = layout.n_processes
        hessian = jacobian @ fisher @ jacobian.T
        hessian += np.tensordot(rate_grad, rate_second, axes=1)
        rate_jacobian, term_jacobian = jacobian[:, :P], jacobian[:, P:]
        # Per process: the first-order column weights mapped to parameters.
        weighted = np.zeros((P, vector.size))
        np.add.at(weighted, owner, first[:, None] * term_jacobian.T)
        cross = rate_jacobian @ weighted
        hessian += cross + cross.T
        scale = rate[owner]
        hessian += np.tensordot(scale * first, term_second, axes=1)
        hessian += term_jacobian @ (scale[:, None] * second) @ term_jacobian.T
        return value, gradient, hessian

    def ratios(self, vector):
        """Per-event model ratio R_i = sum_p g_ip f_p r_ip s_ip."""
        return self.process_ratios(vector).sum(axis=1)

    def process_ratios(self, vector):
        """Per-event, per-process terms g_ip f_p r_ip s_ip of R_i, shape (n, P)."""
        layout = self.layout
        rate = layout.rate_values(vector)[0]
        terms, _ = layout.term_values(vector)
        extra = layout.extra_log(self.X, vector)
        total = np.zeros((self.n_events, layout.n_processes))
        for p in range(layout.n_processes):
            ratio = 1.0 + self.coefficients[:, layout.ratio_start[p]:layout.ratio_stop[p]] @ \
                terms[layout.ratio_start[p]:layout.ratio_stop[p]]
            exponent = self.coefficients[:, layout.shape_start[p]:layout.shape_stop[p]] @ \
                terms[layout.shape_start[p]:layout.shape_stop[p]]
            if extra is not None:
                exponent = exponent + extra[:, p]
            total[:, p] = self.fractions[:, p] * rate[p] * ratio * np.exp(exponent)
        return total


def _indices(component, parameters):
    return np.array([parameters.index(name) for name in component.parameters], dtype=np.intp)
