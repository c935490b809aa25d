"""Progress reports for long computations: fits, scans, toy studies, impacts.

Every long-running function takes ``progress``: False (default) reports nothing, True shows
a tqdm bar on standard error (counts, elapsed time, rate and, when the total is known, the
time left), and a callable receives ``(done, total, elapsed_seconds)`` after every step so
that notebooks, logs or batch systems can report in their own way.
"""
import time

from joblib import Parallel
from tqdm.auto import tqdm


class Progress:
    """A progress report over ``total`` steps (None when the count is not known ahead).

    Parameters
    ----------
    progress : bool or callable
        False: silent. True: a tqdm bar. A callable: called as
        ``progress(done, total, elapsed_seconds)`` after every step.
    total : int or None
    description : str
        The bar's label.
    """

    def __init__(self, progress, total=None, description=""):
        if not (isinstance(progress, bool) or callable(progress)):
            raise TypeError(f"progress must be True, False or a callable taking (done, total, "
                            f"elapsed_seconds), got {progress!r}")
        self.total = total
        self.done = 0
        self._callback = progress if callable(progress) else None
        self._bar = tqdm(total=total, desc=description, leave=False) \
            if progress is True else None
        self._start = time.perf_counter()

    def update(self, steps=1):
        """Record ``steps`` more finished steps."""
        self.done += steps
        if self._bar is not None:
            self._bar.update(steps)
        if self._callback is not None:
            self._callback(self.done, self.total, time.perf_counter() - self._start)

    def close(self):
        if self._bar is not None:
            self._bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def parallel_map(tasks, n_tasks, n_jobs, progress, description):
    """Run joblib ``tasks`` (``delayed`` calls, ``n_tasks`` of them) through ``Parallel``.

    The results come back in the order of ``tasks``, and each one is reported as it
    arrives; the active joblib backend (loky, threads, Dask, Ray) decides where they run.
    """
    with Progress(progress, n_tasks, description) as report:
        outcomes = []
        for outcome in Parallel(n_jobs=n_jobs, return_as="generator")(tasks):
            outcomes.append(outcome)
            report.update()
    return outcomes
