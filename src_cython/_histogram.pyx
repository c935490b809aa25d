"""Per-node histograms of the per-event statistic vector over (feature, bin).

A histogram has shape (n_features, n_bins, n_stats + 1): the sums of each statistic over
the node's events falling in a bin, and the event count in the last column. Histograms are
additive, so the larger child of a split is obtained as parent - smaller sibling.

Events carry their statistic vector either densely, an (n_samples, n_stats) array, or
"one-hot", a weight and the slot it belongs to: a BPT event simulated at one base point
contributes to a single slot, and the one-hot form adds one number instead of n_stats.

The features of a node are shared out to the threads in groups: every cell is the sum of
its events in their order, whatever the number of threads, so histograms (and the trees
grown from them) are bit-identical for any thread count, and no per-thread histograms need
combining. Within a group, events are taken in small blocks and every feature of the group
is filled from the block: an event's statistics are read from memory once per group, not
once per feature. A node cut into several groups has its statistics gathered (in node
order) once, by all threads, before its groups are filled, not once per group. The root's
event counts do not change between trees: they are filled once per builder and copied
afterwards.
"""
cimport cython
from cython.parallel cimport parallel, prange
from libc.stdlib cimport free, malloc
import numpy as np

from ._common cimport bin_t, index_t
from ._common import histogram_addresses, range_chunks

cdef enum:
    # A smaller node is one work unit; levels with fewer events in all use one thread.
    MIN_EVENTS_PARALLEL = 20000
    # Work units (groups of features) per thread, taken dynamically: a thread that the
    # operating system holds back leaves its remaining units to the others.
    GROUPS_PER_THREAD = 2
    # Doubles of statistics per block: the block stays in the L1/L2 cache across features.
    BLOCK_DOUBLES = 4096
    # Events per work unit of the shared gather of a node cut into groups.
    GATHER_CHUNK = 16384


