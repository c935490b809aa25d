"""Fits, profile scans and profile-likelihood intervals.

The functions take an *objective*: a callable of the full parameter vector returning
u = -2 ln L + const, with attributes ``names``, ``start``, ``bounds`` (n, 2), ``fixed`` (n,)
and optionally ``grad``, ``value_and_gradient``, ``hessian`` and ``has_hessian``.
:class:`~bpt.likelihood.NegativeLogLikelihood` is one; any object with that interface (an
oracle likelihood, say) works too. u has errordef 1.

With an analytic Hessian, minima are found by Newton steps (a Cholesky solve on the free
parameters, a backtracking line search, bounds respected), which converge in a few passes
over the events where u is close to quadratic; scans reuse the Hessian of the best fit.
An objective with ``gauss_newton`` (a positive semi-definite approximation of the Hessian,
cheaper to compute) is stepped with it until converged, then with the exact Hessian, which
confirms the minimum; where the exact Hessian is indefinite the Gauss-Newton step is used.
Migrad (iminuit) takes over whenever a Newton iteration cannot proceed, and always when
there is no analytic Hessian. Convergence uses Migrad's criterion: the estimated distance
to the minimum, g^T H^-1 g / 2, below 0.002 * tolerance.
"""
from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

import numpy as np
from iminuit import Minuit
from scipy.linalg import LinAlgError, cho_factor, cho_solve
from scipy.optimize import brentq
from scipy.stats import chi2

from .._progress import Progress

# Migrad's tolerance: it stops when the estimated distance to the minimum of u is below
# 0.002 * TOLERANCE; 1e-3 locates a parameter to about 0.002 of its uncertainty.
TOLERANCE = 1e-3


@dataclass
class FitResult:
    """Outcome of a maximum-likelihood fit.

    Attributes
    ----------
    names : list of str
    vector : ndarray
        Best-fit values of all parameters (fixed ones at their fixed values).
    u : float
        The statistic at the minimum.
    valid : bool
        Whether the result is a finite interior minimum: the minimizer converged, u and
        every value are finite, no free parameter sits at a bound, the model's expected
        yields are positive there, and (when ``hesse``) the curvature of u is positive
        definite in the free parameters (every one constrained by the data or a constraint).
    errors : dict
        Hesse (parabolic) uncertainties of the free parameters.
    covariance : ndarray or None
        Covariance matrix of all parameters (zero rows for fixed ones), from Hesse.
    minos : dict
        name -> (lower, upper) asymmetric uncertainties from Minos, when requested.
    n_calls : int
    reason : str
        Why the fit is not valid ("" when it is).
    minimizer : str
        What found the minimum: "newton" (Newton / Gauss-Newton steps with the analytic
        curvature), "migrad" (iminuit, the fallback) or "" (nothing to minimize).
    """

    names: list
    vector: np.ndarray
    u: float
    valid: bool
    errors: Dict[str, float] = field(default_factory=dict)
    covariance: Optional[np.ndarray] = None
    minos: Dict[str, Tuple[float, float]] = field(default_factory=dict)
    n_calls: int = 0
    reason: str = ""
    minimizer: str = ""

    @property
    def values(self):
        return {name: float(v) for name, v in zip(self.names, self.vector)}

    @property
    def correlation(self):
        """Correlation matrix of all parameters (zero rows for fixed ones), or None."""
        if self.covariance is None:
            return None
        scale = np.sqrt(np.clip(np.diag(self.covariance), 0.0, None))
        with np.errstate(divide="ignore", invalid="ignore"):
            correlation = self.covariance / np.outer(scale, scale)
        return np.where(np.outer(scale, scale) > 0, correlation, 0.0)

    def __getitem__(self, name):
        return float(self.vector[self.names.index(name)])

    def __repr__(self):
        status = "valid" if self.valid else f"NOT valid ({self.reason or 'no reason given'})"
        by = f" ({self.minimizer})" if self.minimizer else ""
        lines = [f"FitResult: {status}, u = {self.u:.6g}, {self.n_calls} objective calls{by}"]
        width = max((len(n) for n in self.names), default=0)
        shown = self.names if len(self.names) <= 40 else self.names[:20] + self.names[-5:]
        for name in shown:
            value = self[name]
            if name in self.minos:
                low, high = self.minos[name]
                spread = f" {low:+.4g} {high:+.4g} (Minos)"
            elif name in self.errors:
                spread = f" +- {self.errors[name]:.4g}"
            else:
                spread = " (fixed)"
            lines.append(f"  {name:<{width}} = {value:.6g}{spread}")
            if len(self.names) > 40 and name == self.names[19]:
                lines.append(f"  ... {len(self.names) - 25} more parameters ...")
        return "\n".join(lines)


