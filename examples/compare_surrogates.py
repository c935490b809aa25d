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

Both validation checks are then run on held-out samples at a few base points. Finally each
surrogate models a background under a signal of strength mu in an unbinned likelihood, on
Asimov data generated with the true ratio at an interior point of the nuisances: the best
fit and 68% interval on mu, against those of the exact ratio.

    python examples/compare_surrogates.py [--n-per-point 50000]

``build_comparison`` returns the toy, the held-out samples and the fitted surrogates, so
that further columns (e.g. the interval on a parameter of interest) can reuse them.
"""
import argparse
import time
from types import SimpleNamespace

import numpy as np

from bpt import (BoostedParametricTree, FactorizedInterpolation, classifier_two_sample_test,
                 closure_test, code4_log_factor, toys)
from bpt.likelihood import (POI, Dataset, LogRatioSystematic, Model, Nuisance, Process, Scale,
                            Systematic, UnbinnedRegion, WeightedSimulation)
from bpt.parametrization import nominal_points

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
    nominal = test.X[nominal_points(test.target)]
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


SIGNAL_YIELD, BACKGROUND_YIELD = 300.0, 3000.0


class _CachedInterpolation:
    """A FactorizedInterpolation on fixed events: its +-1 variations evaluated once."""

    def __init__(self, interpolation, X):
        self.interpolation, self.X = interpolation, X
        self.log_up, self.log_down = interpolation.log_variations(X)

    def predict_log_ratio(self, X, nu):
        if X is not self.X:
            return self.interpolation.predict_log_ratio(X, nu)
        nu = np.ravel(nu)
        return sum(code4_log_factor(nu[p:p + 1], self.log_up[:, p], self.log_down[:, p],
                                    self.interpolation.alpha0)[:, 0] for p in range(nu.size))


class _Truth:
    """The toy's exact log ratio in the predict_log_ratio interface."""

    def __init__(self, toy):
        self.toy = toy

    def predict_log_ratio(self, X, nu):
        return self.toy.log_ratio(X, np.ravel(nu))


def poi_intervals(comparison, truth=(0.5, 0.5), n_events=100_000, random_state=0):
    """Best fit and 68% interval on mu with each surrogate modelling the background.

    Signal: density (1 + x0)/4 on [-1, 1]^2, yield 300, rate mu. Background: the toy's
    nominal (uniform) events, yield 3000, shaped by the two nuisances. The fractions g_p(x)
    are exact. Asimov data: the simulated events weighted with the true ratio at mu = 1 and
    nu = ``truth`` (global observables at ``truth`` too).
    """
    rng = np.random.default_rng(random_state)
    noise = comparison.toy.X.shape[1] - 2
    background = rng.uniform(-1, 1, size=(n_events, 2))
    # x0 with density (1 + x0)/2 on [-1, 1] by inversion.
    signal = np.column_stack([2 * np.sqrt(rng.random(n_events)) - 1, rng.uniform(-1, 1, n_events)])
    background, signal = (np.hstack([x, rng.normal(size=(n_events, noise))])
                          for x in (background, signal))
    w_s, w_b = np.full(n_events, SIGNAL_YIELD / n_events), np.full(n_events, BACKGROUND_YIELD / n_events)

    def fractions(X):
        s = SIGNAL_YIELD * (1 + X[:, 0])
        return np.column_stack([s, np.full(len(X), BACKGROUND_YIELD)]) / (s + BACKGROUND_YIELD)[:, None]

    # Asimov weights: each simulated event times the true model ratio R(x) at its x.
    events = np.vstack([signal, background])
    g = fractions(events)
    mixture = g[:, 0] + g[:, 1] * np.exp(comparison.toy.log_ratio(events, truth))
    data_weights = np.concatenate([w_s, w_b]) * mixture
    parameters = [POI("mu", 1.0, bounds=(-2, 5)), Nuisance("nu0"), Nuisance("nu1")]
    shapes = {"exact ratio": LogRatioSystematic(_Truth(comparison.toy), ["nu0", "nu1"])}
    for name, surrogate in comparison.surrogates.items():
        if isinstance(surrogate, BoostedParametricTree):
            shapes[name] = Systematic(surrogate, ["nu0", "nu1"])
        else:
            shapes[name] = LogRatioSystematic(_CachedInterpolation(surrogate, background),
                                              ["nu0", "nu1"])
    results = {}
    for name, shape in shapes.items():
        processes = [Process("signal", signal, w_s, rate=[Scale("mu")]),
                     Process("background", background, w_b, systematics=[shape])]
        model = Model(parameters, [UnbinnedRegion("sr", processes, fractions=fractions)])
        data = Dataset({"sr": WeightedSimulation(data_weights)},
                       global_observables=[1.0, truth[0], truth[1]])
        u = model.likelihood(data)
        best = u.fit()
        results[name] = (best["mu"], u.interval("mu", 0.68, best=best),
                         (best["nu0"], best["nu1"]))
    print(f"\nsignal strength from Asimov data at mu = 1, nu = {truth} (true ratio):")
    print(f"{'background model':>24s}{'mu':>8s}{'68% interval':>20s}{'width':>8s}"
          f"{'nu fitted':>18s}")
    for name, (mu, (low, high), nu) in results.items():
        print(f"{name:>24s}{mu:8.3f}{f'[{low:.3f}, {high:.3f}]':>20s}{high - low:8.3f}"
              f"{f'({nu[0]:.2f}, {nu[1]:.2f})':>18s}")
    return results


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
    poi_intervals(comparison, random_state=args.seed)


if __name__ == "__main__":
    main()
