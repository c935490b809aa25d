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
sum_i h_i dR_i/df_p and sum_i h_i dR_i/dm_k, from which the caller forms the gradient,
and, over the events with a yield weight, what says whether the model is a valid density
there: how many have R_i <= 0, the smallest R_i and the expected yield sum_i a_i R_i (a fit
checks its minimum with them without another pass).

The Hessian comes from :func:`curvature_rows`, which writes, for a range of events, the
rows whose weighted outer products (summed by the caller with BLAS matrix products) are its
event-dependent parts, in *parameter space*: the parameters entering the surrogates (a few
hundred at most) rather than the coefficient columns (several per parameter and process).

Coefficients may be stored as float64 or float32; every sum is accumulated in float64.
"""
from collections import namedtuple

from cython.parallel cimport prange
from cython cimport floating
from libc.math cimport exp, expm1, fabs, log1p, sqrt
import numpy as np

from ._common cimport index_t

# What the passes return, by name (see the Returns sections below).
EventSums = namedtuple("EventSums", ["value", "rate_gradient", "term_gradient", "n_invalid",
                                     "n_nonpositive", "smallest_ratio", "expected_yield"])
CurvatureRowCounts = namedtuple("CurvatureRowCounts", ["n_fisher_plus", "n_fisher_minus",
                                                       "n_shape_rows", "n_shape_plus",
                                                       "n_shape_minus"])


def evaluate_events(const double[::1] yield_weights, const double[::1] data_weights,
                    const double[:, ::1] fractions, const floating[:, ::1] coefficients,
                    const index_t[::1] ratio_start, const index_t[::1] ratio_stop,
                    const index_t[::1] shape_start, const index_t[::1] shape_stop,
                    const double[::1] terms, const double[::1] rate,
                    const double[::1] rate_minus_one, extra_log, event_weights,
                    bint with_gradient, int n_threads):
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

    Returns
    -------
    EventSums, with fields

    value : float
        sum_i [a_i (R_i - 1) - d_i log R_i]; +inf if an event with data weight has R_i <= 0.
    rate_gradient : ndarray, shape (P,)
        sum_i h_i dR_i/df_p.
    term_gradient : ndarray, shape (n_columns,)
        sum_i h_i dR_i/dterms_k.
    n_invalid : int
        Events with non-zero data weight and R_i <= 0.
    n_nonpositive : int
        Events with non-zero yield weight and R_i <= 0 (or NaN).
    smallest_ratio : float
        The smallest R_i over the events with non-zero yield weight (+inf if none).
    expected_yield : float
        sum_i a_i R_i.
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
    partial_nonpositive = np.zeros(n_chunks, dtype=np.intp)
    partial_smallest = np.full(n_chunks, np.inf)
    partial_expected = np.zeros(n_chunks)
    partial_gradient = np.zeros((n_chunks, width))
    # Per chunk and process: r, s and g f r s of the current event.
    scratch = np.zeros((n_chunks, 3 * n_processes))
    cdef double[::1] values = partial_values
    cdef Py_ssize_t[::1] invalid = partial_invalid
    cdef Py_ssize_t[::1] nonpositive = partial_nonpositive
    cdef double[::1] smallest = partial_smallest
    cdef double[::1] expected = partial_expected
    cdef double[:, ::1] gradient = partial_gradient
    cdef double[:, ::1] work = scratch
    if extra_log is not None and n:
        extra = extra_log
        extra_ptr = &extra[0, 0]
    if event_weights is not None and n:
        stored = event_weights
        stored_ptr = &stored[0, 0]
    if n == 0:
        return EventSums(0.0, np.zeros(n_processes), np.zeros(n_columns), 0, 0, np.inf, 0.0)
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
        _evaluate_range(&layout, lo, hi, &yield_weights[0], &data_weights[0], &fractions[0, 0],
                        &coefficients[0, 0] if n_columns else NULL, extra_ptr, stored_ptr,
                        with_gradient, &values[c], &invalid[c], &nonpositive[c],
                        &smallest[c], &expected[c], &gradient[c, 0], &work[c, 0])

    value = float(partial_values.sum())
    n_bad = int(partial_invalid.sum())
    if n_bad:
        value = np.inf
    summed = partial_gradient.sum(axis=0)
    return EventSums(value, summed[:n_processes], summed[n_processes:], n_bad,
                     int(partial_nonpositive.sum()), float(partial_smallest.min()),
                     float(partial_expected.sum()))


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
                          const double* fractions, const floating* coefficients,
                          const double* extra, double* stored, bint with_gradient,
                          double* value, Py_ssize_t* invalid, Py_ssize_t* nonpositive,
                          double* smallest, double* expected, double* gradient,
                          double* work) noexcept nogil:
    cdef Py_ssize_t P = layout.n_processes, n_columns = layout.n_columns
    cdef Py_ssize_t i, p, k
    cdef const floating* row
    cdef const double* g_row
    cdef double* ratio = work
    cdef double* shape = work + P
    cdef double* contribution = work + 2 * P
    cdef double* rate_gradient = gradient
    cdef double* term_gradient = gradient + P
    cdef double exponent, ratio_m1, shape_m1, minus_one, h, g, total, accumulated = 0.0
    cdef double model_ratio, expected_sum = 0.0
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
        if yield_weights[i] != 0.0:
            # R_i as the model defines it (the sum of the process terms), for the check of
            # a valid density; ``total`` keeps the digits of R_i - 1 for the value.
            model_ratio = 0.0
            for p in range(P):
                model_ratio = model_ratio + contribution[p]
            if not model_ratio > 0.0:
                nonpositive[0] += 1
            if model_ratio < smallest[0]:
                smallest[0] = model_ratio
            expected_sum += yield_weights[i] * model_ratio
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
    value[0] += accumulated
    expected[0] += expected_sum


cdef inline void _append_signed_row(double value, const double* source, Py_ssize_t width,
                                    double[:, ::1] plus, Py_ssize_t* n_plus,
                                    double[:, ::1] minus, Py_ssize_t* n_minus) noexcept nogil:
    """Append sqrt(|value|) * source to ``plus`` or ``minus`` by the sign of ``value``, so
    that value * source sourceᵀ is the difference of the two blocks' rank-k updates."""
    cdef Py_ssize_t j
    cdef double root
    cdef double* target
    if value == 0.0:
        return
    root = sqrt(fabs(value))
    if value > 0.0:
        target = &plus[n_plus[0], 0]
        n_plus[0] += 1
    else:
        target = &minus[n_minus[0], 0]
        n_minus[0] += 1
    for j in range(width):
        target[j] = root * source[j]


