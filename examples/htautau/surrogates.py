"""Surrogates of the analysis: BPTs for the energy scales and the shower scales, process
fractions, the two binned discriminants, and their validation (tables and PNG plots).

- ``tes``/``jes``: one quadratic BoostedParametricTree per process, with the cross term,
  from copies of the same events reconstructed at the nine points of {-1, 0, 1}^2;
- ``isr``/``fsr``: one BoostedParametricTree per process from the shower weights
  (``fit_weights``) at (+-1, 0), (0, +-1) and the four products (+-1, +-1); the order in
  nu (linear or quadratic) is chosen by the weight closure on held-out events;
- process fractions g_p(x) (calibrated, trained on nominal events);
- discriminants for the binned fits: the signal probability of a classifier trained on
  nominal events, and of one trained on the mixture of all systematic variations.
"""
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bpt import (BoostedParametricTree, ProcessFractions, classifier_two_sample_test,
                 closure_test, plot_closure, plot_two_sample, weight_closure_test)

from .detector import FEATURES, reconstruct
from .generation import WEIGHT_NAMES

SCALE_POINTS = np.array([(t, j) for t in (-1.0, 0.0, 1.0) for j in (-1.0, 0.0, 1.0)])
# Shower points (isr, fsr) and the weight columns whose product gives them.
SHOWER_POINTS = np.array([(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1),
                          (1, 1), (1, -1), (-1, 1), (-1, -1)], dtype=np.float64)
SCALE_CHECK_POINTS = [(1.0, 0.0), (0.0, 1.0), (1.0, 1.0), (0.5, -0.5)]
SHOWER_CHECK_POINTS = [(1.0, 0.0), (0.0, 1.0), (1.0, 1.0)]
SHOWER_ORDERS = ("linear", "quadratic")


@dataclass
class Sample:
    """The events of one process in one role (training, reference or pseudo-data pool)."""

    process: str
    truth: object        # TruthEvents
    noise: object        # DetectorNoise
    yield_per_event: float

    def at(self, tes=0.0, jes=0.0):
        """Selected features at the energy scales, and the truth index of each event."""
        return reconstruct(self.truth, self.noise, tes, jes)


def shower_weights(truth, index):
    """Per event, the weight relative to nominal at each of ``SHOWER_POINTS`` (n, 9)."""
    w = truth.weights[index]
    column = {name: k for k, name in enumerate(WEIGHT_NAMES)}
    isr = {0: np.ones(len(w)), 1: w[:, column["isrUp"]], -1: w[:, column["isrDown"]]}
    fsr = {0: np.ones(len(w)), 1: w[:, column["fsrUp"]], -1: w[:, column["fsrDown"]]}
    return np.column_stack([isr[int(a)] * fsr[int(b)] for a, b in SHOWER_POINTS])


def scale_copies(sample, points=SCALE_POINTS):
    """The events reconstructed at every (tes, jes) point: X, nu (n, 2) and weights."""
    X, nu, w = [], [], []
    for point in points:
        selected = sample.at(*point)
        X.append(selected.X)
        nu.append(np.tile(point, (len(selected.X), 1)))
        w.append(np.full(len(selected.X), sample.yield_per_event))
    return np.vstack(X), np.vstack(nu), np.concatenate(w)


@dataclass
class SurrogateSettings:
    """Hyper-parameters of the BPTs (seeded)."""

    n_estimators: int = 100
    learning_rate: float = 0.1
    max_depth: int = 3
    min_samples_leaf: int = 200
    random_state: int = 0

    def estimator(self, parametrization):
        return BoostedParametricTree(parametrization, n_estimators=self.n_estimators,
                                     learning_rate=self.learning_rate,
                                     max_depth=self.max_depth,
                                     min_samples_leaf=self.min_samples_leaf,
                                     random_state=self.random_state)


@dataclass
class ValidationRecord:
    """Closure and two-sample results of one surrogate on held-out events."""

    name: str
    closure: object
    two_sample: object
    note: str = ""


@dataclass
class Surrogates:
    """Everything trained: per-process BPTs, fractions, discriminants and their checks."""

    scales: dict
    showers: dict
    shower_orders: dict
    fractions: ProcessFractions
    nominal_classifier: ProcessFractions
    mixture_classifier: ProcessFractions
    validation: list = field(default_factory=list)


def fit_scales(sample, settings):
    X, nu, w = scale_copies(sample)
    return settings.estimator("quadratic").fit(X, nu, w)


def fit_showers(train, held_out, settings):
    """The shower BPT of one process, its order chosen by held-out weight closure.

    Returns the refitted BPT (on the training events), the chosen order, and the closure
    per candidate order."""
    closures = {}
    X_train, W_train = _shower_inputs(train)
    X_test, W_test = _shower_inputs(held_out)
    models = {}
    for order in SHOWER_ORDERS:
        model = settings.estimator(order).fit_weights(X_train, W_train, SHOWER_POINTS)
        closures[order] = weight_closure_test(model, X_test, W_test, SHOWER_POINTS,
                                              points=SHOWER_CHECK_POINTS,
                                              feature_names=list(FEATURES))
        models[order] = model
    best = min(SHOWER_ORDERS, key=lambda order: closures[order].max_chi2_per_ndf())
    return models[best], best, closures


def _shower_inputs(sample):
    selected = sample.at()
    return selected.X, sample.yield_per_event * shower_weights(sample.truth, selected.index)


def _labelled(samples):
    X, labels, w = [], [], []
    for k, sample in enumerate(samples):
        selected = sample.at()
        X.append(selected.X)
        labels.append(np.full(len(selected.X), k))
        w.append(np.full(len(selected.X), sample.yield_per_event))
    return np.vstack(X), np.concatenate(labels), np.concatenate(w)


