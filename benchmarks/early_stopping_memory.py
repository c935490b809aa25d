"""Peak memory of a BoostedParametricTree fit with early stopping, relative to the input.

    python benchmarks/early_stopping_memory.py [--events 5000000] [--features 20]

The events are binned once, in the order of the train/validation split, so neither part
of X is copied, and the per-event statistics move into the two parts (the whole set's are
released); tracemalloc traces the numpy allocations of the fit (X itself excluded).
"""
import argparse
import tracemalloc

import numpy as np

from bpt import BoostedParametricTree


def peak_fraction(n_events, n_features, n_estimators=2):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_events, n_features))
    nu = rng.integers(-2, 3, size=n_events).astype(np.float64)
    model = BoostedParametricTree("quadratic", n_estimators=n_estimators, max_depth=3,
                                  early_stopping=True, random_state=0, n_jobs=1)
    tracemalloc.start()
    model.fit(X, nu)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / X.nbytes, X.nbytes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--features", type=int, default=20)
    args = parser.parse_args()
    fraction, nbytes = peak_fraction(args.events, args.features)
    print(f"input {nbytes / 2**20:.0f} MiB ({args.events} x {args.features} float64); "
          f"peak traced during the fit with early stopping: {fraction:.2f} x the input")


if __name__ == "__main__":
    main()