def fit(objective, fixed=None, start=None, hesse=True, minos=None, cl=0.68,
        tolerance=TOLERANCE, strategy=0, hessian=None, progress=False):
    """Minimize u.

    Parameters
    ----------
    objective : NegativeLogLikelihood or compatible
    fixed : dict or list of str, optional
        Parameters to hold: ``{name: value}``, or names held at their start values. The
        objective's own fixed parameters stay fixed.
    start : dict or array, optional
        Starting values (default: the objective's start, the nominal values).
    hesse : bool
        Compute the covariance matrix.
    minos : list of str or True, optional
        Parameters for Minos intervals (True: the free ones).
    cl : float
        Confidence level of the Minos intervals.
    tolerance : float
        Migrad's tolerance (see ``TOLERANCE``).
    strategy : int
        Minuit's strategy when Migrad is used. 0 (default) avoids numerical second
        derivatives while minimizing; the covariance then comes from Hesse. A failed
        minimization is retried with strategy 2.
    hessian : ndarray, optional
        An approximation of the Hessian for the Newton steps (e.g. from a nearby fit),
        corrected by quasi-Newton (BFGS) updates while full steps succeed; once a step has
        to be shortened, and by default, the objective's own curvature is computed. The
        array passed is not modified.
    progress : bool or callable
        Report the minimizer's passes over the events as they happen (True: a tqdm bar; a
        callable gets ``(done, None, elapsed_seconds)`` after each pass).

    Returns
    -------
    FitResult
    """
    if hessian is not None:
        # The Newton steps correct it in place (quasi-Newton updates): keep the caller's.
        hessian = np.array(hessian, dtype=np.float64)
    with Progress(progress, None, "fit") as report:
        return _fit(objective, fixed, start, hesse, minos, cl, tolerance, strategy, hessian,
                    report)


def _conditional_fit(objective, fixed, start, tolerance, curvature):
    """A fit without covariance from ``start`` whose Newton steps begin with
    ``curvature`` and correct it in place, for a scan to carry it on to its next point."""
    return _fit(objective, fixed, start, False, None, 0.68, tolerance, 0, curvature,
                Progress(False))


