"""The four fits of the signal strength and the pseudo-experiments that compare them.

(a) ``unbinned``: unbinned likelihood with the BPT surrogates of every nuisance;
(b) ``binned_nominal``: binned in the signal probability of a classifier trained on
    nominal events, with per-bin templates of every nuisance;
(c) ``binned_mixture``: binned in the signal probability of a classifier trained on the
    mixture of all systematic variations (the "decorrelation" by augmentation), templates
    as in (b);
(d) ``unbinned_no_nuisances``: as (a) with every nuisance fixed at nominal (absent).

Pseudo-data are Poisson draws over a held-out pool of simulated events (each pool event
enters with a Poisson count of mean its expected weight at the true parameters), never
regenerated, so that the surrogates, the reference samples and the pseudo-data are
disjoint sets of events.
"""
from dataclasses import dataclass
from functools import partial

import numpy as np

from bpt.likelihood import (POI, BinnedProcess, BinnedRegion, BinnedSystematic, Model,
                            Normalization, Nuisance, Process, Scale, Systematic,
                            UnbinnedRegion, fit, profile_interval, truth_coverage)

from .surrogates import SCALE_POINTS, SHOWER_POINTS, shower_weights

APPROACHES = ("unbinned", "binned_nominal", "binned_mixture", "unbinned_no_nuisances")
LABELS = {"unbinned": "(a) unbinned, BPT surrogates",
          "binned_nominal": "(b) binned, nominal classifier",
          "binned_mixture": "(c) binned, classifier on variations",
          "unbinned_no_nuisances": "(d) unbinned, no nuisances"}
NORMALIZATIONS = {"ztautau": ("z_norm", 0.05), "ttbar": ("tt_norm", 0.10)}
SHAPE_NUISANCES = ("tes", "jes", "isr", "fsr")


def parameters(with_nuisances=True):
    params = [POI("mu", 1.0, bounds=(-3.0, 8.0))]
    if with_nuisances:
        params += [Nuisance(name) for name in SHAPE_NUISANCES]
        params += [Nuisance(name) for name, _ in NORMALIZATIONS.values()]
    return params


def rate(process, with_nuisances=True):
    if process == "htautau":
        return [Scale("mu")]
    if with_nuisances and process in NORMALIZATIONS:
        return [Normalization(*NORMALIZATIONS[process])]
    return []


def unbinned_model(reference, surrogates, with_nuisances=True):
    """Approach (a), or (d) with ``with_nuisances=False``."""
    processes = []
    for name, sample in reference.items():
        selected = sample.at()
        systematics = ([Systematic(surrogates.scales[name], ["tes", "jes"]),
                        Systematic(surrogates.showers[name], ["isr", "fsr"])]
                       if with_nuisances else [])
        processes.append(Process(name, selected.X,
                                 np.full(len(selected.X), sample.yield_per_event),
                                 rate=rate(name, with_nuisances), systematics=systematics))
    region = UnbinnedRegion("signal_region", processes,
                            fractions=surrogates.fractions.predict_fractions,
                            yields_from="labels")
    return Model(parameters(with_nuisances), [region])


@dataclass
class BinnedDiscriminant:
    """The signal probability of a classifier, binned at ``edges``."""

    classifier: object
    edges: np.ndarray

    def __call__(self, X):
        score = self.classifier.predict_fractions(X)[:, 0]
        return np.clip(np.digitize(score, self.edges[1:-1]), 0, len(self.edges) - 2)

    def counts(self, X, weights=None):
        return np.bincount(self(X), weights=weights, minlength=len(self.edges) - 1)


def signal_quantile_edges(classifier, signal_X, n_bins):
    """Edges with equal expected signal per bin (duplicates merged)."""
    score = classifier.predict_fractions(signal_X)[:, 0]
    inner = np.unique(np.quantile(score, np.linspace(0, 1, n_bins + 1)[1:-1]))
    return np.concatenate([[0.0], inner, [1.0]])


def _template(yields):
    """Yields (points, bins) with bins emptied at some points only given a floor of 1e-3 of
    the bin's largest yield, since log-polynomial templates need positive yields (each
    such bin is counted in the returned number)."""
    yields = np.array(yields, dtype=np.float64)
    partial_bins = (yields <= 0).any(axis=0) & (yields > 0).any(axis=0)
    floor = 1e-3 * yields.max(axis=0)
    yields[:, partial_bins] = np.maximum(yields[:, partial_bins], floor[partial_bins])
    return yields, int(partial_bins.sum())


