"""Treelite export: the tree ensemble as a Treelite model, to compile into C with TL2cgen.

Treelite is a model-exchange format for tree ensembles; TL2cgen turns a Treelite model into
dependency-free C code (a shared library, or sources to build into a C++ framework). The
model has one target per term and returns the coefficients Delta_A(x) or t_A(x), with the
same double-precision thresholds, NaN routing and baseline as ``predict``; the ratio
``m(nu) . Delta`` is left to the caller (see ``parametrization`` in the model file).

treelite and tl2cgen are imported only here; install them with ``pip install "bpt[export]"``.
"""
import os

from .._threads import effective_n_threads, openmp_max_threads
from .onnx import _as_reader


def _import_treelite():
    try:
        import treelite
        from treelite import model_builder
    except ImportError as exc:
        raise ImportError("Treelite export needs the treelite package: pip install "
                          "\"bpt[export]\" (for compiled C, tl2cgen as well)") from exc
    return treelite, model_builder


def to_treelite(model):
    """The tree ensemble of a fitted BPT or BIT as a Treelite model.

    Parameters
    ----------
    model : BoostedParametricTree, BoostedInformationTree, evaluator Model or path
        A fitted estimator, or a model file written by :func:`bpt.save`.

    Returns
    -------
    treelite.Model
        A regressor with ``n_terms`` targets: its prediction, shape (n_samples, n_terms, 1),
        is the ``predict`` output of the model. Compile it with
        ``tl2cgen.export_lib(tl_model, toolchain="gcc", libpath="model.so")``, or write C
        sources with ``tl2cgen.generate_c_code``.
    """
    _, builder_module = _import_treelite()
    reader = _as_reader(model)
    n_terms, n_trees = reader.n_terms, reader.n_trees
    builder = builder_module.ModelBuilder(
        threshold_type="float64", leaf_output_type="float64",
        metadata=builder_module.Metadata(
            num_feature=reader.n_features, task_type="kRegressor", average_tree_output=False,
            num_target=n_terms, num_class=[1] * n_terms, leaf_vector_shape=(n_terms, 1)),
        # target -1: every tree contributes a vector to all targets.
        tree_annotation=builder_module.TreeAnnotation(num_tree=n_trees,
                                                      target_id=[-1] * n_trees,
                                                      class_id=[-1] * n_trees),
        postprocessor=builder_module.PostProcessorFunc(name="identity"),
        base_scores=[float(v) for v in reader.baseline])
    for root in reader.roots:
        # Node keys are the node indices of the file; a tree's nodes are those reachable
        # from its root.
        builder.start_tree()
        stack = [int(root)]
        while stack:
            node = stack.pop()
            builder.start_node(node)
            if reader.is_leaf[node]:
                builder.leaf([float(v) for v in reader.values[node]])
            else:
                left, right = int(reader.left[node]), int(reader.right[node])
                builder.numerical_test(int(reader.feature[node]), float(reader.threshold[node]),
                                       default_left=bool(reader.missing_go_to_left[node]),
                                       opname="<=", left_child_key=left,
                                       right_child_key=right)
                stack.extend((right, left))
            builder.end_node()
        builder.end_tree()
    return builder.commit()


def compile_treelite(model, libpath, *, toolchain="gcc", n_threads=None):
    """Compile a fitted BPT or BIT into a shared library with TL2cgen.

    Parameters
    ----------
    model : BoostedParametricTree, BoostedInformationTree, evaluator Model, path or \
treelite.Model
    libpath : str or path-like
        The shared library to write (``.so`` on Linux).
    toolchain : str, default="gcc"
        C compiler used by TL2cgen.
    n_threads : int, optional
        Threads of the compiler and of the returned predictor, capped as the estimators'
        ``n_jobs`` are (to the CPUs available and OpenMP's limit): TL2cgen refuses more
        threads than OpenMP allows.

    Returns
    -------
    tl2cgen.Predictor
        ``predictor.predict(tl2cgen.DMatrix(X, dtype="float64"))`` returns the
        coefficients, shape (n_samples, n_terms, 1).
    """
    treelite, _ = _import_treelite()
    try:
        import tl2cgen
    except ImportError as exc:
        raise ImportError("compiling needs the tl2cgen package: pip install "
                          "\"bpt[export]\"") from exc
    tl_model = model if isinstance(model, treelite.Model) else to_treelite(model)
    if n_threads is not None:
        n_threads = max(1, min(effective_n_threads(n_threads), openmp_max_threads()))
    # Several translation units: compiling hundreds of trees as one file is slow.
    tl2cgen.export_lib(tl_model, toolchain=toolchain, libpath=os.fspath(libpath),
                       params={"parallel_comp": max(1, min(8, tl_model.num_tree // 25))},
                       nthread=n_threads)
    return tl2cgen.Predictor(os.fspath(libpath), nthread=n_threads)
