"""2-thread against 1-thread fit time on compare.py's shape, each fit in a fresh process.

    python benchmarks/thread_scaling.py [--repeats 7] [--threads 2] [--n-per-point 100000]

Every repeat starts one process that fits with one thread, then with ``--threads``; a
fresh process per repeat gives each one the same start (no warm caches or thread pools
from the repeat before). Reported: the median time of each, the ratio of the medians and
the median of the per-repeat ratios.
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--n-per-point", type=int, default=100_000)
    args = parser.parse_args()
    code = WORKER.format(here=str(Path(__file__).resolve().parent), threads=args.threads,
                         n_per_point=args.n_per_point)
    runs = []
    for _ in range(args.repeats):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    runs = np.array(runs)
    one, many = np.median(runs[:, 0]), np.median(runs[:, 1])
    print(f"{args.repeats} fresh processes: 1 thread {one:.3f} s, {args.threads} threads "
          f"{many:.3f} s; ratio of the medians {many / one:.3f}, median of the per-run "
          f"ratios {np.median(runs[:, 1] / runs[:, 0]):.3f} (target <= 0.7)")
    print("runs [s]:", np.round(runs, 2).tolist())


if __name__ == "__main__":
    main()
