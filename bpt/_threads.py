"""Resolve ``n_jobs`` to a number of OpenMP threads for the compiled core.

A fit or a prediction never runs more threads than the CPUs this process may use: the CPUs
of its affinity mask (``taskset``, batch-system pinning; with OpenMP thread binding, the
mask OpenMP found when it started), further limited by a cgroup CPU quota (containers,
``systemd`` slices, Slurm). More threads than that can only wait for each other, and a
very large request would make OpenMP allocate a stack per thread (an allocation failure
inside the OpenMP runtime ends the interpreter). Requests above the limit are therefore
capped to it, not refused: a model file or a script written on a larger machine keeps
working. For a fit, the default (``n_jobs=None``) also leaves out the CPUs that other
processes keep busy when it starts: a thread that must share a CPU with another process
makes each of the fit's thousands of parallel regions wait for it.
"""
import math
import os
from numbers import Integral

from ._core._common import openmp_bound_cpus, openmp_max_threads

CGROUP_ROOT = "/sys/fs/cgroup"
PROC_CGROUP = "/proc/self/cgroup"
PROC_LOADAVG = "/proc/loadavg"
PROC_TASKS = "/proc/self/task"
# Reads of the run queue: a process that runs for a moment (a shell command, a compiler
# starting) is seen in one read, a CPU-bound one in all of them.
LOAD_READS = 2


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
    bound = openmp_bound_cpus()
    if bound:
        # OMP_PROC_BIND / OMP_PLACES: OpenMP has pinned this thread to one place, so its
        # mask no longer says what the process may use; OpenMP read that when it started.
        n_cpus = bound
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


def busy_cpus():
    """CPUs that other processes keep busy now, from the kernel's run queue, or None.

    The fourth field of ``/proc/loadavg`` counts the runnable tasks of the whole system;
    this process's own runnable threads (the caller, OpenMP threads still spinning after
    their last parallel region) are not counted. The fewest over ``LOAD_READS`` reads.
    None where the files do not exist (not Linux).
    """
    counts = []
    for _ in range(LOAD_READS):
        content = _read(PROC_LOADAVG)
        fields = content.split() if content else []
        running = fields[3].partition("/")[0] if len(fields) > 3 else ""
        own = _own_running_threads()
        if not running.isdigit() or own is None:
            return None
        counts.append(int(running) - own)
    return max(0, min(counts))


def _own_running_threads():
    """Threads of this process in the running state, or None if they cannot be read."""
    try:
        tasks = os.listdir(PROC_TASKS)
    except OSError:
        return None
    running = 0
    for task in tasks:
        stat = _read(os.path.join(PROC_TASKS, task, "stat"))
        # "pid (name) state ...": the name may hold spaces and parentheses.
        if stat and stat.rpartition(")")[2].split()[:1] == ["R"]:
            running += 1
    return max(running, 1)  # the caller runs


def effective_n_threads(n_jobs, leave_busy_cpus=False):
    """Threads for the compiled core from an ``n_jobs`` setting.

    Parameters
    ----------
    n_jobs : int or None
        ``None``: OpenMP's default (``OMP_NUM_THREADS``, else all CPUs); ``-1``: all
        available CPUs, ``-2``: all but one, and so on; a positive integer: that many.
    leave_busy_cpus : bool
        With ``n_jobs=None``, also leave out the CPUs other processes keep busy
        (:func:`busy_cpus`; reading them costs about a millisecond, so only fits ask).

    Returns
    -------
    int
        The request, capped to :func:`available_cpus` (at least 1).
    """
    limit = available_cpus()
    if n_jobs is None:
        busy = busy_cpus() if leave_busy_cpus else None
        if busy is not None:
            limit = min(limit, (os.cpu_count() or 1) - busy)
        return max(1, min(openmp_max_threads(), limit))
    if not isinstance(n_jobs, Integral) or isinstance(n_jobs, bool) or n_jobs == 0:
        raise ValueError(f"n_jobs must be None or a non-zero integer, got {n_jobs!r}")
    n_jobs = int(n_jobs)
    if n_jobs < 0:
        return max(1, limit + 1 + n_jobs)
    return min(n_jobs, limit)
