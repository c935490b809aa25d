"""ONNX export of a fitted BPT or BIT: the tree ensemble and the ratio at parameter points.

The graph has two inputs, the features ``X`` (N, F) and the parameter points ``nu`` (BPT) or
``theta`` (BIT), shape (M, P), and these outputs:

- ``coefficients`` (N, T): Delta_A(x) or t_A(x), as ``predict``;
- ``log_ratio`` (N, M), BPT only: ``coefficients @ m(nu).T``, as ``predict_log_ratio``;
- ``ratio`` (N, M): ``exp(log_ratio)`` (BPT) or ``1 + coefficients @ m(theta).T`` (BIT).

The trees are an ``ai.onnx.ml`` ``TreeEnsemble`` (opset 5) in double precision; as that
operator gives every leaf a single target, each tree appears once per term, its leaves
carrying that term's value. The older ``TreeEnsembleRegressor`` (opset 3), for runtimes
without opset 5, keeps double thresholds but sums the trees in float32 (an error of about
1e-7 of the summed magnitudes of the leaf values). The term values are
``prod_p nu_p ** e_Ap`` (Pow, ReduceProd).

onnx is imported only when a graph is built; install it with ``pip install "bpt[export]"``.
"""
import os

import numpy as np

from .evaluator import Model

TREE_OPS = ("TreeEnsemble", "TreeEnsembleRegressor")
# Default-domain opset: ReduceProd still takes its axes as an attribute, which keeps the
# graph readable by older runtimes.
DEFAULT_OPSET = 17


def _import_onnx():
    try:
        import onnx
    except ImportError as exc:
        raise ImportError("ONNX export needs the onnx package: pip install \"bpt[export]\" "
                          "(onnx and onnxruntime)") from exc
    return onnx


def _as_reader(model):
    """The evaluator's Model for a fitted estimator, a Model, or a model-file path."""
    if isinstance(model, Model):
        return model
    if isinstance(model, (str, os.PathLike)):
        from .evaluator import load
        return load(model)
    from .format import to_document
    return Model(to_document(model))


