"""Learn a SMEFT-like quadratic dependence on two Wilson coefficients with the BIT.

The generator gives every event its weight at a few parameter points (as reweighting
does); coefficients_from_weights turns them into the per-event coefficients t, and the
BoostedInformationTree learns r(x|theta) = 1 + m(theta) . t(x). The truth is
(1 + theta1 sin x + theta2 cos x)^2.

    python examples/information_tree.py
"""
import time

import numpy as np

from bpt import BoostedInformationTree, coefficients_from_weights, toys

rng = np.random.default_rng(0)
toy = toys.two_parameter_sine_cosine(200_000, n_noise_features=3, random_state=0)
f = np.column_stack([np.sin(toy.X[:, 0]), np.cos(toy.X[:, 0])])
points = np.array([[0, 0], [1, 0], [0, 1], [-1, 0], [0, -1], [1, 1]], dtype=float)
reference_weights = rng.uniform(0.5, 1.5, toy.X.shape[0])
weights = reference_weights[:, None] * (1 + f @ points.T) ** 2       # w_i(theta_k)

w0, t = coefficients_from_weights(weights, points, "quadratic", parameter_names=["cW", "cHq"])
print(f"{t.shape[0]} events, {toy.X.shape[1]} features, coefficients for terms "
      f"(cW, cHq, cW^2, cW*cHq, cHq^2)")

for loss in ("squared_error", "cross_entropy"):
    bit = BoostedInformationTree("quadratic", parameter_names=["cW", "cHq"], loss=loss,
                                 n_estimators=200, random_state=0)
    tic = time.perf_counter()
    bit.fit(toy.X, t, w0)
    print(f"\n{loss}: {bit.n_iter_} trees in {time.perf_counter() - tic:.2f} s, "
          f"feature importances {np.round(bit.feature_importances_, 3)}")
    test = toys.two_parameter_sine_cosine(50_000, n_noise_features=3, random_state=1)
    print(f"{'theta':>14s}{'RMS(r_hat - r)':>16s}{'RMS(r - 1)':>12s}")
    for theta in ([0.2, 0.0], [0.0, -0.5], [1.0, 1.0]):
        true = test.ratio(test.X, theta)
        error = bit.predict_ratio(test.X, theta) - true
        print(f"{str(theta):>14s}{np.sqrt(np.mean(error ** 2)):16.4f}"
              f"{np.sqrt(np.mean((true - 1) ** 2)):12.4f}")
