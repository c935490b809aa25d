"""The BoostedParametricTree criterion: closed-form log-ratio fit and cross-entropy loss.

Statistic slot 0 holds the nominal weight W_0, slot k the weight W_k of base point k.
With V the (K, T) term values at the K non-nominal base points and l_k = log(W_k / W_0),
a node's value is the least-squares solution Delta = (V^T V)^-1 V^T l, and its loss the
cross-entropy of the K binary problems nominal-vs-point-k at s = V Delta.
"""
from libc.math cimport exp, log, log1p
import numpy as np

from ._criterion cimport Criterion


cdef inline double softplus(double s) noexcept nogil:
    if s > 0:
        return s + log1p(exp(-s))
    return log1p(exp(s))


cdef inline double softplus_fast(double s) noexcept nogil:
    # log(1 + e) instead of log1p(e): half the cost; the absolute error (1e-16) is far below
    # any loss difference that decides a split.
    if s > 0:
        return s + log(1.0 + exp(-s))
    return log(1.0 + exp(s))


cdef class ParametricCriterion(Criterion):
    """Criterion of the BoostedParametricTree.

    Parameters
    ----------
    design : ndarray, shape (n_points, n_terms)
        Term values m(nu_k) at the non-nominal base points (V); V^T V must be invertible.
    min_weight : ndarray, shape (n_points + 1,)
        A node is admissible only if its weight at every base point (nominal first)
        exceeds these bounds.
    """
    cdef readonly object design          # V, (K, T)
    cdef readonly object solver          # (V^T V)^-1 V^T, (T, K)
    cdef readonly object projection      # V (V^T V)^-1 V^T, (K, K)
    cdef readonly object min_weight
    cdef const double[:, ::1] _design
    cdef const double[:, ::1] _solver
    cdef const double[:, ::1] _projection
    cdef const double[::1] _min_weight
    cdef Py_ssize_t n_points

    def __init__(self, design, min_weight):
        design = np.ascontiguousarray(design, dtype=np.float64)
        n_points, n_terms = design.shape
        # The pseudo-inverse is (V^T V)^-1 V^T when the points determine the terms (checked
        # before a fit); it keeps loss evaluations at any points well defined.
        solver = np.ascontiguousarray(np.linalg.pinv(design))
        min_weight = np.ascontiguousarray(min_weight, dtype=np.float64)
        if min_weight.shape != (n_points + 1,):
            raise ValueError("min_weight must have one entry per base point")
        self.design, self._design = design, design
        self.solver, self._solver = solver, solver
        self.projection = np.ascontiguousarray(design @ solver)
        self._projection = self.projection
        self.min_weight, self._min_weight = min_weight, min_weight
        self.n_points = n_points
        self.n_stats = self.n_target_stats = n_points + 1
        self.n_values = n_terms
        self.scratch_size = 2 * n_points

    cdef bint is_admissible(self, const double* sums, double* scratch) noexcept nogil:
        cdef Py_ssize_t k
        for k in range(self.n_points + 1):
            if not sums[k] > self._min_weight[k]:
                return False
        return True

    cdef inline void _log_ratios(self, const double* sums, double* log_ratios) noexcept nogil:
        cdef Py_ssize_t k
        cdef double log_nominal = log(sums[0])
        for k in range(self.n_points):
            log_ratios[k] = log(sums[k + 1]) - log_nominal

    cdef double node_loss(self, const double* sums, double* scratch) noexcept nogil:
        cdef Py_ssize_t k, j, K = self.n_points
        cdef double* log_ratios = scratch
        cdef double s, loss = 0.0, nominal = sums[0]
        self._log_ratios(sums, log_ratios)
        for k in range(K):
            s = 0.0
            for j in range(K):
                s = s + self._projection[k, j] * log_ratios[j]
            loss += (nominal + sums[k + 1]) * softplus_fast(s) - sums[k + 1] * s
        return loss

    cdef void node_value(self, const double* sums, double* value, double* scratch) noexcept nogil:
        cdef Py_ssize_t a, k
        cdef double acc
        self._log_ratios(sums, scratch)
        for a in range(self.n_values):
            acc = 0.0
            for k in range(self.n_points):
                acc = acc + self._solver[a, k] * scratch[k]
            value[a] = acc

    cdef double event_loss(self, const double* stats, const double* prediction,
                           double* scratch) noexcept nogil:
        cdef Py_ssize_t k, a
        cdef double s, loss = 0.0, nominal = stats[0], varied
        for k in range(self.n_points):
            varied = stats[k + 1]
            if nominal == 0.0 and varied == 0.0:
                continue
            s = 0.0
            for a in range(self.n_values):
                s = s + self._design[k, a] * prediction[a]
            if nominal != 0.0:
                loss += nominal * softplus(s)
            if varied != 0.0:
                loss += varied * softplus(-s)
        return loss

    def leaf_update(self, values):
        """Per-leaf factors of the boosting update of the statistics.

        After a tree with (shrunk) leaf values ``values`` (n_leaves, n_terms), the weight of
        base point k is multiplied by exp(-V_k . value): returns ``scale`` of shape
        (n_leaves, n_stats) and a zero ``shift`` (see ``update.update_leaves``).
        """
        values = np.asarray(values, dtype=np.float64)
        scale = np.ones((values.shape[0], self.n_stats))
        scale[:, 1:] = np.exp(-values @ self.design.T)
        return scale, np.zeros_like(scale)