def _fit(objective, fixed, start, hesse, minos, cl, tolerance, strategy, hessian, report):
    names = list(objective.names)
    vector = _start_vector(objective, start)
    hold = np.array(objective.fixed, dtype=bool)
    if fixed is not None:
        items = fixed.items() if isinstance(fixed, dict) else ((n, None) for n in fixed)
        for name, value in items:
            index = _index(names, name)
            hold[index] = True
            if value is not None:
                vector[index] = value
    if hold.all():
        return _conclude(FitResult(names, vector, float(objective(vector)), True), objective,
                         ~hold, hesse)
    free = ~hold
    # With the gradient: the pass is cached, and the minimizer's first step needs both.
    start_u = float(objective.value_and_gradient(vector)[0]
                    if hasattr(objective, "value_and_gradient") else objective(vector))
    if not np.isfinite(start_u):
        # No minimizer can move from a point where u has no finite value or slope.
        return _conclude(FitResult(names, vector, start_u, False), objective, free, hesse)
    analytic = _has_hessian(objective)
    if analytic and not minos:
        solved = _newton(objective, vector, free, tolerance, hessian, report=report)
        if solved is None and hessian is not None:
            solved = _newton(objective, vector, free, tolerance, None, report=report)
        if solved is not None:
            result = FitResult(names, solved[0], solved[1], True, n_calls=solved[2],
                               minimizer="newton")
            if hesse:
                _set_covariance(result, objective.hessian(solved[0]), free, names)
            return _conclude(result, objective, free, hesse)
    gradient = getattr(objective, "grad", None)
    # Migrad gets plain functions: iminuit inspects a cost object's attributes (it would pick
    # up ``hessian`` and, on its strategy-2 retry, then call a G2 function that is missing).
    # A NaN gradient or an overflow can send Migrad to NaN values, where the objective has
    # no value: such a point is infinitely bad, and the fit stays in the finite domain
    # instead of raising.
    def value(x):
        report.update()
        return float(objective(x)) if np.isfinite(x).all() else np.inf

    def slope(x):
        return gradient(x) if np.isfinite(x).all() else np.full(len(x), np.nan)

    minuit = Minuit(value, vector, name=names, grad=slope if gradient is not None else None)
    minuit.errordef = Minuit.LEAST_SQUARES
    minuit.tol = tolerance
    minuit.strategy = strategy
    for name, (low, high), held in zip(names, objective.bounds, hold):
        minuit.limits[name] = (None if np.isinf(low) else low, None if np.isinf(high) else high)
        minuit.fixed[name] = bool(held)
    minuit.migrad()
    if not minuit.valid:
        minuit.strategy = 2
        minuit.migrad()
    result = FitResult(names, np.array(minuit.values), float(minuit.fval), bool(minuit.valid),
                       n_calls=int(minuit.nfcn), minimizer="migrad")
    if not (np.isfinite(result.vector).all() and np.isfinite(result.u)):
        return _conclude(result, objective, free, hesse)
    if hesse and analytic:
        _set_covariance(result, objective.hessian(result.vector), free, names)
    elif hesse:
        minuit.hesse()
        result.errors = {n: float(minuit.errors[n]) for n, h in zip(names, hold) if not h}
        result.covariance = np.array(minuit.covariance) if minuit.covariance is not None \
            else None
    if minos:
        chosen = [n for n, h in zip(names, hold) if not h] if minos is True else list(minos)
        minuit.minos(*chosen, cl=cl)
        result.minos = {n: (float(minuit.merrors[n].lower), float(minuit.merrors[n].upper))
                        for n in chosen}
    return _conclude(result, objective, free, hesse)


def _conclude(result, objective, free, hesse=True):
    """Set ``result.valid`` and ``result.reason`` from :func:`_assess`; a result whose u or
    values are not finite keeps no uncertainties (they would describe no minimum)."""
    result.valid, result.reason = _assess(result, objective, free, hesse)
    if not (np.isfinite(result.u) and np.isfinite(result.vector).all()):
        result.errors, result.covariance, result.minos = {}, None, {}
    return result


# A free parameter within this fraction of its range (or absolute distance, for a wide range)
# of a finite bound counts as sitting at it.
BOUND_TOLERANCE = 1e-6
# Eigenvalues of the free parameters' curvature below this fraction of the largest count as
# zero: a direction nothing constrains.
SINGULAR_CURVATURE = 1e-10


