"""Coverage under the truth on the toy analysis: surrogate chain and exact likelihood side by side.

Pseudo-data are drawn from the analytic densities (Poisson counts per process; the global
observables of the constraints drawn around the true nuisances, or with ``--nuisances
drawn`` the true nuisances drawn from their constraints), and both the surrogate likelihood
(one BoostedParametricTree per process for the energy scale, default training sizes) and the
exact likelihood are fitted on each. With ``--replicas B`` the surrogates are also refitted
on B bootstrap replicas of their training samples; the spread of mu-hat over the replicas,
per pseudo-experiment, is the surrogate-induced uncertainty, added in quadrature in the last
row. With ``--true-ratios`` the surrogates are replaced by the analytic log r of each
process (slow: finite-difference gradients over the reference events), which leaves the
reference sample's share of the scatter of mu-hat alone.

    python examples/truth_coverage.py                      # 500 pseudo-experiments
    python examples/truth_coverage.py --replicas 4 --nuisances drawn
    python examples/truth_coverage.py --n-toys 150 --nuisances drawn --true-ratios --n-jobs 2
"""
import argparse
import time

import numpy as np

from bpt.toys.analysis import ToyAnalysis


def table(result, added=None):
    """Rows of coverage, pull mean and width, and the difference to the exact fit."""
    lines = [f"{'':>28} {'68% coverage':>16} {'pull mean':>10} {'pull width':>11} "
             f"{'mu-hat - exact (mean, rms) / sigma':>36}"]
    rows = [("exact likelihood", "exact", 0.0), ("surrogate", "surrogate", 0.0)]
    if added is not None:
        rows.append(("surrogate + replica spread", "surrogate", added))
    for label, name, extra in rows:
        covered, error = result.coverage(name, 0.683, added_error=extra)
        pulls = result.pulls(name, added_error=extra)
        if name == "exact":
            difference = "-"
        else:
            d = result.differences(name, "exact")
            difference = f"{d.mean():+.3f}, {np.sqrt(np.mean(d ** 2)):.3f}"
        lines.append(f"{label:>28} {100 * covered:>9.1f} ± {100 * error:.1f}% "
                     f"{pulls.mean():>+10.3f} {pulls.std(ddof=1):>11.3f} {difference:>36}")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-toys", type=int, default=500)
    parser.add_argument("--nuisances", choices=("fixed", "drawn"), default="fixed")
    parser.add_argument("--es", type=float, default=0.0, help="true energy scale")
    parser.add_argument("--replicas", type=int, default=0, help="bootstrap-replica surrogates")
    parser.add_argument("--n-generated", type=int, default=40_000,
                        help="surrogate training events generated per base point")
    parser.add_argument("--true-ratios", action="store_true",
                        help="the analytic log r in place of the surrogates")
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=123)
    args = parser.parse_args()

    tic = time.perf_counter()
    analysis = ToyAnalysis()
    if args.true_ratios:
        surrogates = analysis.true_surrogates()
        described = "the true ratios in place of the surrogates"
    else:
        surrogates = analysis.fit_energy_scale(n_generated=args.n_generated)
        described = f"{args.n_generated} surrogate training events generated per base point"
    model = analysis.unbinned_model(surrogates)
    replicas = [analysis.unbinned_model(analysis.fit_energy_scale(n_generated=args.n_generated,
                                                                  bootstrap=b))
                for b in range(args.replicas)]
    result = analysis.truth_coverage(model, n_toys=args.n_toys, truth={"es": args.es},
                                     nuisances=args.nuisances, replicas=replicas,
                                     random_state=args.seed, n_jobs=args.n_jobs)
    added = result.spread([f"replica{b}" for b in range(args.replicas)]) \
        if args.replicas >= 2 else None
    print(f"{args.n_toys} pseudo-experiments from the truth (mu = 1, es = {args.es}, "
          f"nuisances {args.nuisances}), {described}; {result.all_valid.sum()} with every "
          f"fit valid")
    print(table(result, added))
    if added is not None:
        errors = result.errors[result.all_valid, 1]
        print(f"surrogate-induced uncertainty: median {np.median(added[result.all_valid]):.4f}"
              f" = {np.median(added[result.all_valid] / errors):.3f} of the exact error")
    print(f"({time.perf_counter() - tic:.0f} s)")


if __name__ == "__main__":
    main()
