"""How a profile-likelihood fit scales with the number of nuisance parameters.

    python benchmarks/likelihood_scaling.py                  # the full table (1M events)
    python benchmarks/likelihood_scaling.py --quick          # 100k events, K = 10, 30, 100
    python benchmarks/likelihood_scaling.py --case small     # 200k events, 2 processes

The model: one unbinned region with a signal (rate ``Scale("mu")``) and backgrounds, K
factorized quadratic shape nuisances given as coefficient functions
(``Systematic(f, ["np_k"], "quadratic")``, so nothing is trained) acting on every process,
normalization nuisances (``Normalization``), and a Poisson-bootstrap pseudo-experiment of the
simulated events at mu = 1. For each K it reports: the fit from the nominal values with its
covariance (exact Hessian at the minimum), the passes over the events it needed, one
value+gradient pass against the time to read the coefficient cache once (the memory-bandwidth
floor, measured here), the coefficient cache and the peak resident memory of the process;
whether the fit on Asimov data converged by Newton steps alone (no Migrad fallback); with
``--scan``, a 21-point profile scan of mu over the best fit +- 2 sigma; and, side by side,
iminuit's Migrad on the same analytic gradient (strategy 0, covariance from the exact
Hessian) for K up to ``--migrad-up-to``.

    python benchmarks/likelihood_scaling.py --threads 2 --shapes 100 --scan   # the 2-core case
"""
import argparse
import resource
import time

import numpy as np

from bpt.likelihood import (POI, Model, Normalization, Nuisance, Process, Scale, Systematic,
                            UnbinnedRegion, fit, profile_scan)

SIGNAL_CENTER, SIGNAL_WIDTH = 0.5, 0.08
BACKGROUND_SLOPES = (3.0, 1.0, -1.0)     # exponential slopes in x0 of the backgrounds


def shape_coefficients(k, process):
    """Coefficients (Delta_1, Delta_2) of the terms (nu, nu^2) of shape nuisance k."""
    rng = np.random.default_rng([k, process])
    frequency, phase = rng.uniform(0.5, 3.0), rng.uniform(0, 2 * np.pi)
    size, tilt = rng.uniform(0.005, 0.03), rng.uniform(-0.02, 0.02)

    def coefficients(X):
        wave = np.cos(np.pi * frequency * X[:, 0] + phase)
        linear = size * wave + tilt * (X[:, 1] - 0.5)
        return np.column_stack([linear, 0.1 * size * (wave ** 2 - 0.5)])
    return coefficients


def _densities(X, n_backgrounds):
    x = X[:, 0]
    signal = np.exp(-0.5 * ((x - SIGNAL_CENTER) / SIGNAL_WIDTH) ** 2)
    signal /= SIGNAL_WIDTH * np.sqrt(2 * np.pi)
    columns = [signal]
    for slope in BACKGROUND_SLOPES[:n_backgrounds]:
        columns.append(slope * np.exp(-slope * x) / -np.expm1(-slope))
    return np.column_stack(columns)


def build_model(n_events, n_processes=2, n_shape=10, n_normalizations=0, n_threads=1,
                coefficient_dtype=None, random_state=0):
    """The scaling model: ``n_processes`` processes (a signal, then backgrounds), yields
    10% signal; ``n_shape`` shape nuisances on every process; a normalization of each
    background plus ``n_normalizations`` more, each on a random subset of processes."""
    rng = np.random.default_rng(random_state)
    n_backgrounds = n_processes - 1
    shares = np.array([0.1] + [0.9 / n_backgrounds] * n_backgrounds)
    counts = rng.multinomial(n_events, shares)
    yields = 1.0 * counts           # unit-weight events: the expected yield is the count
    shape_names = [f"np_{k}" for k in range(n_shape)]
    norm_names = [f"norm_{j}" for j in range(n_normalizations)]
    targets = [rng.random(n_processes) < 0.5 for _ in norm_names]
    sizes = rng.uniform(0.005, 0.05, n_normalizations)
    processes = []
    for p in range(n_processes):
        x0 = (np.clip(rng.normal(SIGNAL_CENTER, SIGNAL_WIDTH, counts[p]), 0, 1) if p == 0 else
              _truncated_exponential(rng, BACKGROUND_SLOPES[p - 1], counts[p]))
        X = np.column_stack([x0, rng.random(counts[p])])
        rate = [Scale("mu")] if p == 0 else [Normalization(f"bkg_norm_{p}", 0.1)]
        rate += [Normalization(name, size) for name, size, target
                 in zip(norm_names, sizes, targets) if target[p]]
        systematics = [Systematic(shape_coefficients(k, p), [name], "quadratic")
                       for k, name in enumerate(shape_names)]
        processes.append(Process(f"process_{p}", X, np.full(counts[p], yields[p] / counts[p]),
                                 rate=rate, systematics=systematics))
    parameters = ([POI("mu", 1.0, bounds=(-5, 10))]
                  + [Nuisance(f"bkg_norm_{p}") for p in range(1, n_processes)]
                  + [Nuisance(name) for name in shape_names + norm_names])
    region = UnbinnedRegion("signal_region", processes,
                            fractions=lambda X: _densities(X, n_backgrounds) * shares)
    options = {} if coefficient_dtype is None else {"coefficient_dtype": coefficient_dtype}
    return Model(parameters, [region], n_threads=n_threads, **options)


def _truncated_exponential(rng, slope, n):
    u = rng.random(n)
    return -np.log1p(u * np.expm1(-slope)) / slope


