"""numpy views of the compiled core's shared types, and the OpenMP thread count."""
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
    #else
    static int bpt_openmp_max_threads(void) { return 1; }
    static int bpt_openmp_enabled(void) { return 0; }
    #endif
    """
    int bpt_openmp_max_threads() noexcept nogil
    int bpt_openmp_enabled() noexcept nogil


def openmp_max_threads():
    """Threads OpenMP would use by default (honours OMP_NUM_THREADS); 1 in a serial build."""
    return bpt_openmp_max_threads()


def openmp_enabled():
    """Whether the core was compiled with OpenMP."""
    return bool(bpt_openmp_enabled())
