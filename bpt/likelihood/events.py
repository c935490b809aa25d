"""Cached event sets: surrogates evaluated once, each likelihood call a compiled pass.

A region's :class:`RegionLayout` places every process's surrogate coefficients in columns of
one matrix and turns parameter values into the rates and term values that multiply them. An
:class:`EventSet` holds the cached coefficients, fractions and weights of one set of events
(a region's simulated events, or an observed dataset) and evaluates the likelihood sum and
its gradient through the compiled kernel.
"""
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
from scipy.linalg.blas import dsyrk

from .._core._likelihood import curvature_rows, evaluate_events
from .components import LogRatioSystematic
from .modifiers import Rates

# Events per block of the Hessian accumulation: the rows of a block stay in cache while
# BLAS forms their weighted outer products.
CURVATURE_CHUNK = 2048
# Events per block of the per-event ratios computed in NumPy.
RATIO_CHUNK = 65536


class GenericSystematic(NamedTuple):
    """A systematic without cached coefficients, evaluated at every call."""

    process: int                    # index of its process in the region
    systematic: LogRatioSystematic
    indices: np.ndarray             # its parameters' positions in the parameter vector


class DensityCheck(NamedTuple):
    """Whether an event set's model ratio is a valid density at some parameter values:
    over the events with a yield weight, how many have R_i <= 0 (or NaN), the smallest
    R_i, and the expected yield sum_i a_i R_i."""

    n_nonpositive: int
    n_events: int
    smallest_ratio: float
    expected_yield: float

    @classmethod
    def from_ratios(cls, ratios, yield_weights):
        populated = yield_weights != 0
        with np.errstate(invalid="ignore"):
            n_bad = int(np.sum(populated & ~(ratios > 0)))
        smallest = float(np.nanmin(ratios[populated])) if populated.any() else np.inf
        return cls(n_bad, len(ratios), smallest, float(np.sum(yield_weights * ratios)))

    def problem(self, region, unit):
        """The message of what is wrong in ``region`` (its events counted as ``unit``),
        or None."""
        if self.n_nonpositive:
            return (f"region {region!r}: the model ratio is not positive at "
                    f"{self.n_nonpositive} of {self.n_events} {unit} (smallest "
                    f"{self.smallest_ratio:.4g})")
        if not self.expected_yield > 0:
            return f"region {region!r}: the expected yield is {self.expected_yield:.4g}"
        return None


class EventEvaluation(NamedTuple):
    """One pass over an event set: the sum, its gradient and Hessian (None where not
    asked for) and the check of a valid density over the events with a yield weight."""

    value: float
    gradient: np.ndarray
    hessian: np.ndarray
    density: DensityCheck


