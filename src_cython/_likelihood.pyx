"""One pass over a cached event set: the unbinned likelihood sum and its gradient pieces.

Each event i carries a yield weight a_i (simulated events entering the expected yield), a data
weight d_i (observed, Asimov or toy weight), process fractions g_ip and, per process p,
surrogate coefficients: a block t of POI coefficients and a block Delta of systematic
coefficients. For given parameter values the caller supplies, per process, the rate f_p
(and f_p - 1) and one term value per coefficient column. The model ratio is

    R_i = sum_p g_ip f_p r_ip s_ip,   r_ip = 1 + t_ip . m,   s_ip = exp(Delta_ip . m + e_ip)

(e_ip an optional precomputed log term), and the pass returns
sum_i [a_i (R_i - 1) - d_i log R_i], computed from R_i - 1 with expm1 and log1p so that
ratios close to one keep their digits. With h_i = a_i - d_i / R_i it also accumulates
sum_i h_i dR_i/df_p and sum_i h_i dR_i/dm_k, from which the caller forms the gradient.

For the Hessian it accumulates, in "column space" (the P rates, then the coefficient
columns): the outer products sum_i (d_i / R_i^2) v_i v_i^T of v_i = dR_i/d(rates, terms); the
first-order weights W_k = sum_i h_i dR_i/dm_k / f_p; and, within each process, the second
moments M_kl = sum_i h_i g r s Delta_k Delta_l (systematic columns) and
sum_i h_i g s t_k Delta_l (POI column k, systematic column l). The caller projects them onto
the parameters with the derivatives of rates and terms.
"""
from cython.parallel cimport prange
from libc.math cimport expm1, log1p
import numpy as np

from ._common cimport index_t


