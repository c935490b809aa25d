"""The flat tree storage: appends with room to grow, truncation, pickling."""
import pickle

import numpy as np

from bpt import BoostedParametricTree, toys
from bpt._core._common import NODE_DTYPE
from bpt._ensemble import TreeEnsemble


def random_tree(rng, n_internal, n_values):
    """Nodes of a complete-ish tree with relative child indices, and random values."""
    n_nodes = 2 * n_internal + 1
    nodes = np.zeros(n_nodes, dtype=NODE_DTYPE)
    nodes["is_leaf"][n_internal:] = 1
    nodes["left"][:n_internal] = np.arange(1, 2 * n_internal, 2)
    nodes["right"][:n_internal] = np.arange(2, 2 * n_internal + 1, 2)
    nodes["feature_idx"][:n_internal] = rng.integers(0, 3, n_internal)
    nodes["threshold"][:n_internal] = rng.normal(size=n_internal)
    return nodes, rng.normal(size=(n_nodes, n_values))


def test_appended_trees_match_concatenation():
    rng = np.random.default_rng(4)
    ensemble = TreeEnsemble(np.zeros(2))
    all_nodes, all_values, roots = [], [], []
    offset = 0
    for size in rng.integers(0, 9, 40):  # growing past several capacities
        nodes, values = random_tree(rng, int(size), 2)
        ensemble.append(nodes, values)
        shifted = nodes.copy()
        internal = shifted["is_leaf"] == 0
        shifted["left"][internal] += offset
        shifted["right"][internal] += offset
        all_nodes.append(shifted)
        all_values.append(values)
        roots.append(offset)
        offset += nodes.size
    assert ensemble.nodes.tobytes() == np.concatenate(all_nodes).tobytes()
    assert np.array_equal(ensemble.values, np.concatenate(all_values))
    assert np.array_equal(ensemble.roots, roots) and ensemble.n_trees == 40
    for index in (0, 17, 39):
        nodes, values = ensemble.tree(index)
        start = roots[index]
        assert np.array_equal(values, all_values[index])
        assert np.array_equal(nodes["left"], all_nodes[index]["left"]
                              - np.where(all_nodes[index]["is_leaf"] == 0, start, 0))
    ensemble.truncate(10)
    assert ensemble.n_trees == 10 and ensemble.nodes.size == roots[10]
    assert ensemble.values.shape == (roots[10], 2)
    # After truncation, appends continue from the kept trees.
    nodes, values = random_tree(rng, 3, 2)
    ensemble.append(nodes, values)
    assert ensemble.n_trees == 11 and ensemble.roots[-1] == roots[10]
    assert ensemble.nodes["left"][roots[10]] == roots[10] + 1


def test_pickle_keeps_the_trees_not_the_room_to_grow():
    toy = toys.sine_shape(3000, random_state=1)
    model = BoostedParametricTree(n_estimators=7, max_depth=3, random_state=0,
                                  early_stopping=False).fit(toy.X, toy.target, toy.weights)
    ensemble = model._ensemble
    assert ensemble._nodes.shape[0] >= ensemble.nodes.shape[0]
    copy = pickle.loads(pickle.dumps(model))
    assert copy._ensemble._nodes.shape == ensemble.nodes.shape
    assert np.array_equal(copy.predict(toy.X), model.predict(toy.X))
    # A pickle from before the storage had room to grow: plain arrays in the state.
    old = TreeEnsemble.__new__(TreeEnsemble)
    old.__setstate__({"baseline": ensemble.baseline, "nodes": ensemble.nodes.copy(),
                      "values": ensemble.values.copy(), "roots": ensemble.roots.copy()})
    assert old.n_trees == 7
    assert np.array_equal(old.predict(toy.X, 1), ensemble.predict(toy.X, 1))
