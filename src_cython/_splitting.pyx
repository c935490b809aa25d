"""Best split of a node from its histogram, for any criterion.

For each feature (in parallel) the bins are scanned left to right, accumulating the
statistic sums of the left child; the right child is the node minus the left. Missing
values are tried on both sides when the node has any. The gain of a candidate is
``loss(node) - loss(left) - loss(right)``, each at its own closed-form value; a candidate is
admissible when both children keep ``min_samples_leaf`` events and the criterion accepts
their sums. The candidates of a scan are collected first and handed to the criterion in one
batch, so that its loss can be evaluated for many children at once (in SIMD). Ties go to
the lowest feature, then the lowest bin, then missing-right.
"""
from cython.parallel cimport parallel, prange
from libc.math cimport INFINITY
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset
import numpy as np

from ._common import histogram_addresses
from ._criterion cimport Criterion


cdef class SplitInfo:
    """The best split of a node.

    Attributes
    ----------
    gain : float
        ``loss(node) - loss(left) - loss(right)``.
    feature_idx : int
    bin_threshold : int
        Events with ``bin <= bin_threshold`` go left.
    missing_go_to_left : bool
    left_sums, right_sums : ndarray, shape (n_stats + 1,)
        Statistic sums and event count of each child.
    """
    cdef readonly double gain
    cdef readonly Py_ssize_t feature_idx
    cdef readonly int bin_threshold
    cdef readonly bint missing_go_to_left
    cdef readonly object left_sums
    cdef readonly object right_sums

    def __init__(self, double gain, Py_ssize_t feature_idx, int bin_threshold,
                 bint missing_go_to_left, left_sums, right_sums):
        self.gain = gain
        self.feature_idx = feature_idx
        self.bin_threshold = bin_threshold
        self.missing_go_to_left = missing_go_to_left
        self.left_sums = left_sums
        self.right_sums = right_sums

    def __repr__(self):
        return (f"SplitInfo(gain={self.gain!r}, feature_idx={self.feature_idx}, "
                f"bin_threshold={self.bin_threshold}, "
                f"missing_go_to_left={bool(self.missing_go_to_left)})")


def find_node_split(Criterion criterion, const double[:, :, ::1] histogram,
                    const double[::1] node_sums, const int[::1] n_bins_non_missing,
                    int missing_bin, double min_samples_leaf, int n_threads):
    """Best split of a node.

    Parameters
    ----------
    criterion : Criterion
    histogram : ndarray, shape (n_features, n_bins, n_stats + 1)
    node_sums : ndarray, shape (n_stats + 1,)
        Statistic sums and event count of the node.
    n_bins_non_missing : ndarray of int32, shape (n_features,)
    missing_bin : int
    min_samples_leaf : float
    n_threads : int

    Returns
    -------
    SplitInfo, or None if no admissible split exists.
    """
    return find_node_splits(criterion, [histogram], np.asarray(node_sums)[None],
                            n_bins_non_missing, missing_bin, min_samples_leaf, n_threads)[0]


