"""The model: parameters and regions, with cached simulated events, data, Asimov data, toys.

The statistic minimized is

    u(theta, nu) = -2 ln L(theta, nu) + 2 ln L(reference)
                 = sum_regions 2 sum_i [a_i (R_i - 1) - d_i log R_i] + constraint terms,

where the sum runs over a region's simulated events (a_i their weights, so that
sum_i a_i R_i is the expected yield) and its data events (d_i their weights), and
R_i = sum_p g_p(x_i) f_p r_p(x_i) s_p(x_i) is the ratio of the model to the reference point.
A binned region is the same sum over its bins, with a_b the reference yield of bin b and
d_b its count: 2 [lambda_b - lambda_b,ref] - 2 N_b log(lambda_b / lambda_b,ref).
"""
import warnings
from typing import NamedTuple

import numpy as np

from .events import DensityCheck, EventSet, RegionLayout
from .parameters import ParameterSet
from .regions import BinnedRegion, UnbinnedRegion

YIELD_METHODS = ("exact", "spline")


class WeightedSimulation(NamedTuple):
    """Data as weights d on a region's simulated events (Asimov data, Poisson bootstrap)."""

    weights: np.ndarray


class ObservedEvents(NamedTuple):
    """Observed events of an unbinned region: their cached event set, weights d and
    features X (for data-versus-model plots)."""

    events: EventSet
    weights: np.ndarray
    X: np.ndarray


class BinCounts(NamedTuple):
    """The counts N of a binned region, one per bin (observed, Asimov or toy)."""

    counts: np.ndarray

    @property
    def weights(self):
        """The counts: the data weights of the region's bins."""
        return self.counts


class Dataset:
    """Data for a model, region by region, and the global observables of the constraints.

    Build it with :meth:`Model.data`, :meth:`Model.asimov` or :meth:`Model.toy`.

    Attributes
    ----------
    regions : dict
        Per region name, its data: :class:`WeightedSimulation` (weights on the region's
        simulated events), :class:`ObservedEvents` (observed events of an unbinned region)
        or :class:`BinCounts` (a binned region). Each has ``weights``, the data weights.
    global_observables : ndarray
        Centers of the Gaussian constraints (the nominal values for observed data).
    """

    def __init__(self, regions, global_observables):
        self.regions = regions
        self.global_observables = np.asarray(global_observables, dtype=np.float64)

    def total_weight(self, region):
        return float(np.sum(self.regions[region].weights))


