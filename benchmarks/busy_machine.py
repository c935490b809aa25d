"""Fit time with the default threads against one thread, with and without other CPU load.

    python benchmarks/busy_machine.py [--repeats 3] [--hogs N] [--n-per-point 100000]
                                      [--time-limit 600] [--n-jobs N]

The fit of compare.py (500 000 events x 10 features, 100 trees of depth 4) is timed with
``n_jobs=None`` (the default) and ``n_jobs=1``, interleaved, first on the machine as it is
("quiet"), then while ``--hogs`` CPU-bound processes (default: one per available CPU) spin
in the background ("busy"). The hogs are ended when the benchmark finishes, and in any
case after ``--time-limit`` seconds. Medians of the repeats are reported.

The default threads leave out the CPUs that other processes keep busy when a fit starts;
``--n-jobs 2`` times two threads instead, as a fit gets them when the load begins after it
started.
"""
import argparse
import multiprocessing
import os
import time

import numpy as np

from compare import fit_bpt
from datasets import bpt_events

from bpt._threads import available_cpus, effective_n_threads


def spin(deadline):
    x = 0
    while time.time() < deadline:
        x += 1


def time_fits(X, nu, repeats, n_jobs):
    times = {n_jobs: [], 1: []}
    for _ in range(repeats):
        for threads in times:
            tic = time.perf_counter()
            fit_bpt(X, nu, threads)
            times[threads].append(time.perf_counter() - tic)
    return {threads: float(np.median(t)) for threads, t in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--hogs", type=int, default=available_cpus())
    parser.add_argument("--n-per-point", type=int, default=100_000)
    parser.add_argument("--time-limit", type=float, default=600.0)
    parser.add_argument("--n-jobs", type=int, default=None,
                        help="threads to compare with one (default: bpt's default)")
    args = parser.parse_args()

    X, nu, _ = bpt_events(n_per_point=args.n_per_point)
    print(f"{X.shape[0]} events x {X.shape[1]} features; default threads: "
          f"{effective_n_threads(None)} (available CPUs {available_cpus()}, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}), "
          f"load average {os.getloadavg()[0]:.2f}")
    fit_bpt(X[::10], nu[::10], None)  # warm-up
    quiet = time_fits(X, nu, args.repeats, args.n_jobs)

    deadline = time.time() + args.time_limit
    hogs = [multiprocessing.Process(target=spin, args=(deadline,), daemon=True)
            for _ in range(args.hogs)]
    for hog in hogs:
        hog.start()
    try:
        busy = time_fits(X, nu, args.repeats, args.n_jobs)
    finally:
        for hog in hogs:
            hog.terminate()
            hog.join()

    label = "default threads" if args.n_jobs is None else f"n_jobs={args.n_jobs}"
    print(f"\n| machine | {label} [s] | n_jobs=1 [s] | {label} / 1 thread |")
    print("|---|---:|---:|---:|")
    for name, times in (("as it is", quiet), (f"+ {args.hogs} CPU-bound processes", busy)):
        print(f"| {name} | {times[args.n_jobs]:.2f} | {times[1]:.2f} | "
              f"{times[args.n_jobs] / times[1]:.2f} |")


if __name__ == "__main__":
    main()
