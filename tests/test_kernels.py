"""Each compiled kernel against a plain NumPy computation on small data."""
import numpy as np
import pytest

from bpt._binning import BinMapper
from bpt._core._common import NODE_DTYPE
from bpt._core._histogram import HistogramBuilder
from bpt._core._information_criterion import (CrossEntropyInformationCriterion,
                                              SquaredErrorInformationCriterion)
from bpt._core._parametric_criterion import (ParametricCriterion, set_vector_math, vector_exp,
                                             vector_log)
from bpt._core._partition import partition, partition_many, reset_indices
from bpt._core._predictor import apply_raw, predict_binned, predict_raw
from bpt._core._splitting import find_node_split, find_node_splits
from bpt._core._update import update_leaves


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def features(rng, n, n_features, missing_fraction=0.1):
    X = rng.normal(size=(n, n_features))
    X[:, 0] = np.round(X[:, 0])  # few distinct values: one bin per value
    X[rng.random(X.shape) < missing_fraction] = np.nan
    return X


# ---------------------------------------------------------------------------------- binning

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_binning_matches_searchsorted(rng, dtype):
    X = features(rng, 5000, 4).astype(dtype)
    mapper = BinMapper(max_bins=20, random_state=0).fit(X)
    binned = mapper.transform(X)
    assert binned.shape == (4, 5000) and binned.dtype == np.uint8
    for f in range(4):
        expected = np.searchsorted(mapper.thresholds_[f], X[:, f].astype(np.float64), side="left")
        expected[np.isnan(X[:, f])] = mapper.missing_bin
        np.testing.assert_array_equal(binned[f], expected)
        assert mapper.n_bins_non_missing_[f] <= 20
    # Few distinct values: midpoints, one bin each.
    distinct = np.unique(X[:, 0][~np.isnan(X[:, 0])])
    np.testing.assert_allclose(mapper.thresholds_[0], (distinct[:-1] + distinct[1:]) / 2)



@pytest.mark.parametrize("n_threads", [1, 2])
def test_map_to_bins_counts_thresholds_below(rng, n_threads):
    """The branch-free search against np.searchsorted for every number of thresholds from 0
    to 254, on values equal to thresholds, between them, outside them, +-inf and NaN."""
    from bpt._core._binning import map_to_bins
    lengths = [0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 31, 100, 253, 254]
    thresholds = np.full((len(lengths), 254), np.inf)
    for f, n in enumerate(lengths):
        thresholds[f, :n] = np.sort(rng.choice(np.arange(-300, 300) / 7, n, replace=False))
    X = rng.uniform(-50, 50, size=(3000, len(lengths)))
    for f, n in enumerate(lengths):
        if n:
            X[:n, f] = thresholds[f, :n]                 # exactly at each threshold
    X[-3:] = [[np.inf], [-np.inf], [np.nan]]
    binned = np.empty((len(lengths), X.shape[0]), dtype=np.uint8)
    map_to_bins(X, thresholds, np.array(lengths, dtype=np.int32), 255, binned, n_threads)
    for f, n in enumerate(lengths):
        expected = np.searchsorted(thresholds[f, :n], X[:, f], side="left")
        expected[np.isnan(X[:, f])] = 255
        np.testing.assert_array_equal(binned[f], expected, err_msg=f"{n} thresholds")


@pytest.mark.parametrize("n_rows", [1, 7, 2049, 5001])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_map_to_bins_of_selected_rows_of_a_strided_array(rng, n_rows, n_threads):
    """Events picked by ``rows`` (in their order) from a non-contiguous float32 array: the
    same bins as binning the copy; block and lane boundaries are not multiples of n_rows."""
    from bpt._core._binning import map_to_bins
    lengths = np.array([0, 5, 254], dtype=np.int32)
    thresholds = np.full((3, 254), np.inf)
    for f, n in enumerate(lengths):
        thresholds[f, :n] = np.sort(rng.normal(size=n))
    X = rng.normal(size=(6000, 6)).astype(np.float32)[:, ::2]
    X[rng.random(X.shape) < 0.05] = np.nan
    rows = rng.choice(X.shape[0], n_rows, replace=False).astype(np.int32)
    binned = np.empty((3, n_rows), dtype=np.uint8)
    map_to_bins(X, thresholds, lengths, 255, binned, n_threads, rows)
    copied = np.empty_like(binned)
    map_to_bins(np.ascontiguousarray(X[rows]), thresholds, lengths, 255, copied, 1)
    np.testing.assert_array_equal(binned, copied)
    for f, n in enumerate(lengths):
        expected = np.searchsorted(thresholds[f, :n], X[rows, f].astype(np.float64))
        expected[np.isnan(X[rows, f])] = 255
        np.testing.assert_array_equal(binned[f], expected)


