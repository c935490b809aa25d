"""Grow one tree: the node queue and stopping rules, calling the compiled kernels.

Nodes are split best-first (largest gain first), so ``max_leaf_nodes`` keeps the most
useful splits; with only ``max_depth`` every admissible node is split and the order does
not matter. Only the smaller child of a split gets its histogram from the events, the
larger one is ``parent - smaller``. Nodes at ``max_depth`` get no histogram and no split
search.
"""
import heapq
import itertools

import numpy as np

from ._core._common import NODE_DTYPE
from ._core._partition import partition
from ._core._splitting import find_node_split


class _Node:
    __slots__ = ("depth", "start", "stop", "sums", "histogram", "split", "children", "index")

    def __init__(self, depth, start, stop, sums):
        self.depth, self.start, self.stop, self.sums = depth, start, stop, sums
        self.histogram = self.split = self.children = None

    @property
    def count(self):
        return self.stop - self.start


class TreeGrower:
    """Grows trees on a fixed binned training set whose statistics change between trees.

    Parameters
    ----------
    binned : ndarray of uint8, shape (n_features, n_samples)
    histogram_builder : HistogramBuilder
        Bound to ``binned`` and to the (updated in place) training statistics.
    criterion : Criterion
    bin_mapper : BinMapper
    max_depth : int or None
    max_leaf_nodes : int or None
    min_samples_leaf : int
    n_threads : int
    """

    def __init__(self, binned, histogram_builder, criterion, bin_mapper, max_depth,
                 max_leaf_nodes, min_samples_leaf, n_threads):
        self.binned = binned
        self.builder = histogram_builder
        self.criterion = criterion
        self.bin_mapper = bin_mapper
        self.max_depth = max_depth
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.n_threads = n_threads
        n_samples = binned.shape[1]
        self.sample_indices = np.empty(n_samples, dtype=np.int32)
        self._buffer = np.empty(n_samples, dtype=np.int32)

    def grow(self):
        """Grow one tree on the current statistics.

        Returns
        -------
        None if the root is not admissible, else ``(nodes, values, leaves, leaf_starts,
        leaf_stops)``: the tree as NODE_DTYPE array and (n_nodes, n_values) unshrunk
        values, the node index of each leaf, and each leaf's range in
        ``self.sample_indices``.
        """
        n_samples = self.sample_indices.size
        self.sample_indices[:] = np.arange(n_samples, dtype=np.int32)
        root = _Node(0, 0, n_samples, None)
        root.histogram = self.builder.compute_brute(self.sample_indices, 0, n_samples, True)
        root.sums = root.histogram[0].sum(axis=0)
        if not self.criterion.admissible(root.sums[:-1]):
            return None
        all_nodes = [root]
        queue = []
        self._order = itertools.count()
        self._consider_split(root, queue)
        n_leaves = 1
        while queue and (self.max_leaf_nodes is None or n_leaves < self.max_leaf_nodes):
            node = heapq.heappop(queue)[2]
            all_nodes.extend(self._split(node, queue))
            n_leaves += 1
        return self._finalize(all_nodes)

    def _can_split(self, node):
        return ((self.max_depth is None or node.depth < self.max_depth)
                and node.count >= 2 * self.min_samples_leaf)

    def _consider_split(self, node, queue):
        split = find_node_split(self.criterion, node.histogram, node.sums,
                                self.bin_mapper.n_bins_non_missing_, self.bin_mapper.missing_bin,
                                self.min_samples_leaf, self.n_threads)
        if split is not None and split[0] > 0:
            node.split = split
            # The counter breaks gain ties in creation order and keeps nodes uncompared.
            heapq.heappush(queue, (-split[0], next(self._order), node))
        else:
            node.histogram = None

    def _split(self, node, queue):
        _, feature, bin_threshold, missing_left, left_sums, right_sums = node.split
        middle = partition(self.sample_indices, node.start, node.stop, self.binned[feature],
                           bin_threshold, missing_left, self.bin_mapper.missing_bin,
                           self._buffer, self.n_threads)
        left = _Node(node.depth + 1, node.start, middle, left_sums)
        right = _Node(node.depth + 1, middle, node.stop, right_sums)
        node.children = (left, right)
        to_search = [child for child in (left, right) if self._can_split(child)]
        if to_search:
            smaller, larger = sorted((left, right), key=lambda child: child.count)
            smaller.histogram = self.builder.compute_brute(self.sample_indices, smaller.start,
                                                           smaller.stop, False)
            if larger in to_search:
                larger.histogram = self.builder.compute_subtraction(node.histogram,
                                                                    smaller.histogram)
        node.histogram = None
        for child in (left, right):
            if child in to_search:
                self._consider_split(child, queue)
            else:
                child.histogram = None
        return left, right

    def _finalize(self, all_nodes):
        for index, node in enumerate(all_nodes):
            node.index = index
        nodes = np.zeros(len(all_nodes), dtype=NODE_DTYPE)
        values = np.empty((len(all_nodes), self.criterion.n_values))
        leaves, leaf_starts, leaf_stops = [], [], []
        for node in all_nodes:
            record = nodes[node.index]
            record["count"] = node.count
            record["depth"] = node.depth
            values[node.index] = self.criterion.value(node.sums[:-1])
            if node.children is None:
                record["is_leaf"] = 1
                leaves.append(node.index)
                leaf_starts.append(node.start)
                leaf_stops.append(node.stop)
                continue
            gain, feature, bin_threshold, missing_left, _, _ = node.split
            record["feature_idx"] = feature
            record["bin_threshold"] = bin_threshold
            record["threshold"] = self.bin_mapper.split_threshold(feature, bin_threshold)
            record["missing_go_to_left"] = missing_left
            record["gain"] = gain
            record["left"] = node.children[0].index
            record["right"] = node.children[1].index
        return (nodes, values, np.array(leaves, dtype=np.intp), np.array(leaf_starts, dtype=np.int32),
                np.array(leaf_stops, dtype=np.int32))
