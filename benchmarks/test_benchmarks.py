"""pytest-benchmark suite: ``pytest benchmarks/ -n 0`` (LightGBM cases need the benchmark extra).

Compare groups with ``pytest benchmarks/ -n 0 --benchmark-group-by=group``: bpt and its peers on
the same data shape sit in one group.
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "2")

import pytest  # noqa: E402

from compare import fit_bpt, fit_lightgbm, fit_sklearn  # noqa: E402
from datasets import bpt_events  # noqa: E402

THREADS = 2


@pytest.fixture(scope="module")
def data():
    return bpt_events(100_000)


@pytest.fixture(scope="module")
def fitted_bpt(data):
    X, nu, _ = data
    return fit_bpt(X, nu, THREADS)


@pytest.mark.benchmark(group="fit 500k x 10, 100 trees depth 4")
def test_fit_bpt(benchmark, data):
    X, nu, _ = data
    benchmark.pedantic(fit_bpt, args=(X, nu, THREADS), rounds=3, iterations=1)


@pytest.mark.benchmark(group="fit 500k x 10, 100 trees depth 4")
def test_fit_lightgbm(benchmark, data):
    pytest.importorskip("lightgbm")
    X, _, y = data
    benchmark.pedantic(fit_lightgbm, args=(X, y, THREADS), rounds=3, iterations=1)


@pytest.mark.benchmark(group="fit 500k x 10, 100 trees depth 4")
def test_fit_sklearn(benchmark, data):
    X, _, y = data
    benchmark.pedantic(fit_sklearn, args=(X, y, THREADS), rounds=3, iterations=1)


@pytest.mark.benchmark(group="predict 500k x 10, 100 trees depth 4")
def test_predict_bpt(benchmark, data, fitted_bpt):
    X, _, _ = data
    benchmark.pedantic(fitted_bpt.predict, args=(X,), rounds=5, iterations=1)


@pytest.mark.benchmark(group="predict 500k x 10, 100 trees depth 4")
def test_predict_lightgbm(benchmark, data):
    pytest.importorskip("lightgbm")
    X, _, y = data
    booster = fit_lightgbm(X, y, THREADS)
    benchmark.pedantic(booster.predict, args=(X,), kwargs={"num_threads": THREADS}, rounds=5,
                       iterations=1)
