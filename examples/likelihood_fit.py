"""From simulated samples to a profiled interval, against the exact likelihood.

The toy analysis of bpt.toys.analysis: a narrow signal over two backgrounds in two features,
an energy-scale nuisance that rescales the features (learned per process by a
BoostedParametricTree from samples at es = -2..2), a background normalization. We fit
pseudo-data unbinned, profile the signal strength, and compare with the exact (oracle)
likelihood of the same data.

    python examples/likelihood_fit.py
"""
import time

import numpy as np

from bpt import likelihood
from bpt.toys.analysis import ToyAnalysis

analysis = ToyAnalysis()
tic = time.perf_counter()
surrogates = analysis.fit_energy_scale()                 # one BPT per process
model = analysis.unbinned_model(surrogates)              # simulated events + surrogates
print(f"trained surrogates and cached {model.reference['signal_region'].n_events} simulated "
      f"events in {time.perf_counter() - tic:.1f} s")

data = model.toy({"mu": 1.0, "es": 0.5}, random_state=7)  # Poisson bootstrap at the truth
u = model.likelihood(data)
best = u.fit()
print("best fit:", {k: f"{v:.3f} +- {best.errors[k]:.3f}" for k, v in best.values.items()})

scan = u.scan("mu", np.linspace(best["mu"] - 0.6, best["mu"] + 0.6, 25), best=best)
for cl in (0.68, 0.95):
    low, high = scan.interval(cl)
    print(f"{cl:.0%} interval on mu: [{low:.3f}, {high:.3f}]")

# The exact likelihood of the same events: the simulated events carry the toy's counts.
events = np.vstack([p.X for p in model.region("signal_region").processes])
oracle = analysis.oracle(events, data.regions["signal_region"].weights)
oracle_best = likelihood.fit(oracle)
low, high = likelihood.profile_interval(oracle, "mu", 0.68, best=oracle_best)
print(f"oracle: mu = {oracle_best['mu']:.3f}, 68% interval [{low:.3f}, {high:.3f}]")

impacts = likelihood.impacts(u, "mu", best=best)
for name in impacts.ranking():
    k = impacts.names.index(name)
    print(f"impact of {name:9s} on mu: {impacts.postfit[k, 0]:+.3f} / "
          f"{impacts.postfit[k, 1]:+.3f}   (pull {impacts.pulls[k]:+.2f}, "
          f"constraint {impacts.constraints[k]:.2f})")
