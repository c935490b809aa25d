"""The figures of the README, drawn from the toy analysis with the library's plotting functions.

    python examples/readme_figures.py [--output docs/images]

Trains the energy-scale surrogates and the process fractions of ``bpt.toys.analysis``, fits
a pseudo-experiment at mu = 1, es = 0.5, and writes six PNG files: the profile scan of mu
(surrogate against the exact likelihood), the impacts, the post-fit data-versus-model plot,
the closure of the signal surrogate at es = +-1, its two-sample test and the fractions'
reliability curve. About 3 minutes on one core.
"""
import argparse
import os
import time

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from bpt import ProcessFractions, classifier_two_sample_test, closure_test  # noqa: E402
from bpt.likelihood import fit, impacts, profile_scan  # noqa: E402
from bpt.plotting import (plot_closure, plot_data_model, plot_impacts,  # noqa: E402
                          plot_reliability, plot_scan, plot_two_sample)
from bpt.toys.analysis import PROCESSES, ToyAnalysis  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=os.path.join("docs", "images"))
    args = parser.parse_args()
    os.makedirs(args.output, exist_ok=True)
    start = time.perf_counter()

    def save(fig, name):
        path = os.path.join(args.output, name)
        fig.savefig(path, dpi=110, bbox_inches="tight")
        print(f"wrote {path} ({time.perf_counter() - start:.0f} s)", flush=True)

    analysis = ToyAnalysis()
    surrogates = analysis.fit_energy_scale()
    # 100 000 reference events per process, not the default 400 000: the figures show one
    # bootstrap pseudo-experiment of the model's own events, where the reference sample's
    # noise does not enter, and draw four times faster.
    model = analysis.unbinned_model(surrogates, n_reference=100_000)
    data = model.toy({"mu": 1.0, "es": 0.5}, random_state=7)
    u = model.likelihood(data)
    best = fit(u)

    # The exact likelihood of the same events: the simulated events carry the toy's counts.
    events = np.vstack([p.X for p in model.region("signal_region").processes])
    oracle = analysis.oracle(events, data.regions["signal_region"].weights)
    grid = np.linspace(best["mu"] - 2.2 * best.errors["mu"], best["mu"] + 2.2 * best.errors["mu"],
                       23)
    scans = [profile_scan(u, "mu", grid, best=best), profile_scan(oracle, "mu", grid)]
    save(plot_scan(scans, labels=["BPT surrogates", "exact likelihood"]), "scan.png")
    save(plot_impacts(impacts(u, "mu", best=best)), "impacts.png")
    save(plot_data_model(model, data, "signal_region", best, feature=0,
                         bins=np.linspace(-0.5, 4.0, 31),
                         xlabel="$x_0$"), "data_model.png")

    # The signal surrogate on fresh samples at es = 0 and +-1.
    samples = [analysis.simulate("signal", 40_000, es, seed)
               for es, seed in zip((0.0, -1.0, 1.0), (101, 102, 103))]
    X = np.vstack([x for x, _ in samples])
    nu = np.repeat([0.0, -1.0, 1.0], [len(x) for x, _ in samples])
    w = np.concatenate([weights for _, weights in samples])
    closure = closure_test(surrogates["signal"], X, nu, w, n_bins=20,
                           feature_names=["$x_0$", "$x_1$"])
    save(plot_closure(closure, point=1), "closure.png")
    save(plot_two_sample(classifier_two_sample_test(surrogates["signal"], X, nu, w,
                                                    points=[[1.0]], random_state=0)),
         "two_sample.png")

    X_train, process, weights = analysis.fraction_training_sample()
    fractions = ProcessFractions(signal=0, random_state=0).fit(X_train, process, weights)
    X_test, process_test, weights_test = analysis.fraction_training_sample(n_generated=30_000,
                                                                           random_state=11)
    save(plot_reliability(fractions.reliability(X_test, process_test, weights_test),
                          process_names=list(PROCESSES)), "reliability.png")


if __name__ == "__main__":
    main()
