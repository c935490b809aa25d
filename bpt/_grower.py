"""Grow one tree: the node queue and stopping rules, calling the compiled kernels.

Nodes are split best-first (largest gain first), so ``max_leaf_nodes`` keeps the most
useful splits; with only ``max_depth`` every admissible node is split and the order does
not matter, so the tree is grown a level at a time: the partitions, then the histograms,
then the split searches of a whole level share one parallel region each (waking the
sleeping OpenMP threads costs about as much as a small node's work), and the nodes are
then numbered in the best-first order, so both ways give the same tree. Only the smaller
child of a split gets its histogram from the events, the larger one is ``parent -
smaller``. Nodes at ``max_depth`` get no histogram and no split search, unless the
histograms of the leaves are asked for: they give the next tree's root histogram without a
pass over the events (``HistogramBuilder.compute_updated_root``).
"""
import heapq
import itertools
from dataclasses import dataclass

import numpy as np

from ._core._common import NODE_DTYPE
from ._core._partition import partition_many, reset_indices
from ._core._splitting import find_node_splits


@dataclass(frozen=True)
class GrownTree:
    """One tree as grown, before shrinkage.

    Attributes
    ----------
    nodes : ndarray of NODE_DTYPE, shape (n_nodes,)
        Child indices relative to this tree.
    values : ndarray, shape (n_nodes, n_values)
        Unshrunk closed-form node values.
    leaves : ndarray of intp, shape (n_leaves,)
        Node index of each leaf.
    leaf_starts, leaf_stops : ndarray of int32, shape (n_leaves,)
        The events of leaf ``l`` are ``sample_indices[leaf_starts[l]:leaf_stops[l]]`` of the
        grower.
    leaf_histograms : list of ndarray, or None
        The histogram of each leaf, when the grower was asked to keep them.
    """
    nodes: np.ndarray
    values: np.ndarray
    leaves: np.ndarray
    leaf_starts: np.ndarray
    leaf_stops: np.ndarray
    leaf_histograms: list = None

    @property
    def leaf_values(self):
        """Values of the leaves, shape (n_leaves, n_values)."""
        return self.values[self.leaves]


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

    @property
    def grows_by_level(self):
        """Whether trees are grown a level at a time (``max_depth`` alone limits them)."""
        return self.max_leaf_nodes is None and self.max_depth is not None

    def grow(self, root_histogram=None, leaf_histograms=False):
        """Grow one tree on the current statistics.

        Parameters
        ----------
        root_histogram : ndarray, optional
            The root's histogram on the current statistics, if already known; else it is
            filled from the events.
        leaf_histograms : bool
            Whether the tree keeps the histogram of every leaf (``GrownTree.leaf_histograms``);
            only when growing by level.

        Returns
        -------
        GrownTree, or None if the root is not admissible.
        """
        keep = leaf_histograms and self.grows_by_level
        n_samples = self.sample_indices.size
        reset_indices(self.sample_indices, self.n_threads)
        root = _Node(0, 0, n_samples, None)
        if root_histogram is None:
            root_histogram = self.builder.compute_brute(self.sample_indices, 0, n_samples,
                                                        True)
        root.histogram = root_histogram
        root.sums = root.histogram[0].sum(axis=0)
        if not self.criterion.admissible(root.sums[:-1]):
            return None
        self._search_splits([root], keep)
        if self.grows_by_level:
            # Split a level at a time, then number the nodes as best-first growth would
            # have created them: the same heap, replayed over the children already made.
            level = [root] if root.split is not None else []
            while level:
                level = [child for child in self._split_level(level, keep)
                         if child.split is not None]
            return self._finalize(self._best_first(root, lambda node: node.children), keep)
        return self._finalize(self._best_first(root, lambda node: self._split_level([node])))

    def _best_first(self, root, expand):
        """Expand the node of largest gain until ``max_leaf_nodes`` (``expand(node)`` gives
        its children); all nodes in creation order."""
        all_nodes = [root]
        queue = []
        order = itertools.count()

        def push(node):
            if node.split is not None:
                # The counter breaks gain ties in creation order and keeps nodes uncompared.
                heapq.heappush(queue, (-node.split.gain, next(order), node))

        push(root)
        n_leaves = 1
        while queue and (self.max_leaf_nodes is None or n_leaves < self.max_leaf_nodes):
            children = expand(heapq.heappop(queue)[2])
            all_nodes.extend(children)
            for child in children:
                push(child)
            n_leaves += 1
        return all_nodes

    def _can_split(self, node):
        return ((self.max_depth is None or node.depth < self.max_depth)
                and node.count >= 2 * self.min_samples_leaf)

    def _search_splits(self, nodes, keep_histograms=False):
        """Set ``split`` of each node (None without a split of positive gain) and drop the
        histograms of nodes that will not be split, unless ``keep_histograms``."""
        if not nodes:
            return
        splits = find_node_splits(self.criterion, [node.histogram for node in nodes],
                                  np.stack([node.sums for node in nodes]),
                                  self.bin_mapper.n_bins_non_missing_,
                                  self.bin_mapper.missing_bin, self.min_samples_leaf,
                                  self.n_threads)
        for node, split in zip(nodes, splits):
            if split is not None and split.gain > 0:
                node.split = split
            elif not keep_histograms:
                node.histogram = None

    def _split_level(self, nodes, all_histograms=False):
        """Partition each node by its split, give the children that may split their
        histograms and splits (every child its histogram with ``all_histograms``); returns
        the children, (left, right) per node in order."""
        children, to_search, smaller_children, parents = [], [], [], []
        middles = partition_many(
            self.sample_indices, np.array([node.start for node in nodes], dtype=np.intp),
            np.array([node.stop for node in nodes], dtype=np.intp), self.binned,
            np.array([node.split.feature_idx for node in nodes], dtype=np.intp),
            np.array([node.split.bin_threshold for node in nodes], dtype=np.int32),
            np.array([node.split.missing_go_to_left for node in nodes], dtype=np.uint8),
            self.bin_mapper.missing_bin, self._buffer, self.n_threads)
        for node, middle in zip(nodes, middles.tolist()):
            split = node.split
            left = _Node(node.depth + 1, node.start, middle, split.left_sums)
            right = _Node(node.depth + 1, middle, node.stop, split.right_sums)
            node.children = (left, right)
            children.extend(node.children)
            searchable = [child for child in node.children if self._can_split(child)]
            if searchable or all_histograms:
                smaller_children.append(min(node.children, key=lambda child: child.count))
                parents.append(node)
                to_search.extend(searchable)
            else:
                node.histogram = None
        if smaller_children:
            larger_children = [node.children[1] if smaller is node.children[0]
                               else node.children[0]
                               for node, smaller in zip(parents, smaller_children)]
            # Only larger children that need a histogram get one (parent - smaller).
            wanted = [all_histograms or self._can_split(larger) for larger in larger_children]
            histograms, siblings = self.builder.compute_brute_many(
                self.sample_indices, [child.start for child in smaller_children],
                [child.stop for child in smaller_children],
                [node.histogram if want else None for node, want in zip(parents, wanted)])
            for k, (node, smaller, larger) in enumerate(zip(parents, smaller_children,
                                                            larger_children)):
                smaller.histogram = histograms[k]
                if wanted[k]:
                    larger.histogram = siblings[k]
                node.histogram = None
        if not all_histograms:
            searched = {id(child) for child in to_search}
            for child in children:
                if id(child) not in searched:
                    child.histogram = None
        self._search_splits(to_search, all_histograms)
        return children

    def _finalize(self, all_nodes, leaf_histograms=False):
        for index, node in enumerate(all_nodes):
            node.index = index
        nodes = np.zeros(len(all_nodes), dtype=NODE_DTYPE)
        values = self.criterion.values(np.array([node.sums[:-1] for node in all_nodes]))
        nodes["count"] = [node.count for node in all_nodes]
        nodes["depth"] = [node.depth for node in all_nodes]
        is_leaf = np.array([node.children is None for node in all_nodes])
        nodes["is_leaf"] = is_leaf
        leaves = np.flatnonzero(is_leaf)
        # Whole columns at once: setting fields node by node costs more than growing a
        # small node.
        internal = [node for node in all_nodes if node.children is not None]
        if internal:
            rows = np.flatnonzero(~is_leaf)
            splits = [node.split for node in internal]
            features = [split.feature_idx for split in splits]
            bins = [split.bin_threshold for split in splits]
            nodes["feature_idx"][rows] = features
            nodes["bin_threshold"][rows] = bins
            nodes["threshold"][rows] = [self.bin_mapper.split_threshold(f, b)
                                        for f, b in zip(features, bins)]
            nodes["missing_go_to_left"][rows] = [split.missing_go_to_left for split in splits]
            nodes["gain"][rows] = [split.gain for split in splits]
            nodes["left"][rows] = [node.children[0].index for node in internal]
            nodes["right"][rows] = [node.children[1].index for node in internal]
        leaf_nodes = [all_nodes[leaf] for leaf in leaves]
        histograms = None
        if leaf_histograms:
            histograms = [node.histogram for node in leaf_nodes]
            if any(histogram is None for histogram in histograms):
                histograms = None
        return GrownTree(nodes, values, leaves,  # flatnonzero gives intp
                         np.array([node.start for node in leaf_nodes], dtype=np.int32),
                         np.array([node.stop for node in leaf_nodes], dtype=np.int32),
                         histograms)
