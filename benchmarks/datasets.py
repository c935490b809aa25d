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


def bit_events(n_samples=200_000, n_features=10, n_terms=1, random_state=0):
    """Features with the SMEFT-like toy (1 + theta1 sin x0 + theta2 cos x0)^2 in x0.

    ``n_terms=1``: t is the linear coefficient of theta1 alone (2 sin x0, with per-event
    noise standing in for unobserved kinematics); ``n_terms=5``: the five quadratic
    coefficients in two parameters. Returns X, t (n_samples, n_terms) and weights.
    """
    rng = np.random.default_rng(random_state)
    X = rng.normal(size=(n_samples, n_features))
    X[:, 0] = rng.uniform(-np.pi, np.pi, n_samples)
    s, c = np.sin(X[:, 0]), np.cos(X[:, 0])
    noise = 0.3 * rng.normal(size=n_samples) * (1 + 0.5 * np.tanh(X[:, 1]))
    if n_terms == 1:
        t = (2 * s + noise)[:, None]
    elif n_terms == 5:
        t = np.column_stack([2 * s + noise, 2 * c, s ** 2, 2 * s * c, c ** 2])
    else:
        raise ValueError("n_terms must be 1 or 5")
    weights = rng.uniform(0.5, 1.5, n_samples)
    return X, t, weights
