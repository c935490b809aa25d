"""2-thread against 1-thread fit time on compare.py's shape, each fit in a fresh process.

    python benchmarks/thread_scaling.py [--repeats 7] [--threads 2] [--n-per-point 100000]
                                        [--divided]

Every repeat starts one process that fits with one thread, then with ``--threads``; a
fresh process per repeat gives each one the same start (no warm caches or thread pools
from the repeat before). Reported: the median time of each, the ratio of the medians and
the median of the per-repeat ratios.

Each repeat also measures what the machine gives at that moment: ``--threads`` processes
run the same fixed pure-Python loop at once, and each one's speed is compared with one
process alone. If the speeds add up to S, no division of the work between the CPUs can
take less than 1 / S of the one-thread time: 1 / threads (0.5 for two) when every CPU is
free and as fast as the first, more when a CPU is shared with other work (other processes,
or other virtual machines on the same host).

With ``--divided``, each repeat also runs the fit divided as well as it can be: ``--threads``
processes start at the same moment, each fitting ``1 / threads`` of the events (the same
trees and settings) with one thread, sharing no memory; the slowest one's time against the
one-thread fit is what a perfect division of this fit's work between the CPUs gives, with
the memory traffic it brings (the per-tree work in Python is not divided, in these fits as
in the threaded one).
"""
import argparse
import json
import multiprocessing
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

# Iterations of the reference loop (about 0.6 s of one CPU).
REFERENCE_ITERATIONS = 10_000_000


def reference_loop(_=None):
    """A fixed amount of CPU work that reads and writes no memory to speak of."""
    tic = time.perf_counter()
    total = 0
    for i in range(REFERENCE_ITERATIONS):
        total += i * i
    return time.perf_counter() - tic


def machine_bound(threads):
    """1 / (sum of the speeds of ``threads`` reference loops run at once, each relative to
    one loop alone): the least fraction of its one-CPU time in which the CPUs together
    could do an evenly divisible amount of work."""
    with multiprocessing.get_context("spawn").Pool(threads) as pool:
        pool.map(reference_loop, range(threads))  # start-up and warm-up
        # Alone, twice (the two may run on different CPUs): the mean.
        alone = np.mean([pool.apply(reference_loop) for _ in range(2)])
        together = pool.map(reference_loop, range(threads), chunksize=1)
    return 1.0 / sum(alone / t for t in together)

WORKER = """
import json, sys, time
sys.path.insert(0, {here!r})
from compare import fit_bpt
from datasets import bpt_events
X, nu, _ = bpt_events(n_per_point={n_per_point})
times = []
for threads in (1, {threads}):
    tic = time.perf_counter()
    fit_bpt(X, nu, threads)
    times.append(time.perf_counter() - tic)
print(json.dumps(times))
"""

DIVIDED_WORKER = """
import json, sys, time
sys.path.insert(0, {here!r})
from compare import fit_bpt
from datasets import bpt_events
X, nu, _ = bpt_events(n_per_point={n_per_point}, random_state={seed})
fit_bpt(X[::50], nu[::50], 1)  # imports and first-call costs, before the common start
while time.time() < {start}:
    time.sleep(0.001)
tic = time.perf_counter()
fit_bpt(X, nu, 1)
print(json.dumps(time.perf_counter() - tic))
"""


def divided_fit_time(here, threads, n_per_point):
    """The slowest of ``threads`` one-thread fits of ``n_per_point / threads`` events per
    point, started together in separate processes."""
    start = time.time() + 5.0  # after every process has generated its events
    processes = [subprocess.Popen(
        [sys.executable, "-c", DIVIDED_WORKER.format(
            here=here, n_per_point=n_per_point // threads, seed=seed, start=start)],
        stdout=subprocess.PIPE, text=True) for seed in range(threads)]
    times = [json.loads(process.communicate()[0].strip().splitlines()[-1])
             for process in processes]
    if any(process.returncode for process in processes):
        raise RuntimeError("a divided fit failed")
    return max(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--n-per-point", type=int, default=100_000)
    parser.add_argument("--divided", action="store_true",
                        help="also time the fit divided between processes (see above)")
    args = parser.parse_args()
    here = str(Path(__file__).resolve().parent)
    code = WORKER.format(here=here, threads=args.threads, n_per_point=args.n_per_point)
    runs, bounds, divided = [], [], []
    for _ in range(args.repeats):
        bounds.append(machine_bound(args.threads))
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
        if args.divided:
            divided.append(divided_fit_time(here, args.threads, args.n_per_point))
    runs = np.array(runs)
    one, many = np.median(runs[:, 0]), np.median(runs[:, 1])
    print(f"{args.repeats} fresh processes: 1 thread {one:.3f} s, {args.threads} threads "
          f"{many:.3f} s; ratio of the medians {many / one:.3f}, median of the per-run "
          f"ratios {np.median(runs[:, 1] / runs[:, 0]):.3f} (target <= 0.7)")
    print(f"machine at the same moments: {args.threads} CPU-bound processes at once allow "
          f"at best {np.median(bounds):.3f} x the one-thread time (median; "
          f"{1 / args.threads:.2f} when every CPU is free)")
    print("runs [s]:", np.round(runs, 2).tolist())
    print("machine bound per run:", np.round(bounds, 2).tolist())
    if args.divided:
        ratios = np.array(divided) / runs[:, 0]
        print(f"the fit divided between {args.threads} processes sharing nothing: "
              f"{np.median(divided):.3f} s, {np.median(ratios):.3f} x the one-thread fit "
              f"(median of the per-run ratios; per run {np.round(ratios, 2).tolist()})")


if __name__ == "__main__":
    main()
