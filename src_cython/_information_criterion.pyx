"""The BoostedInformationTree criteria: squared error and cross-entropy of the ratio.

Targets: slot 0 holds the weight w, slot 1 + A holds w t_A, and r_p = 1 + m_p . t is the
event's ratio at base point theta_p.

- Squared error with metric G = sum_p m_p m_p^T. The statistics are the targets: a node's
  value is the weighted mean t_hat = S / S_0, its loss -S^T G S / S_0 (the within-node error
  up to a constant), so the gain of a split is sum_c S_c^T G S_c / S_0c - S^T G S / S_0; with
  one term G = 1 and the gain is the Poisson Fisher information (sum w t)^2 / sum w.
  Boosting subtracts the shrunk leaf value from the coefficients of the leaf's events.
- Cross-entropy of the classifiers theta = 0 vs theta_p,
  sum_p w [log(1 + r_hat_p) + r_p log(1 + 1 / r_hat_p)], minimized by Newton boosting: the
  statistics are (w, gradient g, Fisher-scoring Hessian H) of the loss in t_hat at the
  current prediction, a node's value is -H^-1 g and its loss -g^T H^-1 g / 2. They are
  recomputed from the targets after every tree.
"""
from cython.parallel cimport prange
from libc.math cimport log
import numpy as np

from ._criterion cimport Criterion

# Predicted ratios are floored here inside the cross-entropy: a ratio at or below zero has
# no likelihood interpretation, and the floor keeps gradients finite.
cdef double RATIO_FLOOR = 1e-6


cdef class _InformationCriterion(Criterion):
    """Shared part: statistics layout, node value, admissibility, boosting update."""
    cdef readonly object min_weight
    cdef const double[::1] _min_weight

    def _init_layout(self, n_terms, n_stats, min_weight):
        self.n_stats = n_stats
        self.n_target_stats = n_terms + 1
        self.n_values = n_terms
        self.min_weight = np.ascontiguousarray(min_weight, dtype=np.float64).reshape(-1)
        if self.min_weight.size < 1:
            raise ValueError("min_weight needs the bound on the weight (its first entry)")
        self._min_weight = self.min_weight

    cdef bint is_admissible(self, const double* sums, double* scratch) noexcept nogil:
        return sums[0] > self._min_weight[0]

    def baseline(self, const double[::1] target_sums):
        """The weighted mean of t: the minimizer of both losses for a constant model."""
        return np.asarray(target_sums[1:]) / target_sums[0]


cdef class SquaredErrorInformationCriterion(_InformationCriterion):
    """Metric-weighted squared error of the ratio.

    Parameters
    ----------
    metric : ndarray, shape (n_terms, n_terms)
        G = sum_p m(theta_p) m(theta_p)^T, symmetric positive definite.
    min_weight : ndarray, shape (n_terms + 1,)
        A node is admissible if its total weight exceeds ``min_weight[0]``.
    """
    cdef readonly object metric
    cdef const double[:, ::1] _metric

    def __init__(self, metric, min_weight):
        metric = np.ascontiguousarray(metric, dtype=np.float64)
        if metric.ndim != 2 or metric.shape[0] != metric.shape[1]:
            raise ValueError("metric must be a square matrix")
        self._init_layout(metric.shape[0], metric.shape[0] + 1, min_weight)
        self.metric = metric
        self._metric = metric
        self.scratch_size = 0

    cdef void node_value(self, const double* sums, double* value, double* scratch) noexcept nogil:
        cdef Py_ssize_t a
        for a in range(self.n_values):
            value[a] = sums[a + 1] / sums[0]

    def leaf_update(self, values):
        """Per-leaf affine update: ``w t <- w t - w * value`` (see ``update.update_leaves``)."""
        values = np.asarray(values, dtype=np.float64)
        shift = np.zeros((values.shape[0], self.n_stats))
        shift[:, 1:] = -values
        return np.ones_like(shift), shift

    cdef inline double _quadratic_form(self, const double* s) noexcept nogil:
        cdef Py_ssize_t a, b
        cdef double acc = 0.0, row
        for a in range(self.n_values):
            row = 0.0
            for b in range(self.n_values):
                row = row + self._metric[a, b] * s[b]
            acc = acc + s[a] * row
        return acc

    cdef double node_loss(self, const double* sums, double* scratch) noexcept nogil:
        return -self._quadratic_form(sums + 1) / sums[0]

    cdef double event_loss(self, const double* stats, const double* prediction,
                           double* scratch) noexcept nogil:
        # w (t - t_hat)^T G (t - t_hat) = (wt - w t_hat)^T G (wt - w t_hat) / w
        cdef Py_ssize_t a, b
        cdef double w = stats[0], acc = 0.0, row, da, db
        if w == 0.0:
            return 0.0
        for a in range(self.n_values):
            da = stats[a + 1] - w * prediction[a]
            row = 0.0
            for b in range(self.n_values):
                db = stats[b + 1] - w * prediction[b]
                row = row + self._metric[a, b] * db
            acc = acc + da * row
        return acc / w


