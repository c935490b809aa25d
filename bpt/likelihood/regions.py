"""Processes and regions: what a model is made of.

An unbinned region holds, per process, simulated events at the reference point whose weights
sum to the expected yield; a binned (or counting) region holds per-bin yields. Binned
dependences on parameters come from yields at several points: systematics through the
closed-form log-polynomial fit of the BoostedParametricTree's leaves applied to each bin,
POI dependence through per-bin polynomial coefficients.
"""
import numpy as np

from .._input import as_table
from .._core._parametric_criterion import ParametricCriterion
from ..coefficients import coefficients_from_weights
from ..parametrization import Parametrization, nominal_points
from .components import LogRatioSystematic, PoiDependence, Systematic


class Process:
    """A process of an unbinned region.

    Parameters
    ----------
    name : str
    X : array-like, shape (n_events, n_features)
        Simulated events at the reference point.
    weights : array-like, shape (n_events,), optional
        Event weights summing to the expected yield (default 1 each).
    rate : sequence of modifiers
        :class:`~bpt.likelihood.Scale`, :class:`~bpt.likelihood.Normalization`; their product
        scales the yield.
    poi : PoiDependence, optional
    systematics : sequence of Systematic or LogRatioSystematic
        Factorized effects, each over its own group of nuisances.
    """

    def __init__(self, name, X, weights=None, rate=(), poi=None, systematics=()):
        self.name = name
        table = as_table(X, f"process {name!r}: X")
        self.feature_names = table.names
        self.X = np.asarray(table.values, dtype=np.float64)
        if self.X.ndim != 2 or not len(self.X):
            raise ValueError(f"process {name!r}: X must be a non-empty 2-d array of events")
        if not np.isfinite(self.X).all():
            raise ValueError(f"process {name!r}: X contains NaN or infinite values; the "
                             "likelihood needs every event's features")
        self.weights = (np.ones(len(self.X)) if weights is None
                        else np.asarray(weights, dtype=np.float64).reshape(-1))
        if self.weights.shape != (len(self.X),) or not np.isfinite(self.weights).all():
            raise ValueError(f"process {name!r}: weights must be finite, one per event")
        _check_components(name, poi, systematics)
        self.rate, self.poi, self.systematics = list(rate), poi, list(systematics)


class UnbinnedRegion:
    """A region whose events enter the likelihood one by one.

    Parameters
    ----------
    name : str
    processes : list of Process
    fractions : callable, optional
        ``fractions(X)`` returns g_p(x) = dsigma_p(x) / sum_q dsigma_q(x) at the reference
        point, shape (n_events, n_processes) in the order of ``processes`` (a calibrated
        classifier, or the truth for a toy). Without it, simulated events use their own
        process (g = 1 for it, 0 otherwise) and observed events cannot be evaluated; Asimov
        and bootstrap data are then evaluated as if each event's process were known, which
        overstates the information.
    yields_from : {"fractions", "labels"}, default="fractions"
        How the exact expected yields of observed data are summed over the simulated events
        (``Model(yields="spline")`` interpolates the ``"fractions"`` sums).
        ``"fractions"``: every simulated event counts for process p with weight g_p(x), the
        normalization of the model as written. ``"labels"``: every simulated event counts
        for its own process only; unbiased when g is calibrated and of lower variance, since
        the heavy events of a large background no longer scatter into the yield of a small
        signal. Asimov and bootstrap data on the simulated events always use ``fractions``.
    """

    def __init__(self, name, processes, fractions=None, yields_from="fractions"):
        if yields_from not in ("fractions", "labels"):
            raise ValueError(f"region {name!r}: yields_from must be 'fractions' or 'labels', "
                             f"got {yields_from!r}")
        self.yields_from = yields_from
        self.name = name
        self.processes = list(processes)
        if not self.processes:
            raise ValueError(f"region {name!r} has no processes")
        n_features = {p.X.shape[1] for p in self.processes}
        if len(n_features) > 1:
            raise ValueError(f"region {name!r}: processes have different numbers of features "
                             f"{sorted(n_features)}")
        self.n_features = n_features.pop()
        self.fractions = fractions
        _check_unique(name, [p.name for p in self.processes])

    def process_fractions(self, X, labels=None):
        """g (n, P), rows summing to 1: from ``fractions`` or, for simulated events, labels."""
        if len(X) == 0:
            return np.zeros((0, len(self.processes)))
        if self.fractions is None:
            if labels is None:
                raise ValueError(f"region {self.name!r}: observed events need the process "
                                 "fractions g_p(x); give the region a fractions function")
            g = np.zeros((len(labels), len(self.processes)))
            g[np.arange(len(labels)), labels] = 1.0
            return g
        g = np.asarray(self.fractions(X), dtype=np.float64)
        if g.shape != (len(X), len(self.processes)):
            raise ValueError(f"region {self.name!r}: fractions returned shape {g.shape}, "
                             f"expected ({len(X)}, {len(self.processes)})")
        if not np.isfinite(g).all() or (g < 0).any():
            raise ValueError(f"region {self.name!r}: fractions must be finite and "
                             "non-negative")
        total = g.sum(axis=1, keepdims=True)
        if (total <= 0).any():
            raise ValueError(f"region {self.name!r}: some events have all fractions zero")
        return g / total