def _assess(result, objective, free, hesse=True):
    """Whether ``result`` is a finite interior minimum of ``objective``: ``(valid, reason)``.

    Checked in order: u and the values finite; the minimizer's own verdict; no free
    parameter at a bound; the model (if the objective has one) a valid density there, with
    positive expected yields; with ``hesse``, the curvature of u over the free parameters
    positive definite (a zero direction is a parameter, or combination, that nothing
    constrains). Without ``hesse`` (scan points) the curvature is not computed again.
    """
    names = list(result.names)
    if not np.isfinite(result.u):
        return False, f"u is not finite at the returned point (u = {result.u})"
    bad = [n for n, v in zip(names, result.vector) if not np.isfinite(v)]
    if bad:
        return False, f"parameters {bad} are not finite"
    if not result.valid:
        return False, "the minimizer did not converge"
    low, high = np.asarray(objective.bounds, dtype=np.float64).T
    width = np.where(np.isfinite(high - low), high - low, 1.0)
    margin = BOUND_TOLERANCE * np.maximum(width, 1.0)
    at_bound = free & ((result.vector - low <= margin) | (high - result.vector <= margin))
    if at_bound.any():
        shown = {names[i]: float(result.vector[i]) for i in np.flatnonzero(at_bound)}
        return False, f"free parameters at a bound: {shown}"
    model = getattr(objective, "model", None)
    checker = getattr(objective, "invalid_ratios", None) or getattr(model, "invalid_ratios",
                                                                     None)
    if checker is not None:
        problems = checker(result.vector)
        if problems:
            return False, "the model is not a valid density here: " + "; ".join(problems)
    if not free.any() or not hesse:
        return True, ""
    curvature = _curvature(objective, result)
    if curvature is None:
        return True, ""
    block = curvature[np.ix_(free, free)]
    if not np.isfinite(block).all():
        return False, "the curvature of u is not finite"
    free_names = [n for n, f in zip(names, free) if f]
    unconstrained = [n for n, row in zip(free_names, block) if not np.any(row != 0)]
    if unconstrained:
        return False, (f"free parameters {unconstrained} are not constrained: u does not "
                       "depend on them (fix them, or give them a constraint)")
    eigenvalues, vectors = np.linalg.eigh((block + block.T) / 2)
    largest = max(float(np.abs(eigenvalues).max()), np.finfo(float).tiny)
    weak = eigenvalues <= SINGULAR_CURVATURE * largest
    if weak.any():
        direction = vectors[:, np.argmin(eigenvalues)]
        involved = [n for n, c in zip(free_names, direction) if abs(c) > 0.1]
        return False, (f"the curvature of u is singular or not positive (smallest eigenvalue "
                       f"{eigenvalues.min():.3g}, largest {largest:.3g}): the combination of "
                       f"{involved} is not constrained")
    return True, ""


def _curvature(objective, result):
    """Curvature of u at the result: the analytic Hessian, else twice the inverse of the
    covariance Migrad's Hesse estimated, else None."""
    if _has_hessian(objective):
        return np.asarray(objective.hessian(result.vector), dtype=np.float64)
    if result.covariance is None:
        return None
    covariance = np.asarray(result.covariance, dtype=np.float64)
    try:
        return 2.0 * np.linalg.pinv(covariance)
    except np.linalg.LinAlgError:
        return None


def _has_hessian(objective):
    return getattr(objective, "has_hessian", False)


# Predicted decrease of u (= -2 ln L) by a step below which a fit turns from Gauss-Newton
# steps to exact-Hessian ones.
EXACT_CURVATURE_DISTANCE = 1.0


