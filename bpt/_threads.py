"""Resolve ``n_jobs`` to a number of OpenMP threads for the compiled core.

A fit or a prediction never runs more threads than the CPUs this process may use: the CPUs
of its affinity mask (``taskset``, batch-system pinning), further limited by a cgroup CPU
quota (containers, ``systemd`` slices, Slurm). More threads than that can only wait for
each other, and a very large request would make OpenMP allocate a stack per thread (an
allocation failure inside the OpenMP runtime ends the interpreter). Requests above the
limit are therefore capped to it, not refused: a model file or a script written on a larger
machine keeps working.
"""
import math
import os
from numbers import Integral

from ._core._common import openmp_max_threads

CGROUP_ROOT = "/sys/fs/cgroup"
PROC_CGROUP = "/proc/self/cgroup"


def available_cpus():
    """Number of CPUs this process may use: affinity mask, then cgroup CPU quota.

    Returns
    -------
    int
        At least 1.
    """
    try:
        n_cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not available on this platform
        n_cpus = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    if quota is not None:
        n_cpus = min(n_cpus, max(1, math.ceil(quota)))
    return max(1, n_cpus)


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _cgroup_cpu_quota():
    """CPUs' worth of time per period allowed by the cgroup(s) of this process, or None."""
    quotas = []
    membership = _read(PROC_CGROUP) or ""
    for line in membership.splitlines():
        fields = line.split(":", 2)
        if len(fields) != 3:
            continue
        _, controllers, path = fields
        if controllers == "":  # cgroup v2: the limit of any ancestor applies
            directory = os.path.join(CGROUP_ROOT, path.lstrip("/"))
            while True:
                content = _read(os.path.join(directory, "cpu.max"))
                if content:
                    quota, _, period = content.partition(" ")
                    if quota != "max" and period:
                        quotas.append(int(quota) / int(period))
                if os.path.normpath(directory) == CGROUP_ROOT:
                    break
                directory = os.path.dirname(directory)
        elif "cpu" in controllers.split(","):  # cgroup v1
            for root in (os.path.join(CGROUP_ROOT, "cpu"), os.path.join(CGROUP_ROOT, "cpu,cpuacct")):
                quota = _read(os.path.join(root, path.lstrip("/"), "cpu.cfs_quota_us"))
                period = _read(os.path.join(root, path.lstrip("/"), "cpu.cfs_period_us"))
                if quota and period and int(quota) > 0 and int(period) > 0:
                    quotas.append(int(quota) / int(period))
                    break
    return min(quotas) if quotas else None


def effective_n_threads(n_jobs):
    """Threads for the compiled core from an ``n_jobs`` setting.

    Parameters
    ----------
    n_jobs : int or None
        ``None``: OpenMP's default (``OMP_NUM_THREADS``, else all CPUs); ``-1``: all
        available CPUs, ``-2``: all but one, and so on; a positive integer: that many.

    Returns
    -------
    int
        The request, capped to :func:`available_cpus` (at least 1).
    """
    limit = available_cpus()
    if n_jobs is None:
        return max(1, min(openmp_max_threads(), limit))
    if not isinstance(n_jobs, Integral) or isinstance(n_jobs, bool) or n_jobs == 0:
        raise ValueError(f"n_jobs must be None or a non-zero integer, got {n_jobs!r}")
    n_jobs = int(n_jobs)
    if n_jobs < 0:
        return max(1, limit + 1 + n_jobs)
    return min(n_jobs, limit)
