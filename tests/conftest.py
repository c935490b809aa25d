"""Test configuration: pinned thread counts, slow tests behind --runslow, and the fitted
toys shared by several test files (each fitted once per test run)."""
import os

import pytest


def pytest_configure(config):
    """Pin the threads of OpenMP and OpenBLAS, which read them when first loaded (the test
    modules import numpy and bpt after this hook). Under pytest-xdist (the default, see
    pyproject.toml) the workers inherit them from this, the controlling process, and the
    CPUs are shared among the workers: more threads than CPUs in total make each
    worker's threads wait for the others' (OpenBLAS spins while it waits, which made a
    two-worker run 12x slower)."""
    if hasattr(config, "workerinput"):  # an xdist worker: the controller has set them
        return
    workers = getattr(config.option, "numprocesses", None) or 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = str(max(1, min(2, (cpus or 1) // int(workers))))
    os.environ.setdefault("OMP_NUM_THREADS", threads)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", threads)


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False,
                     help="also run the tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


# The toy analysis and its energy-scale surrogates, fitted once per test run and shared by
# the toy-analysis and truth-coverage tests.
@pytest.fixture(scope="session")
def analysis():
    from bpt.toys.analysis import ToyAnalysis
    return ToyAnalysis()


@pytest.fixture(scope="session")
def surrogates(analysis):
    return analysis.fit_energy_scale()


@pytest.fixture(scope="session")
def model(analysis, surrogates):
    return analysis.unbinned_model(surrogates)


@pytest.fixture(scope="session")
def information_toys():
    """``fitted(name, loss, order)``: a BoostedInformationTree (100 trees, seed 0) fitted on
    50 000 events of ``bpt.toys.<name>``, and 20 000 held-out events; each combination is
    fitted once per run."""
    from bpt import BoostedInformationTree, toys
    fitted = {}

    def fit(name, loss, order):
        if (name, loss, order) not in fitted:
            train = getattr(toys, name)(50_000, random_state=0)
            test = getattr(toys, name)(20_000, random_state=100)
            model = BoostedInformationTree(order, loss=loss, n_estimators=100, random_state=0)
            model.fit(train.X, train.target, train.weights)
            fitted[name, loss, order] = model, test
        return fitted[name, loss, order]

    return fit