def to_onnx(model, path=None, *, tree_op="TreeEnsemble", float_input=False,
            opset=DEFAULT_OPSET):
    """Export a fitted BoostedParametricTree or BoostedInformationTree to ONNX.

    Parameters
    ----------
    model : BoostedParametricTree, BoostedInformationTree, evaluator Model or path
        A fitted estimator, or a model file written by :func:`bpt.save`.
    path : str or path-like, optional
        Where to write the ``.onnx`` file.
    tree_op : {"TreeEnsemble", "TreeEnsembleRegressor"}, default="TreeEnsemble"
        ``"TreeEnsemble"`` (``ai.onnx.ml`` opset 5): double precision throughout, agrees
        with ``predict`` to rounding. ``"TreeEnsembleRegressor"`` (opset 3) for runtimes
        without opset 5: the tree sums come out as float32.
    float_input : bool, default=False
        Declare ``X`` as float32 (cast exactly to double inside the graph) instead of
        float64.
    opset : int, default=17
        Opset of the default ONNX domain, at least 13.

    Returns
    -------
    onnx.ModelProto

    Notes
    -----
    Inputs: ``X`` (N, n_features) with NaN for missing values, and ``nu`` (BPT) or
    ``theta`` (BIT) of shape (M, n_params), one parameter point per row. Outputs:
    ``coefficients`` (N, n_terms), ``log_ratio`` (N, M; BPT only) and ``ratio`` (N, M).
    """
    onnx = _import_onnx()
    from onnx import TensorProto, helper, numpy_helper

    if tree_op not in TREE_OPS:
        raise ValueError(f"tree_op must be one of {TREE_OPS}, got {tree_op!r}")
    if opset < 13:
        raise ValueError(f"opset must be at least 13 (Unsqueeze with axes as input), got "
                         f"{opset}")
    reader = _as_reader(model)
    parametric = reader.estimator == "BoostedParametricTree"
    point_name = "nu" if parametric else "theta"
    n_terms = reader.n_terms
    nodes, initializers = [], []

    def constant(name, array):
        initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    features = "X"
    if float_input:
        nodes.append(helper.make_node("Cast", ["X"], ["X_double"], to=TensorProto.DOUBLE))
        features = "X_double"
    if tree_op == "TreeEnsemble":
        nodes.append(_tree_ensemble(reader, features, "tree_sum", helper, numpy_helper))
        ml_opset = 5
    else:
        nodes.append(_tree_ensemble_regressor(reader, features, "tree_sum_float", helper,
                                              numpy_helper))
        nodes.append(helper.make_node("Cast", ["tree_sum_float"], ["tree_sum"],
                                      to=TensorProto.DOUBLE))
        ml_opset = 3
    nodes.append(helper.make_node("Add", ["tree_sum", constant("baseline", reader.baseline)],
                                  ["coefficients"]))

    # m(point)[j, A] = prod_p point[j, p] ** exponents[A, p], built directly as the (T, M)
    # matrix: a Transpose just before the MatMul would be fused by ONNX Runtime into an
    # operator that older releases implement for float only.
    nodes.append(helper.make_node("Transpose", [point_name], ["point_t"], perm=[1, 0]))
    nodes.append(helper.make_node("Unsqueeze", ["point_t", constant("axis_0", np.array([0]))],
                                  ["point_3d"]))
    nodes.append(helper.make_node("Pow", ["point_3d", constant(
        "exponents", reader.exponents.astype(np.float64)[:, :, None])], ["powers"]))
    if opset >= 18:
        nodes.append(helper.make_node("ReduceProd", ["powers", constant("axis_1", np.array([1]))],
                                      ["terms_t"], keepdims=0))
    else:
        nodes.append(helper.make_node("ReduceProd", ["powers"], ["terms_t"], axes=[1],
                                      keepdims=0))
    nodes.append(helper.make_node("MatMul", ["coefficients", "terms_t"], ["dot"]))
    outputs = [helper.make_tensor_value_info("coefficients", TensorProto.DOUBLE,
                                             ["N", n_terms])]
    if parametric:
        nodes.append(helper.make_node("Identity", ["dot"], ["log_ratio"]))
        nodes.append(helper.make_node("Exp", ["dot"], ["ratio"]))
        outputs.append(helper.make_tensor_value_info("log_ratio", TensorProto.DOUBLE,
                                                     ["N", "M"]))
    else:
        nodes.append(helper.make_node("Add", ["dot", constant("one", np.array(1.0))],
                                      ["ratio"]))
    outputs.append(helper.make_tensor_value_info("ratio", TensorProto.DOUBLE, ["N", "M"]))

    inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT if float_input
                                            else TensorProto.DOUBLE, ["N", reader.n_features]),
              helper.make_tensor_value_info(point_name, TensorProto.DOUBLE,
                                            ["M", reader.n_params])]
    graph = helper.make_graph(nodes, reader.estimator, inputs, outputs, initializers)
    opsets = [helper.make_opsetid("", opset), helper.make_opsetid("ai.onnx.ml", ml_opset)]
    onnx_model = helper.make_model(graph, opset_imports=opsets, producer_name="bpt",
                                   ir_version=helper.find_min_ir_version_for(opsets))
    metadata = {"bpt_estimator": reader.estimator,
                "parameters": ",".join(reader.param_names),
                "terms": ",".join(reader.term_names)}
    if reader.feature_names is not None:
        metadata["features"] = ",".join(reader.feature_names)
    helper.set_model_props(onnx_model, metadata)
    onnx.checker.check_model(onnx_model)
    if path is not None:
        onnx.save(onnx_model, path)
    return onnx_model


def _internal_and_leaves(reader):
    """Internal nodes and leaves of every tree, with a stand-in split for one-leaf trees.

    Returns the arrays (feature, threshold, missing_left, true_child, false_child,
    true_is_leaf, false_is_leaf) over the internal nodes, the root position of each tree,
    and the original node index of each leaf.
    """
    is_leaf = reader.is_leaf
    internal = np.flatnonzero(~is_leaf)
    leaves = np.flatnonzero(is_leaf)
    position = np.full(is_leaf.size, -1, dtype=np.int64)
    position[internal] = np.arange(internal.size)
    position[leaves] = np.arange(leaves.size)
    left, right = reader.left[internal], reader.right[internal]
    columns = [reader.feature[internal], reader.threshold[internal],
               reader.missing_go_to_left[internal].astype(np.int64),
               position[left], position[right],
               is_leaf[left].astype(np.int64), is_leaf[right].astype(np.int64)]
    roots = position[reader.roots].copy()
    # A tree that is a single leaf: a split whose branches reach that leaf and a copy of it
    # (ONNX Runtime 1.21 and 1.22 miscount a leaf that both branches share).
    for t in np.flatnonzero(is_leaf[reader.roots]):
        leaf = position[reader.roots[t]]
        copy = leaves.size
        leaves = np.append(leaves, reader.roots[t])
        columns = [np.append(c, v) for c, v in zip(columns, (0, 0.0, 0, leaf, copy, 1, 1))]
        roots[t] = columns[0].size - 1
    return columns, roots, leaves


