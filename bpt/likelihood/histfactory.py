"""HistFactory (pyhf JSON) workspaces read as binned regions of a bpt model.

A workspace's channels become :class:`~bpt.likelihood.BinnedRegion` objects whose parameters
can be shared with unbinned regions, so that the binned control and signal regions of an
analysis join an unbinned one in a single :class:`~bpt.likelihood.Model`. Per sample, the
expected yield in bin b is pyhf's

    lambda_b = (nominal_b + sum_h Delta_hb(alpha_h)) * prod_n kappa_n(alpha_n)
               * prod normfactors * lumi * gamma_b,

with the interpolations of pyhf's ``Model`` by default: normsys code 4 (``hi^alpha`` and
``lo^-alpha`` beyond +-1, a polynomial in log kappa inside) and histosys code 4p (linear beyond
+-1, a polynomial inside); ``interpolation={"normsys": "code1", "histosys": "code0"}`` selects
HistFactory's piecewise exponential and piecewise linear forms. Constraints are pyhf's Gaussian
ones: a unit Gaussian on each normsys and histosys alpha, ``N(aux | lumi, sigma)`` on lumi,
and ``N(1 | gamma_b, sigma_b)`` on staterror with
``sigma_b = sqrt(sum_s delta_sb^2) / sum_s nominal_sb``; shapefactor parameters are free.
shapesys (a Poisson constraint) is refused. Reading the JSON needs no pyhf.

:func:`interpolation_from_workspace` turns one sample's normsys and histosys variations into
a per-event :class:`~bpt.FactorizedInterpolation` (each event takes the ratios of its bin),
the baseline unbinned surrogate of an analysis that already has its variations in pyhf JSON.
"""
import json
import os
from typing import Dict, List, NamedTuple

import numpy as np

from ..interpolation import code4_log_factor
from .components import LogRatioSystematic
from .modifiers import Scale
from .parameters import Parameter
from .regions import BinnedProcess, BinnedRegion

DEFAULT_INTERPOLATION = {"normsys": "code4", "histosys": "code4p"}
INTERPOLATIONS = {"normsys": ("code4", "code1"), "histosys": ("code4p", "code0")}
SUPPORTED = ("normfactor", "normsys", "histosys", "lumi", "staterror", "shapefactor")
# pyhf's default bounds of normfactor, lumi, staterror and shapefactor parameters.
FACTOR_BOUNDS = (0.0, 10.0)
STATERROR_BOUNDS = (1e-10, 10.0)
SYSTEMATIC_BOUNDS = (-5.0, 5.0)
# A histosys may not take a bin's yield below this fraction of its nominal value.
MIN_RATIO = 1e-10


class HistFactoryWorkspace(NamedTuple):
    """What a pyhf workspace contributes to a bpt model.

    Attributes
    ----------
    parameters : list of Parameter
        Every parameter of the channels, with pyhf's constraints, initial values and bounds.
    regions : list of BinnedRegion
        One per channel, named as the channel.
    observations : dict
        Channel name -> observed counts, for :meth:`~bpt.likelihood.Model.data`.
    poi : str or None
        The measurement's parameter of interest.
    """

    parameters: List[Parameter]
    regions: List[BinnedRegion]
    observations: Dict[str, np.ndarray]
    poi: str


class _HistFactorySample:
    """log(lambda_b / nominal_b) of one sample for its normsys, histosys and per-bin factors,
    as a function of the bins and the sample's own parameter vector."""

    def __init__(self, nominal, normsys, histosys, per_bin, interpolation):
        self.normsys_code, self.histosys_code = interpolation["normsys"], interpolation["histosys"]
        self.nominal = nominal
        self.normsys = normsys        # (slot, log hi, log lo)
        self.histosys = histosys      # (slot, hi - nominal, nominal - lo)
        self.per_bin = per_bin        # (first slot, bin mask): gamma_b at slot + rank of b
        self.populated = nominal > 0

    def predict_log_ratio(self, X, point):
        bins = np.asarray(X, dtype=np.intp).reshape(-1)
        point = np.asarray(point, dtype=np.float64)
        shifted = self.nominal.copy()
        for slot, up, down in self.histosys:
            alpha = point[slot]
            if self.histosys_code == "code0" or abs(alpha) > 1:
                shifted += alpha * (up if alpha >= 0 else down)
            else:   # code 4p: value and first two derivatives continuous at +-1
                a2 = alpha * alpha
                shifted += (alpha * 0.5 * (up + down)
                            + a2 * (a2 * (3.0 * a2 - 10.0) + 15.0) * (up - down) / 16.0)
        ratio = np.ones_like(self.nominal)
        ratio[self.populated] = np.maximum(shifted[self.populated] / self.nominal[self.populated],
                                           MIN_RATIO)
        log_ratio = np.log(ratio)
        for slot, log_hi, log_lo in self.normsys:
            alpha = point[slot]
            if self.normsys_code == "code1":
                log_ratio += alpha * log_hi if alpha >= 0 else -alpha * log_lo
            else:
                log_ratio += float(np.ravel(code4_log_factor(alpha, [log_hi], [log_lo]))[0])
        for first, mask in self.per_bin:
            gammas = np.ones_like(self.nominal)
            gammas[mask] = point[first:first + mask.sum()]
            log_ratio += np.log(np.maximum(gammas, MIN_RATIO))
        return log_ratio[bins]


