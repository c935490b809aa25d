"""A deliberately naive pure-NumPy tree booster, the reference for the compiled engine.

No histograms, no subtraction, no partition buffers: every candidate split sums the
statistics of the events it sends left and right directly. It follows the engine's
documented rules (scikit-learn depth convention, empty bins skipped, missing values tried
on both sides, ties to the lowest feature, bin, then missing-right) so that both must pick
the same splits and leaf values.
"""
import numpy as np


class NaiveParametricCriterion:
    """BPT criterion: least-squares log-ratio fit, cross-entropy loss."""

    def __init__(self, design, min_weight):
        self.design = np.asarray(design, dtype=float)
        self.min_weight = np.asarray(min_weight, dtype=float)

    def value(self, sums):
        log_ratios = np.log(sums[1:] / sums[0])
        return np.linalg.lstsq(self.design, log_ratios, rcond=None)[0]

    def loss(self, sums):
        s = self.design @ self.value(sums)
        return float(np.sum(sums[0] * np.logaddexp(0, s) + sums[1:] * np.logaddexp(0, -s)))

    def admissible(self, sums):
        return bool(np.all(sums > self.min_weight))

    def baseline(self, stats):
        return self.value(stats.sum(axis=0))

    def update(self, stats, delta, predictions, targets):
        """Boosting update of dense statistics (n, K+1) for per-event values delta (n, T)."""
        stats[:, 1:] *= np.exp(-delta @ self.design.T)


class NaiveSquaredInformationCriterion:
    """BIT squared error: weighted-mean leaves, information gain with metric G."""

    def __init__(self, metric, min_weight):
        self.metric = np.atleast_2d(metric)
        self.min_weight = min_weight

    def value(self, sums):
        return sums[1:] / sums[0]

    def loss(self, sums):
        return float(-sums[1:] @ self.metric @ sums[1:] / sums[0])

    def admissible(self, sums):
        return bool(sums[0] > self.min_weight)

    def baseline(self, stats):
        return self.value(stats.sum(axis=0))

    def update(self, stats, delta, predictions, targets):
        stats[:, 1:] -= stats[:, :1] * delta


class NaiveCrossEntropyInformationCriterion:
    """BIT cross-entropy by Newton steps: statistics (w, g, H) recomputed after each tree."""

    def __init__(self, point_terms, min_weight):
        self.point_terms = np.asarray(point_terms, dtype=float)
        self.min_weight = min_weight
        self.n_terms = self.point_terms.shape[1]

    def hessian(self, sums):
        T = self.n_terms
        H = np.zeros((T, T))
        H[np.triu_indices(T)] = sums[1 + T:]
        return H + np.triu(H, 1).T

    def value(self, sums):
        return -np.linalg.solve(self.hessian(sums), sums[1:1 + self.n_terms])

    def loss(self, sums):
        g = sums[1:1 + self.n_terms]
        return float(-0.5 * g @ np.linalg.solve(self.hessian(sums), g))

    def admissible(self, sums):
        return bool(sums[0] > self.min_weight
                    and np.all(np.linalg.eigvalsh(self.hessian(sums)) > 0))

    def baseline(self, targets):
        sums = targets.sum(axis=0)
        return sums[1:] / sums[0]

    def statistics(self, targets, predictions):
        w, t = targets[:, 0], targets[:, 1:] / targets[:, :1]
        predicted = np.maximum(1 + predictions @ self.point_terms.T, 1e-6)
        true = 1 + t @ self.point_terms.T
        gradient = w[:, None] * (predicted - true) / (predicted * (1 + predicted))
        curvature = w[:, None] / (predicted * (1 + predicted))
        g = gradient @ self.point_terms
        H = np.einsum("np,pa,pb->nab", curvature, self.point_terms, self.point_terms)
        upper = H[:, np.triu_indices(self.n_terms)[0], np.triu_indices(self.n_terms)[1]]
        return np.column_stack([w, g, upper])

    def update(self, stats, delta, predictions, targets):
        stats[:] = self.statistics(targets, predictions)