def _tree_ensemble(reader, features, output, helper, numpy_helper):
    """ai.onnx.ml TreeEnsemble (opset 5): each tree once per term, in double precision."""
    (feature, threshold, missing_left, true_child, false_child, true_leaf,
     false_leaf), roots, leaves = _internal_and_leaves(reader)
    n_internal, n_leaves, n_terms = feature.size, leaves.size, reader.n_terms

    def per_term(child, child_is_leaf):
        # Copy A of the ensemble: internal nodes shifted by A * n_internal, leaves by
        # A * n_leaves.
        shift = np.where(child_is_leaf == 1, n_leaves, n_internal)
        return np.concatenate([child + a * shift for a in range(n_terms)])

    def tiled(array):
        return np.tile(array, n_terms)

    return helper.make_node(
        "TreeEnsemble", [features], [output], domain="ai.onnx.ml",
        n_targets=n_terms, aggregate_function=1, post_transform=0,
        tree_roots=np.concatenate([roots + a * n_internal for a in range(n_terms)]).tolist(),
        nodes_featureids=tiled(feature).tolist(),
        nodes_modes=numpy_helper.from_array(np.zeros(n_internal * n_terms, dtype=np.uint8)),
        nodes_splits=numpy_helper.from_array(tiled(threshold).astype(np.float64)),
        nodes_truenodeids=per_term(true_child, true_leaf).tolist(),
        nodes_trueleafs=tiled(true_leaf).tolist(),
        nodes_falsenodeids=per_term(false_child, false_leaf).tolist(),
        nodes_falseleafs=tiled(false_leaf).tolist(),
        nodes_missing_value_tracks_true=tiled(missing_left).tolist(),
        leaf_targetids=np.repeat(np.arange(n_terms), n_leaves).tolist(),
        leaf_weights=numpy_helper.from_array(
            np.ascontiguousarray(reader.values[leaves].T).ravel()))


def _tree_ensemble_regressor(reader, features, output, helper, numpy_helper):
    """ai.onnx.ml TreeEnsembleRegressor (opset 3): one vote per term at every leaf."""
    tree_of = np.empty(reader.is_leaf.size, dtype=np.int64)
    node_id = np.empty(reader.is_leaf.size, dtype=np.int64)
    ends = np.append(reader.roots[1:], reader.is_leaf.size)
    if (np.diff(reader.roots) <= 0).any() or (reader.roots.size and reader.roots[0] != 0):
        raise ValueError("TreeEnsembleRegressor export needs the trees stored one after "
                         "another, each starting at its root")
    for t, (start, end) in enumerate(zip(reader.roots, ends)):
        tree_of[start:end] = t
        node_id[start:end] = np.arange(end - start)
    is_leaf = reader.is_leaf
    internal = ~is_leaf
    for child in (reader.left, reader.right):
        if (tree_of[child[internal]] != tree_of[internal]).any():
            raise ValueError("TreeEnsembleRegressor export needs every node's children in "
                             "its own tree")
    # Node ids count from 0 within each tree; a leaf's children are unused.
    true_ids = np.where(is_leaf, 0, node_id[np.where(is_leaf, 0, reader.left)])
    false_ids = np.where(is_leaf, 0, node_id[np.where(is_leaf, 0, reader.right)])
    leaves = np.flatnonzero(is_leaf)
    n_terms = reader.n_terms
    return helper.make_node(
        "TreeEnsembleRegressor", [features], [output], domain="ai.onnx.ml",
        n_targets=n_terms, aggregate_function="SUM", post_transform="NONE",
        nodes_treeids=tree_of.tolist(), nodes_nodeids=node_id.tolist(),
        nodes_featureids=np.where(is_leaf, 0, reader.feature).tolist(),
        nodes_modes=["LEAF" if leaf else "BRANCH_LEQ" for leaf in is_leaf],
        nodes_values_as_tensor=numpy_helper.from_array(
            np.where(is_leaf, 0.0, reader.threshold).astype(np.float64)),
        nodes_truenodeids=true_ids.tolist(), nodes_falsenodeids=false_ids.tolist(),
        nodes_missing_value_tracks_true=reader.missing_go_to_left.astype(np.int64).tolist(),
        target_treeids=np.repeat(tree_of[leaves], n_terms).tolist(),
        target_nodeids=np.repeat(node_id[leaves], n_terms).tolist(),
        target_ids=np.tile(np.arange(n_terms), leaves.size).tolist(),
        target_weights_as_tensor=numpy_helper.from_array(reader.values[leaves].ravel()))
