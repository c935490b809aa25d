"""Base class of the split criteria, and the loops that only need its interface.

A criterion turns the sums of the per-event statistic vector over a node into the node's
value and loss. Concrete criteria (the BPT cross-entropy, the BIT information) subclass
:class:`Criterion` and implement the ``nogil`` methods declared in the .pxd.

After each tree (and once for the baseline, a tree of one leaf) the boosting loop brings the
training statistics up to date in the mode the criterion declares with
``refreshes_statistics``:

- affine (False): the statistics are their own targets, and every leaf maps its events'
  statistics affinely, ``stats <- stats * scale + stats[0] * shift`` with the per-leaf
  ``(scale, shift)`` of :meth:`Criterion.leaf_update`;
- refresh (True): Newton boosting, where the statistics are gradients and Hessians of a loss
  at the current predictions: :meth:`Criterion.refresh` recomputes them from the per-event
  targets and the predictions.

A criterion implements the method of its mode; the other one raises NotImplementedError.
"""
from cython.parallel cimport parallel, prange
from libc.stdlib cimport free, malloc
import numpy as np

from ._common cimport index_t

cdef enum:
    # Events per chunk of a loss sum.
    LOSS_CHUNK = 4096


cdef struct EventTargets:
    # The per-event target statistics of a data set: dense rows, or one-hot (weight, slot).
    const double* dense
    const double* weights
    const index_t* slots


cdef int _event_targets(EventTargets* targets, dense, weights, slots, Py_ssize_t n_samples,
                        Py_ssize_t n_stats) except -1:
    """Check the target arrays against the number of events and point ``targets`` at them."""
    cdef const double[:, ::1] dense_view
    cdef const double[::1] weight_view
    cdef const index_t[::1] slot_view
    targets.dense = targets.weights = NULL
    targets.slots = NULL
    if dense is None:
        weight_view = weights
        slot_view = slots
        if weight_view.shape[0] != n_samples or slot_view.shape[0] != n_samples:
            raise ValueError("weights and slots must have one entry per event")
        targets.weights = &weight_view[0]
        targets.slots = &slot_view[0]
    else:
        dense_view = dense
        if dense_view.shape[0] != n_samples or dense_view.shape[1] != n_stats:
            raise ValueError("dense must have shape (n_samples, n_target_stats)")
        targets.dense = &dense_view[0, 0]
    return 0


cdef inline void _load_event(const EventTargets* targets, Py_ssize_t i, Py_ssize_t n_stats,
                             double* buffer) noexcept nogil:
    """Event i's target statistics as a dense vector in ``buffer``."""
    cdef Py_ssize_t d
    if targets.dense == NULL:
        for d in range(n_stats):
            buffer[d] = 0.0
        buffer[targets.slots[i]] = targets.weights[i]
    else:
        for d in range(n_stats):
            buffer[d] = targets.dense[i * n_stats + d]


