"""Cross-validation that keeps every base point in every fold.

A BoostedParametricTree compares each base point with the nominal one, so every training and
test fold needs events at every point, the nominal point above all. Events are often stored
sorted by base point, and scikit-learn's default ``KFold`` then leaves whole points out of a
fold. :class:`BasePointKFold` stratifies the folds by base point instead.
"""
import numpy as np
from sklearn.model_selection import StratifiedKFold
from sklearn.model_selection._split import _BaseKFold

from ._input import named_rows


class BasePointKFold(_BaseKFold):
    """K-fold cross-validation stratified by base point.

    Each fold holds about ``1 / n_splits`` of the events of every base point, so that the
    training and the test events of every split contain the nominal point and all others.
    Use it as ``cv=`` of scikit-learn's ``cross_val_score``, ``cross_validate`` or
    ``GridSearchCV`` with a :class:`~bpt.BoostedParametricTree` or
    :class:`~bpt.FactorizedInterpolation`; the base points are read from ``y`` (nu).

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds (at least 2); every base point needs at least that many events.
    shuffle : bool, default=False
        Shuffle each base point's events before splitting them into folds.
    random_state : int, RandomState or None
        Seeds the shuffle.

    Examples
    --------
    >>> import numpy as np
    >>> from bpt import BasePointKFold
    >>> nu = np.repeat([0.0, 1.0, -1.0], 4)          # events sorted by base point
    >>> for train, test in BasePointKFold(2).split(np.zeros((12, 1)), nu):
    ...     print(np.unique(nu[test]).tolist())
    [-1.0, 0.0, 1.0]
    [-1.0, 0.0, 1.0]
    """

    def __init__(self, n_splits=5, *, shuffle=False, random_state=None):
        super().__init__(n_splits=n_splits, shuffle=shuffle, random_state=random_state)

    def split(self, X, y, groups=None):
        """Indices of the training and test events of each fold.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
            Only its length is used.
        y : array-like, shape (n_samples,) or (n_samples, n_params)
            nu, the base point of each event.
        groups : ignored

        Yields
        ------
        train, test : ndarray of int
        """
        if y is None:
            raise ValueError("BasePointKFold needs y, the base point of each event")
        nu, _ = named_rows(y, "y (nu)")
        _, slots = np.unique(nu, axis=0, return_inverse=True)
        slots = slots.reshape(-1)
        counts = np.bincount(slots)
        if counts.min() < self.n_splits:
            point = nu[np.flatnonzero(slots == np.argmin(counts))[0]]
            raise ValueError(f"BasePointKFold: base point nu={point.tolist()} has "
                             f"{counts.min()} events, fewer than n_splits={self.n_splits}")
        folds = StratifiedKFold(self.n_splits, shuffle=self.shuffle,
                                random_state=self.random_state)
        yield from folds.split(np.zeros((nu.shape[0], 1)), slots)