def find_node_splits(Criterion criterion, histograms, const double[:, ::1] node_sums,
                     const int[::1] n_bins_non_missing, int missing_bin,
                     double min_samples_leaf, int n_threads):
    """Best splits of several nodes, their (node, feature) scans shared out in one parallel
    region: a parallel region wakes the sleeping threads, which costs about as much as
    scanning a feature.

    Parameters
    ----------
    criterion : Criterion
    histograms : sequence of ndarray, each of shape (n_features, n_bins, n_stats + 1)
        One C-contiguous float64 histogram per node (the rows of one 4-d array, or separate
        arrays: they are read where they are, not stacked).
    node_sums : ndarray, shape (n_nodes, n_stats + 1)
    n_bins_non_missing, missing_bin, min_samples_leaf, n_threads
        As for :func:`find_node_split`.

    Returns
    -------
    list of SplitInfo or None, one per node.
    """
    cdef Py_ssize_t n_nodes = node_sums.shape[0]
    cdef Py_ssize_t n_features = n_bins_non_missing.shape[0]
    cdef Py_ssize_t width = criterion.n_stats + 1
    cdef Py_ssize_t n_bins
    cdef Py_ssize_t unit, node, f, k, n_unscanned = 0
    cdef ScanBuffers buffers
    gain_array = np.full((n_nodes, n_features), -np.inf)
    bin_array = np.zeros((n_nodes, n_features), dtype=np.int32)
    missing_left_array = np.zeros((n_nodes, n_features), dtype=np.uint8)
    left_array = np.zeros((n_nodes, n_features, width))
    parent_loss_array = np.empty(n_nodes)
    cdef double[:, ::1] feature_gain = gain_array
    cdef int[:, ::1] feature_bin = bin_array
    cdef unsigned char[:, ::1] feature_missing_left = missing_left_array
    cdef double[:, :, ::1] feature_left = left_array
    cdef double[::1] parent_loss = parent_loss_array

    if node_sums.shape[1] != width:
        raise ValueError("node_sums must have n_stats + 1 columns for the criterion")
    if len(histograms) != n_nodes:
        raise ValueError(f"{len(histograms)} histograms for {n_nodes} nodes")
    first_shape = np.shape(histograms[0]) if n_nodes else (n_features, 0, width)
    if len(first_shape) != 3:
        raise ValueError(f"histograms[0] has shape {first_shape}, expected (n_features, "
                         "n_bins, n_stats + 1)")
    if first_shape[0] != n_features:
        raise ValueError("histograms and n_bins_non_missing disagree on the features")
    n_bins = first_shape[1]
    if n_nodes and not (0 <= missing_bin < n_bins
                        and np.all(np.asarray(n_bins_non_missing) <= n_bins)):
        raise ValueError("missing_bin and n_bins_non_missing must lie within the bins")
    addresses_array = histogram_addresses(histograms, (n_features, n_bins, width),
                                          "histograms[{}]")
    cdef size_t[::1] addresses = addresses_array
    sums_array = np.asarray(node_sums)
    cdef double[::1] scratch = np.empty(max(criterion.scratch_size, 1))
    for k in range(n_nodes):
        parent_loss[k] = criterion.node_loss(&node_sums[k, 0], &scratch[0])

    if n_nodes * n_features > 0:
        with nogil, parallel(num_threads=max(1, min(n_threads, n_nodes * n_features))):
            # Assigned in the region, so private to each thread.
            buffers = _allocate_buffers(criterion, n_bins, width)
            for unit in prange(n_nodes * n_features, schedule="dynamic"):
                if buffers.block == NULL:
                    n_unscanned += 1  # a reduction: reported after the region
                    continue
                node = unit // n_features
                f = unit % n_features
                _scan_feature(criterion,
                              <const double*> addresses[node] + f * n_bins * width,
                              &node_sums[node, 0],
                              width, n_bins_non_missing[f], missing_bin, parent_loss[node],
                              min_samples_leaf, &buffers,
                              &feature_gain[node, f], &feature_bin[node, f],
                              &feature_missing_left[node, f], &feature_left[node, f, 0])
            free(buffers.block)
        if n_unscanned:
            raise MemoryError("find_node_splits: a thread could not allocate its scan buffers")

    splits = []
    for k in range(n_nodes):
        best = int(np.argmax(gain_array[k]))  # first maximum: lowest feature on ties
        if not np.isfinite(gain_array[k, best]):
            splits.append(None)
            continue
        left = left_array[k, best].copy()
        splits.append(SplitInfo(gain_array[k, best], best, bin_array[k, best],
                                missing_left_array[k, best], left, sums_array[k] - left))
    return splits


cdef struct ScanBuffers:
    # One thread's workspace for the scan of a feature: the candidates of a pass (at most
    # one per bin) are collected first, then the criterion evaluates them all in one call.
    void* block           # the one allocation the others point into; NULL if it failed
    double* accumulated   # (width,) sums of the bins left of the threshold
    double* lefts         # (n_bins, width) the candidates' left children
    double* rights        # (n_bins, width) and right children
    double* left_losses   # (n_bins,)
    double* right_losses  # (n_bins,)
    int* thresholds       # (n_bins,) the candidates' bins
    unsigned char* left_admissible   # (n_bins,)
    unsigned char* right_admissible  # (n_bins,)
    double* scratch       # the criterion's workspace for a batch of n_bins nodes


