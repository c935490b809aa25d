"""The H->tautau analysis end to end: generate (or read the cache), reconstruct, train and
validate the surrogates, fit mu with the four approaches, and write the results table.

``python examples/htautau/run.py`` (or ``python -m examples.htautau`` from the repository
root) runs the full study; ``--tiny`` a test-size version in seconds.
"""
import argparse
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import fits, surrogates as surrogate_module
from .detector import DetectorNoise
from .generation import PROCESSES, cached_events
from .surrogates import Sample, SurrogateSettings

ROLES = ("training", "reference", "pool")
ROLE_FRACTIONS = (0.4, 0.3, 0.3)
MU_VALUES = (0.5, 1.0, 2.0)


@dataclass
class Config:
    """Sizes of one run of the analysis.

    ``events``: per process, (events generated, first Pythia seed); ``yields``: expected
    selected events per process at the nominal point (mu = 1), a choice of this example,
    not a cross section times luminosity.
    """

    events: dict
    yields: dict
    n_toys: int
    n_bins: int
    settings: SurrogateSettings = field(default_factory=SurrogateSettings)
    chunk: int = 20_000
    seed: int = 0


FULL = Config(events={"htautau": (60_000, 1000), "ztautau": (240_000, 2000),
                      "ttbar": (30_000, 3000)},
              yields={"htautau": 100.0, "ztautau": 800.0, "ttbar": 200.0},
              n_toys=200, n_bins=10)
TINY = Config(events={"htautau": (1500, 1000), "ztautau": (3000, 2000), "ttbar": (600, 3000)},
              yields={"htautau": 20.0, "ztautau": 40.0, "ttbar": 15.0},
              n_toys=4, n_bins=3,
              settings=SurrogateSettings(n_estimators=10, learning_rate=0.2,
                                         min_samples_leaf=10))


def split_samples(truth_by_process, config):
    """Per role (training, reference, pool), per process, a Sample of disjoint events with
    the detector noise drawn once per event, each normalized to the expected yield."""
    roles = {role: {} for role in ROLES}
    for k, (process, truth) in enumerate(truth_by_process.items()):
        noise = DetectorNoise.draw(len(truth), [config.seed, k])
        order = np.random.default_rng([config.seed, k, 1]).permutation(len(truth))
        bounds = np.cumsum([0] + [int(round(f * len(truth))) for f in ROLE_FRACTIONS[:-1]]
                           + [len(truth)])
        bounds[-1] = len(truth)
        for role, start, stop in zip(ROLES, bounds[:-1], bounds[1:]):
            index = np.sort(order[start:stop])
            sample = Sample(process, truth.subset(index), noise.subset(index), 1.0)
            n_selected = len(sample.at().X)
            if n_selected == 0:
                raise RuntimeError(f"no selected {process} events in the {role} sample; "
                                   "generate more events")
            sample.yield_per_event = config.yields[process] / n_selected
            roles[role][process] = sample
    return roles


def results_table(approaches, widths, studies, tes_study, pool_estimates):
    """The markdown table of the four approaches."""
    header = ("| approach | 68% width, Asimov μ=1 | median 2σ̂, toys μ=1 | "
              + " | ".join(f"coverage μ={mu:g}" for mu in MU_VALUES)
              + " | pull mean, width μ=1 | μ̂ on the expected pool | bias μ̂−μ, TES=+1σ "
              "| TES=+1σ minus TES=0 | valid fits |")
    lines = [header, "|---" * (8 + len(MU_VALUES)) + "|"]
    for name in fits.APPROACHES:
        k = studies[1.0].names.index(name)
        median_width = 2 * np.median(studies[1.0].errors[studies[1.0].valid[:, k], k])
        cells = []
        for mu in MU_VALUES:
            covered, error = studies[mu].coverage(name, 0.6827)
            cells.append(f"{100 * covered:.1f} ± {100 * error:.1f}%")
        pulls = studies[1.0].pulls(name)
        cells.append(f"{pulls.mean():+.2f}, {pulls.std(ddof=1):.2f}")
        k_tes = tes_study.names.index(name)
        ok = tes_study.valid[:, k_tes]
        shift = tes_study.estimates[ok, k_tes] - tes_study.truth
        nominal = studies[1.0].estimates[studies[1.0].valid[:, k], k] - 1.0
        bias = f"{shift.mean():+.3f} ± {shift.std(ddof=1) / np.sqrt(ok.sum()):.3f}"
        difference = np.hypot(shift.std(ddof=1) / np.sqrt(shift.size),
                              nominal.std(ddof=1) / np.sqrt(nominal.size))
        cells.append(f"{pool_estimates[name]:.3f}")
        cells.append(bias)
        cells.append(f"{shift.mean() - nominal.mean():+.3f} ± {difference:.3f}")
        n_valid = sum(int(s.valid[:, s.names.index(name)].sum())
                      for s in list(studies.values()) + [tes_study])
        n_total = sum(len(s.valid) for s in list(studies.values()) + [tes_study])
        lines.append(f"| {fits.LABELS[name]} | {widths[name]:.3f} | {median_width:.3f} | "
                     + " | ".join(cells) + f" | {n_valid}/{n_total} |")
    return "\n".join(lines)