cdef class Criterion:

    cdef bint is_admissible(self, const double* sums, double* scratch) noexcept nogil:
        return False

    cdef double node_loss(self, const double* sums, double* scratch) noexcept nogil:
        return 0.0

    cdef bint admissible_loss(self, const double* sums, double* scratch,
                              double* loss) noexcept nogil:
        if not self.is_admissible(sums, scratch):
            return False
        loss[0] = self.node_loss(sums, scratch)
        return True

    cdef void batch_admissible_loss(self, const double* sums, Py_ssize_t stride, Py_ssize_t n,
                                    unsigned char* admissible, double* loss,
                                    double* scratch) noexcept nogil:
        cdef Py_ssize_t r
        for r in range(n):
            admissible[r] = self.admissible_loss(sums + r * stride, scratch, &loss[r])

    cdef void node_value(self, const double* sums, double* value, double* scratch) noexcept nogil:
        pass

    cdef double event_loss(self, const double* target, const double* prediction,
                           double* scratch) noexcept nogil:
        return 0.0

    def baseline(self, const double[::1] target_sums):
        """Value of the constant model fitted to targets with these sums (the root fit)."""
        return self.value(target_sums)

    def leaf_update(self, values):
        """Affine mode: per-leaf ``(scale, shift)``, each (n_leaves, n_stats), of the update
        of the statistics after a tree with (shrunk) leaf values ``values`` (n_leaves,
        n_values); see ``update.update_leaves``."""
        raise NotImplementedError(f"{type(self).__name__} refreshes its statistics: it has "
                                  "no affine leaf update")

    def refresh(self, double[:, ::1] statistics, const double[:, ::1] targets,
                const double[:, ::1] predictions, int n_threads):
        """Refresh mode: write into ``statistics`` (n_samples, n_stats) the statistics of
        every event at ``predictions`` (n_samples, n_values), from its ``targets``
        (n_samples, n_target_stats)."""
        raise NotImplementedError(f"{type(self).__name__} updates its statistics leaf by "
                                  "leaf: it has no refresh")

    # Python entry points, used by the grower for single nodes and by tests.

    def admissible(self, const double[::1] sums):
        """Whether a node with statistic sums ``sums`` (length n_stats) may exist."""
        self._check_length(sums.shape[0])
        cdef double[::1] scratch = np.empty(max(self.scratch_size, 1))
        return bool(self.is_admissible(&sums[0], &scratch[0]))

    def loss(self, const double[::1] sums):
        """Loss of a node with statistic sums ``sums`` at its closed-form value."""
        self._check_length(sums.shape[0])
        cdef double[::1] scratch = np.empty(max(self.scratch_size, 1))
        return self.node_loss(&sums[0], &scratch[0])

    def value(self, const double[::1] sums):
        """Closed-form value (length n_values) of a node with statistic sums ``sums``."""
        self._check_length(sums.shape[0])
        out = np.empty(self.n_values)
        cdef double[::1] value = out
        cdef double[::1] scratch = np.empty(max(self.scratch_size, 1))
        self.node_value(&sums[0], &value[0], &scratch[0])
        return out

    def values(self, const double[:, ::1] sums):
        """Closed-form values (n_nodes, n_values) of nodes with statistic sums ``sums``
        (n_nodes, n_stats), one row per node."""
        self._check_length(sums.shape[1])
        out = np.empty((sums.shape[0], self.n_values))
        cdef double[:, ::1] values = out
        cdef double[::1] scratch = np.empty(max(self.scratch_size, 1))
        cdef Py_ssize_t node
        for node in range(sums.shape[0]):
            self.node_value(&sums[node, 0], &values[node, 0], &scratch[0])
        return out

    def total_loss(self, dense, weights, slots, const double[:, ::1] predictions, int n_threads):
        """Sum of the event losses of a data set at the given model predictions.

        The targets are either ``dense`` (n_samples, n_target_stats) or one-hot
        (``weights``, ``slots``), as in the histogram builder.
        """
        cdef Py_ssize_t n_samples = predictions.shape[0]
        cdef Py_ssize_t n_stats = self.n_target_stats
        cdef Py_ssize_t width = n_stats + self.scratch_size
        cdef EventTargets targets
        cdef Py_ssize_t i, c, lo, hi
        cdef Py_ssize_t n_chunks = (n_samples + LOSS_CHUNK - 1) // LOSS_CHUNK
        cdef double total
        cdef double* buffer
        if predictions.shape[1] != self.n_values:
            raise ValueError("predictions must have one column per term")
        if n_samples == 0:
            return 0.0
        _event_targets(&targets, dense, weights, slots, n_samples, n_stats)
        # Fixed chunks of events, each summed in order, then the chunks in order: the total
        # does not depend on the number of threads.
        partial_array = np.zeros(n_chunks)
        cdef double[::1] partial = partial_array
        buffer = NULL
        with nogil, parallel(num_threads=max(1, min(n_threads, n_chunks // 4))):
            # Per thread: a dense copy of one event's statistics, then the scratch space.
            buffer = <double*> malloc(width * sizeof(double))
            for c in prange(n_chunks, schedule="dynamic"):
                lo = c * LOSS_CHUNK
                hi = min(lo + LOSS_CHUNK, n_samples)
                total = 0.0
                for i in range(lo, hi):
                    _load_event(&targets, i, n_stats, buffer)
                    total = total + self.event_loss(buffer, &predictions[i, 0],
                                                    buffer + n_stats)
                partial[c] = total
            free(buffer)
        total = 0.0
        for c in range(n_chunks):
            total += partial[c]
        return total

    def event_losses(self, dense, weights, slots, const double[:, ::1] predictions,
                     double[::1] out, int n_threads):
        """Write the loss of every event at the given predictions into ``out`` (n_samples,).

        Same inputs as :meth:`total_loss`. Early stopping compares two models event by
        event: the paired differences of these losses give the standard error of a change
        of the validation loss.
        """
        cdef Py_ssize_t n_samples = predictions.shape[0]
        cdef Py_ssize_t n_stats = self.n_target_stats
        cdef Py_ssize_t width = n_stats + self.scratch_size
        cdef EventTargets targets
        cdef Py_ssize_t i
        cdef double* buffer
        if predictions.shape[1] != self.n_values:
            raise ValueError("predictions must have one column per term")
        if out.shape[0] != n_samples:
            raise ValueError("out must have one entry per event")
        if n_samples == 0:
            return
        _event_targets(&targets, dense, weights, slots, n_samples, n_stats)
        buffer = NULL
        with nogil, parallel(num_threads=n_threads):
            buffer = <double*> malloc(width * sizeof(double))
            for i in prange(n_samples, schedule="static"):
                _load_event(&targets, i, n_stats, buffer)
                out[i] = self.event_loss(buffer, &predictions[i, 0], buffer + n_stats)
            free(buffer)

    def batch_loss(self, const double[:, ::1] sums):
        """Admissibility (bool, (n_nodes,)) and loss ((n_nodes,), NaN where not admissible)
        of nodes with statistic sums ``sums`` (n_nodes, n_stats), through the batched path
        the split search uses."""
        self._check_length(sums.shape[1])
        cdef Py_ssize_t n = sums.shape[0]
        admissible_array = np.zeros(n, dtype=np.uint8)
        loss_array = np.empty(n)
        cdef unsigned char[::1] admissible = admissible_array
        cdef double[::1] loss = loss_array
        cdef double[::1] scratch = np.empty(
            max(self.scratch_size + n * self.batch_scratch_per_node, 1))
        if n:
            self.batch_admissible_loss(&sums[0, 0], sums.shape[1], n, &admissible[0],
                                       &loss[0], &scratch[0])
        loss_array[admissible_array == 0] = np.nan
        return admissible_array.astype(bool), loss_array

    def _check_length(self, Py_ssize_t length):
        if length != self.n_stats:
            raise ValueError(f"expected {self.n_stats} statistic sums, got {length}")
