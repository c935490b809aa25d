"""BoostedParametricTree vs the HistFactory code-4 interpolation on a toy where the latter fails.

The toy (``bpt.toys.coupled_nuisances``) has two nuisances whose effects do not factorize
(a nu0*nu1 cross term in log r) and a cubic dependence on nu0 that vanishes at nu0 = 0, +-1,
so the +-1 variations do not see it. Three surrogates are compared with the analytic
log r on held-out nominal events over a grid of nu:

- the BPT, cubic parametrization, fitted on all 13 base points (axis points at +-0.5, +-1
  and the four mixed corners);
- the code-4 interpolation (FactorizedInterpolation) built from one BPT per nuisance
  fitted on the points {0, +-1} of that nuisance only;
- the code-4 interpolation of the exact +-1 ratios, which isolates what interpolation and
  factorization cost from what estimating the variations costs.

Both validation checks are then run on held-out samples at a few base points.

    python examples/compare_surrogates.py [--n-per-point 50000]

``build_comparison`` returns the toy, the held-out samples and the fitted surrogates, so
that further columns (e.g. the interval on a parameter of interest) can reuse them.
"""
import argparse
import time
from types import SimpleNamespace

import numpy as np

from bpt import (BoostedParametricTree, FactorizedInterpolation, classifier_two_sample_test,
                 closure_test, toys)

GRID = np.linspace(-1.5, 1.5, 13)          # step 0.25 in each nuisance
SHOWN_POINTS = [(0.5, 0), (-0.5, 0), (0, 0.5), (1, 0), (1, 1), (-1, 1), (0.5, 0.5),
                (-0.5, 0.75), (1.5, 0), (0, 1.5), (1.5, 1.5)]
VALIDATION_POINTS = [(1, 0), (0.5, 0), (1, 1)]


def build_comparison(n_per_point=50_000, n_test=20_000, random_state=0, verbose=True):
    """Fit the three surrogates of the comparison.

    Returns
    -------
    SimpleNamespace
        ``toy`` (training sample), ``test`` (held-out sample at the same base points,
        ``n_test`` events per point), ``surrogates`` (dict name -> object with
        ``predict_log_ratio``) and ``fit_seconds`` (dict name -> fit time).
    """
    train = toys.coupled_nuisances(n_per_point, random_state=random_state)
    test = toys.coupled_nuisances(n_test, random_state=random_state + 1000)
    surrogates, seconds = {}, {}

    tic = time.perf_counter()
    bpt = BoostedParametricTree("cubic", n_estimators=300, learning_rate=0.2, max_depth=3,
                                min_samples_leaf=500, random_state=random_state)
    surrogates["BPT (cubic, 13 points)"] = bpt.fit(train.X, train.target, train.weights)
    seconds["BPT (cubic, 13 points)"] = time.perf_counter() - tic

    tic = time.perf_counter()
    per_nuisance = BoostedParametricTree("quadratic", n_estimators=300, learning_rate=0.2,
                                         max_depth=3, min_samples_leaf=500,
                                         random_state=random_state)
    code4 = FactorizedInterpolation(per_nuisance).fit(train.X, train.target, train.weights)
    surrogates["code 4 (BPT at +-1)"] = code4
    seconds["code 4 (BPT at +-1)"] = time.perf_counter() - tic

    exact = [(_TrueAt(train, (1, 0)), _TrueAt(train, (-1, 0))),
             (_TrueAt(train, (0, 1)), _TrueAt(train, (0, -1)))]
    surrogates["code 4 (exact +-1)"] = FactorizedInterpolation.from_variations(exact)
    seconds["code 4 (exact +-1)"] = 0.0
    if verbose:
        print(f"training: {train.X.shape[0]} events at {len(train.base_points)} base points "
              f"({n_per_point} each); test: {n_test} per point")
        print(f"BPT: {bpt.n_iter_} trees; code 4: {[m.n_iter_ for m in code4.estimators_]} "
              "trees per nuisance (points 0, +-1 only)")
    return SimpleNamespace(toy=train, test=test, surrogates=surrogates, fit_seconds=seconds)


class _TrueAt:
    """The toy's true log r at a fixed point, as a per-event function."""

    def __init__(self, toy, point):
        self.toy, self.point = toy, point

    def __call__(self, X):
        return self.toy.log_ratio(X, self.point)


def rms_errors(surrogate, toy, X, points):
    """RMS over events of (predicted - true) log r, at every point: shape (len(points),)."""
    points = np.asarray(points, dtype=np.float64)
    predicted = surrogate.predict_log_ratio(X, points)
    truth = np.column_stack([toy.log_ratio(X, p) for p in points])
    return np.sqrt(np.mean((predicted - truth) ** 2, axis=0))


def print_rms_table(comparison):
    test = comparison.test
    nominal = test.X[(test.target == 0).all(axis=1)]
    grid = np.array([(a, b) for a in GRID for b in GRID])
    size = np.abs(grid).max(axis=1)
    regions = {"|nu| < 1 (interior)": size < 1, "max|nu| = 1": size == 1,
               "max|nu| > 1 (beyond)": size > 1, f"all {len(grid)} grid points": size >= 0}
    names = list(comparison.surrogates)
    truth_rms = np.sqrt(np.mean(np.column_stack([test.log_ratio(nominal, p) for p in grid]) ** 2,
                                axis=0))
    errors = {name: rms_errors(s, test, nominal, grid) for name, s in
              comparison.surrogates.items()}
    width = max(len(n) for n in names) + 2
    header = f"{'nu':>16s}{'RMS true':>10s}" + "".join(f"{n:>{width}s}" for n in names)
    print(f"\nRMS error of log r on {nominal.shape[0]} held-out nominal events")
    print(header)
    for point in SHOWN_POINTS:
        j = int(np.flatnonzero((grid == point).all(axis=1))[0])
        print(f"{str(point):>16s}{truth_rms[j]:10.4f}"
              + "".join(f"{errors[n][j]:{width}.4f}" for n in names))
    print(f"\nRMS over grid points (grid {GRID[0]:g}..{GRID[-1]:g} step {GRID[1] - GRID[0]:g} "
          "in each nuisance) of the per-point RMS error")
    print(f"{'region':>26s}" + "".join(f"{n:>{width}s}" for n in names))
    for region, mask in regions.items():
        print(f"{region:>26s}" + "".join(f"{np.sqrt(np.mean(errors[n][mask] ** 2)):{width}.4f}"
                                         for n in names))
    return errors


def print_validation(comparison, random_state=0):
    test = comparison.test
    print(f"\nvalidation on held-out samples at {VALIDATION_POINTS}")
    for name, surrogate in comparison.surrogates.items():
        closure = closure_test(surrogate, test.X, test.target, test.weights,
                               points=VALIDATION_POINTS, features=[0, 1])
        two_sample = classifier_two_sample_test(surrogate, test.X, test.target, test.weights,
                                                points=VALIDATION_POINTS,
                                                random_state=random_state)
        print(f"\n[{name}]")
        print(closure)
        print(two_sample)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-per-point", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    comparison = build_comparison(args.n_per_point, random_state=args.seed)
    print("fit time [s]: " + ", ".join(f"{n} {t:.1f}" for n, t in
                                       comparison.fit_seconds.items()))
    print_rms_table(comparison)
    print_validation(comparison, random_state=args.seed)


if __name__ == "__main__":
    main()