def test_map_to_bins_rejects_inconsistent_arrays():
    from bpt._core._binning import map_to_bins
    X, thresholds = np.zeros((10, 2)), np.zeros((2, 3))
    lengths = np.array([3, 3], dtype=np.int32)
    ok = np.empty((2, 10), dtype=np.uint8)
    with pytest.raises(ValueError, match="binned must have shape"):
        map_to_bins(X, thresholds, lengths, 255, np.empty((2, 9), dtype=np.uint8), 1)
    with pytest.raises(ValueError, match="one row per feature"):
        map_to_bins(X, np.zeros((1, 3)), lengths, 255, ok, 1)
    with pytest.raises(ValueError, match="n_thresholds"):
        map_to_bins(X, thresholds, np.array([3, 4], dtype=np.int32), 255, ok, 1)
    with pytest.raises(ValueError, match="rows must index"):
        map_to_bins(X, thresholds, lengths, 255, np.empty((2, 1), dtype=np.uint8), 1,
                    np.array([10], dtype=np.int32))


def test_binning_quantiles_balance_bins(rng):
    X = rng.exponential(size=(20000, 1))
    binned = BinMapper(max_bins=10, strategy="quantile", random_state=0).fit(X).transform(X)
    counts = np.bincount(binned[0], minlength=10)
    assert counts.min() > 0.08 * X.shape[0] and counts.max() < 0.12 * X.shape[0]


def test_mixed_binning_resolves_the_tail(rng):
    X = rng.exponential(size=(20000, 1))
    quantile = BinMapper(max_bins=20, strategy="quantile").fit(X).thresholds_[0]
    mixed = BinMapper(max_bins=20, strategy="mixed").fit(X).thresholds_[0]
    assert mixed.size <= 19
    # Half the edges are quantiles (coarser: 10 bins), half equally spaced over the range.
    np.testing.assert_allclose(np.intersect1d(mixed, np.percentile(X, np.arange(10, 100, 10),
                                                                   method="midpoint")).size, 9)
    tail = np.percentile(X, 95)
    assert (mixed > tail).sum() >= 5 > (quantile > tail).sum()


def test_midpoint_quantiles_match_numpy(rng):
    from bpt._binning import _midpoint_quantiles
    for n in (2, 7, 1000, 12345):
        values = np.sort(rng.normal(size=n))
        fractions = np.linspace(0, 1, 128)[1:-1]
        np.testing.assert_allclose(  # numpy interpolates in another order: last-digit noise
            _midpoint_quantiles(values, fractions),
            np.percentile(values, 100 * fractions, method="midpoint"), rtol=1e-14, atol=1e-15)


def test_binning_all_missing_feature(rng):
    X = np.column_stack([rng.normal(size=100), np.full(100, np.nan)])
    mapper = BinMapper(max_bins=16).fit(X)
    assert mapper.n_bins_non_missing_[1] == 1
    assert (mapper.transform(X)[1] == mapper.missing_bin).all()


# ------------------------------------------------------------------------------- histograms

def reference_histogram(binned, dense, indices, n_bins):
    n_features, n_stats = binned.shape[0], dense.shape[1]
    hist = np.zeros((n_features, n_bins, n_stats + 1))
    for f in range(n_features):
        bins = binned[f, indices]
        for d in range(n_stats):
            hist[f, :, d] = np.bincount(bins, weights=dense[indices, d], minlength=n_bins)
        hist[f, :, n_stats] = np.bincount(bins, minlength=n_bins)
    return hist


def event_statistics(rng, one_hot, n_samples, n_stats):
    """Random per-event statistics, one-hot (a weight and the slot it adds to) or dense.

    Returns their dense form (n_samples, n_stats) and the kernels' ``(dense, weights,
    slots)`` arguments: ``(None, weights, slots)`` one-hot, else the dense array itself.
    """
    if one_hot:
        slots = rng.integers(0, n_stats, n_samples).astype(np.int32)
        weights = rng.normal(size=n_samples)
        dense = np.zeros((n_samples, n_stats))
        dense[np.arange(n_samples), slots] = weights
        return dense, (None, weights, slots)
    dense = rng.normal(size=(n_samples, n_stats))
    return dense, (dense, None, None)


