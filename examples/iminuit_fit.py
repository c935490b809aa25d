"""Use a trained BPT inside iminuit's own cost functions, through a plain callable.

`bpt.log_ratio_function(model, X)` turns a fitted model and a fixed set of events into a
function of the parameters that returns per-event log ratios, with its gradient: nothing
else about bpt is needed by the fitting framework. Here the shape parameter nu of the sine
toy, r(x|nu) = exp(nu sin x), is measured from pseudo-data with
`iminuit.cost.ExtendedUnbinnedNLL`:

- the expected yield is mu(nu) = sum_j w_j r(x_j|nu) over a nominal simulated sample;
- the density at an observed event is proportional to r(x_i|nu) (the nominal density
  does not depend on nu, so it is left out), passed as a log density.

The same fit with the analytic ratio shows how much of the error comes from the surrogate.

    python examples/iminuit_fit.py
"""
import numpy as np
from iminuit import Minuit
from iminuit.cost import ExtendedUnbinnedNLL

import bpt
from bpt import BoostedParametricTree, toys

NU_TRUE = 0.4
EXPECTED_NOMINAL = 5_000            # expected events at nu = 0
rng = np.random.default_rng(1)

# Train the surrogate on samples simulated at nu = 0, 0.5, 1, 1.5.
train = toys.sine_shape(40_000, random_state=0)
model = BoostedParametricTree("quadratic", n_estimators=100, max_depth=3,
                              min_samples_leaf=200, early_stopping=False, random_state=0)
model.fit(train.X, train.target, sample_weight=train.weights)
print(f"BPT: {model.n_iter_} trees, terms {model.parametrization_.names}")

# Nominal simulation for the expected yield, normalized to the expected event count.
simulation = rng.uniform(-np.pi, np.pi, size=(200_000, 1))
sim_weights = np.full(simulation.shape[0], EXPECTED_NOMINAL / simulation.shape[0])

# Pseudo-data at NU_TRUE: Poisson count, events by accept-reject on exp(nu sin x).
n_expected = EXPECTED_NOMINAL * np.mean(np.exp(NU_TRUE * np.sin(simulation[:, 0])))
candidates = rng.uniform(-np.pi, np.pi, size=(4 * int(n_expected) + 1000, 1))
accepted = candidates[rng.random(candidates.shape[0])
                      < np.exp(NU_TRUE * (np.sin(candidates[:, 0]) - 1))]
data = accepted[:rng.poisson(n_expected)]
print(f"pseudo-data: {data.shape[0]} events at nu = {NU_TRUE}")

# The plain callables: log r at the data events and at the simulated events.
log_r_data = bpt.log_ratio_function(model, data)
log_r_sim = bpt.log_ratio_function(model, simulation)


# iminuit hands the data back to the model: here the event indices (as floats).
def scaled_log_density(index, nu):
    index = index.astype(np.intp)
    mu = sim_weights @ log_r_sim.ratio(nu)
    return mu, log_r_data(nu)[index]


def scaled_log_density_gradient(index, nu):
    index = index.astype(np.intp)
    # d mu / d nu = sum_j w_j r_j d log r_j / d nu; shapes (K,) and (K, N) for iminuit.
    d_mu = (sim_weights * log_r_sim.ratio(nu)) @ log_r_sim.gradient(nu)
    return d_mu, log_r_data.gradient(nu)[index].T


events = np.arange(data.shape[0])
cost = ExtendedUnbinnedNLL(events, scaled_log_density, log=True,
                           grad=scaled_log_density_gradient)
fit = Minuit(cost, nu=0.0)
fit.migrad()
fit.hesse()


def true_log_density(index, nu):
    index = index.astype(np.intp)
    mu = sim_weights @ np.exp(nu * np.sin(simulation[:, 0]))
    return mu, nu * np.sin(data[index, 0])


reference = Minuit(ExtendedUnbinnedNLL(events, true_log_density, log=True), nu=0.0)
reference.migrad()
reference.hesse()

print(f"{'':24s}{'nu':>9s}{'error':>9s}{'pull':>8s}")
for label, result in (("BPT surrogate", fit), ("analytic ratio", reference)):
    value, error = result.values["nu"], result.errors["nu"]
    print(f"{label:24s}{value:9.4f}{error:9.4f}{(value - NU_TRUE) / error:8.2f}")
print(f"{'truth':24s}{NU_TRUE:9.4f}")
print(f"migrad valid: {fit.valid}, calls: {fit.nfcn} function, {fit.ngrad} gradient")