class _BinnedLogRatio(LogRatioSystematic):
    """A LogRatioSystematic on the bins of a binned process."""

    def __init__(self, model, parameters, n_bins, step=1e-6):
        super().__init__(model, parameters, step)
        self.n_bins = n_bins


def read_workspace(workspace, measurement=None, interpolation=None):
    """Read the channels of a pyhf JSON workspace as bpt binned regions.

    Parameters
    ----------
    workspace : dict, str or path-like
        The workspace document (``channels``, ``observations``, ``measurements``), or the
        path of its JSON file.
    measurement : str, optional
        The measurement whose parameter of interest and parameter settings (initial
        values, bounds, fixed flags, lumi auxdata and sigma) to use; default the first.
    interpolation : dict, optional
        ``{"normsys": "code4" or "code1", "histosys": "code4p" or "code0"}``; default
        pyhf's ``Model`` defaults, code4 and code4p (pass pyhf's ``modifier_settings`` values
        when a workspace is meant with others).

    Returns
    -------
    HistFactoryWorkspace
        ``Model(ws.parameters + mine, ws.regions + [my_unbinned_region])`` combines them;
        parameters are shared by name.

    Raises
    ------
    ValueError
        For modifiers whose likelihood differs from bpt's (shapesys: a Poisson constraint)
        or malformed channels, naming the channel, sample and modifier.
    """
    if not isinstance(workspace, dict):
        with open(os.fspath(workspace)) as f:
            workspace = json.load(f)
    settings, poi = _measurement(workspace, measurement)
    codes = dict(DEFAULT_INTERPOLATION, **(interpolation or {}))
    for kind, allowed in INTERPOLATIONS.items():
        if codes[kind] not in allowed:
            raise ValueError(f"interpolation[{kind!r}] must be one of {allowed}, got "
                             f"{codes[kind]!r}")
    parameters = {}

    def declare(name, **fields):
        if name in parameters:
            return
        config = settings.get(name, {})
        nominal = config.get("inits", [fields.pop("nominal")])[0]
        bounds = tuple(config.get("bounds", [fields.pop("bounds")])[0])
        fields.pop("nominal", None), fields.pop("bounds", None)
        parameters[name] = Parameter(name, float(nominal), bounds,
                                     fixed=bool(config.get("fixed", False)),
                                     poi=(name == poi), **fields)

    staterror_sigmas = _staterror_sigmas(workspace)
    regions = []
    for channel in workspace["channels"]:
        processes = []
        for sample in channel["samples"]:
            nominal = np.asarray(sample["data"], dtype=np.float64)
            where = f"channel {channel['name']!r}, sample {sample['name']!r}"
            rate, normsys, histosys, per_bin, names = [], [], [], [], []
            for modifier in sample.get("modifiers", []):
                kind, name, data = modifier["type"], modifier["name"], modifier.get("data")
                if kind not in SUPPORTED:
                    raise ValueError(f"{where}: modifier {name!r} of type {kind!r} is not "
                                     f"supported (supported: {', '.join(SUPPORTED)}); shapesys "
                                     "has a Poisson constraint, which bpt does not model")
                if kind == "normfactor":
                    declare(name, nominal=1.0, bounds=FACTOR_BOUNDS)
                    rate.append(Scale(name))
                elif kind == "lumi":
                    config = settings.get(name, {})
                    if "sigmas" not in config:
                        raise ValueError(f"{where}: lumi modifier {name!r} needs its sigma in "
                                         "the measurement's parameter settings")
                    declare(name, nominal=config.get("auxdata", [1.0])[0],
                            bounds=FACTOR_BOUNDS, constraint="gaussian",
                            width=float(config["sigmas"][0]))
                    rate.append(Scale(name))
                elif kind in ("normsys", "histosys"):
                    declare(name, nominal=0.0, bounds=SYSTEMATIC_BOUNDS, constraint="gaussian")
                    names.append(name)
                    slot = len(names) - 1
                    if kind == "normsys":
                        hi, lo = float(data["hi"]), float(data["lo"])
                        if not (hi > 0 and lo > 0):
                            raise ValueError(f"{where}: normsys {name!r} needs positive hi "
                                             f"and lo, got {hi}, {lo}")
                        normsys.append((slot, np.log(hi), np.log(lo)))
                    else:
                        hi = np.asarray(data["hi_data"], dtype=np.float64)
                        lo = np.asarray(data["lo_data"], dtype=np.float64)
                        empty = nominal <= 0
                        if (hi[empty] != 0).any() or (lo[empty] != 0).any():
                            raise ValueError(f"{where}: histosys {name!r} populates bins "
                                             "where the nominal yield is zero")
                        histosys.append((slot, hi - nominal, nominal - lo))
                else:   # staterror, shapefactor: one factor per bin
                    mask = nominal > 0 if kind == "staterror" else np.ones(nominal.size, bool)
                    first = len(names)
                    for b in np.flatnonzero(mask):
                        gamma = f"{name}[{b}]"
                        if kind == "staterror":
                            sigma = staterror_sigmas[name][b]
                            declare(gamma, nominal=1.0, bounds=STATERROR_BOUNDS,
                                    constraint="gaussian" if sigma > 0 else None,
                                    width=sigma if sigma > 0 else 1.0)
                            if sigma == 0:
                                parameters[gamma].fixed = True
                        else:
                            declare(gamma, nominal=1.0, bounds=FACTOR_BOUNDS)
                        names.append(gamma)
                    per_bin.append((first, mask))
            systematics = []
            if names:
                systematics.append(_BinnedLogRatio(
                    _HistFactorySample(nominal, normsys, histosys, per_bin, codes), names,
                    nominal.size))
            processes.append(BinnedProcess(sample["name"], nominal, rate,
                                           systematics=systematics))
        regions.append(BinnedRegion(channel["name"], processes))
    observations = {o["name"]: np.asarray(o["data"], dtype=np.float64)
                    for o in workspace.get("observations", [])}
    return HistFactoryWorkspace(list(parameters.values()), regions, observations, poi)