def _mixture(samples):
    """Every process at every energy-scale point and shower variation, each variation with
    an equal share of the process's yield: the training set of the "decorrelated"
    classifier."""
    X, labels, w = [], [], []
    for k, sample in enumerate(samples):
        Xs, _, ws = scale_copies(sample)
        Xn, Wn = _shower_inputs(sample)
        n_variations = len(SCALE_POINTS) + Wn.shape[1] - 1
        X += [Xs, np.vstack([Xn] * (Wn.shape[1] - 1))]
        w += [ws / n_variations, Wn[:, 1:].T.reshape(-1) / n_variations]
        labels.append(np.full(len(Xs) + len(Xn) * (Wn.shape[1] - 1), k))
    return np.vstack(X), np.concatenate(labels), np.concatenate(w)


def _halves(sample):
    """Two disjoint halves of a sample's events, each normalized to the whole yield."""
    halves = []
    for parity in (0, 1):
        index = np.arange(parity, len(sample.truth), 2)
        halves.append(Sample(sample.process, sample.truth.subset(index),
                             sample.noise.subset(index), 2 * sample.yield_per_event))
    return halves


def _independent_scale_samples(sample):
    """Nominal events from one half of ``sample``, the ``SCALE_CHECK_POINTS`` from the other:
    copies of the same events at two points would make the samples correlated (the closure
    chi2 too small) and let the two-sample classifier recognize events."""
    nominal, varied = _halves(sample)
    X0, nu0, w0 = scale_copies(nominal, np.zeros((1, 2)))
    X1, nu1, w1 = scale_copies(varied, np.array(SCALE_CHECK_POINTS))
    return np.vstack([X0, X1]), np.vstack([nu0, nu1]), np.concatenate([w0, w1])


def _independent_shower_samples(sample):
    """As :func:`_independent_scale_samples` for the shower weights at
    ``SHOWER_CHECK_POINTS``."""
    nominal, varied = _halves(sample)
    X0, W0 = _shower_inputs(nominal)
    X1, W1 = _shower_inputs(varied)
    columns = [int(np.flatnonzero((SHOWER_POINTS == p).all(axis=1))[0])
               for p in SHOWER_CHECK_POINTS]
    X = np.vstack([X0] + [X1] * len(columns))
    nu = np.vstack([np.zeros((len(X0), 2))] + [np.tile(SHOWER_POINTS[c], (len(X1), 1))
                                                for c in columns])
    w = np.concatenate([W0[:, 0]] + [W1[:, c] for c in columns])
    return X, nu, w


def train(training, held_out, settings, random_state=0, log=print):
    """Train every surrogate on ``training`` (dict process -> Sample) and validate the BPTs on
    ``held_out`` events of the same processes.

    The energy-scale BPTs are checked by the closure and two-sample tests on independent
    halves of the held-out events (nominal from one, varied from the other); the shower
    BPTs by the weight closure on all held-out events (the one that chose their order)
    and by the two-sample test on independent halves."""
    processes = list(training)
    scales, showers, orders, validation = {}, {}, {}, []
    for process in processes:
        scales[process] = fit_scales(training[process], settings)
        X, nu, w = _independent_scale_samples(held_out[process])
        validation.append(ValidationRecord(
            f"{process}: tes, jes", closure_test(scales[process], X, nu, w,
                                                 feature_names=list(FEATURES)),
            classifier_two_sample_test(scales[process], X, nu, w, random_state=random_state)))
        showers[process], orders[process], closures = fit_showers(
            training[process], held_out[process], settings)
        worst = ", ".join(f"{order} {closures[order].max_chi2_per_ndf():.2f}"
                          for order in SHOWER_ORDERS)
        X, nu, w = _independent_shower_samples(held_out[process])
        validation.append(ValidationRecord(
            f"{process}: isr, fsr ({orders[process]})", closures[orders[process]],
            classifier_two_sample_test(showers[process], X, nu, w, random_state=random_state),
            note=f"worst held-out weight-closure chi2/ndf: {worst}"))
        log(f"  {process}: scale BPT {scales[process].n_iter_} trees, shower BPT "
            f"{orders[process]} ({worst})")
    samples = [training[p] for p in processes]
    X, labels, w = _labelled(samples)
    fractions = ProcessFractions(signal=0, random_state=random_state).fit(X, labels, w)
    nominal = ProcessFractions(signal=0, calibration=None,
                               random_state=random_state).fit(X, labels, w)
    Xm, labels_m, wm = _mixture(samples)
    mixture = ProcessFractions(signal=0, calibration=None,
                               random_state=random_state).fit(Xm, labels_m, wm)
    return Surrogates(scales, showers, orders, fractions, nominal, mixture, validation)


def validation_report(surrogates):
    """The closure and two-sample tables of every surrogate, as text."""
    blocks = []
    for record in surrogates.validation:
        blocks.append(f"[{record.name}] {record.note}\n{record.closure}\n{record.two_sample}")
    return "\n\n".join(blocks)


def save_plots(surrogates, directory):
    """One closure plot (first check point) and one two-sample plot per surrogate, as PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for record in surrogates.validation:
        stem = record.name.split(" (")[0].replace(": ", "_").replace(", ", "_")
        for kind, figure in (("closure", plot_closure(
                                 record.closure, 0, features=[FEATURES.index(name) for name in
                                                              ("m_vis", "tau_pt", "jet1_pt")],
                                 units="GeV")),
                             ("two_sample", plot_two_sample(record.two_sample))):
            path = directory / f"{stem}_{kind}.png"
            figure.savefig(path, dpi=80)
            plt.close(figure)
            paths.append(path)
    return paths
