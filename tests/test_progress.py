"""Progress reports of long computations, FitResult's summary, and parallel surrogate training."""
import re

import joblib
import numpy as np
import pytest

from bpt import BoostedParametricTree, TrainingJob, fit_surrogates, toys
from bpt.likelihood import (POI, Model, Normalization, Nuisance, Process, Scale, Systematic,
                            UnbinnedRegion, coverage, fit, impacts, profile_scan)


def small_model():
    """Signal with a scale and a shape nuisance, background with a normalization."""
    rng = np.random.default_rng(5)
    X = [rng.normal(size=(1500, 1)), rng.normal(0.5, 1.2, size=(1500, 1))]
    shape = Systematic(lambda X: np.column_stack([0.1 * X[:, 0], 0.01 * X[:, 0] ** 2]),
                       ["es"], "quadratic")
    region = UnbinnedRegion("sr", [
        Process("sig", X[0], np.full(1500, 0.1), rate=[Scale("mu")], systematics=[shape]),
        Process("bkg", X[1], np.full(1500, 0.3), rate=[Normalization("norm", 0.1)]),
    ], fractions=lambda X: np.tile([0.25, 0.75], (len(X), 1)))
    return Model([POI("mu", 1.0, bounds=(-2, 5)), Nuisance("es"), Nuisance("norm")], [region])


class Recorder:
    def __init__(self):
        self.calls = []

    def __call__(self, done, total, elapsed):
        self.calls.append((done, total, elapsed))


def test_progress_callbacks_count_the_work():
    model = small_model()
    u = model.likelihood(model.asimov())
    recorder = Recorder()
    best = fit(u, start={"mu": 2.0, "es": 0.5}, progress=recorder)
    # One report per pass over the events, counted from 1, as many as the fit counts.
    assert [c[0] for c in recorder.calls] == list(range(1, best.n_calls + 1))
    assert best.n_calls >= 3 and all(c[1] is None for c in recorder.calls)
    assert all(b >= a >= 0 for (_, _, a), (_, _, b) in zip(recorder.calls, recorder.calls[1:]))

    scan = Recorder()
    profile_scan(u, "mu", np.linspace(0.5, 1.5, 7), best=best, progress=scan)
    assert [c[:2] for c in scan.calls] == [(k, 7) for k in range(1, 8)]

    toys_done = Recorder()
    coverage(model, "mu", n_toys=4, random_state=0, progress=toys_done)
    assert [c[:2] for c in toys_done.calls] == [(k, 4) for k in range(1, 5)]

    nuisances = Recorder()
    impacts(u, "mu", best=best, progress=nuisances)
    assert [c[:2] for c in nuisances.calls] == [(1, 2), (2, 2)]


def test_progress_bar_and_bad_option(capsys):
    model = small_model()
    u = model.likelihood(model.asimov())
    quiet = fit(u)
    shown = fit(u, progress=True)
    np.testing.assert_array_equal(quiet.vector, shown.vector)
    assert "fit" in capsys.readouterr().err  # tqdm writes its bar to standard error
    with pytest.raises(TypeError, match="progress must be True, False or a callable"):
        fit(u, progress="yes")


def test_fit_result_correlation_and_summary():
    model = small_model()
    best = fit(model.likelihood(model.asimov()))
    correlation = best.correlation
    np.testing.assert_allclose(np.diag(correlation), 1.0)
    np.testing.assert_allclose(correlation, correlation.T)
    expected = best.covariance[0, 1] / np.sqrt(best.covariance[0, 0] * best.covariance[1, 1])
    assert correlation[0, 1] == pytest.approx(expected)
    assert np.all(np.abs(correlation) <= 1 + 1e-12)
    text = repr(best)
    assert text.startswith("FitResult: valid")
    assert f"{best.n_calls} objective calls (newton)" in text and best.minimizer == "newton"
    line = re.search(r"mu\s+= (\S+) \+- (\S+)", text)
    assert float(line.group(1)) == pytest.approx(best["mu"], rel=1e-5)
    assert float(line.group(2)) == pytest.approx(best.errors["mu"], rel=1e-3)
    held = fit(model.likelihood(model.asimov()), fixed={"es": 0.0})
    assert re.search(r"es\s+= 0 \(fixed\)", repr(held))
    assert held.correlation[1].tolist() == [0.0, 0.0, 0.0]


def training_jobs():
    train = toys.gaussian_mean_width(3000, random_state=0)
    estimator = BoostedParametricTree("quadratic", n_estimators=8, max_depth=2,
                                      min_samples_leaf=50, random_state=0)
    jobs = {}
    for process, shift in (("sig", 0.0), ("bkg", 0.3)):
        X = train.X + shift
        jobs[process, "mean_width"] = TrainingJob(estimator, "fit", (X, train.target))
    return jobs, train


def test_fit_surrogates_matches_serial_fits_locally_and_on_dask():
    jobs, train = training_jobs()
    serial = {name: job.estimator.__class__(**job.estimator.get_params()).fit(*job.args)
              for name, job in jobs.items()}
    recorder = Recorder()
    local = fit_surrogates(jobs, n_jobs=2, progress=recorder)
    assert list(local) == list(jobs)
    assert [c[:2] for c in recorder.calls] == [(1, 2), (2, 2)]
    distributed = pytest.importorskip("distributed")
    with distributed.Client(n_workers=2, threads_per_worker=1, processes=False,
                            dashboard_address=None) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        with joblib.parallel_backend("dask"):
            remote = fit_surrogates(jobs)
    X = train.X[:200]
    for name in jobs:
        expected = serial[name].predict(X)
        np.testing.assert_array_equal(local[name].predict(X), expected)
        np.testing.assert_array_equal(remote[name].predict(X), expected)
    # The templates are cloned, never fitted themselves.
    assert not hasattr(next(iter(jobs.values())).estimator, "parametrization_")


def test_fit_surrogates_bad_jobs():
    jobs, _ = training_jobs()
    job = next(iter(jobs.values()))
    with pytest.raises(ValueError, match="non-empty dict"):
        fit_surrogates([job])
    with pytest.raises(ValueError, match=r"jobs\['a'\].method must be one of"):
        fit_surrogates({"a": TrainingJob(job.estimator, "predict", job.args)})
    with pytest.raises(ValueError, match=r"jobs\['a'\]: a tuple must be"):
        fit_surrogates({"a": (job.estimator, "fit")})
    with pytest.raises(TypeError, match=r"jobs\['a'\].args must be a tuple"):
        fit_surrogates({"a": TrainingJob(job.estimator, "fit", list(job.args))})
