"""Training many surrogates at once: one estimator per process and nuisance group.

An analysis with hundreds of nuisances needs one BoostedParametricTree per (process,
nuisance group), all on the same simulated events. :func:`fit_surrogates` runs those fits
through joblib, so the same call uses local processes by default and a Dask or Ray cluster
under ``with joblib.parallel_backend("dask"):``. The features are handed to joblib once per
job, and joblib memory-maps large arrays for local workers rather than copying them.
Every estimator gives the same model for any ``n_jobs``, so the parallel result is the one
a serial loop gives.
"""
from dataclasses import dataclass, field

from joblib import delayed
from sklearn.base import clone

from ._progress import parallel_map

FIT_METHODS = ("fit", "fit_datasets", "fit_weights")


@dataclass
class TrainingJob:
    """One surrogate to train: ``estimator.<method>(*args, **kwargs)`` on a fresh clone.

    Attributes
    ----------
    estimator : estimator
        Unfitted template (cloned before fitting, never modified).
    method : {"fit", "fit_datasets", "fit_weights"}
    args : tuple
        Positional arguments of the method, e.g. ``(X, weights, nu_points)``.
    kwargs : dict
        Keyword arguments of the method.
    """

    estimator: object
    method: str = "fit"
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)


def _fit_one(job, threads_per_job):
    estimator = clone(job.estimator)
    if threads_per_job is not None and "n_jobs" in estimator.get_params():
        estimator.set_params(n_jobs=threads_per_job)
    getattr(estimator, job.method)(*job.args, **job.kwargs)
    return estimator


def fit_surrogates(jobs, n_jobs=None, threads_per_job=1, progress=False):
    """Fit every job's estimator, in parallel through joblib.

    Parameters
    ----------
    jobs : dict
        ``name -> TrainingJob`` (e.g. ``("ztautau", "jes")``-keyed), or ``name -> (estimator,
        method, args)`` / ``(estimator, method, args, kwargs)`` tuples.
    n_jobs : int or None
        joblib workers (None: joblib's default, one; -1: all cores). Under another joblib
        backend (``joblib.parallel_backend("dask")``) the backend decides.
    threads_per_job : int or None
        Threads each estimator uses (its ``n_jobs``); 1 by default so that parallel jobs do
        not oversubscribe the cores; None keeps the estimators' own setting.
    progress : bool or callable
        Report the fits done (True: a tqdm bar with elapsed time and time left; a callable
        gets ``(done, n_jobs_total, elapsed_seconds)``).

    Returns
    -------
    dict
        ``name -> fitted estimator``, in the order of ``jobs``.
    """
    if not isinstance(jobs, dict) or not jobs:
        raise ValueError("jobs must be a non-empty dict of name -> TrainingJob")
    checked = {name: _as_job(name, job) for name, job in jobs.items()}
    fitted = parallel_map((delayed(_fit_one)(job, threads_per_job) for job in checked.values()),
                          len(checked), n_jobs, progress, "surrogates")
    return dict(zip(checked, fitted))


def _as_job(name, job):
    if isinstance(job, tuple):
        if len(job) not in (3, 4):
            raise ValueError(f"jobs[{name!r}]: a tuple must be (estimator, method, args) or "
                             f"(estimator, method, args, kwargs), got {len(job)} entries")
        job = TrainingJob(*job)
    if not isinstance(job, TrainingJob):
        raise TypeError(f"jobs[{name!r}] must be a TrainingJob or a tuple, got "
                        f"{type(job).__name__}")
    if job.method not in FIT_METHODS:
        raise ValueError(f"jobs[{name!r}].method must be one of {FIT_METHODS}, got "
                         f"{job.method!r}")
    if not hasattr(job.estimator, job.method):
        raise TypeError(f"jobs[{name!r}].estimator ({type(job.estimator).__name__}) has no "
                        f"method {job.method!r}")
    if not isinstance(job.args, tuple):
        raise TypeError(f"jobs[{name!r}].args must be a tuple, got {type(job.args).__name__}")
    return job
