"""Map raw feature values to uint8 bins (feature-major), missing values to the last bin."""
from cython.parallel cimport prange
from libc.math cimport isnan
import numpy as np

from ._common cimport bin_t, index_t

cdef enum:
    # Events binned together, feature by feature.
    BLOCK = 2048
    LANES = 8

ctypedef fused real_t:
    float
    double


def map_to_bins(const real_t[:, :] X,
                const double[:, ::1] thresholds,
                const int[::1] n_thresholds,
                int missing_bin,
                bin_t[:, ::1] binned,
                int n_threads,
                const index_t[::1] rows=None):
    """Fill ``binned[f, i]`` with the bin of ``X[i, f]``, or of ``X[rows[i], f]``.

    ``rows`` (each in ``0..n_samples - 1``) selects and orders the events without a copy
    of ``X``.

    The bin is the number of thresholds strictly below the value, so ``x <= thresholds[f, b]``
    exactly when the bin is ``<= b``. NaN goes to ``missing_bin``.
    """
    cdef bint select = rows is not None
    cdef Py_ssize_t n_samples = rows.shape[0] if select else X.shape[0]
    cdef Py_ssize_t n_blocks = (n_samples + BLOCK - 1) // BLOCK
    cdef Py_ssize_t block, lo
    cdef const index_t* row_indices = &rows[0] if select and n_samples else NULL
    cdef Py_ssize_t n_features = X.shape[1]
    if binned.shape[0] != n_features or binned.shape[1] != n_samples:
        raise ValueError(f"binned must have shape ({n_features}, {n_samples})")
    if thresholds.shape[0] != n_features or n_thresholds.shape[0] != n_features:
        raise ValueError("thresholds and n_thresholds need one row per feature of X")
    if n_features and not (0 <= np.min(n_thresholds)
                           and np.max(n_thresholds) <= thresholds.shape[1]):
        raise ValueError("n_thresholds must lie between 0 and the width of thresholds")
    if n_samples == 0:
        return
    if select and not (0 <= np.min(rows) and np.max(rows) < X.shape[0]):
        raise ValueError("rows must index the rows of X")
    for block in prange(n_blocks, nogil=True, schedule="static", num_threads=n_threads):
        lo = block * BLOCK
        _bin_block(X, thresholds, n_thresholds, missing_bin, binned, row_indices, lo,
                   min(lo + BLOCK, n_samples))


cdef void _bin_block(const real_t[:, :] X, const double[:, ::1] thresholds,
                     const int[::1] n_thresholds, int missing_bin, bin_t[:, ::1] binned,
                     const index_t* rows, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    """Bin events lo..hi-1 (rows[lo..hi-1] of X if rows is not NULL), feature by feature.

    LANES searches advance together: a search is a chain of dependent loads, and
    independent chains side by side keep the CPU busy while each waits (three times faster
    than one event's features one after the other).
    """
    cdef Py_ssize_t group, i, j, f, last, row
    cdef int length, half
    cdef int base[LANES]
    cdef double x[LANES]
    cdef const double* table
    for f in range(X.shape[1]):
        table = &thresholds[f, 0]
        for group in range((hi - lo + LANES - 1) // LANES):
            i = lo + group * LANES
            for j in range(LANES):
                # The last group repeats its final event in the spare lanes.
                last = min(i + j, hi - 1)
                row = rows[last] if rows != NULL else last
                x[j] = X[row, f]
                base[j] = 0
            # Branch-free lower bound: the comparisons of consecutive values are
            # unpredictable, and a mispredicted branch costs more than the arithmetic. A NaN
            # compares false throughout and is sent to missing_bin below.
            length = n_thresholds[f]
            while length > 1:
                half = length // 2
                for j in range(LANES):
                    base[j] = base[j] + half * (table[base[j] + half] < x[j])
                length = length - half
            for j in range(min(LANES, hi - i)):
                if isnan(x[j]):
                    binned[f, i + j] = missing_bin
                elif length == 1:
                    binned[f, i + j] = base[j] + (table[base[j]] < x[j])
                else:
                    binned[f, i + j] = 0  # no thresholds: one bin
