"""Evaluate a tree ensemble stored as flat node arrays, on raw or binned features.

Events are taken in blocks and every tree is walked for all events of a block before the
next tree: the tree's nodes stay in cache, and the walks of different events, having no
branches to mispredict, overlap in the processor.
"""
from cython.parallel cimport prange
from libc.math cimport isnan

from ._common cimport bin_t, index_t, node_struct

ctypedef fused real_t:
    float
    double

cdef enum:
    BLOCK = 64


cdef inline index_t _child(const node_struct* node, double x) noexcept nogil:
    # NaN compares false, so a missing value takes the right branch of the comparison;
    # the choice is then indexed arithmetic, not a jump.
    cdef int is_missing = isnan(x)
    cdef int go_left = (is_missing & node.missing_go_to_left) | (x <= node.threshold)
    return (&node.left)[1 - go_left]


cdef inline index_t _child_binned(const node_struct* node, bin_t b,
                                  int missing_bin) noexcept nogil:
    cdef int is_missing = b == missing_bin
    cdef int go_left = ((is_missing & node.missing_go_to_left)
                        | ((1 - is_missing) & (b <= node.bin_threshold)))
    return (&node.left)[1 - go_left]


def predict_raw(const real_t[:, ::1] X, const node_struct[::1] nodes,
                const double[:, ::1] values, const index_t[::1] roots,
                double[:, ::1] out, int n_threads):
    """Add the leaf values of the trees starting at ``roots`` to ``out`` (n_samples, n_values)."""
    cdef Py_ssize_t n_samples = X.shape[0], n_trees = roots.shape[0]
    cdef Py_ssize_t n_values = values.shape[1], n_blocks = (X.shape[0] + BLOCK - 1) // BLOCK
    cdef Py_ssize_t block, lo, hi, i, t, a
    cdef index_t node
    for block in prange(n_blocks, nogil=True, schedule="static", num_threads=n_threads):
        lo = block * BLOCK
        hi = min(lo + BLOCK, n_samples)
        for t in range(n_trees):
            for i in range(lo, hi):
                node = roots[t]
                while not nodes[node].is_leaf:
                    node = _child(&nodes[node], X[i, nodes[node].feature_idx])
                for a in range(n_values):
                    out[i, a] += values[node, a]


def predict_binned(const bin_t[:, ::1] binned, const node_struct[::1] nodes,
                   const double[:, ::1] values, const index_t[::1] roots, int missing_bin,
                   double[:, ::1] out, int n_threads):
    """As predict_raw, on feature-major binned data (n_features, n_samples)."""
    cdef Py_ssize_t n_samples = binned.shape[1], n_trees = roots.shape[0]
    cdef Py_ssize_t n_values = values.shape[1], n_blocks = (n_samples + BLOCK - 1) // BLOCK
    cdef Py_ssize_t block, lo, hi, i, t, a
    cdef index_t node
    for block in prange(n_blocks, nogil=True, schedule="static", num_threads=n_threads):
        lo = block * BLOCK
        hi = min(lo + BLOCK, n_samples)
        for t in range(n_trees):
            for i in range(lo, hi):
                node = roots[t]
                while not nodes[node].is_leaf:
                    node = _child_binned(&nodes[node], binned[nodes[node].feature_idx, i],
                                         missing_bin)
                for a in range(n_values):
                    out[i, a] += values[node, a]


def apply_raw(const real_t[:, ::1] X, const node_struct[::1] nodes, const index_t[::1] roots,
              index_t[:, ::1] out, int n_threads):
    """Leaf index (into the node array) of every event in every tree: out (n_samples, n_trees)."""
    cdef Py_ssize_t n_samples = X.shape[0], n_trees = roots.shape[0]
    cdef Py_ssize_t i, t
    cdef index_t node
    for i in prange(n_samples, nogil=True, schedule="static", num_threads=n_threads):
        for t in range(n_trees):
            node = roots[t]
            while not nodes[node].is_leaf:
                node = _child(&nodes[node], X[i, nodes[node].feature_idx])
            out[i, t] = node
