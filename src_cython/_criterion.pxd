# The criterion interface: how a node's statistic sums become a value, a loss and an
# admissibility verdict. The split search, the tree grower and the loss curves only talk
# to a tree through this interface.
from ._common cimport index_t


cdef class Criterion:
    cdef readonly Py_ssize_t n_stats       # length of the per-event statistic vector
    cdef readonly Py_ssize_t n_values      # length of a node's value vector (the terms)
    cdef readonly Py_ssize_t scratch_size  # doubles of per-thread workspace the methods need
    # Length of the per-event target vector (what the data say, e.g. (w, w t)); equal to
    # n_stats unless the statistics are recomputed from the targets after every tree.
    cdef readonly Py_ssize_t n_target_stats
    cdef readonly bint refreshes_statistics
    # Doubles of workspace batch_admissible_loss needs per node, on top of scratch_size.
    cdef readonly Py_ssize_t batch_scratch_per_node

    # Whether a node with these sums may exist (e.g. positive yield at every base point).
    cdef bint is_admissible(self, const double* sums, double* scratch) noexcept nogil
    # Loss of a node at its own closed-form value; lower is better, additive over nodes.
    cdef double node_loss(self, const double* sums, double* scratch) noexcept nogil
    # Both at once, for the split search: whether the node is admissible and, if so, its loss
    # in `loss`. A criterion whose admissibility check already solves for the node's value
    # overrides this to solve only once.
    cdef bint admissible_loss(self, const double* sums, double* scratch,
                              double* loss) noexcept nogil
    # admissible_loss of n nodes at once, the sums of node r at sums + r * stride: the verdicts
    # in admissible[r], the losses (where admissible) in loss[r]. The split search evaluates
    # every candidate of a feature in one call, so a criterion whose loss vectorizes across
    # nodes overrides it; the default calls admissible_loss node by node.
    cdef void batch_admissible_loss(self, const double* sums, Py_ssize_t stride, Py_ssize_t n,
                                    unsigned char* admissible, double* loss,
                                    double* scratch) noexcept nogil
    # Closed-form value of a node.
    cdef void node_value(self, const double* sums, double* value, double* scratch) noexcept nogil
    # Loss contribution of one event with targets `target` (n_target_stats) and model
    # prediction `prediction` (the summed tree values at the event).
    cdef double event_loss(self, const double* target, const double* prediction,
                           double* scratch) noexcept nogil