def migrad_fit(u):
    """iminuit's Migrad on the same value and analytic gradient; covariance from the exact
    Hessian at its minimum."""
    from iminuit import Minuit
    minuit = Minuit(lambda x: u(x), u.start.copy(), grad=lambda x: u.grad(x), name=u.names)
    minuit.errordef = Minuit.LEAST_SQUARES
    minuit.strategy = 0
    minuit.tol = 1e-3
    for name, (low, high) in zip(u.names, u.bounds):
        minuit.limits[name] = (None if np.isinf(low) else low, None if np.isinf(high) else high)
    minuit.migrad()
    vector = np.array(minuit.values)
    covariance = 2.0 * np.linalg.inv(u.hessian(vector))
    return vector, covariance, int(minuit.nfcn), bool(minuit.valid)


def bandwidth_floor(cache, repeats=3):
    """Seconds to read ``cache`` once (a reduction over every element), best of repeats."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        cache.sum()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(n_events, n_processes, n_shape, n_normalizations, n_threads, repeats, with_migrad,
            coefficient_dtype=None, with_scan=False):
    model = build_model(n_events, n_processes, n_shape, n_normalizations, n_threads,
                        coefficient_dtype)
    u = model.likelihood(model.toy({"mu": 1.0}, random_state=1))
    events = model.reference["signal_region"]
    cache = events.coefficients
    floor = bandwidth_floor(cache)
    passes = []
    for _ in range(max(repeats, 3)):
        vector = u.start + 1e-9 * len(passes)   # defeat the cache of the last vector
        start = time.perf_counter()
        u.value_and_gradient(vector)
        passes.append(time.perf_counter() - start)
    fits = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fit(u)
        fits.append(time.perf_counter() - start)
    row = {"K": n_shape, "parameters": len(u.names), "columns": cache.shape[1],
           "fit": float(np.median(fits)), "calls": result.n_calls, "valid": result.valid,
           "pass": float(np.median(passes)), "floor": floor,
           "cache_gb": cache.nbytes / 1e9, "mu": result["mu"], "mu_error": result.errors["mu"]}
    print(f"   K = {n_shape}: fit {row['fit']:.2f} s, {result.n_calls} passes by "
          f"{result.minimizer}, value+gradient pass {1e3 * row['pass']:.0f} ms", flush=True)
    if with_scan:
        grid = result["mu"] + result.errors["mu"] * np.linspace(-2, 2, 21)
        start = time.perf_counter()
        profile_scan(u, "mu", grid, best=result)
        row["scan"] = time.perf_counter() - start
        print(f"   K = {n_shape}: 21-point scan {row['scan']:.1f} s", flush=True)
    asimov = model.likelihood(model.asimov({"mu": 1.0}))
    on_asimov = fit(asimov)
    row["asimov"] = (f"{on_asimov.minimizer}" if on_asimov.valid
                     else f"{on_asimov.minimizer}, invalid")
    if with_migrad:
        start = time.perf_counter()
        vector, covariance, calls, valid = migrad_fit(u)
        row.update(migrad=time.perf_counter() - start, migrad_calls=calls, migrad_valid=valid,
                   migrad_mu=vector[0], migrad_mu_error=float(np.sqrt(covariance[0, 0])))
    row["peak_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument("--case", choices=("table", "small"), default="table",
                        help="table: 4 processes, 200 normalizations; small: 2 processes")
    parser.add_argument("--shapes", type=int, nargs="*", default=None)
    parser.add_argument("--normalizations", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--float32", action="store_true", help="float32 coefficient cache")
    parser.add_argument("--no-migrad", action="store_true")
    parser.add_argument("--migrad-up-to", type=int, default=100,
                        help="run Migrad side by side only for K up to this")
    parser.add_argument("--scan", action="store_true", help="time a 21-point profile scan")
    parser.add_argument("--quick", action="store_true", help="100k events, K = 10, 30, 100")
    args = parser.parse_args()
    small = args.case == "small"
    n_events = args.events or (100_000 if args.quick else 200_000 if small else 1_000_000)
    shapes = args.shapes or ([10, 30, 100] if (args.quick or small) else [10, 30, 100, 300])
    n_processes = 2 if small else 4
    n_norms = args.normalizations if args.normalizations is not None else (0 if small else 200)
    print(f"{n_events} events, {n_processes} processes, {n_norms} extra normalizations, "
          f"{args.threads} thread(s), cache {'float32' if args.float32 else 'float64'}")
    header = ("| K | parameters | columns | fit + covariance | passes | value+gradient pass | "
              "bandwidth floor | cache | peak memory | Asimov fit by | 21-point scan | "
              "Migrad (same gradient) | Migrad calls |")
    print(header)
    print("|" + "---:|" * (header.count("|") - 1))
    for n_shape in shapes:
        row = measure(n_events, n_processes, n_shape, n_norms, args.threads, args.repeats,
                      not args.no_migrad and n_shape <= args.migrad_up_to,
                      np.float32 if args.float32 else None, args.scan)
        scan = f"{row['scan']:.1f} s" if "scan" in row else "-"
        migrad = (f"{row['migrad']:.1f} s | {row['migrad_calls']}" if "migrad" in row
                  else "- | -")
        print(f"| {row['K']} | {row['parameters']} | {row['columns']} | {row['fit']:.2f} s"
              f"{'' if row['valid'] else ' (invalid)'} | {row['calls']} | "
              f"{1e3 * row['pass']:.0f} ms | {1e3 * row['floor']:.0f} ms | "
              f"{row['cache_gb']:.2f} GB | {row['peak_gb']:.2f} GB | {row['asimov']} | {scan} | "
              f"{migrad} |", flush=True)
        detail = f"   mu = {row['mu']:.5f} +- {row['mu_error']:.5f}"
        if "migrad" in row:
            detail += (f"; Migrad mu = {row['migrad_mu']:.5f} +- {row['migrad_mu_error']:.5f}"
                       f" (valid {row['migrad_valid']})")
        print(detail, flush=True)


if __name__ == "__main__":
    main()
