"""Prediction throughput of the export paths on the same fitted model and events.

    python benchmarks/export_throughput.py [--repeats 5] [--threads 2] [--events 1000000]

A BoostedParametricTree (100 trees of depth 4, quadratic in one parameter: 2 terms) is
fitted as in compare.py, then the coefficients Delta(x) of 1M events x 10 features are
computed by bpt's compiled predictor, ONNX Runtime (TreeEnsemble, double precision; and the
float32 TreeEnsembleRegressor) and the standalone NumPy evaluator. Runs are interleaved and
the median is reported; every path is checked against bpt's prediction first.
"""
import argparse
import os
import tempfile
import time

import numpy as np

from compare import fit_bpt
from datasets import bpt_events

import bpt
from bpt.export import evaluator


def onnx_predictor(model, threads, tree_op):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(bpt.to_onnx(model, tree_op=tree_op)
                                           .SerializeToString(), options,
                                           providers=["CPUExecutionProvider"])
    point = np.zeros((1, model.parametrization_.n_params))
    return lambda X: session.run(["coefficients"], {"X": X, "nu": point})[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()

    X_train, nu, _ = bpt_events(n_per_point=100_000)
    model = fit_bpt(X_train, nu, args.threads)
    X = bpt_events(n_per_point=args.events // 5, random_state=1)[0]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.json")
        bpt.save(model, path)
        size = os.path.getsize(path)
        reader = evaluator.load(path)
    print(f"model: {model.n_iter_} trees, {model._ensemble.nodes.size} nodes, "
          f"{model.parametrization_.n_terms} terms; JSON file {size / 1024:.0f} KiB; "
          f"{X.shape[0]} events x {X.shape[1]} features, {args.threads} threads")

    paths = {"bpt (compiled)": model.predict,
             "ONNX Runtime, TreeEnsemble": onnx_predictor(model, args.threads,
                                                          "TreeEnsemble"),
             "ONNX Runtime, TreeEnsembleRegressor": onnx_predictor(model, args.threads,
                                                                   "TreeEnsembleRegressor"),
             "NumPy evaluator": reader.predict}
    expected = model.predict(X)
    for name, predict in paths.items():
        error = np.max(np.abs(predict(X) - expected) / np.maximum(np.abs(expected), 1e-300))
        print(f"  {name}: max relative difference to bpt {error:.1e}")

    times = {name: [] for name in paths}
    for _ in range(args.repeats):
        for name, predict in paths.items():
            tic = time.perf_counter()
            predict(X)
            times[name].append(time.perf_counter() - tic)

    reference = np.median(times["bpt (compiled)"])
    print(f"\n| path | predict {X.shape[0] / 1e6:g}M [s] | M events/s | time / bpt |")
    print("|---|---:|---:|---:|")
    for name, values in times.items():
        median = np.median(values)
        print(f"| {name} | {median:.3f} | {X.shape[0] / median / 1e6:.2f} | "
              f"{median / reference:.2f} |")


if __name__ == "__main__":
    main()
