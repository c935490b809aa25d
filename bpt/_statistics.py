"""The per-event statistic vectors the engine grows trees on, dense or one-hot."""
import numpy as np


class EventStatistics:
    """Statistic vectors of n events, each of length ``n_stats``.

    Stored densely, ``dense`` of shape (n_samples, n_stats), or one-hot, where event i adds
    ``weights[i]`` to slot ``slots[i]`` and nothing elsewhere (a BPT event simulated at a
    single base point). The arrays are copied on construction: boosting updates them in
    place.
    """

    def __init__(self, n_stats, dense=None, weights=None, slots=None):
        self.n_stats = int(n_stats)
        if dense is not None:
            self.dense = np.array(dense, dtype=np.float64, order="C")
            self.weights = self.slots = None
        else:
            self.dense = None
            self.weights = np.array(weights, dtype=np.float64)
            self.slots = np.array(slots, dtype=np.int32)

    @classmethod
    def from_columns(cls, columns):
        """From an (n_samples, n_stats) array; one-hot if no event has two non-zero entries."""
        columns = np.asarray(columns, dtype=np.float64)
        nonzero = columns != 0
        if (nonzero.sum(axis=1) <= 1).all():
            slots = np.argmax(nonzero, axis=1)
            weights = columns[np.arange(columns.shape[0]), slots]
            return cls(columns.shape[1], weights=weights, slots=slots)
        return cls(columns.shape[1], dense=columns)

    @property
    def one_hot(self):
        return self.dense is None

    @property
    def n_samples(self):
        return self.weights.shape[0] if self.one_hot else self.dense.shape[0]

    def arrays(self):
        """``(dense, weights, slots)``, the form the compiled kernels take."""
        return self.dense, self.weights, self.slots

    def take(self, indices):
        if self.one_hot:
            return EventStatistics(self.n_stats, weights=self.weights[indices],
                                   slots=self.slots[indices])
        return EventStatistics(self.n_stats, dense=self.dense[indices])

    def split(self, *parts):
        """The events of each index array in ``parts``, as new statistics; this object then
        holds no events (its arrays are released, so that a fit does not keep the whole set
        beside its training and validation parts).
        """
        taken = tuple(self.take(indices) for indices in parts)
        # New empty arrays: a view of the old ones would keep them alive.
        if self.one_hot:
            self.weights, self.slots = np.empty(0), np.empty(0, dtype=np.int32)
        else:
            self.dense = np.empty((0, self.n_stats))
        return taken

    def copy(self):
        return self.take(slice(None))

    def normalize(self):
        """Divide every statistic in place by a power of two that brings the largest
        magnitude to [1, 2); returns the factor (1 when it is already there, or all zero).

        Powers of two scale exactly, so the fit is the same as with the original weights,
        but sums of squares of weights like 1e300 or 1e-300 neither overflow nor underflow.
        """
        values = self.weights if self.one_hot else self.dense
        largest = float(np.abs(values).max(initial=0.0))
        if not np.isfinite(largest):
            raise ValueError("the per-event statistics (weights, or weights times targets) "
                             "are not finite: they overflow float64")
        if largest == 0.0:
            return 1.0
        factor = float(np.ldexp(1.0, int(np.frexp(largest)[1]) - 1))
        if factor != 1.0:
            values /= factor
        return factor

    def sums(self):
        """Total of every statistic over the events, shape (n_stats,)."""
        if self.one_hot:
            return np.bincount(self.slots, weights=self.weights, minlength=self.n_stats)
        return self.dense.sum(axis=0)

    def strata(self):
        """A label per event for stratified splits: its slot (one-hot) or None (dense)."""
        return self.slots if self.one_hot else None
