"""Benchmark data: the shapes the performance targets are stated for."""
import numpy as np

BPT_POINTS = (0.0, -1.0, 1.0, -2.0, 2.0)


def bpt_events(n_per_point=100_000, n_features=10, points=BPT_POINTS, random_state=0):
    """Gaussian features; nu rescales feature 0 (energy scale) and shifts feature 1.

    Returns X (float64, (len(points) * n_per_point, n_features)) and nu (one label per
    event), and a regression target of the same length for the peers.
    """
    rng = np.random.default_rng(random_state)
    nu = np.repeat(np.asarray(points, dtype=np.float64), n_per_point)
    X = rng.normal(size=(nu.size, n_features))
    X[:, 0] *= 1 + 0.1 * nu
    X[:, 1] += 0.2 * nu
    y = X[:, 0] + np.sin(X[:, 1]) + 0.5 * rng.normal(size=nu.size)
    return X, nu, y
