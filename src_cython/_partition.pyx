"""Stable in-place partition of nodes' sample indices into their two children."""
from cython.parallel cimport parallel, prange
import numpy as np

from ._common cimport bin_t, index_t
from ._common import range_chunks

cdef enum:
    # Below this many events per thread a node is partitioned by fewer threads.
    MIN_EVENTS_PER_THREAD = 50000


cdef inline int _goes_left(bin_t b, int bin_threshold, int missing_go_to_left,
                           int missing_bin) noexcept nogil:
    # Arithmetic rather than branches: the direction of consecutive events is unpredictable.
    cdef int is_missing = b == missing_bin
    return (is_missing & missing_go_to_left) | ((1 - is_missing) & (b <= bin_threshold))


def reset_indices(index_t[::1] sample_indices, int n_threads):
    """Set ``sample_indices`` to 0, 1, 2, ...: the root of every tree holds all events in
    order (without allocating a new range per tree)."""
    cdef Py_ssize_t i, n = sample_indices.shape[0]
    cdef int threads = 1 if n < 4 * MIN_EVENTS_PER_THREAD else max(1, n_threads)
    for i in prange(n, nogil=True, schedule="static", num_threads=threads):
        sample_indices[i] = <index_t> i


def partition(index_t[::1] sample_indices, Py_ssize_t start, Py_ssize_t stop,
              const bin_t[::1] column, int bin_threshold, bint missing_go_to_left,
              int missing_bin, index_t[::1] buffer, int n_threads):
    """Reorder ``sample_indices[start:stop]`` as [left events | right events].

    Both parts keep their original order. ``column`` is the split feature's binned values.
    Returns the position where the right child starts. See :func:`partition_many`.
    """
    return int(partition_many(sample_indices, np.array([start], dtype=np.intp),
                              np.array([stop], dtype=np.intp), np.asarray(column)[None],
                              np.zeros(1, dtype=np.intp), np.array([bin_threshold], np.int32),
                              np.array([missing_go_to_left], np.uint8), missing_bin, buffer,
                              n_threads)[0])