def evaluate_events(const double[::1] yield_weights, const double[::1] data_weights,
                    const double[:, ::1] fractions, const double[:, ::1] coefficients,
                    const index_t[::1] ratio_start, const index_t[::1] ratio_stop,
                    const index_t[::1] shape_start, const index_t[::1] shape_stop,
                    const double[::1] terms, const double[::1] rate,
                    const double[::1] rate_minus_one, extra_log, event_weights,
                    bint with_gradient, int n_threads, bint with_hessian=False):
    """Evaluate the event sum; see the module docstring.

    Parameters
    ----------
    yield_weights, data_weights : ndarray, shape (n,)
    fractions : ndarray, shape (n, P)
    coefficients : ndarray, shape (n, n_columns)
        Process p's POI coefficients are columns ``ratio_start[p]:ratio_stop[p]``, its
        systematic coefficients ``shape_start[p]:shape_stop[p]``.
    terms : ndarray, shape (n_columns,)
        The term value multiplying each coefficient column.
    rate, rate_minus_one : ndarray, shape (P,)
    extra_log : ndarray (n, P) or None
        Additional log-ratio of each process at each event (surrogates without cached
        coefficients).
    event_weights : ndarray (n, P) or None
        If given, filled with h_i g_ip f_p r_ip s_ip, from which the caller differentiates
        ``extra_log``.
    with_gradient : bool
    n_threads : int
    with_hessian : bool
        Also return the Hessian accumulators (implies the gradient).

    Returns
    -------
    value : float
        sum_i [a_i (R_i - 1) - d_i log R_i]; +inf if an event with data weight has R_i <= 0.
    rate_gradient : ndarray, shape (P,)
        sum_i h_i dR_i/df_p.
    term_gradient : ndarray, shape (n_columns,)
        sum_i h_i dR_i/dterms_k.
    n_invalid : int
        Events with non-zero data weight and R_i <= 0.
    hessian_parts : (fisher, first_order, second_moments), only with ``with_hessian``
        Shapes (P + n_columns,)*2, (n_columns,), (n_columns, n_columns).
    """
    cdef Py_ssize_t n = coefficients.shape[0], n_processes = rate.shape[0]
    cdef Py_ssize_t n_columns = coefficients.shape[1]
    _check_layout(yield_weights, data_weights, fractions, coefficients, ratio_start,
                  ratio_stop, shape_start, shape_stop, terms, rate, rate_minus_one, extra_log,
                  event_weights)
    cdef Py_ssize_t n_chunks = max(1, min(n_threads, n // 10000))
    cdef Py_ssize_t chunk_size = (n + n_chunks - 1) // n_chunks if n else 1
    cdef Py_ssize_t width = n_processes + n_columns
    cdef Py_ssize_t c, lo, hi
    cdef _Layout layout
    cdef const double* extra_ptr = NULL
    cdef double* stored_ptr = NULL
    cdef const double[:, ::1] extra
    cdef double[:, ::1] stored
    partial_values = np.zeros(n_chunks)
    partial_invalid = np.zeros(n_chunks, dtype=np.intp)
    partial_gradient = np.zeros((n_chunks, width))
    # Per chunk and process: r, s and g f r s of the current event, then the event's v.
    scratch = np.zeros((n_chunks, 3 * n_processes + width))
    hessian_width = width if with_hessian else 0
    hessian_columns = n_columns if with_hessian else 0
    partial_fisher = np.zeros((n_chunks, hessian_width, hessian_width))
    partial_first = np.zeros((n_chunks, hessian_columns))
    partial_second = np.zeros((n_chunks, hessian_columns, hessian_columns))
    cdef double[:, :, ::1] fisher = partial_fisher
    cdef double[:, ::1] first = partial_first
    cdef double[:, :, ::1] second = partial_second
    cdef double* fisher_ptr
    cdef double* first_ptr
    cdef double* second_ptr
    cdef double[::1] values = partial_values
    cdef Py_ssize_t[::1] invalid = partial_invalid
    cdef double[:, ::1] gradient = partial_gradient
    cdef double[:, ::1] work = scratch
    if extra_log is not None and n:
        extra = extra_log
        extra_ptr = &extra[0, 0]
    if event_weights is not None and n:
        stored = event_weights
        stored_ptr = &stored[0, 0]
    if n == 0:
        empty = (np.zeros((width, width)), np.zeros(n_columns), np.zeros((n_columns, n_columns)))
        return (0.0, np.zeros(n_processes), np.zeros(n_columns), 0) + \
            ((empty,) if with_hessian else ())
    with_gradient = with_gradient or with_hessian
    layout.n_processes = n_processes
    layout.n_columns = n_columns
    layout.ratio_start = &ratio_start[0]
    layout.ratio_stop = &ratio_stop[0]
    layout.shape_start = &shape_start[0]
    layout.shape_stop = &shape_stop[0]
    layout.terms = &terms[0] if n_columns else NULL
    layout.rate = &rate[0]
    layout.rate_minus_one = &rate_minus_one[0]

    for c in prange(n_chunks, nogil=True, schedule="static", num_threads=n_chunks):
        lo = c * chunk_size
        hi = min(lo + chunk_size, n)
        fisher_ptr = &fisher[c, 0, 0] if with_hessian else NULL
        first_ptr = &first[c, 0] if (with_hessian and n_columns) else NULL
        second_ptr = &second[c, 0, 0] if (with_hessian and n_columns) else NULL
        _evaluate_range(&layout, lo, hi, &yield_weights[0], &data_weights[0], &fractions[0, 0],
                        &coefficients[0, 0] if n_columns else NULL, extra_ptr, stored_ptr,
                        with_gradient, &values[c], &invalid[c], &gradient[c, 0],
                        &work[c, 0], fisher_ptr, first_ptr, second_ptr)

    value = float(partial_values.sum())
    n_bad = int(partial_invalid.sum())
    if n_bad:
        value = np.inf
    summed = partial_gradient.sum(axis=0)
    result = (value, summed[:n_processes], summed[n_processes:], n_bad)
    if not with_hessian:
        return result
    fisher_sum = partial_fisher.sum(axis=0)
    fisher_sum = np.triu(fisher_sum) + np.triu(fisher_sum, 1).T
    return result + ((fisher_sum, partial_first.sum(axis=0), partial_second.sum(axis=0)),)


def _check_layout(yield_weights, data_weights, fractions, coefficients, ratio_start,
                  ratio_stop, shape_start, shape_stop, terms, rate, rate_minus_one, extra_log,
                  event_weights):
    """Raise ValueError unless every array matches the event count, the number of
    processes and the coefficient columns: the pass below trusts these lengths."""
    n, n_columns, n_processes = coefficients.shape[0], coefficients.shape[1], rate.shape[0]
    for name, array in (("yield_weights", yield_weights), ("data_weights", data_weights)):
        if array.shape[0] != n:
            raise ValueError(f"{name} has {array.shape[0]} entries for {n} events")
    if fractions.shape[0] != n or fractions.shape[1] != n_processes:
        raise ValueError(f"fractions must have shape ({n}, {n_processes}), got "
                         f"({fractions.shape[0]}, {fractions.shape[1]})")
    for name, array in (("rate_minus_one", rate_minus_one), ("ratio_start", ratio_start),
                        ("ratio_stop", ratio_stop), ("shape_start", shape_start),
                        ("shape_stop", shape_stop)):
        if array.shape[0] != n_processes:
            raise ValueError(f"{name} has {array.shape[0]} entries for {n_processes} processes")
    if terms.shape[0] != n_columns:
        raise ValueError(f"terms has {terms.shape[0]} entries for {n_columns} columns")
    for start, stop in ((ratio_start, ratio_stop), (shape_start, shape_stop)):
        for p in range(n_processes):
            if not 0 <= start[p] <= stop[p] <= n_columns:
                raise ValueError(f"column range {start[p]}:{stop[p]} of process {p} is outside "
                                 f"0..{n_columns}")
    for name, array in (("extra_log", extra_log), ("event_weights", event_weights)):
        if array is not None and (array.shape[0] != n or array.shape[1] != n_processes
                                  or not array.flags.c_contiguous):
            raise ValueError(f"{name} must be a C-contiguous ({n}, {n_processes}) array")


cdef struct _Layout:
    Py_ssize_t n_processes
    Py_ssize_t n_columns
    const index_t* ratio_start
    const index_t* ratio_stop
    const index_t* shape_start
    const index_t* shape_stop
    const double* terms
    const double* rate
    const double* rate_minus_one


cdef void _evaluate_range(const _Layout* layout, Py_ssize_t lo, Py_ssize_t hi,
                          const double* yield_weights, const double* data_weights,
                          const double* fractions, const double* coefficients,
                          const double* extra, double* stored, bint with_gradient,
                          double* value, Py_ssize_t* invalid, double* gradient,
                          double* work, double* fisher, double* first,
                          double* second) noexcept nogil:
    cdef Py_ssize_t P = layout.n_processes, n_columns = layout.n_columns
    cdef Py_ssize_t m = P + n_columns
    cdef Py_ssize_t i, p, k, l
    cdef const double* row
    cdef const double* g_row
    cdef double* ratio = work
    cdef double* shape = work + P
    cdef double* contribution = work + 2 * P
    cdef double* v = work + 3 * P
    cdef double curvature, grs, gs
    cdef double* rate_gradient = gradient
    cdef double* term_gradient = gradient + P
    cdef double exponent, ratio_m1, shape_m1, minus_one, h, g, total, accumulated = 0.0
    for i in range(lo, hi):
        row = coefficients + i * n_columns
        g_row = fractions + i * P
        minus_one = 0.0
        for p in range(P):
            g = g_row[p]
            ratio_m1 = 0.0
            for k in range(layout.ratio_start[p], layout.ratio_stop[p]):
                ratio_m1 += row[k] * layout.terms[k]
            exponent = 0.0
            for k in range(layout.shape_start[p], layout.shape_stop[p]):
                exponent += row[k] * layout.terms[k]
            if extra != NULL:
                exponent += extra[i * P + p]
            shape_m1 = expm1(exponent)
            ratio[p] = 1.0 + ratio_m1
            shape[p] = 1.0 + shape_m1
            # f r s - 1 = (f - 1) r s + (r - 1) s + (s - 1)
            minus_one += g * (layout.rate_minus_one[p] * ratio[p] * shape[p]
                              + ratio_m1 * shape[p] + shape_m1)
            contribution[p] = g * layout.rate[p] * ratio[p] * shape[p]
        total = 1.0 + minus_one
        if total <= 0.0:
            if data_weights[i] != 0.0:
                invalid[0] += 1
            accumulated += yield_weights[i] * minus_one
            continue
        accumulated += yield_weights[i] * minus_one - data_weights[i] * log1p(minus_one)
        if not with_gradient:
            continue
        h = yield_weights[i] - data_weights[i] / total
        for p in range(P):
            g = g_row[p]
            # dR/df_p = g r s; dR/dm_k: c_p Delta_k (shape columns), g f s t_k (ratio columns)
            rate_gradient[p] += h * g * ratio[p] * shape[p]
            for k in range(layout.shape_start[p], layout.shape_stop[p]):
                term_gradient[k] += h * contribution[p] * row[k]
            for k in range(layout.ratio_start[p], layout.ratio_stop[p]):
                term_gradient[k] += h * g * layout.rate[p] * shape[p] * row[k]
            if stored != NULL:
                stored[i * P + p] = h * contribution[p]
        if fisher == NULL:
            continue
        for p in range(P):
            g = g_row[p]
            grs = g * ratio[p] * shape[p]
            gs = g * shape[p]
            v[p] = grs
            for k in range(layout.shape_start[p], layout.shape_stop[p]):
                v[P + k] = contribution[p] * row[k]
                first[k] += h * grs * row[k]
                for l in range(layout.shape_start[p], layout.shape_stop[p]):
                    second[k * n_columns + l] += h * grs * row[k] * row[l]
            for k in range(layout.ratio_start[p], layout.ratio_stop[p]):
                v[P + k] = gs * layout.rate[p] * row[k]
                first[k] += h * gs * row[k]
                for l in range(layout.shape_start[p], layout.shape_stop[p]):
                    second[k * n_columns + l] += h * gs * row[k] * row[l]
                    second[l * n_columns + k] += h * gs * row[k] * row[l]
        curvature = data_weights[i] / (total * total)
        for k in range(m):
            for l in range(k, m):
                fisher[k * m + l] += curvature * v[k] * v[l]
    value[0] += accumulated
