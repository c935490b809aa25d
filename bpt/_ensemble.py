"""A boosted ensemble stored flat: one node array for all trees, predicted in Cython."""
import numpy as np

from ._core._common import NODE_DTYPE
from ._core._predictor import apply_raw, predict_binned, predict_raw


# The arrays stored with room to grow; each is kept as ``_name`` (the storage) and
# ``_n_name`` (the rows filled).
FILLED_PARTS = ("nodes", "values", "roots")


def _filled_part(name, dtype):
    """A property for the filled rows of the storage ``_<name>``; setting it replaces the
    storage with the given array, all of it filled."""
    storage, filled = "_" + name, "_n_" + name

    def get(self):
        return getattr(self, storage)[:getattr(self, filled)]

    def set(self, array):
        array = np.ascontiguousarray(array, dtype=dtype)
        setattr(self, storage, array)
        setattr(self, filled, array.shape[0])

    return property(get, set)


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
        # Storage with room to grow: a tree is written into it, and the arrays are copied
        # only when it is full (doubling), so adding n trees costs O(n), not the O(n^2) of
        # concatenating all nodes for every tree. ``nodes``, ``values`` and ``roots`` are
        # the filled parts.
        self.nodes = np.zeros(0, dtype=NODE_DTYPE)
        self.values = np.zeros((0, self.baseline.size))
        self.roots = np.zeros(0, dtype=np.int32)

    nodes = _filled_part("nodes", NODE_DTYPE)
    values = _filled_part("values", np.float64)
    roots = _filled_part("roots", np.int32)

    @property
    def n_trees(self):
        return self._n_roots

    @property
    def n_values(self):
        return self.baseline.size

    def __getstate__(self):
        # Pickles hold the filled parts only, not the room to grow.
        state = dict(self.__dict__)
        for name in FILLED_PARTS:
            state["_" + name] = getattr(self, name).copy()
        return state

    def __setstate__(self, state):
        state = dict(state)
        for name in FILLED_PARTS:
            if name in state:  # pickled before the storage had room to grow
                state["_" + name] = state.pop(name)
                state["_n_" + name] = len(state["_" + name])
        self.__dict__.update(state)

    def append(self, nodes, values):
        """Add a tree whose child indices are relative to its own node array."""
        offset, n_new = self._n_nodes, len(nodes)
        if self._n_values != offset:
            raise ValueError(f"the ensemble holds {offset} nodes but {self._n_values} "
                             "rows of values")
        self._nodes = _with_room(self._nodes, offset, n_new)
        self._values = _with_room(self._values, offset, n_new)
        self._roots = _with_room(self._roots, self._n_roots, 1)
        added = self._nodes[offset:offset + n_new]
        added[...] = nodes
        internal = added["is_leaf"] == 0
        added["left"][internal] += offset
        added["right"][internal] += offset
        self._values[offset:offset + n_new] = values
        self._roots[self._n_roots] = offset
        self._n_nodes = self._n_values = offset + n_new
        self._n_roots += 1

    def truncate(self, n_trees):
        """Keep the first ``n_trees`` trees."""
        if n_trees < self.n_trees:
            end = int(self.roots[n_trees])
            self._n_nodes = self._n_values = end
            self._n_roots = n_trees

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


def _with_room(array, used, extra):
    """``array`` if it has room for ``extra`` rows after its first ``used``, else a copy of
    those rows in an array of at least twice the length."""
    if used + extra <= array.shape[0]:
        return array
    grown = np.empty((max(used + extra, 2 * array.shape[0]),) + array.shape[1:],
                     dtype=array.dtype)
    grown[:used] = array[:used]
    return grown