class _CurvatureSums(NamedTuple):
    """The event-dependent curvature sums of a range of events."""

    fisher: np.ndarray      # upper triangle, rates and surrogate parameters
    outer: np.ndarray       # upper triangle, surrogate parameters
    cross: np.ndarray       # POI-shape cross terms
    first: np.ndarray       # first-order sums per coefficient column


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
        self.rates = Rates([p.rate for p in processes], parameters)
        self.components = []
        self.generic = []          # GenericSystematic, one per LogRatioSystematic
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
                    self.generic.append(GenericSystematic(p, systematic,
                                                          _indices(systematic, parameters)))
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
        self._positions(len(parameters))

    def _positions(self, n_params):
        """Number the parameters entering the surrogates (those of POI dependences first)
        and lay out, per coefficient column, the positions its term depends on."""
        poi = sorted({int(i) for c in self.components if c.is_poi for i in c.indices})
        others = sorted({int(i) for c in self.components for i in c.indices} - set(poi))
        self.surrogate_parameters = np.array(poi + others, dtype=np.intp)
        self.n_poi_positions = len(poi)
        position = np.full(n_params, -1, dtype=np.int32)
        position[self.surrogate_parameters] = np.arange(self.surrogate_parameters.size)
        pointer, entries = [0], []
        for component in self.components:      # in column order
            for _ in range(component.surrogate.n_terms):
                entries.append(position[component.indices])
                pointer.append(pointer[-1] + len(component.indices))
        self.column_pointer = np.array(pointer, dtype=np.int32)
        self.column_position = (np.concatenate(entries).astype(np.int32) if entries
                                else np.zeros(0, dtype=np.int32))

    def coefficients(self, X, dtype=np.float64):
        """The coefficient matrix (n_events, n_columns) of events X (bins for binned regions)."""
        matrix = np.empty((len(X), self.n_columns), dtype=dtype)
        for component in self.components:
            matrix[:, component.start:component.stop] = component.surrogate.coefficients(X)
        return matrix

    def rate_values(self, vector, with_hessian=False):
        """Rates f_p (P,), f_p - 1, df/dx (P, n) and d2f/dx2 (P, n, n) or None."""
        return self.rates.evaluate(vector, with_hessian)

    def term_values(self, vector):
        """Term value per column, and per component its dm/dpoint (n_terms, k)."""
        terms = np.zeros(self.n_columns)
        derivatives = []
        for component in self.components:
            values, gradient = component.surrogate.terms(vector[component.indices])
            terms[component.start:component.stop] = values
            derivatives.append(gradient)
        return terms, derivatives

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

    def __init__(self, layout, X, fractions, yield_weights, dtype=np.float64):
        self.layout = layout
        self.fractions = np.ascontiguousarray(fractions, dtype=np.float64)
        self.coefficients = np.ascontiguousarray(layout.coefficients(X, dtype))
        self.yield_weights = np.ascontiguousarray(yield_weights, dtype=np.float64)
        self.X = X if layout.generic else None
        self.n_events = len(self.yield_weights)

    @property
    def nbytes(self):
        """Bytes of the cached coefficients, fractions and weights."""
        return self.coefficients.nbytes + self.fractions.nbytes + self.yield_weights.nbytes

    def evaluate(self, vector, data_weights, yield_weights=None, with_gradient=True,
                 n_threads=1, with_hessian=False):
        """``sum_i [a_i (R_i - 1) - d_i log R_i]``, its gradient and (optionally) its Hessian
        over all parameters, as an :class:`EventEvaluation`."""
        layout = self.layout
        a = self.yield_weights if yield_weights is None else yield_weights
        rate, rate_minus_one, rate_gradient, rate_hessian = layout.rate_values(vector,
                                                                               with_hessian)
        terms, term_derivatives = layout.term_values(vector)
        extra = layout.extra_log(self.X, vector)
        if with_hessian and extra is not None:
            raise NotImplementedError("analytic Hessians need surrogates with cached "
                                      "coefficients")
        with_gradient = with_gradient or with_hessian
        per_event = (np.zeros((self.n_events, layout.n_processes))
                     if (extra is not None and with_gradient) else None)
        sums = evaluate_events(
            a, data_weights, self.fractions, self.coefficients, layout.ratio_start,
            layout.ratio_stop, layout.shape_start, layout.shape_stop, terms, rate,
            rate_minus_one, extra, per_event, with_gradient, n_threads)
        density = DensityCheck(sums.n_nonpositive, self.n_events, sums.smallest_ratio,
                               sums.expected_yield)
        if not with_gradient:
            return EventEvaluation(sums.value, None, None, density)
        gradient = sums.rate_gradient @ rate_gradient
        for component, derivative in zip(layout.components, term_derivatives):
            gradient[component.indices] += (
                sums.term_gradient[component.start:component.stop] @ derivative)
        for p, systematic, indices in layout.generic:
            gradient[indices] += per_event[:, p] @ systematic.log_ratio_gradient(self.X,
                                                                                vector[indices])
        if not with_hessian:
            return EventEvaluation(sums.value, gradient, None, density)
        hessian = self._hessian(vector, a, data_weights, terms, term_derivatives, rate,
                                sums.rate_gradient, rate_gradient, rate_hessian,
                                n_threads=n_threads)
        return EventEvaluation(sums.value, gradient, hessian, density)

    def gauss_newton(self, vector, data_weights, yield_weights=None, n_threads=1):
        """The Gauss-Newton part of the Hessian, sum_i d_i / R_i^2 dR_i dR_i^T (positive
        semi-definite for non-negative data weights): one pass without second-order sums."""
        layout = self.layout
        if layout.generic:
            raise NotImplementedError("analytic curvature needs surrogates with cached "
                                      "coefficients")
        a = self.yield_weights if yield_weights is None else yield_weights
        rate, _, rate_gradient, _ = layout.rate_values(vector)
        terms, term_derivatives = layout.term_values(vector)
        return self._hessian(vector, a, data_weights, terms, term_derivatives, rate, None,
                             rate_gradient, None, second_order=False, n_threads=n_threads)

    def _hessian(self, vector, yield_weights, data_weights, terms, term_derivatives, rate,
                 rate_grad, rate_gradient, rate_hessian, second_order=True, n_threads=1):
        """Second derivatives of the event sum over all parameters (``second_order=False``:
        its Gauss-Newton part sum_i d_i / R_i^2 dR_i dR_i^T only, positive semi-definite).

        With h_i = a_i - d_i / R_i, the Hessian is sum_i d_i / R_i^2 dR_i dR_i^T +
        sum_i h_i d2R_i. The compiled pass writes per block of events the rows of the parts
        that vary from event to event, in the space of the P rates and the n_s surrogate
        parameters; their weighted outer products are BLAS matrix products; the rest are
        per-process sums contracted here with the second derivatives of rates and terms.
        """
        layout = self.layout
        P, n = layout.n_processes, vector.size
        positions = layout.surrogate_parameters
        n_s, n_a = positions.size, layout.n_poi_positions
        width = P + n_s
        derivative = (np.concatenate([d.ravel() for d in term_derivatives])
                      if term_derivatives else np.zeros(0))
        inputs = (yield_weights, data_weights, terms, rate, derivative, width, n_s, n_a, P,
                  second_order)
        # Contiguous ranges of events, one per thread (the compiled rows pass releases the
        # GIL, as do the BLAS updates); the partial sums are added in a fixed order, so a
        # given number of threads always gives the same curvature.
        n_workers = max(1, min(n_threads, -(-self.n_events // CURVATURE_CHUNK)))
        bounds = np.linspace(0, self.n_events, n_workers + 1).astype(np.intp)
        if n_workers == 1:
            parts = [self._curvature_sums(0, self.n_events, *inputs)]
        else:
            with ThreadPoolExecutor(n_workers) as pool:
                parts = list(pool.map(lambda k: self._curvature_sums(bounds[k], bounds[k + 1],
                                                                     *inputs),
                                      range(n_workers)))
        fisher, outer, cross, first = (np.sum([getattr(part, name) for part in parts], axis=0)
                                       for name in _CurvatureSums._fields)
        fisher, outer = _symmetric(fisher), _symmetric(outer)
        # Rates and surrogate parameters -> all parameters.
        jacobian = np.zeros((width, n))
        jacobian[:P] = rate_gradient
        jacobian[P + np.arange(n_s), positions] = 1.0
        hessian = jacobian.T @ fisher @ jacobian
        if not second_order:
            return hessian
        hessian += np.tensordot(rate_grad, rate_hessian, axes=1)
        outer[:n_a] += cross
        outer[:, :n_a] += cross.T
        hessian[np.ix_(positions, positions)] += outer
        # First-order sums: with the rates' gradients and the terms' second derivatives.
        weighted = np.zeros((P, n))
        for component, gradient in zip(layout.components, term_derivatives):
            sums = first[component.start:component.stop]
            p, idx = component.process, component.indices
            weighted[p, idx] += sums @ gradient
            second = component.surrogate.parametrization.hessian(vector[idx])
            hessian[np.ix_(idx, idx)] += rate[p] * np.tensordot(sums, second, axes=1)
        mixed = rate_gradient.T @ weighted
        hessian += mixed + mixed.T
        return hessian

    def _curvature_sums(self, start, stop, yield_weights, data_weights, terms, rate,
                        derivative, width, n_s, n_a, P, second_order):
        """The event-dependent curvature sums of events ``start:stop``, block by block:
        (fisher and outer upper triangles, POI-shape cross terms, first-order sums)."""
        layout = self.layout
        chunk = min(CURVATURE_CHUNK, max(stop - start, 1))
        rows = chunk * P if second_order else 0
        fisher_plus, fisher_minus = np.empty((chunk, width)), np.empty((chunk, width))
        shape_rows, shape_plus, shape_minus = (np.empty((rows, n_s)) for _ in range(3))
        weighted_poi = np.empty((rows, n_a))
        first = np.zeros(layout.n_columns)
        # Upper triangles, in Fortran order for the in-place rank-k updates.
        fisher = np.zeros((width, width), order="F")
        outer = np.zeros((n_s, n_s), order="F")
        cross = np.zeros((n_a, n_s))
        for lo in range(start, stop, chunk):
            hi = min(lo + chunk, stop)
            written = curvature_rows(
                lo, hi, yield_weights, data_weights, self.fractions, self.coefficients,
                layout.ratio_start, layout.ratio_stop, layout.shape_start, layout.shape_stop,
                terms, rate, layout.column_pointer, layout.column_position, derivative,
                fisher_plus, fisher_minus, shape_rows, shape_plus, shape_minus, weighted_poi,
                first, second_order)
            _rank_update(fisher, fisher_plus, written.n_fisher_plus, 1.0)
            _rank_update(fisher, fisher_minus, written.n_fisher_minus, -1.0)
            _rank_update(outer, shape_plus, written.n_shape_plus, 1.0)
            _rank_update(outer, shape_minus, written.n_shape_minus, -1.0)
            n_rows = written.n_shape_rows
            if n_rows and n_a:
                cross += weighted_poi[:n_rows].T @ shape_rows[:n_rows]
        return _CurvatureSums(fisher, outer, cross, first)

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
        # Blocks of events: a float32 cache is promoted to float64 for the products, and a
        # whole process's columns at once would need a copy of the size of the cache.
        for lo in range(0, self.n_events, RATIO_CHUNK):
            rows = slice(lo, min(lo + RATIO_CHUNK, self.n_events))
            block = self.coefficients[rows]
            for p in range(layout.n_processes):
                ratio = 1.0 + block[:, layout.ratio_start[p]:layout.ratio_stop[p]] @ \
                    terms[layout.ratio_start[p]:layout.ratio_stop[p]]
                exponent = block[:, layout.shape_start[p]:layout.shape_stop[p]] @ \
                    terms[layout.shape_start[p]:layout.shape_stop[p]]
                if extra is not None:
                    exponent = exponent + extra[rows, p]
                total[rows, p] = self.fractions[rows, p] * rate[p] * ratio * np.exp(exponent)
        return total


def _rank_update(accumulator, rows, n_rows, sign):
    """accumulator (upper triangle, Fortran order) += sign * rows[:n_rows]^T rows[:n_rows]."""
    if n_rows and rows.shape[1]:
        dsyrk(sign, rows[:n_rows].T, beta=1.0, c=accumulator, trans=0, lower=0,
              overwrite_c=1)


def _symmetric(upper):
    """The symmetric matrix of an upper triangle."""
    return np.triu(upper) + np.triu(upper, 1).T


def _indices(component, parameters):
    return np.array([parameters.index(name) for name in component.parameters], dtype=np.intp)
