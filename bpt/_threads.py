"""Resolve ``n_jobs`` to a number of OpenMP threads for the compiled core."""
import os

from ._core._common import openmp_max_threads


def effective_n_threads(n_jobs):
    """``None`` -> OpenMP's default (OMP_NUM_THREADS or all cores); ``-1`` -> all cores,
    ``-2`` -> all but one; a positive int is used as is."""
    if n_jobs is None:
        return openmp_max_threads()
    if not isinstance(n_jobs, int) or isinstance(n_jobs, bool) or n_jobs == 0:
        raise ValueError(f"n_jobs must be None or a non-zero integer, got {n_jobs!r}")
    if n_jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    return n_jobs
