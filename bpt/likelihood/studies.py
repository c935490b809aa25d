"""Studies over many fits: coverage with pseudo-experiments, coverage under the truth, and
nuisance impacts.

Pseudo-experiments run through joblib, so ``with joblib.parallel_backend("dask"):`` (or
"ray") spreads a coverage study over a cluster without any change here.
"""
from dataclasses import dataclass

import numpy as np
from joblib import delayed
from scipy.stats import chi2

from .._progress import Progress, parallel_map
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
             tolerance=1e-3, progress=False):
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
    tolerance : float
        Of the fits.
    progress : bool or callable
        Report the pseudo-experiments done (True: a tqdm bar with elapsed time and time
        left; a callable gets ``(done, n_toys, elapsed_seconds)``).

    Returns
    -------
    CoverageResult
    """
    vector = model.parameters.vector(truth)
    index = model.parameters.index(parameter)
    seeds = np.random.SeedSequence(random_state).spawn(n_toys)
    outcomes = parallel_map((delayed(_pseudo_experiment)(model, vector, index, seed, tolerance)
                             for seed in seeds), n_toys, n_jobs, progress, "coverage")
    q = np.array([o[0] for o in outcomes])
    valid = np.array([o[1] for o in outcomes], dtype=bool)
    return CoverageResult(parameter, float(vector[index]), q, valid)


@dataclass
class TruthCoverageResult:
    """Fits of several objectives on the same pseudo-data drawn from the truth.

    Arrays have one row per pseudo-experiment and one column per objective (in the order
    of ``names``).

    Attributes
    ----------
    parameter : str
    truth : float
    names : list of str
        The objectives, e.g. ``["surrogate", "exact"]``.
    estimates, errors : ndarray, shape (n_toys, n_objectives)
        Best-fit value of ``parameter`` and its Hesse uncertainty.
    q : ndarray, shape (n_toys, n_objectives)
        q(truth) = u(truth, profiled) - u(best fit).
    valid : ndarray of bool, shape (n_toys, n_objectives)
        Both fits converged to a finite minimum.
    """

    parameter: str
    truth: float
    names: list
    estimates: np.ndarray
    errors: np.ndarray
    q: np.ndarray
    valid: np.ndarray

    def _column(self, name):
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"unknown objective {name!r}; the study has {self.names}") from None

    @property
    def all_valid(self):
        """Pseudo-experiments on which every objective's fits are valid."""
        return self.valid.all(axis=1)

    def coverage(self, name, cl=0.68, added_error=0.0):
        """Fraction of the pseudo-experiments whose ``cl`` interval of objective ``name``
        contains the truth, and its binomial standard error.

        ``added_error`` (a number, or one per pseudo-experiment) is an uncertainty added in
        quadrature to the interval, e.g. the one the surrogates induce: q(truth) is then
        scaled by sigma^2 / (sigma^2 + added_error^2), with sigma the Hesse error.
        """
        k = self._column(name)
        keep = self.all_valid
        sigma = self.errors[keep, k]
        added = np.broadcast_to(np.asarray(added_error, dtype=np.float64), self.valid.shape[:1])
        q = self.q[keep, k] * sigma ** 2 / (sigma ** 2 + added[keep] ** 2)
        covered = float(np.mean(q <= chi2.ppf(cl, 1)))
        return covered, float(np.sqrt(covered * (1 - covered) / q.size))

    def pulls(self, name, added_error=0.0):
        """(estimate - truth) / sqrt(error^2 + added_error^2) on the valid pseudo-experiments."""
        k = self._column(name)
        keep = self.all_valid
        added = np.broadcast_to(np.asarray(added_error, dtype=np.float64), self.valid.shape[:1])
        return (self.estimates[keep, k] - self.truth) / np.sqrt(self.errors[keep, k] ** 2
                                                                + added[keep] ** 2)

    def differences(self, name, reference):
        """estimate(name) - estimate(reference) on the same pseudo-data, in units of the
        reference's error."""
        k, r = self._column(name), self._column(reference)
        keep = self.all_valid
        return (self.estimates[keep, k] - self.estimates[keep, r]) / self.errors[keep, r]

    def spread(self, names):
        """Per pseudo-experiment, the standard deviation of the estimates of the objectives
        ``names`` (e.g. bootstrap-replica surrogates): their statistical uncertainty."""
        columns = [self._column(name) for name in names]
        if len(columns) < 2:
            raise ValueError("spread needs at least two objectives")
        return self.estimates[:, columns].std(axis=1, ddof=1)

    def summary(self, reference=None, cl=0.68):
        """One row per objective: coverage, its error, pull mean and width and, against
        ``reference``, the mean and RMS of the difference in units of its error."""
        rows = []
        for name in self.names:
            covered, error = self.coverage(name, cl)
            pulls = self.pulls(name)
            row = {"objective": name, "coverage": covered, "coverage_error": error,
                   "pull_mean": float(pulls.mean()), "pull_width": float(pulls.std(ddof=1))}
            if reference is not None and name != reference:
                d = self.differences(name, reference)
                row.update(difference_mean=float(d.mean()),
                           difference_rms=float(np.sqrt(np.mean(d ** 2))))
            rows.append(row)
        return rows


