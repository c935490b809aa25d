"""Cross-validation by base point: every fold holds every base point."""
import warnings

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

from bpt import BasePointKFold, BoostedParametricTree, toys
from bpt.parametrization import nominal_points


@pytest.fixture(scope="module")
def toy():
    return toys.gaussian_mean_width(600, random_state=2)   # events sorted by base point


def small(**params):
    return BoostedParametricTree("linear", n_estimators=5, min_samples_leaf=20,
                                 early_stopping=False, random_state=0, **params)


def test_every_fold_holds_every_base_point(toy):
    points = np.unique(toy.target, axis=0)
    splitter = BasePointKFold(3, shuffle=True, random_state=0)
    tested = np.zeros(len(toy.target), dtype=int)
    for train, test in splitter.split(toy.X, toy.target):
        for indices in (train, test):
            assert np.array_equal(np.unique(toy.target[indices], axis=0), points)
        tested[test] += 1
    assert (tested == 1).all()                  # a partition of the events
    assert splitter.get_n_splits() == 3


def test_cross_val_score_and_grid_search_with_the_splitter(toy):
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # no failed fit, no NaN score
        scores = cross_val_score(small(), toy.X, toy.target, cv=BasePointKFold(3))
        search = GridSearchCV(small(), {"max_depth": [1, 3]}, cv=BasePointKFold(3))
        search.fit(toy.X, toy.target)
    assert np.isfinite(scores).all()
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_folds_without_the_nominal_point_name_the_splitter(toy):
    # Unshuffled KFold on sorted events leaves the nominal point out of the last test fold.
    train, test = list(KFold(3).split(toy.X))[-1]
    assert not nominal_points(toy.target[test]).any()
    model = small().fit(toy.X[train], toy.target[train])
    with pytest.raises(ValueError, match="no nominal base point.*BasePointKFold"):
        model.score(toy.X[test], toy.target[test])
    one_point = toy.target[:, 0] == 0
    one_point &= toy.target[:, 1] == 0
    with pytest.raises(ValueError, match="at least one other base point.*BasePointKFold"):
        model.score(toy.X[one_point], toy.target[one_point])


def test_too_few_events_per_point_refused(toy):
    with pytest.raises(ValueError, match="fewer than n_splits=1000"):
        list(BasePointKFold(1000).split(toy.X, toy.target))
    with pytest.raises(ValueError, match="needs y"):
        list(BasePointKFold(3).split(toy.X, None))


def test_default_cv_on_sorted_events_warns_with_the_remedy():
    """scikit-learn's default KFold on events sorted by base point: every fold leaves a
    point out. Where all fits fail, scikit-learn raises with the estimators' message; where
    some succeed, its error_score=nan policy turns the refusals into NaN scores, and the
    warnings it emits carry the estimator's message naming BasePointKFold."""
    rng = np.random.default_rng(0)
    nu = np.repeat([-1.0, 0.0, 1.0], 300)
    X = rng.normal(size=(900, 2))
    X[:, 0] += 0.3 * nu
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search = GridSearchCV(small(), {"max_depth": [1, 2]}, cv=3).fit(X, nu)
    assert np.isnan(search.cv_results_["mean_test_score"]).all()
    messages = [str(w.message) for w in caught]
    assert any("BasePointKFold" in m for m in messages)
    assert any("non-finite" in m for m in messages)
    with pytest.raises(ValueError, match="no nominal base point.*BasePointKFold"):
        GridSearchCV(small(), {"max_depth": [1, 2]}, cv=3, error_score="raise").fit(X, nu)
    toy = toys.gaussian_mean_width(300, random_state=0)
    order = np.lexsort(toy.target.T[::-1])      # nominal first: no fold can fit
    with pytest.raises(ValueError, match="All the 3 fits failed"):
        cross_val_score(BoostedParametricTree("quadratic", n_estimators=3, random_state=0),
                        toy.X[order], toy.target[order], cv=3)