cdef class CrossEntropyInformationCriterion(_InformationCriterion):
    """Cross-entropy of the classifiers theta = 0 vs theta_p, by Newton boosting.

    Parameters
    ----------
    point_terms : ndarray, shape (n_points, n_terms)
        m(theta_p) at the base points; they must determine every term.
    min_weight : ndarray
        A node is admissible if its weight exceeds ``min_weight[0]`` and its Hessian is
        positive definite.

    Statistics of an event: w, the gradient g (n_terms) and the upper triangle of the
    Fisher-scoring Hessian H (row by row) of its loss at the current prediction.
    """
    cdef readonly object point_terms
    cdef const double[:, ::1] _point_terms
    cdef Py_ssize_t n_points

    def __init__(self, point_terms, min_weight):
        point_terms = np.ascontiguousarray(point_terms, dtype=np.float64)
        if point_terms.ndim != 2:
            raise ValueError("point_terms must be a (n_points, n_terms) matrix")
        n_terms = point_terms.shape[1]
        self._init_layout(n_terms, 1 + n_terms + n_terms * (n_terms + 1) // 2, min_weight)
        self.point_terms = point_terms
        self._point_terms = point_terms
        self.n_points = point_terms.shape[0]
        self.refreshes_statistics = True
        self.scratch_size = n_terms * n_terms + n_terms

    cdef bint _solve(self, const double* sums, double* solution, double* scratch) noexcept nogil:
        """Cholesky solve of H x = g for the node's sums; False if H is not positive definite."""
        cdef Py_ssize_t T = self.n_values, a, b, k, packed = 1 + T
        cdef double* L = scratch
        cdef double acc
        for a in range(T):          # unpack the upper triangle into the lower one of L
            for b in range(a, T):
                L[b * T + a] = sums[packed]
                packed += 1
        for a in range(T):
            for b in range(a + 1):
                acc = L[a * T + b]
                for k in range(b):
                    acc = acc - L[a * T + k] * L[b * T + k]
                if a == b:
                    if not acc > 0:
                        return False
                    L[a * T + a] = acc ** 0.5
                else:
                    L[a * T + b] = acc / L[b * T + b]
        for a in range(T):          # forward: L y = g
            acc = sums[1 + a]
            for k in range(a):
                acc = acc - L[a * T + k] * solution[k]
            solution[a] = acc / L[a * T + a]
        for a in range(T - 1, -1, -1):   # backward: L^T x = y
            acc = solution[a]
            for k in range(a + 1, T):
                acc = acc - L[k * T + a] * solution[k]
            solution[a] = acc / L[a * T + a]
        return True

    cdef bint is_admissible(self, const double* sums, double* scratch) noexcept nogil:
        # The Hessian must be positive definite (it is, unless negative weights dominate).
        return (sums[0] > self._min_weight[0]
                and self._solve(sums, scratch + self.n_values * self.n_values, scratch))

    cdef inline double _loss_at(self, const double* sums, const double* solution) noexcept nogil:
        """-g^T H^-1 g / 2 from the solution H^-1 g."""
        cdef Py_ssize_t a
        cdef double acc = 0.0
        for a in range(self.n_values):
            acc = acc + sums[1 + a] * solution[a]
        return -0.5 * acc

    cdef double node_loss(self, const double* sums, double* scratch) noexcept nogil:
        cdef double* solution = scratch + self.n_values * self.n_values
        self._solve(sums, solution, scratch)  # admissible nodes only: H is positive definite
        return self._loss_at(sums, solution)

    cdef bint admissible_loss(self, const double* sums, double* scratch,
                              double* loss) noexcept nogil:
        # One Cholesky solve gives both the admissibility (H positive definite) and the loss.
        cdef double* solution = scratch + self.n_values * self.n_values
        if not (sums[0] > self._min_weight[0] and self._solve(sums, solution, scratch)):
            return False
        loss[0] = self._loss_at(sums, solution)
        return True

    cdef void node_value(self, const double* sums, double* value, double* scratch) noexcept nogil:
        cdef Py_ssize_t a
        self._solve(sums, value, scratch)  # admissible nodes only: H is positive definite
        for a in range(self.n_values):
            value[a] = -value[a]

    cdef double event_loss(self, const double* target, const double* prediction,
                           double* scratch) noexcept nogil:
        cdef Py_ssize_t p, a
        cdef double w = target[0], ratio, true_ratio, loss = 0.0
        if w == 0.0:
            return 0.0
        for p in range(self.n_points):
            ratio = 1.0
            true_ratio = 1.0
            for a in range(self.n_values):
                ratio = ratio + self._point_terms[p, a] * prediction[a]
                true_ratio = true_ratio + self._point_terms[p, a] * target[a + 1] / w
            ratio = max(ratio, RATIO_FLOOR)
            loss += w * (log(1.0 + ratio) + true_ratio * log(1.0 + 1.0 / ratio))
        return loss

    def refresh(self, double[:, ::1] statistics, const double[:, ::1] targets,
                const double[:, ::1] predictions, int n_threads):
        """Write the statistics (w, g, H) of every event at ``predictions`` into
        ``statistics``, from its targets (w, w t)."""
        cdef Py_ssize_t n = targets.shape[0], T = self.n_values, i, p, a, b, packed
        cdef double w, ratio, true_ratio, gradient, curvature
        for i in prange(n, nogil=True, schedule="static", num_threads=n_threads):
            w = targets[i, 0]
            for a in range(self.n_stats):
                statistics[i, a] = 0.0
            statistics[i, 0] = w
            if w == 0.0:
                continue
            for p in range(self.n_points):
                ratio = 1.0
                true_ratio = 1.0
                for a in range(T):
                    ratio = ratio + self._point_terms[p, a] * predictions[i, a]
                    true_ratio = true_ratio + self._point_terms[p, a] * targets[i, a + 1] / w
                ratio = max(ratio, RATIO_FLOOR)
                # d loss / d ratio, and its expectation-value second derivative
                gradient = w * (ratio - true_ratio) / (ratio * (1.0 + ratio))
                curvature = w / (ratio * (1.0 + ratio))
                packed = 1 + T
                for a in range(T):
                    statistics[i, 1 + a] += gradient * self._point_terms[p, a]
                    for b in range(a, T):
                        statistics[i, packed] += (curvature * self._point_terms[p, a]
                                                  * self._point_terms[p, b])
                        packed = packed + 1
