"""The boosting step: add a tree's leaf values to the predictions and update the statistics.

A criterion expresses its update of an event's statistic vector as an affine map per leaf:
``stats[d] <- stats[d] * scale[leaf, d] + stats[0] * shift[leaf, d]`` (BPT: reweight each base
point's weight; BIT: subtract the leaf value from the coefficients).
"""
from cython.parallel cimport prange

from ._common cimport index_t


def update_leaves(const index_t[::1] sample_indices, const index_t[::1] leaf_starts,
                  const index_t[::1] leaf_stops, const double[:, ::1] leaf_values,
                  const double[:, ::1] scale, const double[:, ::1] shift,
                  double[:, ::1] predictions, dense, weights, slots, int n_threads):
    """Apply one tree to the training events, leaf by leaf.

    ``sample_indices[leaf_starts[l]:leaf_stops[l]]`` are the events of leaf ``l``. The
    statistics are either ``dense`` (n_samples, n_stats) or one-hot (``weights``, ``slots``),
    updated in place unless ``scale`` is None, as are ``predictions`` (n_samples, n_values)
    unless None.
    """
    cdef Py_ssize_t n_leaves = leaf_starts.shape[0], n_values = leaf_values.shape[1]
    cdef bint update_statistics = scale is not None
    cdef Py_ssize_t leaf, j, i, a, d, n_stats = scale.shape[1] if update_statistics else 0
    cdef bint one_hot = dense is None
    cdef bint add_predictions = predictions is not None
    cdef double[:, ::1] dense_view
    cdef double[::1] weight_view
    cdef const index_t[::1] slot_view
    cdef double nominal
    cdef index_t slot
    if one_hot:
        weight_view = weights
        slot_view = slots
    else:
        dense_view = dense
    for leaf in prange(n_leaves, nogil=True, schedule="dynamic", num_threads=n_threads):
        for j in range(leaf_starts[leaf], leaf_stops[leaf]):
            i = sample_indices[j]
            if add_predictions:
                for a in range(n_values):
                    predictions[i, a] += leaf_values[leaf, a]
            if not update_statistics:
                continue
            if one_hot:
                slot = slot_view[i]
                nominal = weight_view[i] if slot == 0 else 0.0
                weight_view[i] = weight_view[i] * scale[leaf, slot] + nominal * shift[leaf, slot]
            else:
                nominal = dense_view[i, 0]
                for d in range(n_stats):
                    dense_view[i, d] = dense_view[i, d] * scale[leaf, d] + nominal * shift[leaf, d]
