"""Studies over many fits: coverage with pseudo-experiments, and nuisance impacts.

Pseudo-experiments run through joblib, so ``with joblib.parallel_backend("dask"):`` (or
"ray") spreads a coverage study over a cluster without any change here.
"""
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed
from scipy.stats import chi2

from .inference import fit


@dataclass
class CoverageResult:
    """Outcome of a coverage study for one parameter of interest.

    Attributes
    ----------
    parameter : str
    truth : float
    q : ndarray
        q(truth) = u(truth, profiled) - u(best fit) of every pseudo-experiment.
    valid : ndarray of bool
        Both fits of the pseudo-experiment converged.
    """

    parameter: str
    truth: float
    q: np.ndarray
    valid: np.ndarray

    def coverage(self, cl=0.68):
        """Fraction of valid pseudo-experiments whose ``cl`` interval contains the truth,
        and its binomial standard error."""
        q = self.q[self.valid]
        covered = np.mean(q <= chi2.ppf(cl, 1))
        return float(covered), float(np.sqrt(covered * (1 - covered) / q.size))


def _pseudo_experiment(model, truth_vector, index, seed, tolerance):
    data = model.toy(truth_vector, random_state=seed)
    objective = model.likelihood(data)
    best = fit(objective, hesse=False, tolerance=tolerance)
    conditional = fit(objective, fixed={objective.names[index]: truth_vector[index]},
                      start=best.vector, hesse=False, tolerance=tolerance)
    return max(conditional.u - best.u, 0.0), best.valid and conditional.valid


def coverage(model, parameter, truth=None, n_toys=100, random_state=None, n_jobs=1,
             tolerance=1e-3):
    """Neyman coverage of profile-likelihood intervals by Poisson-bootstrap toys.

    Each toy draws data at ``truth`` (:meth:`Model.toy`: Poisson counts on the expected
    weights of the simulated events, global observables around the truth) and computes
    q(truth). The ``cl`` interval of a toy contains the truth exactly when
    q(truth) <= chi2_1(cl), so :meth:`CoverageResult.coverage` gives the coverage at any
    confidence level from one set of toys.

    Parameters
    ----------
    model : Model
    parameter : str
        The parameter of interest.
    truth : dict, optional
        Values generating the toys (default: nominal).
    n_toys : int
    random_state : int, optional
    n_jobs : int
        joblib workers; the active joblib backend decides where they run.

    Returns
    -------
    CoverageResult
    """
    vector = model.parameters.vector(truth)
    index = model.parameters.index(parameter)
    seeds = np.random.SeedSequence(random_state).spawn(n_toys)
    outcomes = Parallel(n_jobs=n_jobs)(
        delayed(_pseudo_experiment)(model, vector, index, seed, tolerance) for seed in seeds)
    q = np.array([o[0] for o in outcomes])
    valid = np.array([o[1] for o in outcomes], dtype=bool)
    return CoverageResult(parameter, float(vector[index]), q, valid)


@dataclass
class ImpactsResult:
    """Pulls, constraints and impacts of the nuisance parameters on a POI.

    For every constrained nuisance k (in the order of ``names``):

    - ``pulls``: (nu_hat - nominal) / prior width;
    - ``constraints``: post-fit uncertainty / prior width;
    - ``prefit``: (impact down, impact up) on the POI when nu_k is fixed at nu_hat -+ the
      prior width and the other parameters are re-fitted;
    - ``postfit``: the same with nu_k at nu_hat -+ its post-fit uncertainty.
    """

    poi: str
    poi_value: float
    poi_error: float
    names: list
    pulls: np.ndarray
    constraints: np.ndarray
    prefit: np.ndarray
    postfit: np.ndarray

    def ranking(self):
        """Nuisance names ordered by their largest post-fit impact, largest first."""
        size = np.abs(self.postfit).max(axis=1)
        return [self.names[i] for i in np.argsort(size)[::-1]]


def impacts(objective, poi, nuisances=None, best=None, tolerance=1e-3):
    """Pre- and post-fit impacts of nuisance parameters on ``poi``.

    Parameters
    ----------
    objective : ProfileLikelihood or compatible
    poi : str
    nuisances : list of str, optional
        Default: the free Gaussian-constrained parameters of the model.
    best : FitResult, optional
        The global fit with Hesse errors, if already done.

    Returns
    -------
    ImpactsResult
    """
    parameters = objective.model.parameters
    if best is None:
        best = fit(objective, tolerance=tolerance)
    if nuisances is None:
        nuisances = [p.name for p, fixed in zip(parameters, objective.fixed)
                     if p.constraint == "gaussian" and not fixed]
    poi_index = parameters.index(poi)
    poi_value = best.vector[poi_index]
    pulls, constraints, prefit, postfit = [], [], [], []
    for name in nuisances:
        k = parameters.index(name)
        width, value = parameters.widths[k], best.vector[k]
        error = best.errors.get(name, np.nan)
        pulls.append((value - parameters.nominal[k]) / width)
        constraints.append(error / width)
        shifts = []
        for delta in (width, error):
            pair = []
            for sign in (-1, 1):
                refit = fit(objective, fixed={name: value + sign * delta}, start=best.vector,
                            hesse=False, tolerance=tolerance)
                pair.append(refit.vector[poi_index] - poi_value)
            shifts.append(pair)
        prefit.append(shifts[0])
        postfit.append(shifts[1])
    return ImpactsResult(poi, float(poi_value), float(best.errors.get(poi, np.nan)),
                         list(nuisances), np.array(pulls), np.array(constraints),
                         np.array(prefit).reshape(-1, 2), np.array(postfit).reshape(-1, 2))
