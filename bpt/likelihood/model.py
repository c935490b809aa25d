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
import numpy as np

from .events import EventSet, RegionLayout
from .parameters import ParameterSet
from .regions import BinnedRegion, UnbinnedRegion

YIELD_METHODS = ("exact", "spline")


class Dataset:
    """Data for a model, region by region, and the global observables of the constraints.

    Build it with :meth:`Model.data`, :meth:`Model.asimov` or :meth:`Model.toy`.

    Attributes
    ----------
    regions : dict
        Per region name: ``("reference", d)`` for weights on the region's simulated events
        (Asimov or bootstrap data), ``("events", EventSet, d)`` for observed events, or
        ``("counts", N)`` for a binned region.
    global_observables : ndarray
        Centers of the Gaussian constraints (the nominal values for observed data).
    """

    def __init__(self, regions, global_observables):
        self.regions = regions
        self.global_observables = np.asarray(global_observables, dtype=np.float64)

    def total_weight(self, region):
        entry = self.regions[region]
        return float(np.sum(entry[-1]))


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

    Examples
    --------
    See ``examples/likelihood_fit.py`` and :mod:`bpt.toy_analysis`.
    """

    def __init__(self, parameters, regions, yields="exact", n_threads=1):
        self.parameters = ParameterSet(parameters)
        self.regions = list(regions)
        names = [r.name for r in self.regions]
        if len(set(names)) != len(names):
            raise ValueError(f"region names must be unique, got {names}")
        if yields not in YIELD_METHODS:
            raise ValueError(f"yields must be one of {YIELD_METHODS}, got {yields!r}")
        self.yield_method = yields
        self.n_threads = n_threads
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

    @staticmethod
    def _reference_events(region, layout, labels=False):
        if isinstance(region, BinnedRegion):
            bins = np.arange(region.n_bins)
            fractions = np.column_stack([p.yields for p in region.processes]) / \
                region.totals[:, None]
            return EventSet(layout, bins, fractions, region.totals)
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
        return EventSet(layout, X, fractions, weights)

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
        values."""
        regions = {}
        for region in self.regions:
            if region.name not in observed:
                raise ValueError(f"no data given for region {region.name!r}")
            entry = observed[region.name]
            if isinstance(region, BinnedRegion):
                counts = np.atleast_1d(np.asarray(entry, dtype=np.float64))
                if counts.shape != (region.n_bins,) or not np.isfinite(counts).all() \
                        or (counts < 0).any():
                    raise ValueError(f"region {region.name!r}: expected {region.n_bins} "
                                     "non-negative counts")
                regions[region.name] = ("counts", counts)
                continue
            X, weights = entry if isinstance(entry, tuple) else (entry, None)
            X = np.asarray(X, dtype=np.float64)
            if X.ndim != 2 or X.shape[1] != region.n_features:
                raise ValueError(f"region {region.name!r}: data must have shape (n, "
                                 f"{region.n_features}), got {X.shape}")
            if not np.isfinite(X).all():
                raise ValueError(f"region {region.name!r}: data contain NaN or infinite values")
            weights = np.ones(len(X)) if weights is None else np.asarray(weights, np.float64)
            events = EventSet(self.layouts[region.name], X, region.process_fractions(X),
                              np.zeros(len(X)))
            regions[region.name] = ("events", events, weights)
        unknown = set(observed) - {r.name for r in self.regions}
        if unknown:
            raise ValueError(f"data given for unknown regions {sorted(unknown)}")
        centers = self.parameters.nominal if global_observables is None else \
            self.parameters.vector(global_observables)
        return Dataset(regions, centers)

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
        the global observables at ``values``, so that the best fit is ``values`` itself."""
        vector = self.parameters.vector(values)
        regions = {}
        for name, expected in self.expected(vector).items():
            binned = isinstance(self.region(name), BinnedRegion)
            regions[name] = ("counts", expected) if binned else ("reference", expected)
        centers = np.where(self.parameters.constrained, vector, self.parameters.nominal)
        return Dataset(regions, centers)

    def toy(self, values=None, random_state=None):
        """A pseudo-experiment at ``values``: Poisson counts on the expected event weights
        (Poisson bootstrap of the simulation; Poisson counts per bin) and global observables
        drawn around ``values`` for the constrained parameters."""
        rng = np.random.default_rng(random_state)
        vector = self.parameters.vector(values)
        regions = {}
        for name, expected in self.expected(vector).items():
            counts = rng.poisson(np.maximum(expected, 0.0)).astype(np.float64)
            binned = isinstance(self.region(name), BinnedRegion)
            regions[name] = ("counts", counts) if binned else ("reference", counts)
        ps = self.parameters
        centers = np.where(ps.constrained, rng.normal(vector, ps.widths), ps.nominal)
        return Dataset(regions, centers)

    def likelihood(self, data):
        """The statistic u on ``data``, ready for fits and scans."""
        from .statistic import ProfileLikelihood
        return ProfileLikelihood(self, data)