class BinnedProcess:
    """A process of a binned (or counting) region: its expected yield in each bin.

    Parameters
    ----------
    name : str
    yields : array-like, shape (n_bins,)
        Expected yields at the reference point.
    rate : sequence of modifiers
    poi : BinnedPoiDependence, optional
    systematics : sequence of BinnedSystematic
    """

    def __init__(self, name, yields, rate=(), poi=None, systematics=()):
        self.name = name
        self.yields = np.atleast_1d(np.asarray(yields, dtype=np.float64))
        if self.yields.ndim != 1 or not np.isfinite(self.yields).all() or (self.yields < 0).any():
            raise ValueError(f"process {name!r}: yields must be finite and non-negative, one "
                             "per bin")
        _check_components(name, poi, systematics)
        for component in [poi] + list(systematics):
            if component is not None and component.n_bins != self.yields.size:
                raise ValueError(f"process {name!r}: a dependence has {component.n_bins} bins, "
                                 f"the yields {self.yields.size}")
        self.rate, self.poi, self.systematics = list(rate), poi, list(systematics)


class BinnedRegion:
    """A region entering as Poisson counts per bin (one bin: a counting region)."""

    def __init__(self, name, processes):
        self.name = name
        self.processes = list(processes)
        if not self.processes:
            raise ValueError(f"region {name!r} has no processes")
        n_bins = {p.yields.size for p in self.processes}
        if len(n_bins) > 1:
            raise ValueError(f"region {name!r}: processes have different numbers of bins")
        self.n_bins = n_bins.pop()
        _check_unique(name, [p.name for p in self.processes])
        self.totals = np.sum([p.yields for p in self.processes], axis=0)
        empty = np.flatnonzero(self.totals <= 0)
        if empty.size:
            raise ValueError(f"region {name!r}: bins {empty.tolist()} have no expected events")


class _PerBinTable:
    """Coefficients looked up by bin index: the 'events' of a binned region are its bins."""

    def __init__(self, table):
        self.table = table

    def __call__(self, bins):
        return self.table[np.asarray(bins, dtype=np.intp).reshape(-1)]


class BinnedSystematic(Systematic):
    """Per-bin ``exp(m(nu) . Delta_b)`` from the yields at several nuisance points.

    Parameters
    ----------
    parameters : str or list of str
    points : array-like, shape (K + 1, n_params) or (K + 1,)
        Must include the nominal point 0.
    yields : array-like, shape (K + 1, n_bins), or (K + 1,) for one bin
        The process's yields at each point: positive, or zero at every point in bins the
        process does not populate.
    parametrization : spec or Parametrization, default="quadratic"

    Each bin's ``Delta_b`` is the least-squares fit of ``log(y_k / y_0)`` over the points:
    the closed-form leaf solution of the BoostedParametricTree applied to bin yields.
    """

    def __init__(self, parameters, points, yields, parametrization="quadratic"):
        names, points, yields, parametrization = _binned_inputs(parameters, points, yields,
                                                                parametrization)
        is_nominal = nominal_points(points)
        if is_nominal.sum() != 1:
            raise ValueError("BinnedSystematic: the points must contain the nominal point 0 "
                             "exactly once")
        # A bin without events at any point contributes nothing: its coefficients stay zero.
        empty = (yields == 0).all(axis=0)
        if not (yields[:, ~empty] > 0).all():
            bad = np.argwhere(~(yields[:, ~empty] > 0))[0]
            bin_index = np.flatnonzero(~empty)[bad[1]]
            raise ValueError(f"BinnedSystematic: bin {bin_index} has a non-positive yield at "
                             f"point {points[bad[0]].tolist()} but not at every point; "
                             "log-polynomial fits need positive yields")
        design = parametrization.design_matrix(points[~is_nominal], "non-nominal points")
        # Each bin is a leaf whose weights at the points (nominal first) are its yields.
        leaf = ParametricCriterion(design, np.zeros(points.shape[0]))
        bin_yields = np.concatenate([yields[is_nominal], yields[~is_nominal]]).T
        table = np.zeros((yields.shape[1], parametrization.n_terms))
        table[~empty] = leaf.values(np.ascontiguousarray(bin_yields[~empty]))
        self.n_bins = yields.shape[1]
        super().__init__(_PerBinTable(table), names, parametrization)


class BinnedPoiDependence(PoiDependence):
    """Per-bin ``1 + m(theta) . t_b`` from the yields at several POI points.

    Parameters
    ----------
    parameters : str or list of str
    points : array-like, shape (K + 1, n_params) or (K + 1,)
        Must include the reference point 0.
    yields : array-like, shape (K + 1, n_bins), or (K + 1,) for one bin
    parametrization : spec or Parametrization, default="quadratic"
    """

    def __init__(self, parameters, points, yields, parametrization="quadratic"):
        names, points, yields, parametrization = _binned_inputs(parameters, points, yields,
                                                                parametrization)
        _, table = coefficients_from_weights(yields.T, points, parametrization)
        self.n_bins = yields.shape[1]
        super().__init__(_PerBinTable(table), names, parametrization)


def _binned_inputs(parameters, points, yields, parametrization):
    """Parameter names, points (K + 1, P), yields (K + 1, n_bins) and the parametrization."""
    names = [parameters] if isinstance(parameters, str) else list(parameters)
    yields = np.asarray(yields, dtype=np.float64)
    yields = yields[:, None] if yields.ndim == 1 else yields
    points = np.asarray(points, dtype=np.float64).reshape(yields.shape[0], -1)
    if not isinstance(parametrization, Parametrization):
        parametrization = Parametrization.from_spec(parametrization, n_params=len(names),
                                                    param_names=names)
    return names, points, yields, parametrization


def _check_components(name, poi, systematics):
    if poi is not None and not isinstance(poi, PoiDependence):
        raise TypeError(f"process {name!r}: poi must be a PoiDependence")
    for systematic in systematics:
        if not isinstance(systematic, (Systematic, LogRatioSystematic)):
            raise TypeError(f"process {name!r}: systematics must be Systematic or "
                            "LogRatioSystematic objects")


def _check_unique(region, names):
    if len(set(names)) != len(names):
        raise ValueError(f"region {region!r}: process names must be unique, got {names}")
