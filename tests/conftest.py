"""Test configuration: pinned thread count, slow tests behind --runslow."""
import os

# OpenMP reads this when the compiled core is first loaded: pin it before any import of bpt.
os.environ.setdefault("OMP_NUM_THREADS", "2")

import pytest  # noqa: E402


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