def _newton(objective, vector, free, tolerance, fixed_hessian=None, max_iterations=30,
            report=None):
    """Newton minimization over the free parameters; (vector, u, passes) or None."""
    low, high = objective.bounds[free, 0], objective.bounds[free, 1]
    u, gradient = objective.value_and_gradient(vector)
    passes = 1
    if report is not None:
        report.update()
    # Steps with the Gauss-Newton curvature (positive semi-definite) while far from the
    # minimum; within EXACT_CURVATURE_DISTANCE of it, where u is nearly quadratic, steps
    # with the exact Hessian, which converge quadratically where Gauss-Newton's converge
    # only linearly (it leaves out the residual terms), and which the covariance needs at
    # the end anyway.
    gauss_newton = fixed_hessian is None and hasattr(objective, "gauss_newton")
    # Started from a given curvature (a scan point): the minimum needs no confirmation by
    # the exact Hessian, whose pass costs more than the few steps it would save.
    confirm = fixed_hessian is None
    shortened = 0
    factor = None
    for _ in range(max_iterations):
        if factor is None:
            if fixed_hessian is not None:
                curvature = fixed_hessian
            elif gauss_newton:
                curvature = objective.gauss_newton(vector)
            else:
                curvature = objective.hessian(vector)
            passes += fixed_hessian is None
            if report is not None and fixed_hessian is None:
                report.update()
            try:
                factor = cho_factor(curvature[np.ix_(free, free)])
            except LinAlgError:
                # Indefinite away from the minimum: step with the Gauss-Newton (Fisher-
                # scoring) curvature, positive semi-definite, where the objective offers it.
                if fixed_hessian is not None or not hasattr(objective, "gauss_newton"):
                    return None
                try:
                    factor = cho_factor(objective.gauss_newton(vector)[np.ix_(free, free)])
                except LinAlgError:
                    return None
            fresh = True
        else:
            fresh = False
        g = gradient[free]
        step = -cho_solve(factor, g)
        distance = -0.5 * g @ step
        if not np.isfinite(distance):
            return None
        if distance < 0.002 * tolerance:
            if gauss_newton and not confirm:
                return vector, u, passes
            if gauss_newton:
                gauss_newton = False
                factor = None
                continue
            if fresh or fixed_hessian is not None:
                return vector, u, passes
            factor = None    # converged on a kept curvature: confirm with a fresh one
            continue
        x = vector[free]
        # The largest fraction of the step that stays inside the bounds.
        with np.errstate(divide="ignore", invalid="ignore"):
            room = np.where(step > 0, (high - x) / step, np.where(step < 0, (low - x) / step,
                                                                   np.inf))
        alpha = min(1.0, float(room.min()))
        for _ in range(20):
            trial = vector.copy()
            trial[free] = np.clip(x + alpha * step, low, high)
            trial_u, trial_gradient = objective.value_and_gradient(trial)
            passes += 1
            if report is not None:
                report.update()
            if trial_u <= u + 1e-4 * alpha * (g @ step):
                break
            alpha *= 0.5
        else:
            return None
        if alpha < 1e-3:
            return None  # stuck, e.g. at a bound: leave it to Migrad
        # Keep a Gauss-Newton curvature when the full step achieved at least the decrease
        # its quadratic model predicted (``distance``, in u): the model then underestimates
        # the progress, and a stale curvature only shortens the next step a little. The
        # exact Hessian is computed afresh for every step: kept, it changes enough from
        # step to step (measured on 300 nuisances) that its steps converge only linearly.
        keep = gauss_newton and alpha == 1.0 and u - trial_u >= distance
        if gauss_newton and confirm and distance < EXACT_CURVATURE_DISTANCE:
            gauss_newton = False
            keep = False
        if fixed_hessian is not None:
            shortened = shortened + 1 if alpha < 1.0 else 0
            if shortened >= 2:
                # Twice in a row the given curvature (a nearby fit's, corrected) overshot:
                # it no longer describes u here; continue with the objective's own.
                fixed_hessian = None
                gauss_newton = hasattr(objective, "gauss_newton")
                keep = False
            else:
                # Quasi-Newton (BFGS) correction of the given curvature by this step, in
                # place: it converges superlinearly without curvature passes, and a scan
                # carries the corrected curvature on to its next point.
                keep = _bfgs_update(fixed_hessian, free, trial[free] - x,
                                    trial_gradient[free] - g)
                if keep:
                    factor = None
        if not (keep or fixed_hessian is not None):
            factor = None
        vector, u, gradient = trial, trial_u, trial_gradient
    return None


def _bfgs_update(curvature, free, step, change):
    """BFGS update of ``curvature``'s free block (u's Hessian, so the gradient change of
    a step is H step) by a step and its gradient change; False if the pair has no positive
    curvature (the update would lose positive definiteness)."""
    along = change @ step
    block = np.ix_(free, free)
    current = curvature[block]
    image = current @ step
    bend = step @ image
    if not (along > 1e-12 * np.linalg.norm(change) * np.linalg.norm(step) and bend > 0):
        return False
    curvature[block] = current - np.outer(image, image) / bend + np.outer(change, change) / along
    return True


def _covariance_or_none(curvature, free):
    """Covariance 2 H^-1 of u = -2 ln L over the free parameters (zero rows for the
    others), or None where the curvature is singular."""
    covariance = np.zeros_like(curvature)
    block = np.ix_(free, free)
    try:
        covariance[block] = 2.0 * np.linalg.inv(curvature[block])
    except np.linalg.LinAlgError:
        return None
    return covariance