cdef ScanBuffers _allocate_buffers(Criterion criterion, Py_ssize_t n_bins,
                                   Py_ssize_t width) noexcept nogil:
    """A thread's buffers, carved out of one allocation (``block``) that the caller frees."""
    cdef ScanBuffers buffers
    cdef Py_ssize_t n_doubles = (width + 2 * n_bins * width + 2 * n_bins
                                 + criterion.scratch_size
                                 + n_bins * criterion.batch_scratch_per_node + 1)
    cdef char* block = <char*> malloc(n_doubles * sizeof(double)
                                      + n_bins * (sizeof(int) + 2))
    cdef double* doubles = <double*> block
    buffers.block = block
    if block == NULL:
        return buffers
    buffers.accumulated = doubles
    buffers.lefts = doubles + width
    buffers.rights = buffers.lefts + n_bins * width
    buffers.left_losses = buffers.rights + n_bins * width
    buffers.right_losses = buffers.left_losses + n_bins
    buffers.scratch = buffers.right_losses + n_bins
    buffers.thresholds = <int*> (doubles + n_doubles)
    buffers.left_admissible = <unsigned char*> (buffers.thresholds + n_bins)
    buffers.right_admissible = buffers.left_admissible + n_bins
    return buffers


cdef void _scan_feature(Criterion criterion, const double* hist, const double* node,
                        Py_ssize_t width, int n_bins_non_missing, int missing_bin,
                        double parent_loss, double min_samples_leaf, ScanBuffers* buffers,
                        double* best_gain, int* best_bin, unsigned char* best_missing_left,
                        double* best_left) noexcept nogil:
    cdef Py_ssize_t count = width - 1          # column of the event count
    cdef const double* missing = hist + missing_bin * width
    cdef bint has_missing = missing[count] > 0
    cdef bint missing_left
    cdef int n_passes = 2 if has_missing else 1
    cdef int pass_, b, last_bin
    cdef Py_ssize_t d, c, n_candidates
    cdef const double* cell
    cdef double* left = buffers.accumulated
    cdef double* right
    cdef double gain
    # The best candidate is kept in locals and written out once per pass: the outputs of
    # neighbouring features share cache lines, and writing them on every improvement would
    # make the threads scanning those features contend for the lines.
    cdef double best = -INFINITY
    cdef int best_b = 0
    cdef bint best_missing = False
    cdef const double* best_sums = NULL

    for pass_ in range(n_passes):
        missing_left = pass_ == 1
        if missing_left:
            memcpy(left, missing, width * sizeof(double))
            # Splitting off the missing values alone was already tried in the first pass.
            last_bin = n_bins_non_missing - 2
        else:
            memset(left, 0, width * sizeof(double))
            last_bin = n_bins_non_missing - 1 if has_missing else n_bins_non_missing - 2
        n_candidates = 0
        for b in range(last_bin + 1):
            cell = hist + b * width
            if cell[count] == 0:
                continue  # same partition of the events as the previous threshold
            right = buffers.rights + n_candidates * width
            for d in range(width):
                left[d] += cell[d]
                right[d] = node[d] - left[d]
            if right[count] < min_samples_leaf:
                break  # the right child only shrinks from here on
            if left[count] < min_samples_leaf:
                continue
            memcpy(buffers.lefts + n_candidates * width, left, width * sizeof(double))
            buffers.thresholds[n_candidates] = b
            n_candidates += 1
        if n_candidates == 0:
            continue
        criterion.batch_admissible_loss(buffers.lefts, width, n_candidates,
                                        buffers.left_admissible, buffers.left_losses,
                                        buffers.scratch)
        criterion.batch_admissible_loss(buffers.rights, width, n_candidates,
                                        buffers.right_admissible, buffers.right_losses,
                                        buffers.scratch)
        for c in range(n_candidates):
            if not (buffers.left_admissible[c] and buffers.right_admissible[c]):
                continue
            gain = parent_loss - buffers.left_losses[c] - buffers.right_losses[c]
            if gain > best:
                best = gain
                best_b = buffers.thresholds[c]
                # Without missing values in the node, unseen missing values follow the
                # larger child.
                best_missing = (missing_left if has_missing else
                                buffers.lefts[c * width + count]
                                >= buffers.rights[c * width + count])
                best_sums = buffers.lefts + c * width
        if best_sums != NULL:
            # Before the next pass overwrites the candidates.
            memcpy(best_left, best_sums, width * sizeof(double))
            best_sums = NULL
    best_gain[0] = best
    if best > -INFINITY:
        best_bin[0] = best_b
        best_missing_left[0] = best_missing
