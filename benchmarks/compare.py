"""Side-by-side timing of bpt against LightGBM and scikit-learn on the same data shape.

    python benchmarks/compare.py [--repeats 5] [--threads 2]

Every estimator is fitted from the raw float64 feature matrix (binning included) with the
same rows, features, bins, depth, trees, learning rate and threads; the peers solve a
regression problem of the same shape. Runs are interleaved and the median is reported, so
that load on a shared machine affects all of them alike. Peak memory is the largest
allocation traced by tracemalloc during the fit (numpy buffers), over the size of the
float64 input.
"""
import argparse
import gc
import time
import tracemalloc

import numpy as np

from datasets import bpt_events

from bpt import BoostedParametricTree

N_TREES, DEPTH, LEARNING_RATE, MIN_LEAF, MAX_BINS = 100, 4, 0.2, 50, 255


def fit_bpt(X, nu, threads):
    return BoostedParametricTree("quadratic", n_estimators=N_TREES, max_depth=DEPTH,
                                 learning_rate=LEARNING_RATE, min_samples_leaf=MIN_LEAF,
                                 max_bins=MAX_BINS, early_stopping=False, random_state=0,
                                 n_jobs=threads).fit(X, nu)


def fit_lightgbm(X, y, threads):
    import lightgbm
    params = dict(objective="regression", num_leaves=2 ** DEPTH, max_depth=DEPTH,
                  learning_rate=LEARNING_RATE, min_data_in_leaf=MIN_LEAF, max_bin=MAX_BINS,
                  num_threads=threads, verbose=-1)
    return lightgbm.train(params, lightgbm.Dataset(X, y, params={"max_bin": MAX_BINS,
                                                                  "verbose": -1}),
                          num_boost_round=N_TREES)


def fit_sklearn(X, y, threads):
    from sklearn.ensemble import HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits
    with threadpool_limits(threads, user_api="openmp"):
        return HistGradientBoostingRegressor(
            max_iter=N_TREES, max_depth=DEPTH, learning_rate=LEARNING_RATE,
            min_samples_leaf=MIN_LEAF, max_bins=MAX_BINS, early_stopping=False,
            l2_regularization=0.0).fit(X, y)


def predictor(name, model, threads):
    if name == "lightgbm":
        return lambda X: model.predict(X, num_threads=threads)
    if name == "sklearn":
        from threadpoolctl import threadpool_limits

        def predict(X):
            with threadpool_limits(threads, user_api="openmp"):
                return model.predict(X)
        return predict
    return model.predict


def peak_memory(fit):
    gc.collect()
    tracemalloc.start()
    fit()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--n-per-point", type=int, default=100_000)
    args = parser.parse_args()

    X, nu, y = bpt_events(args.n_per_point)
    fits = {"bpt": lambda: fit_bpt(X, nu, args.threads)}
    for name, fit in (("lightgbm", fit_lightgbm), ("sklearn", fit_sklearn)):
        try:
            fit(X[:1000], y[:1000], 1)
            fits[name] = (lambda f: lambda: f(X, y, args.threads))(fit)
        except ImportError:
            print(f"{name} is not installed: skipped")

    fit_times = {name: [] for name in fits}
    predict_times = {name: [] for name in fits}
    for _ in range(args.repeats):
        for name, fit in fits.items():
            tic = time.perf_counter()
            model = fit()
            fit_times[name].append(time.perf_counter() - tic)
            predict = predictor(name, model, args.threads)
            tic = time.perf_counter()
            predict(X)
            predict_times[name].append(time.perf_counter() - tic)
    bpt_peak = peak_memory(fits["bpt"])

    n_points = nu.size // args.n_per_point
    print(f"\n{X.shape[0]} events x {X.shape[1]} features ({n_points} base points), "
          f"{N_TREES} trees, depth {DEPTH}, {MAX_BINS} bins, {args.threads} threads, "
          f"median of {args.repeats}")
    print(f"{'':10s}{'fit [s]':>10s}{'fit / bpt':>11s}{'predict [s]':>13s}"
          f"{'Mevents/s':>11s}{'predict / bpt':>15s}")
    fit_bpt_median = np.median(fit_times["bpt"])
    predict_bpt_median = np.median(predict_times["bpt"])
    for name in fits:
        fit_median, predict_median = np.median(fit_times[name]), np.median(predict_times[name])
        print(f"{name:10s}{fit_median:10.3f}{fit_median / fit_bpt_median:11.2f}"
              f"{predict_median:13.3f}{X.shape[0] / predict_median / 1e6:11.2f}"
              f"{predict_median / predict_bpt_median:15.2f}")
    if "lightgbm" in fits:
        print(f"\nbpt / LightGBM: fit {fit_bpt_median / np.median(fit_times['lightgbm']):.2f} "
              f"(target <= 2), predict "
              f"{predict_bpt_median / np.median(predict_times['lightgbm']):.2f} (target <= 1)")
    print(f"bpt peak traced memory during fit: {bpt_peak / 2**20:.0f} MiB = "
          f"{bpt_peak / X.nbytes:.2f} x the float64 input (target < 3)")


if __name__ == "__main__":
    main()
