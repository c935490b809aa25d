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