def partition_many(index_t[::1] sample_indices, const Py_ssize_t[::1] starts,
                   const Py_ssize_t[::1] stops, const bin_t[:, ::1] binned,
                   const Py_ssize_t[::1] features, const int[::1] bin_thresholds,
                   const unsigned char[::1] missing_go_to_left, int missing_bin,
                   index_t[::1] buffer, int n_threads):
    """Partition several disjoint nodes at once, each by its own split.

    Node ``k`` holds ``sample_indices[starts[k]:stops[k]]`` and is split on feature
    ``features[k]`` of ``binned`` (n_features, n_samples). Each node's range is cut into
    chunks (one per thread for large nodes), and the events of each chunk are written to
    ``buffer``, left ones forward from the chunk's start, right ones backward from its end,
    then copied to their final places. Where a chunk's part already lies at its final
    place it is written there directly: the left events of a node's first (or only) chunk
    and the right events of its last chunk, which is read backward. A node of one chunk
    (every node with one thread) and a node of two copy about half of their events. All
    chunks of all nodes share one parallel region.
    Returns, per node, the position where its right child starts.
    """
    cdef Py_ssize_t n_nodes = starts.shape[0]
    cdef Py_ssize_t k, u, c, j, lo, hi, n_left, n_right
    cdef Py_ssize_t total = 0, n_units
    cdef index_t idx
    cdef int left, threshold, missing_bin_ = missing_bin
    cdef bint to_left, first_chunk, last_chunk
    cdef const bin_t* column
    cdef index_t* left_out
    for k in range(n_nodes):
        if not (0 <= starts[k] <= stops[k] <= sample_indices.shape[0]):
            raise ValueError(f"node {k}: events {starts[k]}..{stops[k]} outside the "
                             f"{sample_indices.shape[0]} sample indices")
        if not 0 <= features[k] < binned.shape[0]:
            raise ValueError(f"node {k}: feature {features[k]} outside the "
                             f"{binned.shape[0]} binned features")
        total += stops[k] - starts[k]
    if buffer.shape[0] < sample_indices.shape[0]:
        raise ValueError("buffer is shorter than sample_indices")
    # Work units (node, lo, hi): a node of fewer than MIN_EVENTS_PER_THREAD events per
    # thread is cut into fewer chunks. Taken largest first; the offsets below need each
    # node's chunks consecutive and in order, as ``units`` holds them.
    lengths = np.asarray(stops) - np.asarray(starts)
    units_array, order_array = range_chunks(
        starts, stops, np.minimum(n_threads, lengths // MIN_EVENTS_PER_THREAD))
    middles_array = np.array(starts, dtype=np.intp)
    if units_array.shape[0] == 0:
        return middles_array
    cdef Py_ssize_t[:, ::1] units = units_array
    cdef Py_ssize_t[::1] order = order_array
    cdef Py_ssize_t v
    n_units = units.shape[0]
    left_counts_array = np.zeros(n_units, dtype=np.intp)
    cdef Py_ssize_t[::1] left_counts = left_counts_array
    cdef Py_ssize_t first, last, left_before, right_before, left_total
    cdef Py_ssize_t[::1] middles = middles_array
    # Below MIN_EVENTS_PER_THREAD events in all, one thread and no parallel region.
    cdef int threads = 1 if total < MIN_EVENTS_PER_THREAD else max(1, min(n_threads, n_units))

    with nogil, parallel(num_threads=threads):
        for v in prange(n_units, schedule="dynamic"):
            u = order[v]
            k = units[u, 0]
            lo = units[u, 1]
            hi = units[u, 2]
            column = &binned[features[k], 0]
            threshold = bin_thresholds[k]
            to_left = missing_go_to_left[k]
            n_left = 0
            n_right = 0
            first_chunk = u == 0 or units[u - 1, 0] != k
            last_chunk = u + 1 == n_units or units[u + 1, 0] != k
            if last_chunk and not first_chunk:
                # The last chunk of a node runs backward and writes its right events in
                # place, where they belong (the slot written was read already: it is at
                # or after j), and its left events forward in ``buffer``, in reverse.
                for j in range(hi - 1, lo - 1, -1):
                    idx = sample_indices[j]
                    left = _goes_left(column[idx], threshold, to_left, missing_bin_)
                    sample_indices[hi - 1 - n_right] = idx
                    buffer[lo + n_left] = idx
                    n_left = n_left + left
                    n_right = n_right + 1 - left
            else:
                # The first chunk of a node (a node's only chunk too) writes its left
                # events in place: the slot written was read already (lo + n_left <= j),
                # and a right event's write there is overwritten by a later left one or in
                # the second loop. Other chunks write their left events to ``buffer``.
                left_out = &sample_indices[0] if first_chunk else &buffer[0]
                for j in range(lo, hi):
                    idx = sample_indices[j]
                    left = _goes_left(column[idx], threshold, to_left, missing_bin_)
                    # Write both candidate slots and advance one: the other slot is still
                    # free and will be overwritten (in buffer, on the last event the two
                    # coincide).
                    left_out[lo + n_left] = idx
                    buffer[hi - 1 - n_right] = idx
                    n_left = n_left + left
                    n_right = n_right + 1 - left
            left_counts[u] = n_left
        # The loop ends with a barrier: every count is known. A node's chunks are
        # consecutive units: lefts first, then rights, chunk by chunk.
        for v in prange(n_units, schedule="dynamic"):
            u = order[v]
            k = units[u, 0]
            lo = units[u, 1]
            hi = units[u, 2]
            first = u
            while first > 0 and units[first - 1, 0] == k:
                first = first - 1
            last = u
            while last + 1 < n_units and units[last + 1, 0] == k:
                last = last + 1
            n_left = left_counts[u]
            left_before = 0
            right_before = 0
            left_total = 0
            for c in range(first, last + 1):
                left_total = left_total + left_counts[c]
                if c < u:
                    left_before = left_before + left_counts[c]
                    right_before = right_before + units[c, 2] - units[c, 1] - left_counts[c]
            if u != first:  # the first chunk's left events are in place
                if u == last:  # written in reverse
                    for j in range(n_left):
                        sample_indices[starts[k] + left_before + j] = buffer[lo + n_left - 1 - j]
                else:
                    for j in range(n_left):
                        sample_indices[starts[k] + left_before + j] = buffer[lo + j]
            if u == first or u != last:  # the last chunk's right events are in place
                # The right events were written backward: read them back in reverse.
                for j in range(hi - lo - n_left):
                    sample_indices[starts[k] + left_total + right_before + j] = buffer[hi - 1 - j]

    for u in range(n_units):
        middles[units[u, 0]] += left_counts[u]
    return middles_array
