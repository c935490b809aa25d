"""The BoostedParametricTree criterion: closed-form log-ratio fit and cross-entropy loss.

Statistic slot 0 holds the nominal weight W_0, slot k the weight W_k of base point k.
With V the (K, T) term values at the K non-nominal base points and l_k = log(W_k / W_0),
a node's value is the least-squares solution Delta = (V^T V)^-1 V^T l, and its loss the
cross-entropy of the K binary problems nominal-vs-point-k at s = V Delta.
"""
from libc.math cimport exp, log, log1p
import numpy as np

from ._criterion cimport Criterion


cdef extern from "_vector_math.h" nogil:
    double bpt_log(double x)
    double bpt_exp(double x)
    int bpt_vector_math_enabled()
    void bpt_set_vector_math(int enabled)
    void bpt_parametric_losses(const double* sums, Py_ssize_t stride, Py_ssize_t n,
                               Py_ssize_t n_points, const double* projection,
                               const double* min_weight, unsigned char* admissible,
                               double* loss, double* scratch)


cdef inline double softplus(double s) noexcept nogil:
    if s > 0:
        return s + log1p(exp(-s))
    return log1p(exp(s))


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
        # node_loss is the batched loss of one node: it needs the batch's workspace.
        self.scratch_size = max(2 * n_points, n_points + 2)
        self.batch_scratch_per_node = n_points + 2

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
        cdef double loss
        self.admissible_loss(sums, scratch, &loss)
        return loss

    cdef bint admissible_loss(self, const double* sums, double* scratch,
                              double* loss) noexcept nogil:
        # One node through the batched kernel: the loss of a node and of the same sums among
        # a split search's candidates are the same bits.
        cdef unsigned char admissible
        self.batch_admissible_loss(sums, 0, 1, &admissible, loss, scratch)
        return admissible

    cdef void batch_admissible_loss(self, const double* sums, Py_ssize_t stride, Py_ssize_t n,
                                    unsigned char* admissible, double* loss,
                                    double* scratch) noexcept nogil:
        bpt_parametric_losses(sums, stride, n, self.n_points, &self._projection[0, 0],
                              &self._min_weight[0], admissible, loss, scratch)

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


def vector_math_enabled():
    """Whether the split search's loss runs the AVX2 version with its own log and exp
    (otherwise it calls the C library's)."""
    return bool(bpt_vector_math_enabled())


def set_vector_math(bint enabled):
    """Use the AVX2 version where the CPU has AVX2 (the default), or the C library's log
    and exp everywhere (to test both; not while a fit runs). Returns the previous setting."""
    previous = bool(bpt_vector_math_enabled())
    bpt_set_vector_math(enabled)
    return previous


ctypedef double (*elementwise_t)(double) noexcept nogil


cdef _elementwise(elementwise_t function, const double[::1] x):
    out = np.empty(x.shape[0])
    cdef double[::1] result = out
    cdef Py_ssize_t i
    for i in range(x.shape[0]):
        result[i] = function(x[i])
    return out


def vector_log(const double[::1] x):
    """The split search's logarithm, element-wise (for tests against NumPy)."""
    return _elementwise(bpt_log, x)


def vector_exp(const double[::1] x):
    """The split search's exponential, element-wise (for tests against NumPy)."""
    return _elementwise(bpt_exp, x)
