"""A boosted ensemble stored flat: one node array for all trees, predicted in Cython."""
import numpy as np

from ._core._common import NODE_DTYPE
from ._core._predictor import apply_raw, predict_binned, predict_raw


class TreeEnsemble:
    """Trees of a boosted model and their constant baseline.

    Attributes
    ----------
    baseline : ndarray, shape (n_values,)
        Value of the root fit, added to every prediction.
    nodes : ndarray of NODE_DTYPE, shape (n_nodes,)
        The nodes of all trees; ``left``/``right`` index into this array.
    values : ndarray, shape (n_nodes, n_values)
        Node values, shrinkage included: a prediction is ``baseline`` plus the values of
        the leaves an event reaches.
    roots : ndarray of int32, shape (n_trees,)
        Index of each tree's root node.
    """

    def __init__(self, baseline):
        self.baseline = np.asarray(baseline, dtype=np.float64)
        self.nodes = np.zeros(0, dtype=NODE_DTYPE)
        self.values = np.zeros((0, self.baseline.size))
        self.roots = np.zeros(0, dtype=np.int32)

    @property
    def n_trees(self):
        return self.roots.size

    @property
    def n_values(self):
        return self.baseline.size

    def append(self, nodes, values):
        """Add a tree whose child indices are relative to its own node array."""
        offset = self.nodes.size
        nodes = nodes.copy()
        internal = nodes["is_leaf"] == 0
        nodes["left"][internal] += offset
        nodes["right"][internal] += offset
        self.nodes = np.concatenate([self.nodes, nodes])
        self.values = np.concatenate([self.values, values])
        self.roots = np.append(self.roots, np.int32(offset))

    def truncate(self, n_trees):
        """Keep the first ``n_trees`` trees."""
        if n_trees < self.n_trees:
            end = self.roots[n_trees]
            self.nodes, self.values = self.nodes[:end], self.values[:end]
            self.roots = self.roots[:n_trees]

    def tree(self, index):
        """Nodes and values of one tree, with child indices relative to the tree."""
        start = self.roots[index]
        end = self.roots[index + 1] if index + 1 < self.n_trees else self.nodes.size
        nodes = self.nodes[start:end].copy()
        internal = nodes["is_leaf"] == 0
        nodes["left"][internal] -= start
        nodes["right"][internal] -= start
        return nodes, self.values[start:end]

    def predict(self, X, n_threads):
        """Baseline plus the sum of all trees, for float32/float64 X (n_samples, n_features)."""
        out = np.empty((X.shape[0], self.n_values))
        out[:] = self.baseline
        predict_raw(X, self.nodes, self.values, self.roots, out, n_threads)
        return out

    def add_tree_binned(self, index, binned, missing_bin, out, n_threads):
        """Add tree ``index`` evaluated on feature-major binned data to ``out`` in place."""
        predict_binned(binned, self.nodes, self.values, self.roots[index:index + 1],
                       missing_bin, out, n_threads)

    def apply(self, X, n_threads):
        """Leaf node index reached in every tree, shape (n_samples, n_trees)."""
        out = np.empty((X.shape[0], self.n_trees), dtype=np.int32)
        apply_raw(X, self.nodes, self.roots, out, n_threads)
        return out