def interpolation_from_workspace(workspace, channel, sample, edges, feature=0,
                                 modifiers=None, alpha0=1.0):
    """A per-event code-4 surrogate from one sample's normsys and histosys variations.

    Each event takes the ratios ``hi / nominal`` and ``lo / nominal`` of the bin of
    ``edges`` its ``feature`` falls in (a normsys: ``hi`` and ``lo`` everywhere), and the
    nuisances are interpolated per event with code 4 and multiplied
    (:class:`~bpt.FactorizedInterpolation`). At alpha = 0 and +-1 a bin's weighted events
    reproduce the workspace's yields; in between, a normsys follows pyhf's code 4 exactly,
    while a histosys follows the multiplicative code 4 per event rather than pyhf's additive
    code 4p on the bin sum.

    Parameters
    ----------
    workspace : dict, str or path-like
        The pyhf JSON workspace, or the path of its file.
    channel, sample : str
        Names of the channel and of the sample in it.
    edges : array-like, shape (n_bins + 1,)
        The bin edges of the channel's observable (the JSON stores only counts).
    feature : int, default=0
        The column of X holding that observable.
    modifiers : list of str, optional
        The normsys and histosys modifiers to take, in this order; default all of them, in
        the order of the workspace.
    alpha0 : float, default=1.0
        Half-width of the polynomial region of code 4.

    Returns
    -------
    FactorizedInterpolation
        Ready to predict, with one parameter per modifier, named as the modifier.
    """
    from ..interpolation import FactorizedInterpolation

    if not isinstance(workspace, dict):
        with open(os.fspath(workspace)) as f:
            workspace = json.load(f)
    found = [c for c in workspace.get("channels", []) if c.get("name") == channel]
    if not found:
        raise ValueError(f"channel {channel!r} is not in the workspace; channels: "
                         f"{[c.get('name') for c in workspace.get('channels', [])]}")
    samples = [s for s in found[0]["samples"] if s.get("name") == sample]
    if not samples:
        raise ValueError(f"sample {sample!r} is not in channel {channel!r}; samples: "
                         f"{[s.get('name') for s in found[0]['samples']]}")
    nominal = np.asarray(samples[0]["data"], dtype=np.float64)
    edges = np.asarray(edges, dtype=np.float64)
    if edges.ndim != 1 or edges.size != nominal.size + 1 or not (np.diff(edges) > 0).all():
        raise ValueError(f"edges must be {nominal.size + 1} increasing bin edges for the "
                         f"{nominal.size} bins of channel {channel!r}, got shape {edges.shape}")
    where = f"channel {channel!r}, sample {sample!r}"
    available = {m["name"]: m for m in samples[0].get("modifiers", [])
                 if m["type"] in ("normsys", "histosys")}
    chosen = list(available) if modifiers is None else list(modifiers)
    if not chosen:
        raise ValueError(f"{where} has no normsys or histosys modifier")
    variations = []
    for name in chosen:
        if name not in available:
            raise ValueError(f"{where}: no normsys or histosys modifier {name!r}; it has "
                             f"{list(available)}")
        data = available[name]["data"]
        if available[name]["type"] == "normsys":
            up, down = np.full(nominal.size, float(data["hi"])), np.full(nominal.size,
                                                                        float(data["lo"]))
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                up = np.asarray(data["hi_data"], dtype=np.float64) / nominal
                down = np.asarray(data["lo_data"], dtype=np.float64) / nominal
        filled = nominal > 0
        if not ((up[filled] > 0).all() and (down[filled] > 0).all()):
            raise ValueError(f"{where}: modifier {name!r} takes a bin's yield to zero or "
                             "below; a per-event ratio needs positive variations")
        variations.append(_BinRatios(edges, feature, np.log(np.where(filled, up, 1.0)),
                                     np.log(np.where(filled, down, 1.0)), name))
    return FactorizedInterpolation.from_variations(
        [(v.log_up, v.log_down) for v in variations], parameter_names=chosen, alpha0=alpha0)