def binned_model(reference, discriminant):
    """Approach (b) or (c): histograms of ``discriminant`` with per-bin templates of the
    energy scales (from the reference events reconstructed at the nine scale points) and of
    the shower scales (from their weights). Returns the model and the number of bins given
    a floor."""
    processes, floored = [], 0
    for name, sample in reference.items():
        scale_yields = []
        for point in SCALE_POINTS:
            selected = sample.at(*point)
            scale_yields.append(sample.yield_per_event * discriminant.counts(selected.X))
        selected = sample.at()
        w = shower_weights(sample.truth, selected.index)
        shower_yields = [sample.yield_per_event * discriminant.counts(selected.X, w[:, k])
                         for k in range(len(SHOWER_POINTS))]
        scale_yields, n1 = _template(scale_yields)
        shower_yields, n2 = _template(shower_yields)
        floored += n1 + n2
        nominal = scale_yields[int(np.flatnonzero((SCALE_POINTS == 0).all(axis=1))[0])]
        processes.append(BinnedProcess(
            name, nominal, rate=rate(name),
            systematics=[BinnedSystematic(["tes", "jes"], SCALE_POINTS, scale_yields),
                         BinnedSystematic(["isr", "fsr"], SHOWER_POINTS, shower_yields)]))
    return Model(parameters(), [BinnedRegion("discriminant", processes)]), floored


@dataclass
class PseudoExperiment:
    """Selected events of one pseudo-experiment and the centers of the constraints."""

    X: np.ndarray
    global_observables: dict
    weights: np.ndarray = None


def expected_pool(pool, mu=1.0):
    """The whole pool at its expected weights (mu, nominal nuisances): the data with no
    statistical fluctuation of their own, which differ from the reference events only by
    the finite size of both samples."""
    X, w = [], []
    for name, sample in pool.items():
        selected = sample.at()
        X.append(selected.X)
        w.append(np.full(len(selected.X), sample.yield_per_event
                         * (mu if name == "htautau" else 1.0)))
    return PseudoExperiment(np.vstack(X), {}, np.concatenate(w))


def draw(pool, truth, global_observables, seed):
    """One pseudo-experiment from the pool (dict process -> Sample) at ``truth``.

    ``truth`` holds mu and the energy scales (tes, jes); the shower scales and
    normalizations are at nominal. ``global_observables``: ``"drawn"`` (each Gaussian
    constraint's center drawn around its true value: frequentist coverage) or a dict of
    fixed centers (missing ones nominal).
    """
    rng = np.random.default_rng(seed)
    features = []
    for name, sample in pool.items():
        selected = sample.at(truth.get("tes", 0.0), truth.get("jes", 0.0))
        mean = sample.yield_per_event * (truth["mu"] if name == "htautau" else 1.0)
        counts = rng.poisson(mean, len(selected.X))
        features.append(np.repeat(selected.X, counts, axis=0))
    names = list(SHAPE_NUISANCES) + [n for n, _ in NORMALIZATIONS.values()]
    if global_observables == "drawn":
        centers = {n: truth.get(n, 0.0) + rng.normal() for n in names}
    else:
        centers = {n: global_observables.get(n, 0.0) for n in names}
    return PseudoExperiment(np.vstack(features), centers)


def _generate(pool, truth, global_observables, seed):
    return draw(pool, truth, global_observables, seed)


def _unbinned_objective(model, experiment):
    centers = {n: v for n, v in experiment.global_observables.items()
               if n in model.parameters.names}
    X = experiment.X if experiment.weights is None else (experiment.X, experiment.weights)
    return model.likelihood(model.data({"signal_region": X}, global_observables=centers))


def _binned_objective(model, discriminant, experiment):
    counts = discriminant.counts(experiment.X, experiment.weights)
    return model.likelihood(model.data({"discriminant": counts},
                                       global_observables=experiment.global_observables))


@dataclass
class Approaches:
    """The four models and how to build each one's objective from a pseudo-experiment."""

    models: dict
    objectives: dict


def build(reference, surrogates, n_bins):
    signal_X = reference["htautau"].at().X
    models, objectives = {}, {}
    models["unbinned"] = unbinned_model(reference, surrogates)
    models["unbinned_no_nuisances"] = unbinned_model(reference, surrogates, False)
    floored = {}
    for name, classifier in (("binned_nominal", surrogates.nominal_classifier),
                             ("binned_mixture", surrogates.mixture_classifier)):
        discriminant = BinnedDiscriminant(classifier,
                                          signal_quantile_edges(classifier, signal_X, n_bins))
        models[name], floored[name] = binned_model(reference, discriminant)
        objectives[name] = partial(_binned_objective, models[name], discriminant)
    for name in ("unbinned", "unbinned_no_nuisances"):
        objectives[name] = partial(_unbinned_objective, models[name])
    return Approaches(models, {name: objectives[name] for name in APPROACHES}), floored


def asimov_width(model):
    """Width of the 68% profile-likelihood interval on mu from Asimov data at mu = 1."""
    u = model.likelihood(model.asimov({"mu": 1.0}))
    low, high = profile_interval(u, "mu", 0.68, best=fit(u))
    return high - low


def study(approaches, pool, truth, n_toys, global_observables="drawn", random_state=0,
          n_jobs=1):
    """Every approach fitted on the same ``n_toys`` pseudo-experiments at ``truth``."""
    generate = partial(_generate, pool, truth, global_observables)
    return truth_coverage(generate, approaches.objectives, "mu", truth["mu"], n_toys=n_toys,
                          random_state=random_state, n_jobs=n_jobs)
