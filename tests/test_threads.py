"""Thread counts: capped to the CPUs the process may use, results independent of them,
long predictions interruptible."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import bpt
from bpt import BoostedInformationTree, BoostedParametricTree, _threads, toys
from bpt._core._common import openmp_enabled


@pytest.fixture
def eight_cpus(monkeypatch):
    """Pretend the process may use 8 CPUs, so that n_jobs=4 really runs 4 threads."""
    monkeypatch.setattr(_threads, "available_cpus", lambda: 8)


@pytest.fixture(scope="module")
def sine():
    # Above the size at which histograms are filled in parallel.
    return toys.sine_shape(30_000, random_state=5)


def assert_same_model(a, b, X):
    ea, eb = a._ensemble, b._ensemble
    assert np.array_equal(ea.nodes, eb.nodes)
    assert np.array_equal(ea.values, eb.values)
    assert np.array_equal(ea.baseline, eb.baseline)
    assert np.array_equal(a.train_loss_, b.train_loss_)
    assert np.array_equal(a.validation_loss_, b.validation_loss_)
    assert np.array_equal(a.predict(X), b.predict(X))


@pytest.mark.skipif(not openmp_enabled(), reason="the core was built without OpenMP")
def test_parametric_tree_is_bit_identical_for_any_n_jobs(sine, eight_cpus):
    models = [BoostedParametricTree("quadratic", n_estimators=5, max_depth=4,
                                    min_samples_leaf=100, early_stopping=True,
                                    n_iter_no_change=50, random_state=0, n_jobs=n_jobs)
              .fit(sine.X, sine.target, sine.weights) for n_jobs in (1, 2, 4)]
    assert models[0].validation_loss_.size == 6
    for other in models[1:]:
        assert_same_model(models[0], other, sine.X)
    # Predictions alone, with a thread count the fit did not use.
    assert np.array_equal(models[0].set_params(n_jobs=3).predict(sine.X),
                          models[0].set_params(n_jobs=1).predict(sine.X))


@pytest.mark.skipif(not openmp_enabled(), reason="the core was built without OpenMP")
@pytest.mark.parametrize("loss", ["squared_error", "cross_entropy"])
def test_information_tree_is_bit_identical_for_any_n_jobs(loss, eight_cpus):
    toy = toys.quadratic_sine(30_000, random_state=3)
    models = [BoostedInformationTree("quadratic", loss=loss, n_estimators=4, max_depth=4,
                                     min_samples_leaf=100, verbose=0, early_stopping=True,
                                     n_iter_no_change=50, random_state=0, n_jobs=n_jobs)
              .fit(toy.X, toy.target) for n_jobs in (1, 2, 4)]
    for other in models[1:]:
        assert_same_model(models[0], other, toy.X)


def test_thread_requests_are_capped_to_the_available_cpus():
    limit = _threads.available_cpus()
    assert 1 <= limit <= (os.cpu_count() or 1)
    assert _threads.effective_n_threads(100_000) == limit
    assert _threads.effective_n_threads(-1) == limit
    assert _threads.effective_n_threads(-100_000) == 1
    assert 1 <= _threads.effective_n_threads(None) <= limit
    assert _threads.effective_n_threads(np.int64(1)) == 1
    for bad in (0, 1.5, "2", True):
        with pytest.raises(ValueError, match="n_jobs must be None or a non-zero integer"):
            _threads.effective_n_threads(bad)


def test_huge_n_jobs_in_fit_predict_and_model_file(tmp_path):
    toy = toys.sine_shape(3000, random_state=0)
    model = BoostedParametricTree(n_estimators=3, n_jobs=100_000).fit(toy.X, toy.target,
                                                                      toy.weights)
    path = tmp_path / "model.json"
    bpt.save(model, path)
    loaded = bpt.load(path)
    assert loaded.get_params()["n_jobs"] == 100_000
    reference = model.set_params(n_jobs=1).predict(toy.X)
    assert np.array_equal(loaded.predict(toy.X), reference)


def test_cgroup_quota_limits_the_cpus(tmp_path, monkeypatch):
    root = tmp_path / "cgroup"
    (root / "batch" / "job").mkdir(parents=True)
    (root / "batch" / "cpu.max").write_text("150000 100000\n")  # 1.5 CPUs on the parent
    (root / "batch" / "job" / "cpu.max").write_text("max 100000\n")
    membership = tmp_path / "membership"
    membership.write_text("0::/batch/job\n")
    monkeypatch.setattr(_threads, "CGROUP_ROOT", str(root))
    monkeypatch.setattr(_threads, "PROC_CGROUP", str(membership))
    assert _threads._cgroup_cpu_quota() == pytest.approx(1.5)
    assert _threads.available_cpus() == min(2, len(os.sched_getaffinity(0)))
    membership.write_text("0::/\n")
    assert _threads._cgroup_cpu_quota() is None



@pytest.mark.skipif(not openmp_enabled(), reason="a serial build binds no threads")
def test_openmp_thread_binding_keeps_the_process_cpus(tmp_path):
    """With OMP_PROC_BIND or OMP_PLACES set, OpenMP pins the main thread to one place: the
    CPUs counted are still the process's, as without binding (not that one place)."""
    code = ("import os; from bpt._threads import available_cpus, effective_n_threads; "
            "print(available_cpus(), effective_n_threads(-1), "
            "len(os.sched_getaffinity(0)))")
    expected = _threads.available_cpus()
    for binding in ({"OMP_PROC_BIND": "true"}, {"OMP_PLACES": "cores"},
                    {"OMP_PROC_BIND": "close", "OMP_PLACES": "threads"}):
        environment = {key: value for key, value in os.environ.items()
                       if not key.startswith(("OMP_", "GOMP_"))}
        # Run away from the source tree, which holds bpt without its compiled core.
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                env={**environment, **binding}, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        out = result.stdout.split()
        assert [int(out[0]), int(out[1])] == [expected, expected], (binding, out)
        if expected > 1:  # the binding did pin the main thread, so the test means something
            assert int(out[2]) < expected, (binding, out)


