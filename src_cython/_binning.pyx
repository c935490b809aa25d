"""Map raw feature values to uint8 bins (feature-major), missing values to the last bin."""
from cython.parallel cimport prange
from libc.math cimport isnan

from ._common cimport bin_t, index_t

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
    cdef Py_ssize_t n_features = X.shape[1]
    cdef Py_ssize_t i, f, row
    cdef int base, length, half
    cdef double x
    for i in prange(n_samples, nogil=True, schedule="static", num_threads=n_threads):
        row = rows[i] if select else i
        for f in range(n_features):
            x = X[row, f]
            if isnan(x):
                binned[f, i] = missing_bin
                continue
            # Branch-free lower bound: the comparisons of consecutive values are
            # unpredictable, and a mispredicted branch costs more than the arithmetic.
            base = 0
            length = n_thresholds[f]
            if length == 0:
                binned[f, i] = 0
                continue
            while length > 1:
                half = length // 2
                base = base + half * (thresholds[f, base + half] < x)
                length = length - half
            binned[f, i] = base + (thresholds[f, base] < x)