def _set_covariance(result, curvature, free, names):
    """Covariance 2 H^-1 of u = -2 ln L over the free parameters."""
    covariance = _covariance_or_none(curvature, free)
    if covariance is None:
        return
    result.covariance = covariance
    result.errors = {n: float(np.sqrt(covariance[i, i])) for i, n in enumerate(names)
                     if free[i]}


@dataclass
class ScanResult:
    """A profile scan q(parameter) = min_others u - min_all u.

    Attributes
    ----------
    parameter : str
    grid : ndarray
    q : ndarray
    vectors : ndarray, shape (n_points, n_parameters)
        The profiled parameter values at each point.
    best : FitResult
        The global minimum (updated if a scan point went lower).
    """

    parameter: str
    grid: np.ndarray
    q: np.ndarray
    vectors: np.ndarray
    best: FitResult

    def interval(self, cl=0.68):
        """(lower, upper) where q crosses the chi^2 (1 d.o.f.) quantile of ``cl``.

        The signed root +-sqrt(q), nearly linear in the parameter, is interpolated linearly
        between scan points; an end beyond the grid is returned as -inf or +inf.
        """
        threshold = np.sqrt(chi2.ppf(cl, 1))
        best_value = self.best[self.parameter]
        points = np.append(self.grid, best_value)
        signed = np.append(np.sign(self.grid - best_value) * np.sqrt(np.maximum(self.q, 0)), 0)
        order = np.argsort(points)
        points, signed = points[order], signed[order]
        return (_crossing(points, signed, -threshold), _crossing(points, signed, threshold))


def profile_scan(objective, parameter, grid, best=None, tolerance=TOLERANCE, progress=False):
    """Profile the statistic over ``grid`` values of ``parameter``.

    The other free parameters are re-minimized at every point, starting from the solution
    at the neighbouring point (the scan walks outward from the best fit). ``progress``
    (True or a callable, see :func:`fit`) reports the scan points done.

    Returns
    -------
    ScanResult
    """
    names = list(objective.names)
    index = _index(names, parameter)
    grid = np.asarray(grid, dtype=np.float64)
    if best is None:
        best = fit(objective, hesse=False, tolerance=tolerance)
    # The curvature changes slowly along a scan: the best fit's starts each walk, corrected
    # by the quasi-Newton updates of every step along it.
    initial = objective.hessian(best.vector) if _has_hessian(objective) else None
    u = np.empty(grid.size)
    vectors = np.empty((grid.size, len(names)))
    centre = best.vector[index]
    above = [i for i in np.argsort(grid) if grid[i] >= centre]
    below = [i for i in np.argsort(grid)[::-1] if grid[i] < centre]
    bounds = np.asarray(objective.bounds, dtype=np.float64)
    # The profiled parameters move smoothly along the scan: each point starts from the
    # parabola through the last three solutions (the first from the best fit's covariance,
    # theta(mu) ~ theta_hat + C[:, mu] / C[mu, mu] (mu - mu_hat)), which saves passes.
    covariance = best.covariance
    if covariance is None and initial is not None:
        covariance = _covariance_or_none(initial, ~np.asarray(objective.fixed, dtype=bool))
    slope = (covariance[:, index] / covariance[index, index]
             if covariance is not None and covariance[index, index] > 0 else None)
    with Progress(progress, grid.size, f"scan {parameter}") as report:
        for walk in (above, below):
            curvature = None if initial is None else np.array(initial, dtype=np.float64)
            path = {centre: best.vector}
            for i in walk:
                start = _extrapolate(path, grid[i], best.vector, slope)
                start = np.clip(start, bounds[:, 0], bounds[:, 1])
                result = _conditional_fit(objective, {parameter: grid[i]}, start, tolerance,
                                          curvature)
                if not result.valid:
                    # A poor extrapolation must not cost the point: retry from the last one.
                    retry = fit(objective, fixed={parameter: grid[i]}, start=path[-1][1],
                                hesse=False, tolerance=tolerance, hessian=initial)
                    result = retry if retry.valid or retry.u < result.u else result
                u[i], vectors[i] = result.u, result.vector
                path[grid[i]] = result.vector
                report.update()
    lowest = int(np.argmin(u))
    if u[lowest] < best.u:
        # The global fit stopped short of a scan point: restart from there.
        best = fit(objective, start=vectors[lowest], hesse=False, tolerance=tolerance)
    return ScanResult(parameter, grid, u - min(best.u, u.min()), vectors, best)


