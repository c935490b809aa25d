"""Evaluate a tree ensemble stored as flat node arrays, on raw or binned features.

For raw features the trees are first rewritten in a compact layout: 16 bytes per node
(threshold, feature and missing-value direction in one integer, left child; the right child
is the next node), children numbered level by level, and every leaf pointing to itself
with a threshold of +inf, so that a walk of a tree's full depth ends on the leaf whatever
the depth the event reaches it. Events are then taken in blocks; for each tree all events
of the block advance one level at a time. The walks of the block are independent, have no
data-dependent branch, and overlap in the processor; the tree's nodes stay in cache.

Each block is first copied twice into a float64 buffer of the thread: as it is, and with
NaN replaced by -inf. A node that sends missing values left reads its feature from the
second copy, where -inf goes left of every threshold; a node that sends them right reads the
first, where NaN compares false and goes right. Every step of a walk is then the one
comparison ``x <= threshold``, with the node's offset into the buffer precomputed. All
events of a block start at the root, whose split is read once for the block.

Each event's prediction adds the trees in their order, whatever the number of threads.
Long predictions are cut into slices of bounded work between which the interpreter's
signal handlers run, so that Ctrl-C interrupts a prediction of millions of events.
"""
cimport cython
from cpython.exc cimport PyErr_CheckSignals
from cython.parallel cimport parallel, prange
from libc.math cimport INFINITY, isnan
from libc.stdint cimport int32_t
from libc.stdlib cimport free, malloc
import numpy as np

from ._common cimport bin_t, index_t, node_struct

ctypedef fused real_t:
    float
    double

cdef enum:
    BLOCK = 64
    # Events per block of the compact predictor: the buffer of 2 x 256 rows of 10 float64
    # features (40 KB) stays in cache while a tree is walked; blocks of 64 events took
    # 1.1-1.15 times as long on the 1M-event benchmark, of 128 and 512 about the same.
    COMPACT_BLOCK = 256
    # Node visits per slice between two checks for signals (about 0.05 s of one thread).
    VISITS_PER_SLICE = 1 << 24
    # Fewer blocks per thread than this are evaluated by fewer threads.
    MIN_BLOCKS_PER_THREAD = 16
    MIN_COMPACT_BLOCKS_PER_THREAD = 4


cdef packed struct compact_node:
    double threshold
    int32_t code        # 2 * feature + missing_go_to_left
    int32_t left        # the right child is left + 1; a leaf points to itself


