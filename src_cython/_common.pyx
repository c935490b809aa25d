"""numpy views of the compiled core's shared types, the OpenMP thread count, the work units
of the parallel loops over ranges of events, and the addresses of per-node histograms."""
import numpy as np

NODE_DTYPE = np.dtype([
    ("feature_idx", np.int32),
    ("threshold", np.float64),
    ("bin_threshold", np.uint8),
    ("missing_go_to_left", np.uint8),
    ("is_leaf", np.uint8),
    ("left", np.int32),
    ("right", np.int32),
    ("gain", np.float64),
    ("count", np.int64),
    ("depth", np.int32),
])
assert NODE_DTYPE.itemsize == sizeof(node_struct), "NODE_DTYPE does not match node_struct"


cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int bpt_openmp_max_threads(void) { return omp_get_max_threads(); }
    static int bpt_openmp_enabled(void) { return 1; }
    /* With thread binding on, the CPUs of the process when OpenMP started; else 0. */
    static int bpt_openmp_bound_procs(void) {
        return omp_get_proc_bind() != omp_proc_bind_false ? omp_get_num_procs() : 0;
    }
    #else
    static int bpt_openmp_max_threads(void) { return 1; }
    static int bpt_openmp_enabled(void) { return 0; }
    static int bpt_openmp_bound_procs(void) { return 0; }
    #endif
    """
    int bpt_openmp_max_threads() noexcept nogil
    int bpt_openmp_enabled() noexcept nogil
    int bpt_openmp_bound_procs() noexcept nogil


def openmp_max_threads():
    """Threads OpenMP would use by default (honours OMP_NUM_THREADS); 1 in a serial build."""
    return bpt_openmp_max_threads()


def openmp_bound_cpus():
    """CPUs of the process as OpenMP found them when it started, if it binds threads to
    places (``OMP_PROC_BIND`` or ``OMP_PLACES`` set); else 0.

    A binding OpenMP pins the calling thread to the first place, so that thread's own
    affinity mask then holds one place, not the CPUs the process may use.
    """
    return bpt_openmp_bound_procs()


def openmp_enabled():
    """Whether the core was compiled with OpenMP."""
    return bool(bpt_openmp_enabled())


def range_chunks(starts, stops, n_chunks):
    """Work units of a parallel loop over ranges of events.

    Range ``k`` (``starts[k]`` to ``stops[k]``) is cut into ``n_chunks[k]`` near-equal
    pieces (at least one; an empty range gives none). Returns ``units``, an (n_units, 3)
    intp array of (range, lo, hi) with the pieces of each range consecutive and in order,
    and ``order``, the units largest first: handed out dynamically in that order, the small
    ones taken last even out the threads' shares.
    """
    starts = np.asarray(starts, dtype=np.intp)
    stops = np.asarray(stops, dtype=np.intp)
    lengths = stops - starts
    counts = np.where(lengths > 0, np.maximum(1, np.asarray(n_chunks, dtype=np.intp)), 0)
    owner = np.repeat(np.arange(starts.size, dtype=np.intp), counts)
    piece = np.arange(owner.size, dtype=np.intp) - np.repeat(np.cumsum(counts) - counts, counts)
    size = -(-lengths // np.maximum(counts, 1))
    lo = starts[owner] + piece * size[owner]
    hi = np.minimum(lo + size[owner], stops[owner])
    units = np.ascontiguousarray(np.column_stack([owner, lo, hi]), dtype=np.intp)
    order = np.ascontiguousarray(np.argsort(lo - hi, kind="stable"), dtype=np.intp)
    return units, order


def histogram_addresses(histograms, expected_shape, str label, bint allow_none=False):
    """Addresses of C-contiguous float64 histograms of shape ``expected_shape``, to read
    them in a parallel region without stacking them into one array (the caller keeps
    ``histograms`` alive); 0 for a None entry when ``allow_none``. ``label.format(k)``
    names entry ``k`` in errors."""
    cdef const double[:, :, ::1] view
    expected_shape = tuple(expected_shape)
    addresses = np.zeros(len(histograms), dtype=np.uintp)
    for k, histogram in enumerate(histograms):
        if histogram is None and allow_none:
            continue
        if np.shape(histogram) != expected_shape:
            raise ValueError(f"{label.format(k)} has shape {np.shape(histogram)}, "
                             f"expected {expected_shape}")
        try:
            view = histogram
        except (TypeError, ValueError) as error:
            raise ValueError(f"{label.format(k)} must be a C-contiguous float64 array: "
                             f"{error}") from None
        addresses[k] = <size_t> &view[0, 0, 0]
    return addresses