class _BinRatios:
    """Per-event log ratios of one modifier: the values of the event's bin."""

    def __init__(self, edges, feature, log_up, log_down, name):
        self.edges, self.feature, self.name = edges, feature, name
        self.up, self.down = log_up, log_down

    def _bins(self, X):
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or not 0 <= self.feature < X.shape[1]:
            raise ValueError(f"X must be 2-d with column {self.feature} (the channel's "
                             f"observable), got shape {X.shape}")
        x = X[:, self.feature]
        outside = ~((x >= self.edges[0]) & (x <= self.edges[-1]))
        if outside.any():
            raise ValueError(f"modifier {self.name!r}: {int(outside.sum())} events have "
                             f"feature {self.feature} outside the edges "
                             f"[{self.edges[0]}, {self.edges[-1]}] (or NaN)")
        return np.clip(np.searchsorted(self.edges, x, side="right") - 1, 0,
                       self.edges.size - 2)

    def log_up(self, X):
        return self.up[self._bins(X)]

    def log_down(self, X):
        return self.down[self._bins(X)]


def _measurement(workspace, name):
    measurements = workspace.get("measurements", [])
    if not measurements:
        return {}, None
    if name is None:
        chosen = measurements[0]
    else:
        matching = [m for m in measurements if m["name"] == name]
        if not matching:
            raise ValueError(f"no measurement {name!r}; the workspace has "
                             f"{[m['name'] for m in measurements]}")
        chosen = matching[0]
    config = chosen.get("config", {})
    settings = {p["name"]: p for p in config.get("parameters", [])}
    return settings, config.get("poi")


def _staterror_sigmas(workspace):
    """Relative uncertainty per bin of each staterror modifier, summed over its samples."""
    nominal, variance = {}, {}
    for channel in workspace["channels"]:
        for sample in channel["samples"]:
            for modifier in sample.get("modifiers", []):
                if modifier["type"] != "staterror":
                    continue
                name = modifier["name"]
                data = np.asarray(sample["data"], dtype=np.float64)
                errors = np.asarray(modifier["data"], dtype=np.float64)
                nominal[name] = nominal.get(name, 0.0) + data
                variance[name] = variance.get(name, 0.0) + errors ** 2
    return {name: np.where(nominal[name] > 0, np.sqrt(variance[name])
                           / np.where(nominal[name] > 0, nominal[name], 1.0), 0.0)
            for name in nominal}