def _truth_experiment(generate, objectives, parameter, truth, seed, tolerance):
    data = generate(seed)
    outcome = []
    for make in objectives.values():
        objective = make(data)
        best = fit(objective, tolerance=tolerance)
        conditional = fit(objective, fixed={parameter: truth}, start=best.vector, hesse=False,
                          tolerance=tolerance)
        error = best.errors.get(parameter, np.nan)
        valid = bool(best.valid and conditional.valid and np.isfinite(best.u)
                     and np.isfinite(conditional.u) and np.isfinite(error) and error > 0)
        outcome.append((best[parameter], error, max(conditional.u - best.u, 0.0), valid))
    return outcome


def truth_coverage(generate, objectives, parameter, truth, n_toys=100, random_state=None,
                   n_jobs=1, tolerance=1e-3, progress=False):
    """Coverage, pulls and differences of several likelihoods on pseudo-data from the truth.

    Unlike :func:`coverage`, whose toys are drawn from the model itself and so cannot see
    the model's errors, the pseudo-data come from a user-supplied generator of the true
    process (exact densities, or a simulation independent of the surrogates' training),
    and every objective (say the surrogate chain and the exact likelihood) is fitted on the
    same pseudo-data. Pseudo-experiments run in parallel through joblib, as in
    :func:`coverage`.

    Parameters
    ----------
    generate : callable
        ``generate(seed)`` returns one pseudo-experiment (any object the objectives
        accept); ``seed`` is a :class:`numpy.random.SeedSequence`, to pass to
        ``numpy.random.default_rng``.
    objectives : dict
        ``name -> make(pseudo_experiment)`` returning an objective for
        :func:`~bpt.likelihood.fit` (a :class:`NegativeLogLikelihood`, an oracle, ...). All of
        them must name ``parameter``.
    parameter : str
        The parameter of interest.
    truth : float
        Its true value in the generator.
    n_toys : int
    random_state : int, optional
    n_jobs : int
        joblib workers; the active joblib backend decides where they run.
    tolerance : float
        Of the fits.
    progress : bool or callable
        Report the pseudo-experiments done, as in :func:`coverage`.

    Returns
    -------
    TruthCoverageResult
    """
    if not objectives:
        raise ValueError("objectives: give at least one name -> objective builder")
    if not isinstance(n_toys, (int, np.integer)) or n_toys < 1:
        raise ValueError(f"n_toys must be a positive integer, got {n_toys!r}")
    seeds = np.random.SeedSequence(random_state).spawn(n_toys)
    outcomes = parallel_map((delayed(_truth_experiment)(generate, objectives, parameter,
                                                        float(truth), seed, tolerance)
                             for seed in seeds), n_toys, n_jobs, progress, "truth coverage")
    table = np.array([[o[:3] for o in row] for row in outcomes], dtype=np.float64)
    valid = np.array([[o[3] for o in row] for row in outcomes], dtype=bool)
    return TruthCoverageResult(parameter, float(truth), list(objectives), table[..., 0],
                               table[..., 1], table[..., 2], valid)


def surrogate_uncertainty(replicas, parameter, tolerance=1e-3):
    """The spread of ``parameter``'s best fit over objectives that differ only by their
    surrogates (e.g. models built with bootstrap replicas of every surrogate, on the same
    data): the uncertainty the surrogates' training statistics add to the fit.

    Parameters
    ----------
    replicas : list of objectives
        At least two, all on the same data.
    parameter : str

    Returns
    -------
    (float, ndarray)
        The standard deviation of the estimates, and the estimates. Add it in quadrature
        to the fit's error (:meth:`TruthCoverageResult.coverage` shows the effect).
    """
    replicas = list(replicas)
    if len(replicas) < 2:
        raise ValueError("replicas: give at least two objectives")
    estimates = np.array([fit(objective, hesse=False, tolerance=tolerance)[parameter]
                          for objective in replicas])
    return float(estimates.std(ddof=1)), estimates


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


def impacts(objective, poi, nuisances=None, best=None, tolerance=1e-3, progress=False):
    """Pre- and post-fit impacts of nuisance parameters on ``poi``.

    Parameters
    ----------
    objective : NegativeLogLikelihood or compatible
    poi : str
    nuisances : list of str, optional
        Default: the free Gaussian-constrained parameters of the model.
    best : FitResult, optional
        The global fit with Hesse errors, if already done.
    tolerance : float
        Of the fits.
    progress : bool or callable
        Report the nuisances done (True: a tqdm bar; a callable gets
        ``(done, n_nuisances, elapsed_seconds)``).

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
    with Progress(progress, len(nuisances), "impacts") as report:
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
            report.update()
    return ImpactsResult(poi, float(poi_value), float(best.errors.get(poi, np.nan)),
                         list(nuisances), np.array(pulls), np.array(constraints),
                         np.array(prefit).reshape(-1, 2), np.array(postfit).reshape(-1, 2))