def fit_seconds(approaches, experiment, repeats=3):
    """Mean time of one fit (with Hesse errors) per approach on one pseudo-experiment."""
    seconds = {}
    for name, make in approaches.objectives.items():
        tic = time.perf_counter()
        for _ in range(repeats):
            fits.fit(make(experiment))
        seconds[name] = (time.perf_counter() - tic) / repeats
    return seconds


def run(config, cache, output, n_jobs=1, log=print):
    """The whole analysis; returns a dict of what it measured (for tests and the README)."""
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    tic = time.perf_counter()
    truth = {p: cached_events(p, n, seed, cache, chunk=config.chunk, log=log)
             for p, (n, seed) in config.events.items()}
    generation_seconds = sum(t.seconds for t in truth.values())
    for p, t in truth.items():
        log(f"{p}: {t.n_generated} generated, {len(t)} preselected "
            f"(generation {t.seconds:.0f} s, {t.n_generated / t.seconds:.0f} events/s)")
    roles = split_samples(truth, config)
    for role in ROLES:
        log(f"{role}: selected " + ", ".join(f"{p} {len(s.at().X)}"
                                             for p, s in roles[role].items()))
    tic_train = time.perf_counter()
    trained = surrogate_module.train(roles["training"], roles["reference"], config.settings,
                                     random_state=config.seed, log=log)
    training_seconds = time.perf_counter() - tic_train
    (output / "validation.txt").write_text(surrogate_module.validation_report(trained) + "\n")
    plots = surrogate_module.save_plots(trained, output / "plots")
    log(f"surrogates trained in {training_seconds:.0f} s; validation in "
        f"{output / 'validation.txt'}, {len(plots)} plots in {output / 'plots'}")

    approaches, floored = fits.build(roles["reference"], trained, config.n_bins)
    if any(floored.values()):
        log(f"template bins given a floor (emptied at some points only): {floored}")
    widths = {name: fits.asimov_width(model) for name, model in approaches.models.items()}
    probe = fits.draw(roles["pool"], {"mu": 1.0}, "drawn", 12345)
    seconds_per_fit = fit_seconds(approaches, probe)
    pool_estimates = {name: fits.fit(make(fits.expected_pool(roles["pool"])))["mu"]
                      for name, make in approaches.objectives.items()}
    tic_fits = time.perf_counter()
    studies = {mu: fits.study(approaches, roles["pool"], {"mu": mu}, config.n_toys,
                              random_state=[config.seed, int(100 * mu)], n_jobs=n_jobs)
               for mu in MU_VALUES}
    tes_study = fits.study(approaches, roles["pool"], {"mu": 1.0, "tes": 1.0}, config.n_toys,
                           global_observables={}, random_state=[config.seed, 999],
                           n_jobs=n_jobs)
    study_seconds = time.perf_counter() - tic_fits
    table = results_table(approaches, widths, studies, tes_study, pool_estimates)
    n_experiments = config.n_toys * (len(MU_VALUES) + 1)
    timing = (f"Generation {generation_seconds:.0f} s (one core, Pythia, when the cache was "
              f"made), surrogate training "
              f"{training_seconds:.0f} s, {n_experiments} pseudo-experiments x 4 approaches "
              f"x 2 fits in {study_seconds:.0f} s; one fit with errors: "
              + ", ".join(f"{name} {1000 * s:.0f} ms" for name, s in seconds_per_fit.items())
              + f"; total {time.perf_counter() - tic:.0f} s.")
    sizes = "; ".join(f"{p}: {t.n_generated} generated, expected yield {config.yields[p]:g}"
                      for p, t in truth.items())
    text = (f"{table}\n\nCoverage of the 68.3% interval over {config.n_toys} pseudo-experiments "
            f"per column (global observables drawn around the truth); pulls (μ̂ − μ)/σ̂ at "
            f"μ = 1 over the pseudo-experiments where every approach's fits are valid; "
            f"μ̂ on the expected pool: the fit to all pool events at their expected weights "
            f"(μ = 1), the offset the finite reference and pool samples leave; bias: mean of "
            f"μ̂ − 1 over {config.n_toys} pseudo-experiments at μ = 1 with the data at "
            f"TES = +1σ and the constraint centred at 0, and its difference to the mean at "
            f"TES = 0 (column μ = 1).\n{sizes}.\n{timing}\n")
    (output / "results.md").write_text(text)
    np.savez(output / "studies.npz", names=np.array(fits.APPROACHES),
             **{f"{label}_{field}": getattr(study, field)
                for label, study in [(f"mu{mu:g}", studies[mu]) for mu in MU_VALUES]
                + [("tes", tes_study)]
                for field in ("estimates", "errors", "q", "valid")})
    log(text)
    return {"truth": truth, "roles": roles, "surrogates": trained, "approaches": approaches,
            "widths": widths, "studies": studies, "tes_study": tes_study, "table": table,
            "seconds_per_fit": seconds_per_fit}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="test-size run (seconds)")
    parser.add_argument("--cache", default="~/.cache/bpt-htautau",
                        help="directory of the cached generated events")
    parser.add_argument("--output", default="htautau_results",
                        help="directory for results.md, validation.txt and plots/")
    parser.add_argument("--n-toys", type=int, help="pseudo-experiments per study")
    parser.add_argument("--n-jobs", type=int, default=1)
    args = parser.parse_args(argv)
    config = TINY if args.tiny else FULL
    if args.n_toys is not None:
        config = Config(**{**config.__dict__, "n_toys": args.n_toys})
    run(config, args.cache, args.output, n_jobs=args.n_jobs)