def curvature_rows(Py_ssize_t lo, Py_ssize_t hi, const double[::1] yield_weights,
                   const double[::1] data_weights, const double[:, ::1] fractions,
                   const floating[:, ::1] coefficients, const index_t[::1] ratio_start,
                   const index_t[::1] ratio_stop, const index_t[::1] shape_start,
                   const index_t[::1] shape_stop, const double[::1] terms,
                   const double[::1] rate, const index_t[::1] column_pointer,
                   const index_t[::1] column_position, const double[::1] column_derivative,
                   double[:, ::1] fisher_plus, double[:, ::1] fisher_minus,
                   double[:, ::1] shape_rows, double[:, ::1] shape_plus,
                   double[:, ::1] shape_minus, double[:, ::1] weighted_poi_rows,
                   double[::1] first_order, bint second_order):
    """Rows of the event-dependent Hessian parts of events ``lo:hi``, in parameter space.

    The parameters entering the surrogates are numbered 0..n_s-1 ("positions"), those of POI
    dependences first (0..n_a-1). Column k's term depends on the positions
    ``column_position[column_pointer[k]:column_pointer[k + 1]]`` with derivatives
    ``column_derivative`` (the same slice) at the current point. Per event i and process p,
    with rho_ip = t . dm/dx (the POI part of dr/dx), sigma_ip = Delta . dm/dx (d log s / dx)
    and h_i = a_i - d_i / R_i, a weighted outer product sum_i w_i x_i x_i^T is returned as
    rows sqrt(|w_i|) x_i in a "plus" and a "minus" array by the sign of w_i, for symmetric
    rank-k updates (syrk):

    - fisher rows: v_i = (g r s per process, then sum_p g f s (rho + r sigma)) = dR_i/d(rates,
      positions), weight d_i / R_i^2: the Gauss-Newton part sum_i d_i / R_i^2 dR_i dR_i^T.

    With ``second_order`` also, per (event, process) with systematic columns:

    - shape rows: sigma_ip, weight h_i g f r s (plus/minus), and unweighted in
      ``shape_rows``;
    - ``weighted_poi_rows`` (aligned with ``shape_rows``): h_i g f s rho_ip, whose products
      with the shape rows are the rho sigma^T cross terms;
    - ``first_order`` (accumulated): sum_i h_i g s t_k (POI columns) and h_i g r s Delta_k
      (systematic columns), which the caller contracts with second derivatives of rates and
      terms.

    Events with R_i <= 0 leave no rows.

    Returns
    -------
    CurvatureRowCounts
        The rows written: ``n_fisher_plus``, ``n_fisher_minus``, ``n_shape_rows``,
        ``n_shape_plus``, ``n_shape_minus``.
    """
    cdef Py_ssize_t P = rate.shape[0], n_columns = coefficients.shape[1]
    cdef Py_ssize_t n_positions = shape_rows.shape[1], n_poi = weighted_poi_rows.shape[1]
    cdef Py_ssize_t width = P + n_positions
    cdef Py_ssize_t i, p, k, e, j
    cdef Py_ssize_t n_fisher_plus = 0, n_fisher_minus = 0, n_rows = 0, n_plus = 0, n_minus = 0
    cdef double g, f, r, s, total, h, curvature, value, grs, gfs
    cdef double[:, ::1] ratio_shape = np.zeros((P, 2))
    cdef double[::1] v = np.zeros(width)
    cdef double[::1] sigma = np.zeros(n_positions)
    cdef double[::1] rho = np.zeros(n_poi)
    if hi - lo > fisher_plus.shape[0] or hi - lo > fisher_minus.shape[0] \
            or fisher_plus.shape[1] != width or fisher_minus.shape[1] != width \
            or (second_order and ((hi - lo) * P > shape_rows.shape[0]
                                  or (hi - lo) * P > shape_plus.shape[0]
                                  or (hi - lo) * P > shape_minus.shape[0]
                                  or (hi - lo) * P > weighted_poi_rows.shape[0])) \
            or shape_plus.shape[1] != n_positions or shape_minus.shape[1] != n_positions \
            or first_order.shape[0] != n_columns or terms.shape[0] != n_columns \
            or column_pointer.shape[0] != n_columns + 1 or hi > coefficients.shape[0] \
            or hi > yield_weights.shape[0] or hi > data_weights.shape[0] \
            or hi > fractions.shape[0] or fractions.shape[1] != P or lo < 0 \
            or ratio_start.shape[0] < P or ratio_stop.shape[0] < P \
            or shape_start.shape[0] < P or shape_stop.shape[0] < P \
            or column_position.shape[0] < column_pointer[n_columns] \
            or column_derivative.shape[0] < column_pointer[n_columns]:
        raise ValueError("curvature_rows: inconsistent buffer shapes")
    for k in range(n_columns):
        for e in range(column_pointer[k], column_pointer[k + 1]):
            if column_position[e] < 0 or column_position[e] >= n_positions:
                raise ValueError("curvature_rows: column position out of range")
    for p in range(P):
        if not (0 <= ratio_start[p] <= ratio_stop[p] <= n_columns
                and 0 <= shape_start[p] <= shape_stop[p] <= n_columns):
            raise ValueError("curvature_rows: column ranges out of range")
        for k in range(ratio_start[p], ratio_stop[p]):
            for e in range(column_pointer[k], column_pointer[k + 1]):
                if column_position[e] >= n_poi:
                    raise ValueError("curvature_rows: POI columns must depend on the first "
                                     "positions only")
    with nogil:
        for i in range(lo, hi):
            total = 0.0
            for p in range(P):
                r = 1.0
                for k in range(ratio_start[p], ratio_stop[p]):
                    r = r + coefficients[i, k] * terms[k]
                value = 0.0
                for k in range(shape_start[p], shape_stop[p]):
                    value = value + coefficients[i, k] * terms[k]
                s = exp(value)
                ratio_shape[p, 0] = r
                ratio_shape[p, 1] = s
                total = total + fractions[i, p] * rate[p] * r * s
            if total <= 0.0:
                continue
            h = yield_weights[i] - data_weights[i] / total
            curvature = data_weights[i] / (total * total)
            for j in range(width):
                v[j] = 0.0
            for p in range(P):
                g, f = fractions[i, p], rate[p]
                r, s = ratio_shape[p, 0], ratio_shape[p, 1]
                grs = g * r * s
                gfs = g * f * s
                v[p] = grs
                for j in range(n_poi):
                    rho[j] = 0.0
                for k in range(ratio_start[p], ratio_stop[p]):
                    value = coefficients[i, k]
                    if second_order:
                        first_order[k] += h * g * s * value
                    for e in range(column_pointer[k], column_pointer[k + 1]):
                        rho[column_position[e]] += value * column_derivative[e]
                for j in range(n_poi):
                    v[P + j] += gfs * rho[j]
                if shape_stop[p] == shape_start[p]:
                    continue     # no systematic columns: sigma = 0
                for j in range(n_positions):
                    sigma[j] = 0.0
                for k in range(shape_start[p], shape_stop[p]):
                    value = coefficients[i, k]
                    if second_order:
                        first_order[k] += h * grs * value
                    for e in range(column_pointer[k], column_pointer[k + 1]):
                        sigma[column_position[e]] += value * column_derivative[e]
                for j in range(n_positions):
                    v[P + j] += gfs * r * sigma[j]
                if not second_order:
                    continue
                _append_signed_row(h * gfs * r, &sigma[0], n_positions, shape_plus, &n_plus,
                                   shape_minus, &n_minus)
                for j in range(n_positions):
                    shape_rows[n_rows, j] = sigma[j]
                for j in range(n_poi):
                    weighted_poi_rows[n_rows, j] = h * gfs * rho[j]
                n_rows += 1
            _append_signed_row(curvature, &v[0], width, fisher_plus, &n_fisher_plus,
                               fisher_minus, &n_fisher_minus)
    return CurvatureRowCounts(n_fisher_plus, n_fisher_minus, n_rows, n_plus, n_minus)
