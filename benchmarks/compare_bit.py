"""Side-by-side timing of the BoostedInformationTree against scikit-learn and LightGBM.

    python benchmarks/compare_bit.py [--repeats 5] [--threads 2]

200 000 events x 10 features, 50 trees of depth 3, 255 bins, learning rate 0.2, the same
threads. The peers fit weighted least squares of each coefficient: one model for one term,
five models for five terms (they have no multi-output trees). Fitted from the raw float64
matrix (binning included); runs interleaved, medians reported.
"""
import argparse
import time

import numpy as np

from datasets import bit_events

from bpt import BoostedInformationTree

N_TREES, DEPTH, LEARNING_RATE, MIN_LEAF, MAX_BINS = 50, 3, 0.2, 50, 255


def fit_bit(X, t, w, threads):
    order = "linear" if t.shape[1] == 1 else "quadratic"
    return BoostedInformationTree(order, n_estimators=N_TREES, max_depth=DEPTH,
                                  learning_rate=LEARNING_RATE, min_samples_leaf=MIN_LEAF,
                                  max_bins=MAX_BINS, early_stopping=False,
                                  n_jobs=threads).fit(X, t, w)


def fit_lightgbm(X, t, w, threads):
    import lightgbm
    params = dict(objective="regression", num_leaves=2 ** DEPTH, max_depth=DEPTH,
                  learning_rate=LEARNING_RATE, min_data_in_leaf=MIN_LEAF, max_bin=MAX_BINS,
                  num_threads=threads, verbose=-1)
    return [lightgbm.train(params, lightgbm.Dataset(X, t[:, a], weight=w,
                                                    params={"max_bin": MAX_BINS, "verbose": -1}),
                           num_boost_round=N_TREES) for a in range(t.shape[1])]


def fit_sklearn(X, t, w, threads):
    from sklearn.ensemble import HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits
    with threadpool_limits(threads, user_api="openmp"):
        return [HistGradientBoostingRegressor(
            max_iter=N_TREES, max_depth=DEPTH, learning_rate=LEARNING_RATE, max_leaf_nodes=None,
            min_samples_leaf=MIN_LEAF, max_bins=MAX_BINS, early_stopping=False,
            l2_regularization=0.0).fit(X, t[:, a], sample_weight=w) for a in range(t.shape[1])]


def predict(name, model, X, threads):
    if name == "bit":
        return model.predict(X)
    if name == "lightgbm":
        return np.column_stack([m.predict(X, num_threads=threads) for m in model])
    from threadpoolctl import threadpool_limits
    with threadpool_limits(threads, user_api="openmp"):
        return np.column_stack([m.predict(X) for m in model])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    fits = {"bit": fit_bit, "sklearn": fit_sklearn}
    try:
        import lightgbm  # noqa: F401
        fits["lightgbm"] = fit_lightgbm
    except ImportError:
        print("lightgbm is not installed: skipped")

    for n_terms in (1, 5):
        X, t, w = bit_events(n_terms=n_terms)
        fit_times = {name: [] for name in fits}
        predict_times = {name: [] for name in fits}
        for _ in range(args.repeats):
            for name, fit in fits.items():
                tic = time.perf_counter()
                model = fit(X, t, w, args.threads)
                fit_times[name].append(time.perf_counter() - tic)
                tic = time.perf_counter()
                predict(name, model, X, args.threads)
                predict_times[name].append(time.perf_counter() - tic)
        fit_median = {name: np.median(v) for name, v in fit_times.items()}
        predict_median = {name: np.median(v) for name, v in predict_times.items()}
        print(f"\n{X.shape[0]} events x {X.shape[1]} features, {n_terms} term(s), {N_TREES} "
              f"trees, depth {DEPTH}, {args.threads} threads, median of {args.repeats}")
        print(f"{'':10s}{'fit [s]':>10s}{'fit / bit':>11s}{'predict [s]':>13s}{'predict / bit':>15s}")
        for name in fits:
            print(f"{name:10s}{fit_median[name]:10.3f}{fit_median[name] / fit_median['bit']:11.2f}"
                  f"{predict_median[name]:13.3f}"
                  f"{predict_median[name] / predict_median['bit']:15.2f}")
        fastest = min((name for name in fits if name != "bit"), key=fit_median.get)
        print(f"bit / fastest peer ({fastest}): fit "
              f"{fit_median['bit'] / fit_median[fastest]:.2f}"
              + (" (target <= 1.5)" if n_terms == 1 else ""))


if __name__ == "__main__":
    main()