def grow_tree(binned, stats, criterion, n_bins_non_missing, missing_bin, max_depth,
              min_samples_leaf):
    """Grow one tree; returns the nested dict form used by :func:`nested`."""

    def build(indices, depth):
        sums = stats[indices].sum(axis=0)
        node = {"value": criterion.value(sums), "count": indices.size, "indices": indices}
        if depth >= max_depth or indices.size < 2 * min_samples_leaf:
            return node
        split = best_split(indices, sums)
        if split is None or split["gain"] <= 0:
            return node
        node.update(split)
        node["left"] = build(indices[split["goes_left"]], depth + 1)
        node["right"] = build(indices[~split["goes_left"]], depth + 1)
        del node["goes_left"]
        return node

    def best_split(indices, sums):
        parent_loss = criterion.loss(sums)
        best, best_gain = None, -np.inf
        for f in range(binned.shape[0]):
            column = binned[f, indices]
            is_missing = column == missing_bin
            has_missing = is_missing.any()
            n_bins = n_bins_non_missing[f]
            for missing_left in ([False, True] if has_missing else [False]):
                last = n_bins - 2 if (missing_left or not has_missing) else n_bins - 1
                for b in range(last + 1):
                    if not (column == b).any():
                        continue
                    goes_left = (~is_missing & (column <= b)) | (is_missing & missing_left)
                    n_left = goes_left.sum()
                    if indices.size - n_left < min_samples_leaf:
                        break
                    if n_left < min_samples_leaf:
                        continue
                    left = stats[indices[goes_left]].sum(axis=0)
                    right = stats[indices[~goes_left]].sum(axis=0)
                    if not (criterion.admissible(left) and criterion.admissible(right)):
                        continue
                    gain = parent_loss - criterion.loss(left) - criterion.loss(right)
                    if gain > best_gain:
                        best_gain = gain
                        best = {"gain": gain, "feature": f, "bin_threshold": b,
                                "missing_go_to_left": bool(missing_left if has_missing
                                                           else n_left >= indices.size - n_left),
                                "goes_left": goes_left}
        return best

    return build(np.arange(binned.shape[1]), 0)


def boost(binned, targets, criterion, n_bins_non_missing, missing_bin, n_trees, learning_rate,
          max_depth, min_samples_leaf):
    """Baseline then ``n_trees`` trees; returns (baseline, list of trees with shrunk values).

    ``targets`` are the per-event target statistics; the criterion's ``update`` turns them
    into the working statistics after the baseline and after every tree.
    """
    targets = np.array(targets, dtype=float)
    stats = targets.copy()
    n = stats.shape[0]
    baseline = criterion.baseline(targets)
    predictions = np.tile(baseline, (n, 1))
    if hasattr(criterion, "statistics"):
        stats = criterion.statistics(targets, predictions)
    else:
        criterion.update(stats, predictions.copy(), predictions, targets)
    trees = []
    for _ in range(n_trees):
        tree = grow_tree(binned, stats, criterion, n_bins_non_missing, missing_bin, max_depth,
                         min_samples_leaf)
        if "left" not in tree:
            break
        delta = np.zeros((n, baseline.size))
        for leaf in _leaves(tree):
            leaf["value"] = leaf["value"] * learning_rate
            delta[leaf["indices"]] = leaf["value"]
        for node in _internal(tree):
            node["value"] = node["value"] * learning_rate
        predictions += delta
        criterion.update(stats, delta, predictions, targets)
        trees.append(tree)
    return baseline, trees


def nested(nodes, values, index=0):
    """A compiled tree (NODE_DTYPE array and values) in the reference's nested form."""
    record = nodes[index]
    node = {"value": values[index], "count": int(record["count"])}
    if not record["is_leaf"]:
        node.update(feature=int(record["feature_idx"]), bin_threshold=int(record["bin_threshold"]),
                    missing_go_to_left=bool(record["missing_go_to_left"]),
                    gain=float(record["gain"]))
        node["left"] = nested(nodes, values, record["left"])
        node["right"] = nested(nodes, values, record["right"])
    return node


def assert_same_tree(compiled, reference, rtol=1e-8, path="root"):
    """Same splits everywhere, same counts, values and gains up to rounding."""
    assert compiled["count"] == reference["count"], f"{path}: event counts differ"
    np.testing.assert_allclose(compiled["value"], reference["value"], rtol=rtol, atol=1e-12,
                               err_msg=f"{path}: values differ")
    assert ("left" in compiled) == ("left" in reference), f"{path}: leaf in one tree only"
    if "left" in compiled:
        for key in ("feature", "bin_threshold", "missing_go_to_left"):
            assert compiled[key] == reference[key], \
                f"{path}: {key} {compiled[key]} != {reference[key]}"
        np.testing.assert_allclose(compiled["gain"], reference["gain"], rtol=1e-6,
                                   err_msg=f"{path}: gains differ")
        assert_same_tree(compiled["left"], reference["left"], rtol, path + ".left")
        assert_same_tree(compiled["right"], reference["right"], rtol, path + ".right")


def _leaves(tree):
    if "left" not in tree:
        yield tree
    else:
        yield from _leaves(tree["left"])
        yield from _leaves(tree["right"])


def _internal(tree):
    if "left" in tree:
        yield tree
        yield from _internal(tree["left"])
        yield from _internal(tree["right"])