cdef class CompactForest:
    """The trees of a node array in the compact layout (see the module docstring).

    Parameters
    ----------
    nodes : ndarray of NODE_DTYPE
    values : ndarray, shape (n_nodes, n_values)
    roots : ndarray of int32, shape (n_trees,)
    """
    cdef compact_node[::1] nodes
    cdef double[:, ::1] values
    cdef index_t[::1] roots
    cdef int32_t[::1] depths
    cdef readonly Py_ssize_t n_trees, n_values, total_depth

    def __init__(self, const node_struct[::1] nodes, const double[:, ::1] values,
                 const index_t[::1] roots):
        cdef Py_ssize_t n_nodes = nodes.shape[0], n_trees = roots.shape[0]
        cdef Py_ssize_t t, head, tail, a, old, new
        cdef int32_t depth
        self.n_trees = n_trees
        self.n_values = values.shape[1]
        cdef Py_ssize_t capacity = _forest_size(nodes, roots)
        self.nodes = np.zeros(capacity, dtype=[("threshold", np.float64), ("code", np.int32),
                                                ("left", np.int32)])
        self.values = np.zeros((capacity, self.n_values))
        self.roots = np.empty(n_trees, dtype=np.int32)
        self.depths = np.zeros(n_trees, dtype=np.int32)
        # Breadth-first renumbering: queue[k] is the old index of new node k.
        queue_array = np.empty(capacity, dtype=np.int32)
        level_array = np.empty(capacity, dtype=np.int32)
        cdef index_t[::1] queue = queue_array
        cdef int32_t[::1] level = level_array
        tail = 0
        self.total_depth = 0
        for t in range(n_trees):
            self.roots[t] = tail
            head = tail
            queue[tail] = roots[t]
            level[tail] = 0
            tail += 1
            depth = 0
            while head < tail:
                new = head
                old = queue[new]
                head += 1
                for a in range(self.n_values):
                    self.values[new, a] = values[old, a]
                if nodes[old].is_leaf:
                    self.nodes[new].threshold = INFINITY
                    self.nodes[new].code = 1
                    self.nodes[new].left = new
                    depth = max(depth, level[new])
                    continue
                if nodes[old].feature_idx < 0:
                    raise ValueError("a split node has a negative feature index")
                self.nodes[new].threshold = nodes[old].threshold
                self.nodes[new].code = 2 * nodes[old].feature_idx + (
                    1 if nodes[old].missing_go_to_left else 0)
                self.nodes[new].left = tail
                queue[tail] = nodes[old].left
                queue[tail + 1] = nodes[old].right
                level[tail] = level[tail + 1] = level[new] + 1
                tail += 2
            self.depths[t] = depth
            self.total_depth += depth

    def max_feature(self):
        """Largest feature index any split uses (-1 without splits)."""
        codes = np.asarray(self.nodes)["code"]
        internal = np.asarray(self.nodes)["left"] != np.arange(codes.size)
        return int((codes[internal] >> 1).max()) if internal.any() else -1

    def predict(self, const real_t[:, ::1] X, double[:, ::1] out, int n_threads):
        """Add the trees' leaf values to ``out`` (n_samples, n_values)."""
        cdef Py_ssize_t n_samples = X.shape[0]
        cdef Py_ssize_t n_blocks = (n_samples + COMPACT_BLOCK - 1) // COMPACT_BLOCK
        cdef Py_ssize_t visits_per_block = COMPACT_BLOCK * max(1, self.total_depth + self.n_trees)
        cdef Py_ssize_t blocks_per_slice = max(1, VISITS_PER_SLICE // visits_per_block)
        cdef Py_ssize_t slice_lo, slice_hi, block
        cdef int threads = <int> max(1, min(n_threads,
                                            n_blocks // MIN_COMPACT_BLOCKS_PER_THREAD))
        cdef index_t* current
        cdef double* buffer
        cdef Py_ssize_t buffer_size = 2 * COMPACT_BLOCK * max(1, X.shape[1])
        # Set by a thread whose workspace could not be allocated; it then skips its blocks.
        cdef int[::1] failed = np.zeros(1, dtype=np.intc)
        if out.shape[0] != n_samples or out.shape[1] != self.n_values:
            raise ValueError("out must have shape (n_samples, n_values)")
        if X.shape[1] <= self.max_feature():
            raise ValueError(f"X has {X.shape[1]} features; the trees use "
                             f"{self.max_feature() + 1}")
        # Where in a block's buffer (see the module docstring) each node reads its feature;
        # a leaf (code 1) reads the copy without NaN, so that it keeps pointing to itself.
        codes = np.asarray(self.nodes)["code"]
        columns_array = ((codes >> 1) + (codes & 1) * (COMPACT_BLOCK * X.shape[1])).astype(
            np.int32)
        cdef const int32_t[::1] columns = columns_array
        slice_lo = 0
        while slice_lo < n_blocks:
            slice_hi = min(slice_lo + blocks_per_slice * threads, n_blocks)
            # With threads == 1 the team is this thread alone: no other thread is woken.
            with nogil, parallel(num_threads=threads):
                current = <index_t*> malloc(COMPACT_BLOCK * sizeof(index_t))
                buffer = <double*> malloc(buffer_size * sizeof(double))
                if current == NULL or buffer == NULL:
                    failed[0] = 1
                for block in prange(slice_lo, slice_hi, schedule="dynamic", chunksize=1):
                    if current != NULL and buffer != NULL:
                        self._predict_block(X, out, block, &columns[0], current, buffer)
                free(current)
                free(buffer)
            if failed[0]:
                raise MemoryError(f"no memory for the prediction workspace of {threads} "
                                  f"thread(s) ({buffer_size * 8} bytes each)")
            slice_lo = slice_hi
            PyErr_CheckSignals()  # raises KeyboardInterrupt after Ctrl-C

    @cython.final
    cdef void _predict_block(self, const real_t[:, ::1] X, double[:, ::1] out,
                             Py_ssize_t block, const int32_t* columns, index_t* current,
                             double* buffer) noexcept nogil:
        cdef Py_ssize_t lo = block * COMPACT_BLOCK
        cdef Py_ssize_t m = min(COMPACT_BLOCK, X.shape[0] - lo)
        cdef Py_ssize_t n_features = X.shape[1], n_values = self.n_values
        cdef Py_ssize_t t, d, i, a, depth
        cdef const real_t* rows = &X[lo, 0]
        cdef double* block_out = &out[lo, 0]
        cdef const compact_node* tree = &self.nodes[0]
        cdef const double* values = &self.values[0, 0]
        cdef const double* leaf
        cdef const compact_node* node
        cdef double x
        cdef index_t root
        cdef double* without_nan = buffer + COMPACT_BLOCK * n_features
        for i in range(m * n_features):
            x = rows[i]
            buffer[i] = x
            without_nan[i] = -INFINITY if x != x else x
        for t in range(self.n_trees):
            root = self.roots[t]
            depth = self.depths[t]
            node = tree + root
            if depth == 0:
                for i in range(m):
                    current[i] = root
            else:
                for i in range(m):
                    x = buffer[i * n_features + columns[root]]
                    current[i] = node.left + 1 - (x <= node.threshold)
                for d in range(1, depth):
                    for i in range(m):
                        node = tree + current[i]
                        x = buffer[i * n_features + columns[current[i]]]
                        current[i] = node.left + 1 - (x <= node.threshold)
            for i in range(m):
                leaf = values + current[i] * n_values
                for a in range(n_values):
                    block_out[i * n_values + a] += leaf[a]


cdef Py_ssize_t _forest_size(const node_struct[::1] nodes, const index_t[::1] roots) except -1:
    """Total number of nodes of the trees at ``roots``, checking that each is a tree."""
    cdef Py_ssize_t n_nodes = nodes.shape[0], t, top, size, total = 0
    cdef index_t node
    stack_array = np.empty(n_nodes + 1, dtype=np.int32)
    cdef index_t[::1] stack = stack_array
    for t in range(roots.shape[0]):
        if not 0 <= roots[t] < n_nodes:
            raise ValueError(f"tree root {roots[t]} is not a node index (0..{n_nodes - 1})")
        stack[0] = roots[t]
        top = 1
        size = 0
        while top > 0:
            top -= 1
            node = stack[top]
            size += 1
            if size > n_nodes:
                raise ValueError("the node array is not a forest of binary trees (a cycle)")
            if nodes[node].is_leaf:
                continue
            if not (0 <= nodes[node].left < n_nodes and 0 <= nodes[node].right < n_nodes):
                raise ValueError("a child index is outside the node array")
            if top + 2 > n_nodes + 1:
                raise ValueError("the node array is not a forest of binary trees (a cycle)")
            stack[top] = nodes[node].left
            stack[top + 1] = nodes[node].right
            top += 2
        total += size
    return total


def predict_raw(const real_t[:, ::1] X, const node_struct[::1] nodes,
                const double[:, ::1] values, const index_t[::1] roots,
                double[:, ::1] out, int n_threads):
    """Add the leaf values of the trees starting at ``roots`` to ``out`` (n_samples, n_values)."""
    CompactForest(nodes, values, roots).predict(X, out, n_threads)


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


def predict_binned(const bin_t[:, ::1] binned, const node_struct[::1] nodes,
                   const double[:, ::1] values, const index_t[::1] roots, int missing_bin,
                   double[:, ::1] out, int n_threads):
    """As predict_raw, on feature-major binned data (n_features, n_samples)."""
    cdef Py_ssize_t n_samples = binned.shape[1], n_trees = roots.shape[0]
    cdef Py_ssize_t n_values = values.shape[1], n_blocks = (n_samples + BLOCK - 1) // BLOCK
    cdef Py_ssize_t block, lo, hi, i, t, a
    cdef int threads = <int> max(1, min(n_threads, n_blocks // MIN_BLOCKS_PER_THREAD))
    cdef index_t node
    for block in prange(n_blocks, nogil=True, schedule="static", num_threads=threads):
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
    cdef int threads = <int> max(1, min(n_threads, n_samples // (BLOCK * MIN_BLOCKS_PER_THREAD)))
    for i in prange(n_samples, nogil=True, schedule="static", num_threads=threads):
        for t in range(n_trees):
            node = roots[t]
            while not nodes[node].is_leaf:
                node = _child(&nodes[node], X[i, nodes[node].feature_idx])
            out[i, t] = node