@pytest.mark.parametrize("one_hot", [True, False])
@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("n_samples", [1000, 90_000])  # one chunk, several chunks
def test_histograms_match_bincount(rng, one_hot, n_threads, n_samples):
    n_stats, n_bins = 4, 33
    binned = rng.integers(0, n_bins, size=(3, n_samples)).astype(np.uint8)
    dense, statistics = event_statistics(rng, one_hot, n_samples, n_stats)
    builder = HistogramBuilder(binned, *statistics, n_stats, n_bins, n_threads)
    everything = np.arange(n_samples, dtype=np.int32)
    root = builder.compute_brute(everything, 0, n_samples, True)
    np.testing.assert_allclose(root, reference_histogram(binned, dense, everything, n_bins),
                               atol=1e-9)
    # The next tree's root: counts copied from the first, statistics read anew (in place).
    dense *= 2.0  # the kernels' own array when dense, the reference's copy when one-hot
    if one_hot:
        statistics[1][...] *= 2.0
    again = builder.compute_brute(everything, 0, n_samples, True)
    np.testing.assert_array_equal(again[..., -1], root[..., -1])
    np.testing.assert_allclose(again, reference_histogram(binned, dense, everything, n_bins),
                               atol=1e-9)
    # A node: a sorted subset placed in the middle of the index array.
    subset = np.sort(rng.choice(n_samples, n_samples // 3, replace=False)).astype(np.int32)
    indices = np.concatenate([everything[:7], subset]).astype(np.int32)
    node = builder.compute_brute(indices, 7, indices.size, False)
    np.testing.assert_allclose(node, reference_histogram(binned, dense, subset, n_bins),
                               atol=1e-9)
    sibling = builder.compute_subtraction(again, node)
    rest = np.setdiff1d(everything, subset)
    np.testing.assert_allclose(sibling, reference_histogram(binned, dense, rest, n_bins),
                               atol=1e-9)



@pytest.mark.parametrize("one_hot", [True, False])
@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_histograms_of_several_nodes_match_one_at_a_time(rng, n_threads, one_hot):
    """compute_brute_many (one parallel region for a whole level) gives each node's
    histogram bit for bit, large nodes (cut into feature groups, their statistics gathered
    once for all groups) and small ones alike, for any number of threads."""
    n_samples, n_stats, n_bins = 60_000, 3, 17
    binned = rng.integers(0, n_bins, size=(5, n_samples)).astype(np.uint8)
    dense, statistics = event_statistics(rng, one_hot, n_samples, n_stats)
    builder = HistogramBuilder(binned, *statistics, n_stats, n_bins, n_threads)
    indices = rng.permutation(n_samples).astype(np.int32)
    # A small level first: the gathered buffers then grow for the larger one.
    small = builder.compute_brute_many(indices, [0], [25_000])
    np.testing.assert_allclose(small[0], reference_histogram(binned, dense, indices[:25_000],
                                                             n_bins), atol=1e-9)
    starts, stops = [0, 30_000, 30_000, 30_100], [30_000, 30_000, 30_100, n_samples]
    many = builder.compute_brute_many(indices, starts, stops)
    assert many.shape == (4, 5, n_bins, n_stats + 1)
    for k, (start, stop) in enumerate(zip(starts, stops)):
        one = builder.compute_brute(indices, start, stop, False)
        assert one.tobytes() == many[k].tobytes(), k
        np.testing.assert_allclose(many[k], reference_histogram(binned, dense,
                                                                indices[start:stop], n_bins),
                                   atol=1e-9)
    with pytest.raises(ValueError, match="node 1"):
        builder.compute_brute_many(indices, [0, 10], [5, n_samples + 1])
    # With parents, the siblings (parent - node) come from the same region, bit for bit
    # as compute_subtraction; None gives zeros, an empty node the parent itself.
    parents = [rng.normal(size=many.shape[1:]) for _ in starts]
    parents[2] = None
    again, siblings = builder.compute_brute_many(indices, starts, stops, parents)
    assert again.tobytes() == many.tobytes()
    for k, parent in enumerate(parents):
        expected = (np.zeros_like(many[k]) if parent is None
                    else builder.compute_subtraction(parent, many[k]))
        assert siblings[k].tobytes() == expected.tobytes(), k
    assert siblings[1].tobytes() == parents[1].tobytes()  # the empty node
    with pytest.raises(ValueError, match="parents"):
        builder.compute_brute_many(indices, starts, stops, parents[:2])
    with pytest.raises(ValueError, match=r"parents\[0\] has shape"):
        builder.compute_brute_many(indices, starts, stops, [parents[0][:1]] + parents[1:])


def test_splits_of_several_nodes_match_one_at_a_time(rng):
    n, n_bins = 3000, 12
    criterion = ParametricCriterion(np.array([[1.0], [2.0]]), np.zeros(3))
    binned = rng.integers(0, n_bins - 1, size=(3, n)).astype(np.uint8)
    binned[1, rng.random(n) < 0.1] = n_bins - 1
    slots = rng.integers(0, 3, n).astype(np.int32)
    slots[(binned[2] > 6) & (rng.random(n) < 0.3)] = 2
    builder = HistogramBuilder(binned, None, rng.uniform(0.5, 1.5, n), slots, 3, n_bins, 2)
    indices = np.arange(n, dtype=np.int32)
    # Three nodes; the last is too small for min_samples_leaf: no split.
    ranges = [(0, 1500), (1500, n - 20), (n - 20, n)]
    hists = np.stack([builder.compute_brute(indices, a, b, False) for a, b in ranges])
    sums = hists[:, 0].sum(axis=1)
    n_bins_non_missing = np.full(3, n_bins - 1, dtype=np.int32)
    for n_threads in (1, 2):
        splits = find_node_splits(criterion, hists, sums, n_bins_non_missing, n_bins - 1, 30,
                                  n_threads)
        assert splits[2] is None
        for k in range(2):
            one = find_node_split(criterion, hists[k], sums[k], n_bins_non_missing,
                                  n_bins - 1, 30, n_threads)
            assert (splits[k].gain, splits[k].feature_idx, splits[k].bin_threshold,
                    splits[k].missing_go_to_left) == (one.gain, one.feature_idx,
                                                      one.bin_threshold, one.missing_go_to_left)
            assert splits[k].left_sums.tobytes() == one.left_sums.tobytes()
    # Separate arrays (as the grower passes them) are read in place, like the rows of one.
    separate = find_node_splits(criterion, [h.copy() for h in hists], sums, n_bins_non_missing,
                                n_bins - 1, 30, 2)
    assert [(s.gain, s.feature_idx, s.bin_threshold) for s in separate[:2]] == \
        [(s.gain, s.feature_idx, s.bin_threshold) for s in splits[:2]]
    with pytest.raises(ValueError, match="features"):
        find_node_splits(criterion, hists, sums, n_bins_non_missing[:2], n_bins - 1, 30, 1)
    with pytest.raises(ValueError, match=r"histograms\[1\] has shape"):
        find_node_splits(criterion, [hists[0], hists[1][:, :-1], hists[2]], sums,
                         n_bins_non_missing, n_bins - 1, 30, 1)
    with pytest.raises(ValueError, match=r"histograms\[2\] must be a C-contiguous"):
        find_node_splits(criterion, [hists[0], hists[1], np.asfortranarray(hists[2])], sums,
                         n_bins_non_missing, n_bins - 1, 30, 1)
    with pytest.raises(ValueError, match="2 histograms for 3 nodes"):
        find_node_splits(criterion, hists[:2], sums, n_bins_non_missing, n_bins - 1, 30, 1)
    with pytest.raises(ValueError, match=r"histograms\[0\] has shape \(3, 12\)"):
        find_node_splits(criterion, [h[:, :, 0] for h in hists], sums, n_bins_non_missing,
                         n_bins - 1, 30, 1)
    with pytest.raises(ValueError, match="within the bins"):
        find_node_splits(criterion, hists, sums, n_bins_non_missing, n_bins, 30, 1)


# -------------------------------------------------------------------------------- partition

@pytest.mark.parametrize("n", [0, 5, 300_001])
def test_reset_indices(rng, n):
    indices = rng.integers(0, 10, n).astype(np.int32)
    reset_indices(indices, 2)
    np.testing.assert_array_equal(indices, np.arange(n))


@pytest.mark.parametrize("n_threads", [1, 2, 4])
@pytest.mark.parametrize("missing_go_to_left", [True, False])
def test_partition_is_stable(rng, n_threads, missing_go_to_left):
    n = 170_000  # a first, a last and (with four threads) a middle chunk
    column = rng.integers(0, 256, n).astype(np.uint8)
    indices = np.arange(n, dtype=np.int32)
    rng.shuffle(indices[1000:])
    original = indices.copy()
    buffer = np.empty_like(indices)
    start, stop = 1000, n - 500
    middle = partition(indices, start, stop, column, 100, missing_go_to_left, 255, buffer,
                       n_threads)
    node = original[start:stop]
    bins = column[node]
    goes_left = np.where(bins == 255, missing_go_to_left, bins <= 100)
    np.testing.assert_array_equal(indices[start:middle], node[goes_left])
    np.testing.assert_array_equal(indices[middle:stop], node[~goes_left])
    np.testing.assert_array_equal(indices[:start], original[:start])
    np.testing.assert_array_equal(indices[stop:], original[stop:])



@pytest.mark.parametrize("n_threads", [1, 2, 4])
def test_partition_of_several_nodes(rng, n_threads):
    """One call partitions disjoint nodes, each by its own feature, threshold and
    missing-value direction: large nodes in several chunks, small ones and an empty one."""
    n = 260_000
    binned = rng.integers(0, 256, size=(3, n)).astype(np.uint8)
    indices = rng.permutation(n).astype(np.int32)
    original = indices.copy()
    starts = np.array([0, 150_000, 150_000, 151_000, 200_000], dtype=np.intp)
    stops = np.array([150_000, 150_000, 151_000, 200_000, n], dtype=np.intp)
    features = np.array([2, 0, 1, 0, 1], dtype=np.intp)
    thresholds = np.array([100, 5, 30, 255, 0], dtype=np.int32)
    missing_left = np.array([1, 0, 0, 1, 0], dtype=np.uint8)
    middles = partition_many(indices, starts, stops, binned, features, thresholds,
                             missing_left, 255, np.empty_like(indices), n_threads)
    for k in range(len(starts)):
        node = original[starts[k]:stops[k]]
        bins = binned[features[k], node]
        goes_left = np.where(bins == 255, bool(missing_left[k]), bins <= thresholds[k])
        assert middles[k] == starts[k] + goes_left.sum()
        np.testing.assert_array_equal(indices[starts[k]:middles[k]], node[goes_left])
        np.testing.assert_array_equal(indices[middles[k]:stops[k]], node[~goes_left])
    with pytest.raises(ValueError, match="feature 3"):
        partition_many(indices, starts[:1], stops[:1], binned, np.array([3], np.intp),
                       thresholds[:1], missing_left[:1], 255, np.empty_like(indices), 1)
    with pytest.raises(ValueError, match="node 0"):
        partition_many(indices, starts[:1], stops[:1] + n, binned, features[:1],
                       thresholds[:1], missing_left[:1], 255, np.empty_like(indices), 1)


# ------------------------------------------------------------------------- criterion, split

def naive_parametric_loss(design, sums):
    log_ratios = np.log(sums[1:] / sums[0])
    delta = np.linalg.lstsq(design, log_ratios, rcond=None)[0]
    s = design @ delta
    return np.sum(sums[0] * np.logaddexp(0, s) + sums[1:] * np.logaddexp(0, -s)), delta


def test_parametric_criterion_matches_numpy(rng):
    design = np.array([[-1.0, 1.0], [1.0, 1.0], [2.0, 4.0]])
    criterion = ParametricCriterion(design, np.zeros(4))
    for _ in range(20):
        sums = rng.uniform(0.1, 10, size=4)
        loss, delta = naive_parametric_loss(design, sums)
        assert criterion.loss(sums) == pytest.approx(loss, rel=1e-12)
        np.testing.assert_allclose(criterion.value(sums), delta, rtol=1e-10)
    assert not criterion.admissible(np.array([1.0, 1.0, 0.0, 1.0]))
    assert not criterion.admissible(np.array([-1.0, 1.0, 1.0, 1.0]))


def ulps(got, expected):
    return np.abs(got - expected) / np.spacing(np.abs(expected))


def test_vector_log_and_exp_within_one_ulp_of_numpy(rng):
    # Over the whole positive range, subnormals and the extremes included.
    x = np.concatenate([np.exp(rng.uniform(-745, 709.7, 200_000)), rng.uniform(0.5, 2, 100_000),
                        [5e-324, 1e-310, 2.2250738585072014e-308, np.nextafter(1.0, 0),
                         np.nextafter(1.0, 2), np.finfo(float).max]])
    expected = np.log(x)
    nonzero = expected != 0
    assert ulps(vector_log(x)[nonzero], expected[nonzero]).max() <= 1
    assert vector_log(np.array([1.0]))[0] == 0.0
    y = np.concatenate([rng.uniform(-708, 709, 200_000), [0.0, -1e-300, 1e-300, 708.9]])
    assert ulps(vector_exp(y), np.exp(y)).max() <= 1
    # Outside [-708, 709] it saturates at the bounds instead of over- or underflowing.
    np.testing.assert_array_equal(vector_exp(np.array([-1e4, -709.0, 710.0, 1e4])),
                                  np.exp([-708.0, -708.0, 709.0, 709.0]))


@pytest.fixture(params=[True, False], ids=["vector-math", "libm"])
def vector_math(request):
    """Both versions of the batched loss (the first only where the CPU has AVX2)."""
    previous = set_vector_math(request.param)
    yield request.param
    set_vector_math(previous)


@pytest.mark.parametrize("n_points", [1, 4, 7])
def test_parametric_batch_loss_is_the_node_loss(rng, n_points, vector_math):
    # The split search's batched loss gives, bit for bit, the loss of each node alone, and
    # agrees with NumPy; admissibility is the per-node verdict.
    design = rng.normal(size=(n_points, min(n_points, 2)))
    min_weight = np.full(n_points + 1, 0.05)
    criterion = ParametricCriterion(design, min_weight)
    sums = np.exp(rng.uniform(-4, 6, size=(301, n_points + 1)))
    sums[::7, rng.integers(0, n_points + 1)] = 0.01  # below min_weight: not admissible
    sums[::11, 0] = 1e-310                            # subnormal and not admissible
    admissible, batch = criterion.batch_loss(sums)
    for row, ok, loss in zip(sums, admissible, batch):
        assert ok == criterion.admissible(row)
        if ok:
            assert loss == criterion.loss(row)
            assert loss == pytest.approx(naive_parametric_loss(design, row)[0], rel=1e-12)
        else:
            assert np.isnan(loss)
    assert 0 < admissible.sum() < len(sums)


def test_parametric_total_loss_matches_numpy(rng):
    design = np.array([[0.5, 0.25], [1.0, 1.0]])
    criterion = ParametricCriterion(design, np.zeros(3))
    n = 500
    slots = rng.integers(0, 3, n).astype(np.int32)
    weights = rng.uniform(0.5, 2, n)
    predictions = rng.normal(size=(n, 2))
    s = predictions @ design.T
    expected = sum(np.sum(weights[slots == 0] * np.logaddexp(0, s[slots == 0, k]))
                   + np.sum(weights[slots == k + 1] * np.logaddexp(0, -s[slots == k + 1, k]))
                   for k in range(2))
    assert criterion.total_loss(None, weights, slots, predictions, 2) == pytest.approx(expected)
    dense = np.zeros((n, 3))
    dense[np.arange(n), slots] = weights
    assert criterion.total_loss(dense, None, None, predictions, 1) == pytest.approx(expected)


def test_split_search_matches_brute_force(rng, vector_math):
    n, n_bins = 3000, 17
    design = np.array([[1.0], [2.0]])
    criterion = ParametricCriterion(design, np.zeros(3))
    binned = rng.integers(0, n_bins - 1, size=(3, n)).astype(np.uint8)
    binned[1, rng.random(n) < 0.1] = n_bins - 1  # missing values in feature 1
    slots = rng.integers(0, 3, n).astype(np.int32)
    # Base point 2 is more frequent in high bins of feature 2: the best split is there.
    slots[(binned[2] > 10) & (rng.random(n) < 0.3)] = 2
    weights = rng.uniform(0.5, 1.5, n)
    dense = np.zeros((n, 3))
    dense[np.arange(n), slots] = weights
    builder = HistogramBuilder(binned, None, weights, slots, 3, n_bins, 2)
    hist = builder.compute_brute(np.arange(n, dtype=np.int32), 0, n, True)
    n_bins_non_missing = np.full(3, n_bins - 1, dtype=np.int32)
    split = find_node_split(criterion, hist, hist[0].sum(axis=0), n_bins_non_missing,
                            n_bins - 1, 10, 2)

    parent = naive_parametric_loss(design, dense.sum(axis=0))[0]
    best = (-np.inf,)
    for f in range(3):
        for missing in (False, True):
            for b in range(n_bins - 1):
                goes_left = np.where(binned[f] == n_bins - 1, missing, binned[f] <= b)
                if goes_left.sum() < 10 or (~goes_left).sum() < 10:
                    continue
                g = (parent - naive_parametric_loss(design, dense[goes_left].sum(axis=0))[0]
                     - naive_parametric_loss(design, dense[~goes_left].sum(axis=0))[0])
                if g > best[0] + 1e-9:
                    best = (g, f, b, goes_left)
    assert (split.feature_idx, split.bin_threshold) == best[1:3]
    assert split.feature_idx == 2 and 8 <= split.bin_threshold <= 11  # the planted effect
    assert split.gain == pytest.approx(best[0], rel=1e-9)
    goes_left = best[3]
    np.testing.assert_allclose(split.left_sums[:3], dense[goes_left].sum(axis=0), rtol=1e-12)
    assert split.left_sums[3] == goes_left.sum() and split.right_sums[3] == n - goes_left.sum()


def test_split_search_respects_min_samples_leaf_and_admissibility(rng):
    n = 200
    criterion = ParametricCriterion(np.array([[1.0]]), np.zeros(2))
    binned = np.zeros((1, n), dtype=np.uint8)
    binned[0, 100:] = 1
    slots = np.zeros(n, dtype=np.int32)
    slots[150:] = 1  # the varied point only in bin 1: splitting leaves one side without it
    builder = HistogramBuilder(binned, None, np.ones(n), slots, 2, 3, 1)
    hist = builder.compute_brute(np.arange(n, dtype=np.int32), 0, n, True)
    assert find_node_split(criterion, hist, hist[0].sum(axis=0), np.array([2], np.int32), 2,
                           1, 1) is None


def test_cross_entropy_split_search_matches_brute_force(rng):
    # The split search takes admissibility and loss from one Cholesky solve per candidate;
    # the brute force below takes them from the separate Python entry points.
    n, n_bins = 2000, 9
    point_terms = np.array([[1.0, 1.0], [-1.0, 1.0], [2.0, 4.0]])
    criterion = CrossEntropyInformationCriterion(point_terms, np.zeros(1))
    binned = rng.integers(0, n_bins - 1, size=(2, n)).astype(np.uint8)
    weights = rng.uniform(-0.2, 1.5, n)
    t = np.column_stack([0.3 * (binned[1] > 4) + 0.1 * rng.normal(size=n),
                         0.05 * rng.normal(size=n)])
    targets = np.column_stack([weights, weights[:, None] * t])
    statistics = np.empty((n, criterion.n_stats))
    criterion.refresh(statistics, targets, np.zeros((n, 2)), 1)
    builder = HistogramBuilder(binned, statistics, None, None, criterion.n_stats, n_bins, 1)
    hist = builder.compute_brute(np.arange(n, dtype=np.int32), 0, n, True)
    split = find_node_split(criterion, hist, hist[0].sum(axis=0),
                            np.full(2, n_bins - 1, dtype=np.int32), n_bins - 1, 20, 1)

    parent = criterion.loss(statistics.sum(axis=0))
    best = (-np.inf,)
    for f in range(2):
        for b in range(n_bins - 2):
            goes_left = binned[f] <= b
            if goes_left.sum() < 20 or (~goes_left).sum() < 20:
                continue
            left, right = statistics[goes_left].sum(axis=0), statistics[~goes_left].sum(axis=0)
            if not (criterion.admissible(left) and criterion.admissible(right)):
                continue
            gain = parent - criterion.loss(left) - criterion.loss(right)
            if gain > best[0] + 1e-9 * abs(gain):
                best = (gain, f, b)
    assert (split.feature_idx, split.bin_threshold) == best[1:]
    assert split.feature_idx == 1  # the planted effect
    assert split.gain == pytest.approx(best[0], rel=1e-9)


def test_criterion_values_match_value_of_each_node(rng):
    criterion = ParametricCriterion(np.array([[1.0, 1.0], [-1.0, 1.0], [2.0, 4.0]]),
                                    np.zeros(4))
    sums = rng.uniform(0.5, 2.0, size=(7, 4))
    values = criterion.values(sums)
    assert values.shape == (7, 2)
    for row, value in zip(sums, values):
        np.testing.assert_array_equal(value, criterion.value(row))
    with pytest.raises(ValueError, match="expected 4 statistic sums, got 3"):
        criterion.values(sums[:, :3].copy())


def test_each_criterion_declares_one_update_mode():
    affine = [ParametricCriterion(np.array([[1.0]]), np.zeros(2)),
              SquaredErrorInformationCriterion(np.eye(1), np.zeros(2))]
    newton = CrossEntropyInformationCriterion(np.array([[1.0], [2.0]]), np.zeros(1))
    for criterion in affine:
        assert not criterion.refreshes_statistics
        scale, shift = criterion.leaf_update(np.array([[0.5]]))
        assert scale.shape == shift.shape == (1, criterion.n_stats)
        with pytest.raises(NotImplementedError, match="no refresh"):
            criterion.refresh(np.zeros((1, 2)), np.ones((1, 2)), np.zeros((1, 1)), 1)
    assert newton.refreshes_statistics
    with pytest.raises(NotImplementedError, match="no affine leaf update"):
        newton.leaf_update(np.array([[0.5]]))


# ------------------------------------------------------------------------ predict, update

def random_tree(rng, n_features, depth, n_values):
    """A full tree of the given depth with random splits, children stored adjacently."""
    n_nodes = 2 ** (depth + 1) - 1
    nodes = np.zeros(n_nodes, dtype=NODE_DTYPE)
    for i in range(n_nodes):
        if 2 * i + 1 < n_nodes:
            nodes[i]["left"], nodes[i]["right"] = 2 * i + 1, 2 * i + 2
            nodes[i]["feature_idx"] = rng.integers(n_features)
            nodes[i]["bin_threshold"] = rng.integers(1, 30)
            nodes[i]["threshold"] = rng.normal()
            nodes[i]["missing_go_to_left"] = rng.integers(2)
        else:
            nodes[i]["is_leaf"] = 1
    return nodes, rng.normal(size=(n_nodes, n_values))


def walk(node_array, x, binned=False, missing_bin=255):
    i = 0
    while not node_array[i]["is_leaf"]:
        node = node_array[i]
        v = x[node["feature_idx"]]
        missing = (v == missing_bin) if binned else np.isnan(v)
        if missing:
            left = node["missing_go_to_left"]
        else:
            left = v <= (node["bin_threshold"] if binned else node["threshold"])
        i = node["left"] if left else node["right"]
    return i


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_predictors_match_tree_walk(rng, dtype):
    nodes, values = random_tree(rng, 3, 4, 2)
    X = rng.normal(size=(300, 3)).astype(dtype)
    X[rng.random(X.shape) < 0.1] = np.nan
    roots = np.array([0, 0], dtype=np.int32)  # the same tree twice
    out = np.zeros((300, 2))
    predict_raw(X, nodes, values, roots, out, 2)
    leaves = np.array([walk(nodes, x.astype(np.float64)) for x in X])
    np.testing.assert_allclose(out, 2 * values[leaves])
    applied = np.empty((300, 2), dtype=np.int32)
    apply_raw(X, nodes, roots, applied, 2)
    np.testing.assert_array_equal(applied[:, 0], leaves)

    binned = rng.integers(0, 32, size=(3, 300)).astype(np.uint8)
    binned[rng.random(binned.shape) < 0.1] = 255
    out = np.zeros((300, 2))
    predict_binned(binned, nodes, values, roots[:1], 255, out, 1)
    leaves = np.array([walk(nodes, binned[:, i], binned=True) for i in range(300)])
    np.testing.assert_allclose(out, values[leaves])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_compact_predictor_on_missing_values_thresholds_and_infinities(rng, dtype, n_threads):
    # The compact predictor routes missing values through a copy of each block of events
    # with NaN replaced by -inf: the events below fill several blocks, some with and some
    # without NaN, with values on, and one step either side of, the thresholds, infinities
    # (which -inf must not be confused with), and trees of depths 0 to 5.
    full, full_values = random_tree(rng, 3, 5, 2)
    uneven, uneven_values = random_tree(rng, 3, 4, 2)
    for i in (1, 5):      # make two internal nodes leaves: depths 1 to 4 in one tree
        uneven[i]["is_leaf"] = 1
    stump = np.zeros(1, dtype=NODE_DTYPE)
    stump["is_leaf"] = 1
    uneven["left"][uneven["is_leaf"] == 0] += full.size
    uneven["right"][uneven["is_leaf"] == 0] += full.size
    nodes = np.concatenate([full, uneven, stump])
    values = np.concatenate([full_values, uneven_values, rng.normal(size=(1, 2))])
    roots = np.array([0, full.size, full.size + uneven.size], dtype=np.int32)
    internal = nodes[nodes["is_leaf"] == 0]
    X = rng.normal(size=(1500, 3))
    for j, (feature, threshold) in enumerate(zip(internal["feature_idx"],
                                                 internal["threshold"])):
        X[3 * j:3 * j + 3, feature] = [threshold, np.nextafter(threshold, np.inf),
                                       np.nextafter(threshold, -np.inf)]
    X[200:210, 1] = np.inf
    X[210:220, 2] = -np.inf
    X[700:1000][rng.random((300, 3)) < 0.1] = np.nan       # blocks 2 and 3 of 256
    X[-1, 0] = np.nan                                       # the last, partial block
    X = X.astype(dtype)
    out = np.zeros((X.shape[0], 2))
    predict_raw(X, nodes, values, roots, out, n_threads)
    expected = np.zeros_like(out)
    for root in roots:
        tree = nodes.copy()
        internal_mask = tree["is_leaf"] == 0
        tree["left"][internal_mask] -= root
        tree["right"][internal_mask] -= root
        leaves = np.array([walk(tree[root:], x.astype(np.float64)) for x in X]) + root
        expected += values[leaves]
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("one_hot", [True, False])
@pytest.mark.parametrize("n", [400, 90_000])  # one thread; leaves cut into parallel chunks
def test_update_leaves_matches_numpy(rng, one_hot, n):
    n_stats = 3
    indices = rng.permutation(n).astype(np.int32)
    starts = np.array([0, n * 3 // 8, n * 3 // 4], dtype=np.int32)
    stops = np.array([n * 3 // 8, n * 3 // 4, n], dtype=np.int32)
    leaf_values = rng.normal(size=(3, 2))
    scale = rng.uniform(0.5, 2, size=(3, n_stats))
    shift = rng.normal(size=(3, n_stats))
    predictions = rng.normal(size=(n, 2))
    expected_predictions = predictions.copy()
    leaf_of = np.empty(n, dtype=int)
    for leaf in range(3):
        leaf_of[indices[starts[leaf]:stops[leaf]]] = leaf
    expected_predictions += leaf_values[leaf_of]
    dense, statistics = event_statistics(rng, one_hot, n, n_stats)
    expected = dense * scale[leaf_of] + dense[:, :1] * shift[leaf_of]
    update_leaves(indices, starts, stops, leaf_values, scale, shift, predictions, *statistics,
                  2)
    if one_hot:
        _, weights, slots = statistics
        np.testing.assert_allclose(weights, expected[np.arange(n), slots])
    else:
        np.testing.assert_allclose(dense, expected)
    np.testing.assert_allclose(predictions, expected_predictions)
    with pytest.raises(ValueError, match="one row per leaf"):
        update_leaves(indices, starts, stops, leaf_values[:2], scale, shift, predictions,
                      *statistics, 2)
    with pytest.raises(ValueError, match="one row of n_stats per leaf"):
        update_leaves(indices, starts, stops, leaf_values, scale[:, :2].copy(), shift,
                      predictions, *statistics, 2)


@pytest.mark.parametrize("one_hot", [True, False])
def test_updated_root_histogram_matches_the_updated_events(rng, one_hot):
    """The root histogram after a tree, from the leaves' histograms and the affine update,
    equals the histogram of the updated statistics."""
    n, n_stats, n_bins = 5000, 3, 9
    binned = rng.integers(0, n_bins, size=(4, n)).astype(np.uint8)
    indices = rng.permutation(n).astype(np.int32)
    starts = np.array([0, 1200, 1201, 3000], dtype=np.int32)  # one leaf of one event
    stops = np.array([1200, 1201, 3000, n], dtype=np.int32)
    scale = rng.uniform(0.5, 2, size=(4, n_stats))
    shift = rng.normal(size=(4, n_stats))
    if one_hot:
        slots = rng.integers(0, n_stats, n).astype(np.int32)
        weights = rng.uniform(0.5, 1.5, n)
        builder = HistogramBuilder(binned, None, weights, slots, n_stats, n_bins, 2)
        statistics = (None, weights, slots)
    else:
        dense = rng.normal(size=(n, n_stats))
        builder = HistogramBuilder(binned, dense, None, None, n_stats, n_bins, 2)
        statistics = (dense, None, None)
    leaves = [builder.compute_brute(indices, start, stop, False)
              for start, stop in zip(starts, stops)]
    update_leaves(indices, starts, stops, np.zeros((4, 1)), scale, shift, None, *statistics, 2)
    root = builder.compute_updated_root(leaves, scale, shift)
    if one_hot:
        dense = np.zeros((n, n_stats))
        dense[np.arange(n), slots] = weights
    everything = np.arange(n, dtype=np.int32)
    np.testing.assert_allclose(root, reference_histogram(binned, dense, everything, n_bins),
                               rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="one row of n_stats per leaf"):
        builder.compute_updated_root(leaves, scale[:3], shift[:3])
    with pytest.raises(ValueError, match="leaf 1's histogram"):
        builder.compute_updated_root([leaves[0], leaves[1][:2]] + leaves[2:], scale, shift)