def fake_run_queue(tmp_path, monkeypatch, runnable, own_states):
    """Point the run-queue reader at files saying ``runnable`` tasks are runnable in the
    system, of which this process's threads are in ``own_states``."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    loadavg = tmp_path / "loadavg"
    loadavg.write_text(f"1.50 1.20 0.90 {runnable}/312 4242\n")
    tasks = tmp_path / "task"
    for tid, state in enumerate(own_states, start=100):
        (tasks / str(tid)).mkdir(parents=True)
        # A thread name with spaces and parentheses, as ``comm`` may hold.
        (tasks / str(tid) / "stat").write_text(f"{tid} (py (x) R) {state} 1 1 1 0\n")
    monkeypatch.setattr(_threads, "PROC_LOADAVG", str(loadavg))
    monkeypatch.setattr(_threads, "PROC_TASKS", str(tasks))


def test_busy_cpus_counts_other_processes_runnable_tasks(tmp_path, monkeypatch):
    # 5 runnable in the system, 2 of them this process's (the caller, a spinning thread).
    fake_run_queue(tmp_path, monkeypatch, 5, ["R", "R", "S"])
    assert _threads.busy_cpus() == 3
    monkeypatch.setattr(_threads, "PROC_LOADAVG", str(tmp_path / "missing"))
    assert _threads.busy_cpus() is None


def test_default_threads_of_a_fit_leave_busy_cpus_out(tmp_path, monkeypatch, eight_cpus):
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setattr(_threads, "openmp_max_threads", lambda: 8)
    fake_run_queue(tmp_path, monkeypatch, 4, ["R", "S"])  # 3 CPUs busy elsewhere
    assert _threads.effective_n_threads(None, leave_busy_cpus=True) == 5
    assert _threads.effective_n_threads(None) == 8  # predictions do not read the queue
    assert _threads.effective_n_threads(8, leave_busy_cpus=True) == 8  # asked for
    fake_run_queue(tmp_path / "full", monkeypatch, 20, ["R"])
    assert _threads.effective_n_threads(None, leave_busy_cpus=True) == 1


@pytest.mark.parametrize("environment, spin_count", [
    ({}, "30000"),  # a short spin, then sleep
    ({"OMP_WAIT_POLICY": "PASSIVE"}, None),  # the user's policy is left to act alone
    ({"GOMP_SPINCOUNT": "5"}, "5"),
])
def test_openmp_wait_settings_are_made_before_the_runtime_starts(environment, spin_count,
                                                                 tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")}
    env.update(environment)
    code = "import os, bpt; print(os.environ.get('GOMP_SPINCOUNT'))"
    # Run away from the source tree, which holds bpt without its compiled core.
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True, cwd=tmp_path).stdout.split()
    assert out == [str(spin_count)]


INTERRUPTED_PREDICTION = textwrap.dedent("""
    import os, signal, threading, time
    import numpy as np
    from bpt import BoostedParametricTree, toys

    toy = toys.sine_shape(4000, random_state=0)
    model = BoostedParametricTree(n_estimators=20, max_depth=6, min_samples_leaf=5,
                                  early_stopping=False, n_jobs=1).fit(toy.X, toy.target)
    # The same trees many times over: a prediction of a few minutes.
    model._ensemble.roots = np.tile(model._ensemble.roots, 200)
    X = np.random.default_rng(0).uniform(-3, 3, size=(2_000_000, 1))
    # A process started in the background inherits an ignored SIGINT, and Python then
    # installs no KeyboardInterrupt handler: install it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
    tic = time.perf_counter()
    try:
        model.predict(X)
    except KeyboardInterrupt:
        print("interrupted after", time.perf_counter() - tic)
    else:
        print("finished after", time.perf_counter() - tic)