def _extrapolate(path, value, best_vector, slope):
    """Start of a scan point at ``value``: the polynomial through the last (up to three)
    solutions of ``path`` ({scan value: vector}, in walk order, the best fit first; the
    profiled parameters move smoothly along a scan, so its error is third order in the
    step), with the best fit's covariance ``slope`` where fewer are known."""
    known = [(g, v) for g, v in path.items() if g != value][-3:]
    if len(known) <= 1:
        if slope is None or not known:
            return best_vector.copy()
        return best_vector + slope * (value - known[0][0])
    if len(known) == 2 and slope is not None:
        # The best fit and one solution: the parabola through both with the covariance
        # slope at the best fit.
        (centre, _), (g1, v1) = known
        bend = (v1 - best_vector - slope * (g1 - centre)) / (g1 - centre) ** 2
        offset = value - centre
        return best_vector + slope * offset + bend * offset ** 2
    start = np.zeros_like(best_vector)
    for j, (gj, vj) in enumerate(known):
        weight = 1.0
        for m, (gm, _) in enumerate(known):
            if m != j:
                weight *= (value - gm) / (gj - gm)
        start += weight * vj
    return start


def profile_interval(objective, parameter, cl=0.68, best=None, step=None,
                     tolerance=TOLERANCE, max_steps=30):
    """Profile-likelihood interval {q(parameter) <= chi2_1(cl)} by root finding.

    Brackets are found by stepping out from the best fit by ``step`` (default: the Hesse
    uncertainty); each root is then located by Brent's method on q.

    Returns
    -------
    (lower, upper) : floats; -inf or +inf if q stays below the threshold up to the bound.
    """
    names = list(objective.names)
    index = _index(names, parameter)
    if best is None:
        best = fit(objective, tolerance=tolerance)
    threshold = chi2.ppf(cl, 1)
    centre = best.vector[index]
    if step is None:
        step = best.errors.get(parameter) or 1.0
    low_bound, high_bound = objective.bounds[index]
    curvature = objective.hessian(best.vector) if _has_hessian(objective) else None

    def q(value):
        result = fit(objective, fixed={parameter: value}, start=best.vector, hesse=False,
                     tolerance=tolerance, hessian=curvature)
        return result.u - best.u - threshold

    ends = []
    for direction, bound in ((-1, low_bound), (1, high_bound)):
        inner, excess = centre, -threshold
        for _ in range(max_steps):
            outer = inner + direction * step
            if (outer - bound) * direction >= 0:
                outer = bound
            excess = q(outer)
            if excess > 0 or outer == bound:
                break
            inner = outer
        if excess <= 0:
            ends.append(direction * np.inf)
            continue
        ends.append(brentq(q, min(inner, outer), max(inner, outer),
                           xtol=1e-6 * max(step, 1e-12)))
    return ends[0], ends[1]


def _crossing(points, signed, level):
    """First crossing of ``signed`` through ``level`` when moving away from the minimum."""
    if level < 0:
        candidates = np.flatnonzero((signed[:-1] <= level) & (signed[1:] > level))
        if not candidates.size:
            return -np.inf
        i = candidates[-1]
    else:
        candidates = np.flatnonzero((signed[:-1] < level) & (signed[1:] >= level))
        if not candidates.size:
            return np.inf
        i = candidates[0]
    fraction = (level - signed[i]) / (signed[i + 1] - signed[i])
    return float(points[i] + fraction * (points[i + 1] - points[i]))


def _start_vector(objective, start):
    if start is None:
        return np.array(objective.start, dtype=np.float64)
    if isinstance(start, dict):
        vector = np.array(objective.start, dtype=np.float64)
        for name, value in start.items():
            vector[_index(objective.names, name)] = value
        return vector
    return np.array(start, dtype=np.float64)


def _index(names, name):
    try:
        return list(names).index(name)
    except ValueError:
        raise KeyError(f"unknown parameter {name!r}; parameters are {list(names)}") from None
