"""Timing of an unbinned profile-likelihood fit: 1M events, 1 POI, 10 nuisances, one core.

    python benchmarks/likelihood_benchmark.py [--events 1000000] [--repeats 3]

The model is the toy analysis (bpt.toys.analysis) grown to a typical analysis structure:
signal and two backgrounds; an energy-scale shape nuisance learned by one
BoostedParametricTree per process (quadratic); a resolution-like shape nuisance on one
background (quadratic, from a coefficient function); eight normalization nuisances (the
toy's own background1 normalization and seven more). The
data are a Poisson-bootstrap pseudo-experiment of the simulated events at mu = 1 (data
weights on the same events: one compiled pass per likelihood evaluation). Reported: the fit
from the nominal values (minimum and covariance from the analytic Hessian) and a 21-point
profile scan of the POI over +-3 standard deviations, medians over repeats, one thread.
"""
import argparse
import time

import numpy as np

from bpt.likelihood import (POI, Model, Normalization, Nuisance, Process, Systematic,
                            UnbinnedRegion, fit, profile_scan)
from bpt.toys.analysis import PROCESSES, ToyAnalysis

NORMALIZATIONS = {  # nuisance: (uncertainty, processes)
    "lumi": (0.02, PROCESSES), "pileup": (0.01, PROCESSES), "trigger": (0.01, PROCESSES),
    "eff_signal": (0.05, ("signal",)), "theory_signal": (0.05, ("signal",)),
    "xs_background2": (0.08, ("background2",)),
    "eff_background": (0.03, ("background1", "background2")),
}


def resolution_coefficients(X):
    """A smooth shape change of background2 in x0: linear and quadratic coefficients."""
    z = (X[:, 0] - 0.6) / 0.3
    return np.column_stack([0.05 * z, 0.01 * (z ** 2 - 1)])


def build_model(n_events, random_state=0):
    analysis = ToyAnalysis()
    # The energy scale as one quadratic BPT per process from -2..2: the structure the
    # timings are stated for (the toy's default is cubic from -3..3).
    surrogates = analysis.fit_energy_scale(random_state=random_state,
                                           parametrization="quadratic",
                                           base_points=(-2.0, -1.0, 0.0, 1.0, 2.0))
    shares = analysis.yields / analysis.yields.sum()
    seeds = np.random.SeedSequence(random_state).spawn(len(PROCESSES))
    processes = []
    for process, share, seed in zip(PROCESSES, shares, seeds):
        # Generate enough to select about n_events * share events.
        n_generated = int(n_events * share / analysis._acceptance(process, 0.0))
        X, w = analysis.simulate(process, n_generated, 0.0, seed)
        rate = analysis.modifiers(process) + [Normalization(name, uncertainty)
                                              for name, (uncertainty, targets)
                                              in NORMALIZATIONS.items() if process in targets]
        systematics = [Systematic(surrogates[process], ["es"])]
        if process == "background2":
            systematics.append(Systematic(resolution_coefficients, ["res"], "quadratic"))
        processes.append(Process(process, X, w, rate=rate, systematics=systematics))
    parameters = ([POI("mu", 1.0, bounds=(-2, 5)), Nuisance("es"), Nuisance("bkg_norm"),
                   Nuisance("res")] + [Nuisance(name) for name in NORMALIZATIONS])
    region = UnbinnedRegion("signal_region", processes, fractions=analysis.fractions)
    return Model(parameters, [region], n_threads=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    tic = time.perf_counter()
    model = build_model(args.events)
    build = time.perf_counter() - tic
    n_events = model.reference["signal_region"].n_events
    n_columns = model.layouts["signal_region"].n_columns
    data = model.toy({"mu": 1.0}, random_state=1)
    objective = model.likelihood(data)
    fits, scans, passes = [], [], []
    for _ in range(args.repeats):
        objective._cache_key = None
        tic = time.perf_counter()
        best = fit(objective)
        fits.append(time.perf_counter() - tic)
        passes.append(best.n_calls)
        tic = time.perf_counter()
        scan = profile_scan(objective, "mu", np.linspace(best["mu"] - 3 * best.errors["mu"],
                                                         best["mu"] + 3 * best.errors["mu"], 21),
                            best=best)
        scans.append(time.perf_counter() - tic)
    vector = best.vector
    tic = time.perf_counter()
    for _ in range(10):
        objective._cache_key = None
        objective(vector)
    one_pass = (time.perf_counter() - tic) / 10
    print(f"{n_events} events, {len(model.parameters)} parameters (1 POI, "
          f"{len(model.parameters) - 1} nuisances), {n_columns} cached coefficients per event, "
          f"1 thread")
    print(f"model build (surrogate training and caching): {build:.1f} s")
    print(f"one likelihood value: {one_pass * 1e3:.1f} ms")
    print(f"fit with covariance: median {np.median(fits):.3f} s over {args.repeats} "
          f"({int(np.median(passes))} passes), mu = {best['mu']:.4f} +- "
          f"{best.errors['mu']:.4f}   target < 1 s")
    low, high = scan.interval(0.68)
    print(f"21-point profile scan: median {np.median(scans):.3f} s   target < 10 s; "
          f"68% interval [{low:.4f}, {high:.4f}]")


if __name__ == "__main__":
    main()