""")


def test_ctrl_c_interrupts_a_long_prediction(tmp_path):
    # Run outside the source tree, so that the installed package is imported.
    result = subprocess.run([sys.executable, "-c", INTERRUPTED_PREDICTION], capture_output=True,
                            text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    outcome, _, seconds = result.stdout.strip().rpartition(" ")
    assert outcome == "interrupted after", result.stdout
    # The signal arrives after 0.5 s; it must be honoured within a second.
    assert float(seconds) < 1.5


def test_binning_selected_rows_equals_binning_a_copy(rng=np.random.default_rng(2)):
    from bpt._binning import BinMapper

    X = rng.normal(size=(5000, 3))
    X[rng.random(X.shape) < 0.1] = np.nan
    rows = rng.permutation(5000)[:3000].astype(np.int32)
    mapper = BinMapper(max_bins=40, subsample=1000, random_state=0)
    by_rows = mapper.fit(X, rows).transform(X, rows)
    thresholds = mapper.thresholds_
    copy = BinMapper(max_bins=40, subsample=1000, random_state=0).fit(X[rows])
    for mine, theirs in zip(thresholds, copy.thresholds_):
        assert np.array_equal(mine, theirs)
    assert np.array_equal(by_rows, copy.transform(X[rows]))
    with pytest.raises(ValueError, match="rows must index the rows of X"):
        mapper.transform(X, np.array([0, 5000], dtype=np.int32))


def test_early_stopping_does_not_copy_the_features():
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks"))
    try:
        from early_stopping_memory import peak_fraction
    finally:
        sys.path.pop(0)
    # Copying the training part of X alone would cost 0.9 x the input.
    fraction, _ = peak_fraction(300_000, 20)
    assert fraction <= 0.6


@pytest.mark.parametrize("one_hot", [True, False])
def test_the_validation_split_releases_the_whole_set(one_hot):
    from bpt._statistics import EventStatistics
    rng = np.random.default_rng(3)
    if one_hot:
        statistics = EventStatistics(3, weights=rng.random(100), slots=rng.integers(0, 3, 100))
    else:
        statistics = EventStatistics(3, dense=rng.random((100, 3)))
    whole = statistics.copy()
    train, validation = statistics.split(np.arange(0, 100, 2), np.arange(1, 100, 2))
    for part, rows in ((train, slice(0, 100, 2)), (validation, slice(1, 100, 2))):
        for got, expected in zip(part.arrays(), whole.take(rows).arrays()):
            assert (got is None) == (expected is None)
            if got is not None:
                np.testing.assert_array_equal(got, expected)
    assert statistics.n_samples == 0
    assert all(array is None or array.base is None for array in statistics.arrays())
