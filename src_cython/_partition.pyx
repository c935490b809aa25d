"""Stable in-place partition of a node's sample indices into its two children."""
from cython.parallel cimport prange
import numpy as np

from ._common cimport bin_t, index_t

cdef enum:
    # Below this many events per thread a node is partitioned by fewer threads.
    MIN_EVENTS_PER_THREAD = 50000


cdef inline int _goes_left(bin_t b, int bin_threshold, int missing_go_to_left,
                           int missing_bin) noexcept nogil:
    # Arithmetic rather than branches: the direction of consecutive events is unpredictable.
    cdef int is_missing = b == missing_bin
    return (is_missing & missing_go_to_left) | ((1 - is_missing) & (b <= bin_threshold))


def partition(index_t[::1] sample_indices, Py_ssize_t start, Py_ssize_t stop,
              const bin_t[::1] column, int bin_threshold, bint missing_go_to_left,
              int missing_bin, index_t[::1] buffer, int n_threads):
    """Reorder ``sample_indices[start:stop]`` as [left events | right events].

    Both parts keep their original order. ``column`` is the split feature's binned values.
    The range is cut into one chunk per thread; each chunk writes its left events forward
    from its start and its right events backward from its end in ``buffer``, then the
    chunks' parts are copied to their final places. Returns the position where the right
    child starts.
    """
    cdef Py_ssize_t n = stop - start
    cdef Py_ssize_t n_chunks = max(1, min(n_threads, n // MIN_EVENTS_PER_THREAD))
    cdef Py_ssize_t chunk_size = (n + n_chunks - 1) // n_chunks if n > 0 else 1
    cdef Py_ssize_t c, j, lo, hi, n_left, n_right, target, n_left_total = 0
    cdef index_t idx
    cdef int left
    left_counts_array = np.zeros(n_chunks, dtype=np.intp)
    left_offsets_array = np.zeros(n_chunks, dtype=np.intp)
    right_offsets_array = np.zeros(n_chunks, dtype=np.intp)
    cdef Py_ssize_t[::1] left_counts = left_counts_array
    cdef Py_ssize_t[::1] left_offsets = left_offsets_array
    cdef Py_ssize_t[::1] right_offsets = right_offsets_array

    if n == 0:
        return start
    for c in prange(n_chunks, nogil=True, schedule="static", num_threads=n_chunks):
        lo = start + c * chunk_size
        hi = min(lo + chunk_size, stop)
        n_left = 0
        n_right = 0
        for j in range(lo, hi):
            idx = sample_indices[j]
            left = _goes_left(column[idx], bin_threshold, missing_go_to_left, missing_bin)
            # Write both candidate slots and advance one: the other slot is still free and
            # will be overwritten (on the last event the two slots coincide).
            buffer[lo + n_left] = idx
            buffer[hi - 1 - n_right] = idx
            n_left = n_left + left
            n_right = n_right + 1 - left
        left_counts[c] = n_left

    for c in range(n_chunks):
        left_offsets[c] = start + n_left_total
        n_left_total += left_counts[c]
    target = start + n_left_total
    for c in range(n_chunks):
        right_offsets[c] = target
        lo = start + c * chunk_size
        target += min(lo + chunk_size, stop) - lo - left_counts[c]

    for c in prange(n_chunks, nogil=True, schedule="static", num_threads=n_chunks):
        lo = start + c * chunk_size
        hi = min(lo + chunk_size, stop)
        n_left = left_counts[c]
        for j in range(n_left):
            sample_indices[left_offsets[c] + j] = buffer[lo + j]
        # The right events were written backward: read them back in reverse.
        for j in range(hi - lo - n_left):
            sample_indices[right_offsets[c] + j] = buffer[hi - 1 - j]
    return start + n_left_total