class Model:
    """A likelihood model built from parameters and regions.

    Parameters
    ----------
    parameters : list of Parameter
        Every parameter the rate modifiers and surrogates refer to.
    regions : list of UnbinnedRegion or BinnedRegion
    yields : {"exact", "spline"}, default="exact"
        ``"exact"``: expected yields are the sums over the simulated events at every call.
        ``"spline"``: per process, the POI dependence exactly and each one-parameter
        systematic as a cubic spline of its yield factor on a grid, multiplied (factorized);
        faster when the data are separate events, approximate where effects do not factorize.
    n_threads : int, default=1
        Threads of the compiled likelihood pass.
    coefficient_dtype : {numpy.float64, numpy.float32}, default=numpy.float64
        Storage of the cached surrogate coefficients; float32 halves the cache (every sum
        is still accumulated in float64).

    Examples
    --------
    See ``examples/likelihood_fit.py`` and :mod:`bpt.toys.analysis`.
    """

    def __init__(self, parameters, regions, yields="exact", n_threads=1,
                 coefficient_dtype=np.float64):
        self.parameters = ParameterSet(parameters)
        self.regions = list(regions)
        names = [r.name for r in self.regions]
        if len(set(names)) != len(names):
            raise ValueError(f"region names must be unique, got {names}")
        if yields not in YIELD_METHODS:
            raise ValueError(f"yields must be one of {YIELD_METHODS}, got {yields!r}")
        self.yield_method = yields
        self.n_threads = n_threads
        self.coefficient_dtype = np.dtype(coefficient_dtype)
        if self.coefficient_dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise ValueError("coefficient_dtype must be numpy.float64 or numpy.float32, got "
                             f"{coefficient_dtype!r}")
        self.layouts, self.reference = {}, {}
        for region in self.regions:
            layout = RegionLayout(region.processes, self.parameters)
            self.layouts[region.name] = layout
            self.reference[region.name] = self._reference_events(region, layout)
        # Expected yields of observed data from per-process labels (UnbinnedRegion.yields_from).
        self.yield_events = {
            region.name: self._reference_events(region, self.layouts[region.name], labels=True)
            for region in self.regions
            if isinstance(region, UnbinnedRegion) and region.fractions is not None
            and region.yields_from == "labels"}
        self.spline_yields = {}
        if yields == "spline":
            from .yields import SplineYields
            for region in self.regions:
                if isinstance(region, UnbinnedRegion):
                    self.spline_yields[region.name] = SplineYields(
                        self.layouts[region.name], self.reference[region.name], self.parameters)

    def __repr__(self):
        cache = sum(events.nbytes for events in self.reference.values())
        return (f"Model({len(self.parameters)} parameters, regions "
                f"{[r.name for r in self.regions]}, "
                f"{sum(e.n_events for e in self.reference.values())} cached events, "
                f"coefficient cache {cache / 1e6:.1f} MB ({self.coefficient_dtype.name}))")

    def _reference_events(self, region, layout, labels=False):
        if isinstance(region, BinnedRegion):
            bins = np.arange(region.n_bins)
            fractions = np.column_stack([p.yields for p in region.processes]) / \
                region.totals[:, None]
            return EventSet(layout, bins, fractions, region.totals, self.coefficient_dtype)
        if not isinstance(region, UnbinnedRegion):
            raise TypeError(f"unknown region type {type(region).__name__}")
        X = np.vstack([p.X for p in region.processes])
        process = np.concatenate([np.full(len(p.X), k) for k, p in enumerate(region.processes)])
        weights = np.concatenate([p.weights for p in region.processes])
        if labels:
            fractions = np.zeros((len(X), len(region.processes)))
            fractions[np.arange(len(X)), process] = 1.0
        else:
            fractions = region.process_fractions(X, process)
        return EventSet(layout, X, fractions, weights, self.coefficient_dtype)

    def region(self, name):
        for region in self.regions:
            if region.name == name:
                return region
        raise KeyError(f"unknown region {name!r}; the model has {[r.name for r in self.regions]}")

    # ------------------------------------------------------------------------ datasets

    def data(self, observed, global_observables=None):
        """Observed data: ``{region: X (unbinned) or (X, weights), region: counts (binned)}``.

        ``global_observables`` (dict or full parameter vector) are the outcomes of the
        auxiliary measurements that center the Gaussian constraints; default: the nominal
        values.

        Unbinned data may be empty (shape ``(0, n_features)``); weights and counts must be
        finite and non-negative, one per event or bin.
        """
        if not isinstance(observed, dict):
            raise TypeError(f"observed must be a dict of region name -> data, got "
                            f"{type(observed).__name__}")
        unknown = set(observed) - {r.name for r in self.regions}
        if unknown:
            raise ValueError(f"data given for unknown regions {sorted(unknown)}")
        regions = {}
        for region in self.regions:
            if region.name not in observed:
                raise ValueError(f"no data given for region {region.name!r}")
            entry = observed[region.name]
            where = f"region {region.name!r}"
            if isinstance(region, BinnedRegion):
                counts = np.atleast_1d(_numbers(entry, f"{where}: counts"))
                if counts.shape != (region.n_bins,) or not np.isfinite(counts).all() \
                        or (counts < 0).any():
                    raise ValueError(f"{where}: expected {region.n_bins} non-negative "
                                     f"counts, got {counts.tolist()[:10]}")
                regions[region.name] = BinCounts(counts)
                continue
            X, weights = entry if isinstance(entry, tuple) else (entry, None)
            X = _numbers(X, f"{where}: data")
            if X.size == 0:
                X = X.reshape(0, region.n_features)
            if X.ndim != 2 or X.shape[1] != region.n_features:
                raise ValueError(f"{where}: data must have shape (n, "
                                 f"{region.n_features}), got {X.shape}")
            if not np.isfinite(X).all():
                raise ValueError(f"{where}: data contain NaN or infinite values")
            if weights is None:
                weights = np.ones(len(X))
            else:
                weights = _numbers(weights, f"{where}: data weights")
                if weights.shape != (len(X),):
                    raise ValueError(f"{where}: data weights must have shape ({len(X)},), one "
                                     f"per event, got {weights.shape}")
                if not np.isfinite(weights).all() or (weights < 0).any():
                    raise ValueError(f"{where}: data weights must be finite and "
                                     "non-negative")
            events = EventSet(self.layouts[region.name], X, region.process_fractions(X),
                              np.zeros(len(X)), self.coefficient_dtype)
            regions[region.name] = ObservedEvents(events, weights, X)
        centers = self.parameters.nominal if global_observables is None else \
            self.parameters.vector(global_observables)
        return Dataset(regions, centers)

    def check_dataset(self, data):
        """Raise ValueError unless ``data`` was built for this model's regions and events.

        A dataset's weights are per simulated event or bin of the model that built it; with
        another model's likelihood they would be paired with the wrong events.
        """
        if not isinstance(data, Dataset):
            raise TypeError(f"data must be a Dataset (from Model.data, asimov or toy), got "
                            f"{type(data).__name__}")
        expected = {region.name for region in self.regions}
        if set(data.regions) != expected:
            raise ValueError(f"the dataset has regions {sorted(data.regions)}, the model "
                             f"{sorted(expected)}")
        for region in self.regions:
            entry, where = data.regions[region.name], f"region {region.name!r}"
            binned = isinstance(region, BinnedRegion)
            if isinstance(entry, ObservedEvents):
                if entry.events.layout is not self.layouts[region.name]:
                    raise ValueError(f"{where}: the observed events were prepared by another "
                                     "model; build the data with this model's data()")
                n_expected, what = entry.events.n_events, "observed events"
            elif isinstance(entry, (WeightedSimulation, BinCounts)):
                n_expected = self.reference[region.name].n_events
                what = "bins" if binned else "simulated events"
                if isinstance(entry, BinCounts) != binned:
                    raise ValueError(f"{where}: a {type(entry).__name__} entry does not fit a "
                                     f"{type(region).__name__}")
            else:
                raise ValueError(f"{where}: unknown data entry of type {type(entry).__name__}; "
                                 "expected WeightedSimulation, ObservedEvents or BinCounts")
            weights = np.asarray(entry.weights)
            if weights.shape != (n_expected,):
                raise ValueError(f"{where}: the dataset has {weights.size} weights for the "
                                 f"{n_expected} {what} of this model; was it built by "
                                 "another model?")
            if not np.isfinite(weights).all():
                raise ValueError(f"{where}: the dataset's weights are not finite")
        centers = np.asarray(data.global_observables)
        if centers.shape != (len(self.parameters),) or not np.isfinite(centers).all():
            raise ValueError(f"the dataset's global observables must be {len(self.parameters)} "
                             f"finite numbers, got shape {centers.shape}")

    def expected(self, values=None):
        """Expected event weights at ``values``: per simulated event (unbinned) or bin."""
        vector = self.parameters.vector(values)
        return {name: events.yield_weights * events.ratios(vector)
                for name, events in self.reference.items()}

    def expected_yields(self, values=None):
        """Total expected yield per region (exact sums over the simulated events)."""
        return {name: float(w.sum()) for name, w in self.expected(values).items()}

    def asimov(self, values=None):
        """Asimov data: the simulated events (bins) weighted by the model at ``values``, and
        the global observables at ``values``, so that the best fit is ``values`` itself.

        Raises ValueError if the model ratio is not positive at some simulated event or bin
        (a negative expected yield has no Asimov data)."""
        vector = self.parameters.vector(values)
        regions = {}
        for name, expected in self._positive_expected(vector, "Asimov data").items():
            binned = isinstance(self.region(name), BinnedRegion)
            regions[name] = BinCounts(expected) if binned else WeightedSimulation(expected)
        centers = np.where(self.parameters.constrained, vector, self.parameters.nominal)
        return Dataset(regions, centers)

    def toy(self, values=None, random_state=None):
        """A pseudo-experiment at ``values``: Poisson counts on the expected event weights
        (Poisson bootstrap of the simulation; Poisson counts per bin) and global observables
        drawn around ``values`` for the constrained parameters.

        Raises ValueError if the model ratio is not positive at some simulated event or bin.
        Simulated events with negative weights (NLO) have a negative expected weight: they
        get zero counts, with a RuntimeWarning giving their share of the yield."""
        rng = np.random.default_rng(random_state)
        vector = self.parameters.vector(values)
        regions = {}
        for name, expected in self._positive_expected(vector, "a toy").items():
            negative = expected < 0
            if negative.any():
                warnings.warn(f"region {name!r}: {int(negative.sum())} simulated events have "
                              f"negative expected weights (sum {expected[negative].sum():.4g} "
                              f"of a total {expected.sum():.4g}); the Poisson bootstrap gives "
                              "them zero counts", RuntimeWarning, stacklevel=2)
            counts = rng.poisson(np.maximum(expected, 0.0)).astype(np.float64)
            binned = isinstance(self.region(name), BinnedRegion)
            regions[name] = BinCounts(counts) if binned else WeightedSimulation(counts)
        ps = self.parameters
        centers = np.where(ps.constrained, rng.normal(vector, ps.widths), ps.nominal)
        return Dataset(regions, centers)

    def invalid_ratios(self, values=None):
        """Where the model is not a valid density at ``values``: a list of messages, one per
        region whose ratio R is not positive (or not finite) at some simulated event or bin
        with a non-zero weight, or whose total expected yield is not positive."""
        vector = self.parameters.vector(values)
        problems = []
        for name, events in self.reference.items():
            with np.errstate(all="ignore"):
                check = DensityCheck.from_ratios(events.ratios(vector), events.yield_weights)
            problem = check.problem(name, self.density_unit(name))
            if problem:
                problems.append(problem)
        return problems

    def density_unit(self, name):
        """What region ``name``'s simulated entries are: "bins" or "simulated events"."""
        return "bins" if isinstance(self.region(name), BinnedRegion) else "simulated events"

    def _positive_expected(self, vector, what):
        problems = self.invalid_ratios(vector)
        if problems:
            raise ValueError(f"cannot make {what} at {self.parameters.as_dict(vector)}: "
                             + "; ".join(problems))
        return self.expected(vector)

    def likelihood(self, data):
        """The statistic u on ``data``, ready for fits and scans."""
        from .statistic import NegativeLogLikelihood
        return NegativeLogLikelihood(self, data)


def _numbers(values, what):
    """``values`` as a float64 array, or a ValueError naming ``what``."""
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be numeric: {exc}") from None