@cython.final
cdef class HistogramBuilder:
    """Build histograms of the statistics of a fixed binned training set.

    Parameters
    ----------
    binned : ndarray of uint8, shape (n_features, n_samples)
    dense : ndarray of float64, shape (n_samples, n_stats), or None
        Statistics of every event; None in one-hot mode.
    weights, slots : ndarrays of shape (n_samples,), or None
        One-hot mode: each event adds ``weights[i]`` to statistic ``slots[i]``.
    n_stats : int
    n_bins : int
        Bins per feature, including the missing-value bin.
    n_threads : int

    The statistic arrays are read, not copied: updates made to them between trees are
    seen by the next histograms.
    """
    cdef const bin_t[:, ::1] binned
    cdef const double[:, ::1] dense
    cdef const double[::1] weights
    cdef const index_t[::1] slots
    cdef readonly bint one_hot
    cdef readonly Py_ssize_t n_features, n_bins, n_stats
    cdef Py_ssize_t block_size
    cdef int n_threads
    cdef object _root_range       # (start, stop) of the cached root counts, or None
    cdef object _root_counts      # (n_features, n_bins) event counts of that range
    cdef object _gathered_stats   # statistics of the nodes cut into groups, in node order
    cdef object _gathered_slots   # their slots (one-hot)

    def __init__(self, binned, dense, weights, slots, int n_stats, int n_bins, int n_threads):
        self.binned = binned
        self.n_features = binned.shape[0]
        self.n_bins = n_bins
        self.n_stats = n_stats
        self.n_threads = n_threads
        self._root_range = None
        self._root_counts = None
        self._gathered_stats = np.empty(0)
        self._gathered_slots = np.empty(0, dtype=np.int32)
        self.one_hot = dense is None
        if self.one_hot:
            self.weights = weights
            self.slots = slots
            self.block_size = BLOCK_DOUBLES
        else:
            self.dense = dense
            self.block_size = max(16, BLOCK_DOUBLES // n_stats)

    def compute_brute(self, const index_t[::1] sample_indices, Py_ssize_t start,
                      Py_ssize_t stop, bint all_samples):
        """Histogram of the events ``sample_indices[start:stop]``.

        With ``all_samples`` the range covers the whole training set in order (the root),
        and events are read directly instead of through the index array.
        """
        return self._compute(sample_indices, np.array([start], dtype=np.intp),
                             np.array([stop], dtype=np.intp), all_samples, None)[0]

    def compute_brute_many(self, const index_t[::1] sample_indices, starts, stops,
                           parents=None):
        """Histograms of several nodes, shape (n_nodes, n_features, n_bins, n_stats + 1):
        node ``k`` holds the events ``sample_indices[starts[k]:stops[k]]``.

        Every node's feature groups are shared out in one parallel region (waking the
        sleeping threads costs about as much as filling a small node); each cell is still
        the sum of its events in their order, as in :meth:`compute_brute`.

        With ``parents`` (one histogram or None per node), also returns the siblings'
        histograms ``parents[k] - histogram[k]`` (as :meth:`compute_subtraction`; zeros
        where ``parents[k]`` is None), each feature group subtracted by the thread that has
        just filled it: ``(histograms, siblings)``.
        """
        return self._compute(sample_indices, np.asarray(starts, dtype=np.intp),
                             np.asarray(stops, dtype=np.intp), False, parents)

    cdef _compute(self, const index_t[::1] sample_indices, Py_ssize_t[::1] starts,
                  Py_ssize_t[::1] stops, bint all_samples, parents):
        cdef Py_ssize_t n_nodes = starts.shape[0]
        cdef Py_ssize_t k, u, node, n_node, n_units, f_lo, f_hi, total = 0, n_failed = 0
        cdef const index_t* indices
        cdef double* stat_buffer = NULL
        cdef index_t* slot_buffer = NULL
        histogram_array = np.zeros((n_nodes, self.n_features, self.n_bins, self.n_stats + 1))
        cdef double[:, :, :, ::1] histogram = histogram_array
        for k in range(n_nodes):
            if not (0 <= starts[k] <= stops[k] <= sample_indices.shape[0]):
                raise ValueError(f"node {k}: events {starts[k]}..{stops[k]} outside the "
                                 f"{sample_indices.shape[0]} sample indices")
            total += stops[k] - starts[k]
        # Parents' histograms, read through pointers in the parallel region (``parents``
        # keeps them alive); the siblings start as zeros, as a node without a parent keeps.
        cdef Py_ssize_t width = self.n_stats + 1
        cdef Py_ssize_t feature_cells = self.n_bins * width
        cdef const double* parent
        cdef double* sibling
        cdef Py_ssize_t c
        siblings_array = None
        if parents is not None:
            parents = [None if parent_histogram is None
                       else np.ascontiguousarray(parent_histogram, dtype=np.float64)
                       for parent_histogram in parents]
            if len(parents) != n_nodes:
                raise ValueError(f"parents: {len(parents)} histograms for {n_nodes} nodes")
        parent_addresses_array = (np.zeros(n_nodes, dtype=np.uintp) if parents is None else
                                  self._addresses(parents, "parents[{}]", True))
        cdef size_t[::1] parent_addresses = parent_addresses_array
        if parents is not None:
            # Every cell of a sibling with a parent is written below: only the others are
            # zeroed (zeroing all is a pass over a level's histograms).
            siblings_array = np.empty_like(histogram_array)
            siblings_array[parent_addresses_array == 0] = 0.0
        cdef double[:, :, :, ::1] siblings = (siblings_array if siblings_array is not None
                                              else histogram_array)
        # Work units: (node, first feature, end feature). With several threads the level is
        # cut into about GROUPS_PER_THREAD units per thread: a node of at least
        # MIN_EVENTS_PARALLEL events into groups of features in proportion to its share of
        # the level's events, any other node is one unit. Every group reads its node's
        # events once (their bins through the sample indices), so no more groups than
        # that: a level of many nodes keeps each node whole, and one thread cuts nothing.
        # The statistics of a node cut into groups are gathered once, into the gathered
        # buffers from the node's offset in ``gather_offsets`` (-1: a node whose one group
        # gathers them block by block).
        unit_rows, unit_costs = [], []
        gather_offsets_array = np.full(n_nodes, -1, dtype=np.intp)
        cdef Py_ssize_t n_gathered = 0
        for k in range(n_nodes):
            n_node = stops[k] - starts[k]
            if n_node == 0:
                continue
            n_groups = 1
            if self.n_threads > 1 and n_node >= MIN_EVENTS_PARALLEL:
                n_groups = min(self.n_features, max(1, -(-self.n_threads * GROUPS_PER_THREAD
                                                         * n_node // total)))
            if n_groups > 1 and not all_samples:  # the root reads its events in place
                gather_offsets_array[k] = n_gathered
                n_gathered += n_node
            size, n_larger = divmod(self.n_features, n_groups)
            for g in range(n_groups):
                f_lo = g * size + min(g, n_larger)
                f_hi = f_lo + size + (g < n_larger)
                unit_rows.append((k, f_lo, f_hi))
                unit_costs.append(n_node * (f_hi - f_lo))
        if parents is not None:
            for k in range(n_nodes):  # no events: no unit, and the sibling is the parent
                if stops[k] == starts[k] and parent_addresses[k] != 0:
                    siblings_array[k] = parents[k]
        if not unit_rows:
            return histogram_array if parents is None else (histogram_array, siblings_array)
        # Largest units first: taken dynamically, they leave the small ones to even out
        # the threads' shares. The order does not change any cell's sum.
        order = np.argsort(-np.asarray(unit_costs), kind="stable")
        units_array = np.ascontiguousarray(np.array(unit_rows, dtype=np.intp)[order])
        cdef Py_ssize_t[:, ::1] units = units_array
        n_units = units.shape[0]
        cdef int n_threads = 1 if total < MIN_EVENTS_PARALLEL else min(self.n_threads, n_units)
        # The shared gather: work units of at most GATHER_CHUNK events of the nodes cut into
        # groups, into buffers kept between calls (when growing a tree, at most half the
        # events: only the smaller children are filled from their events).
        gather_units_array = np.empty((0, 3), dtype=np.intp)
        if n_gathered:
            gathered_nodes = np.flatnonzero(gather_offsets_array >= 0)
            gather_units_array, _ = range_chunks(
                np.asarray(starts)[gathered_nodes], np.asarray(stops)[gathered_nodes],
                -(-(np.asarray(stops) - np.asarray(starts))[gathered_nodes] // GATHER_CHUNK))
            gather_units_array[:, 0] = gathered_nodes[gather_units_array[:, 0]]
        cdef Py_ssize_t[:, ::1] gather_units = gather_units_array
        cdef Py_ssize_t n_gather_units = gather_units.shape[0]
        cdef Py_ssize_t[::1] gather_offsets = gather_offsets_array
        cdef Py_ssize_t stat_width = 1 if self.one_hot else self.n_stats
        if n_gathered * stat_width > self._gathered_stats.shape[0]:
            self._gathered_stats = np.empty(n_gathered * stat_width)
        if self.one_hot and n_gathered > self._gathered_slots.shape[0]:
            self._gathered_slots = np.empty(n_gathered, dtype=np.int32)
        cdef double[::1] gathered_stats = self._gathered_stats
        cdef index_t[::1] gathered_slots = self._gathered_slots
        cdef const double* node_stats
        cdef const index_t* node_slots
        cdef Py_ssize_t j, d, event, offset
        # The root's event counts are the same for every tree: filled once, then copied.
        cdef bint counts = not (all_samples and self._root_range == (starts[0], stops[0]))
        # A team of one thread wakes no other thread: small levels cost no wake-up.
        with nogil, parallel(num_threads=n_threads):
            stat_buffer = <double*> malloc(self.block_size * self.n_stats * sizeof(double))
            slot_buffer = <index_t*> malloc(self.block_size * sizeof(index_t))
            # The loop ends with a barrier: every gathered statistic is in place below.
            for u in prange(n_gather_units, schedule="static"):
                node = gather_units[u, 0]
                for j in range(gather_units[u, 1], gather_units[u, 2]):
                    event = sample_indices[j]
                    offset = gather_offsets[node] + j - starts[node]
                    if self.one_hot:
                        gathered_stats[offset] = self.weights[event]
                        gathered_slots[offset] = self.slots[event]
                    else:
                        for d in range(self.n_stats):
                            gathered_stats[offset * self.n_stats + d] = self.dense[event, d]
            for u in prange(n_units, schedule="dynamic"):
                if stat_buffer == NULL or slot_buffer == NULL:
                    n_failed += 1  # a reduction: reported after the region
                    continue
                node = units[u, 0]
                if all_samples:
                    indices = NULL
                else:
                    indices = &sample_indices[starts[node]]
                node_stats = NULL
                node_slots = NULL
                if gather_offsets[node] >= 0:
                    node_stats = &gathered_stats[gather_offsets[node] * stat_width]
                    if self.one_hot:
                        node_slots = &gathered_slots[gather_offsets[node]]
                self._fill(&histogram[node, 0, 0, 0], indices, starts[node], 0,
                           stops[node] - starts[node], units[u, 1], units[u, 2],
                           stat_buffer, slot_buffer, node_stats, node_slots, counts)
                if parent_addresses[node] != 0:
                    # The group's cells are still in this thread's cache.
                    parent = <const double*> parent_addresses[node]
                    sibling = &siblings[node, 0, 0, 0]
                    for c in range(units[u, 1] * feature_cells, units[u, 2] * feature_cells):
                        sibling[c] = parent[c] - (&histogram[node, 0, 0, 0])[c]
            free(stat_buffer)
            free(slot_buffer)
        if n_failed:
            raise MemoryError("histogram: a thread could not allocate its block buffer")
        if all_samples:
            if counts:
                self._root_range = (starts[0], stops[0])
                self._root_counts = histogram_array[0, :, :, self.n_stats].copy()
            else:
                histogram_array[0, :, :, self.n_stats] = self._root_counts
        return histogram_array if parents is None else (histogram_array, siblings_array)

    cdef void _fill(self, double* hist, const index_t* indices, Py_ssize_t start,
                    Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t f_lo, Py_ssize_t f_hi,
                    double* stat_buffer, index_t* slot_buffer, const double* node_stats,
                    const index_t* node_slots, bint counts) noexcept nogil:
        """Add events lo..hi of the node (positions in ``indices``, or ``start + position``
        in the training set when ``indices`` is NULL) to features f_lo..f_hi of ``hist``.

        ``node_stats`` (and ``node_slots``, one-hot), unless NULL, hold the node's
        statistics already gathered in the order of ``indices``; else each block of events
        is gathered into ``stat_buffer`` and ``slot_buffer``."""
        cdef Py_ssize_t n_stats = self.n_stats, width = self.n_stats + 1
        cdef Py_ssize_t feature_stride = self.n_bins * width
        cdef Py_ssize_t block_lo, block_hi, m, j, d, f, event
        cdef const double* block_stats
        cdef const index_t* block_slots
        block_lo = lo
        while block_lo < hi:
            block_hi = min(block_lo + self.block_size, hi)
            m = block_hi - block_lo
            if indices == NULL:
                event = start + block_lo
                if self.one_hot:
                    block_stats = &self.weights[event]
                    block_slots = &self.slots[event]
                else:
                    block_stats = &self.dense[event, 0]
            elif node_stats != NULL:
                if self.one_hot:
                    block_stats = node_stats + block_lo
                    block_slots = node_slots + block_lo
                else:
                    block_stats = node_stats + block_lo * n_stats
            else:
                for j in range(m):
                    event = indices[block_lo + j]
                    if self.one_hot:
                        stat_buffer[j] = self.weights[event]
                        slot_buffer[j] = self.slots[event]
                    else:
                        for d in range(n_stats):
                            stat_buffer[j * n_stats + d] = self.dense[event, d]
                block_stats = stat_buffer
                block_slots = slot_buffer
            for f in range(f_lo, f_hi):
                if indices == NULL:
                    if self.one_hot:
                        _add_one_hot(hist + f * feature_stride, &self.binned[f, start + block_lo],
                                     block_stats, block_slots, m, n_stats, counts)
                    else:
                        _add_dense(hist + f * feature_stride, &self.binned[f, start + block_lo],
                                   block_stats, m, n_stats, counts)
                else:
                    if self.one_hot:
                        _add_one_hot_gathered(hist + f * feature_stride, &self.binned[f, 0],
                                              indices + block_lo, block_stats, block_slots, m,
                                              n_stats)
                    else:
                        _add_dense_gathered(hist + f * feature_stride, &self.binned[f, 0],
                                            indices + block_lo, block_stats, m, n_stats)
            block_lo = block_hi

    cdef _addresses(self, histograms, str label, bint allow_none):
        return histogram_addresses(histograms, (self.n_features, self.n_bins, self.n_stats + 1),
                                   label, allow_none)

    def compute_subtraction(self, const double[:, :, ::1] parent,
                            const double[:, :, ::1] sibling):
        """Histogram of a child as parent - sibling."""
        return np.subtract(parent, sibling)

    def compute_updated_root(self, leaf_histograms, const double[:, ::1] scale,
                             const double[:, ::1] shift):
        """Histogram of the root after the affine update of the statistics by a tree.

        ``leaf_histograms`` holds the histogram of each leaf of the tree, before the update;
        the update maps the statistics of an event in leaf ``l`` as ``stats[d] * scale[l, d]
        + nominal * shift[l, d]`` (see ``update.update_leaves``). The map is linear, so
        the root's new histogram is the sum over leaves of their mapped histograms: the
        cost of one pass over the leaves' cells instead of one over the events. Leaves are
        summed in their order, so the result does not depend on the number of threads.
        """
        cdef Py_ssize_t n_stats = self.n_stats, width = self.n_stats + 1
        cdef Py_ssize_t n_leaves = len(leaf_histograms)
        cdef Py_ssize_t leaf, c, d
        cdef double nominal
        cdef const double* cell
        cdef double* out
        if scale.shape[0] != n_leaves or shift.shape[0] != n_leaves or (
                n_leaves and (scale.shape[1] != n_stats or shift.shape[1] != n_stats)):
            raise ValueError("compute_updated_root: scale and shift need one row of n_stats "
                             "per leaf")
        root_array = np.zeros((self.n_features, self.n_bins, width))
        cdef double[:, :, ::1] root = root_array
        # The leaves' histograms through pointers (``leaf_histograms`` keeps them alive), so
        # that the features' cells can be shared out to the threads; every cell still sums
        # the leaves in their order.
        cdef size_t[::1] addresses = self._addresses(
            leaf_histograms, "compute_updated_root: leaf {}'s histogram", False)
        cdef Py_ssize_t f
        cdef int n_threads = min(self.n_threads, self.n_features) if n_leaves else 1
        with nogil:
            for f in prange(self.n_features, num_threads=max(1, n_threads),
                            schedule="static"):
                for leaf in range(n_leaves):
                    for c in range(f * self.n_bins, (f + 1) * self.n_bins):
                        cell = (<const double*> addresses[leaf]) + c * width
                        out = &root[0, 0, 0] + c * width
                        if self.one_hot:
                            # Only the nominal slot's events have a nominal weight to shift by.
                            out[0] += cell[0] * (scale[leaf, 0] + shift[leaf, 0])
                            for d in range(1, n_stats):
                                out[d] += cell[d] * scale[leaf, d]
                        else:
                            nominal = cell[0]
                            for d in range(n_stats):
                                out[d] += cell[d] * scale[leaf, d] + nominal * shift[leaf, d]
                        out[n_stats] += cell[n_stats]  # event counts do not change
        return root_array


cdef inline void _add_one_hot(double* h, const bin_t* bins, const double* weights,
                              const index_t* slots, Py_ssize_t n, Py_ssize_t n_stats,
                              bint counts) noexcept nogil:
    cdef Py_ssize_t j, width = n_stats + 1
    cdef double* cell
    if not counts:
        for j in range(n):
            h[bins[j] * width + slots[j]] += weights[j]
        return
    for j in range(n):
        cell = h + bins[j] * width
        cell[slots[j]] += weights[j]
        cell[n_stats] += 1.0


cdef inline void _add_one_hot_gathered(double* h, const bin_t* column, const index_t* indices,
                                       const double* weights, const index_t* slots,
                                       Py_ssize_t n, Py_ssize_t n_stats) noexcept nogil:
    cdef Py_ssize_t j, width = n_stats + 1
    cdef double* cell
    for j in range(n):
        cell = h + column[indices[j]] * width
        cell[slots[j]] += weights[j]
        cell[n_stats] += 1.0


cdef inline void _add_dense(double* h, const bin_t* bins, const double* stats, Py_ssize_t n,
                            Py_ssize_t n_stats, bint counts) noexcept nogil:
    cdef Py_ssize_t j, d, width = n_stats + 1
    cdef double* cell
    cdef const double* row
    for j in range(n):
        cell = h + bins[j] * width
        row = stats + j * n_stats
        for d in range(n_stats):
            cell[d] += row[d]
        if counts:
            cell[n_stats] += 1.0


cdef inline void _add_dense_gathered(double* h, const bin_t* column, const index_t* indices,
                                     const double* stats, Py_ssize_t n,
                                     Py_ssize_t n_stats) noexcept nogil:
    cdef Py_ssize_t j, d, width = n_stats + 1
    cdef double* cell
    cdef const double* row
    for j in range(n):
        cell = h + column[indices[j]] * width
        row = stats + j * n_stats
        for d in range(n_stats):
            cell[d] += row[d]
        cell[n_stats] += 1.0
