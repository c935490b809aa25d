"""The boosting step: add a tree's leaf values to the predictions and update the statistics.

A criterion expresses its update of an event's statistic vector as an affine map per leaf:
``stats[d] <- stats[d] * scale[leaf, d] + stats[0] * shift[leaf, d]`` (BPT: reweight each base
point's weight; BIT: subtract the leaf value from the coefficients).
"""
from cython.parallel cimport prange
import numpy as np

from ._common cimport index_t
from ._common import range_chunks

cdef enum:
    # Events per work unit of the parallel loop.
    UPDATE_CHUNK = 16384


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
    cdef Py_ssize_t leaf, j, i, a, d, u, n_units
    cdef Py_ssize_t n_stats = scale.shape[1] if update_statistics else 0
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
    if leaf_stops.shape[0] != n_leaves or (add_predictions and (
            leaf_values.shape[0] != n_leaves or predictions.shape[1] != n_values)):
        raise ValueError("update_leaves: leaf_starts, leaf_stops and leaf_values need one "
                         "row per leaf, predictions one column per leaf value")
    if update_statistics and (scale.shape[0] != n_leaves or shift is None
                              or shift.shape[0] != n_leaves or shift.shape[1] != n_stats
                              or (not one_hot and dense_view.shape[1] != n_stats)):
        raise ValueError("update_leaves: scale and shift need one row of n_stats per leaf")
    # Work units of at most UPDATE_CHUNK events of one leaf, largest first: a leaf holding
    # most of the events no longer leaves the other threads idle.
    sizes = np.asarray(leaf_stops, dtype=np.intp) - np.asarray(leaf_starts, dtype=np.intp)
    if np.any(sizes < 0) or (sizes.size and (np.min(leaf_starts) < 0 or
                                             np.max(leaf_stops) > sample_indices.shape[0])):
        raise ValueError("update_leaves: leaf ranges outside the sample indices")
    units_array, order = range_chunks(leaf_starts, leaf_stops, -(-sizes // UPDATE_CHUNK))
    units_array = units_array[order]
    cdef Py_ssize_t[:, ::1] units = units_array
    n_units = units.shape[0]
    # Below 2 * UPDATE_CHUNK events in all, one thread and no parallel region.
    cdef int threads = (1 if sample_indices.shape[0] < 2 * UPDATE_CHUNK
                        else max(1, min(n_threads, n_units)))
    for u in prange(n_units, nogil=True, schedule="dynamic", num_threads=threads):
        leaf = units[u, 0]
        for j in range(units[u, 1], units[u, 2]):
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
