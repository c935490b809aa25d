"""Learn how two nuisance parameters change a differential cross section, and check it.

A toy with known truth: nu0 shifts the mean of feature 0, nu1 scales the width of feature 1,
feature 2 is unaffected. Samples are simulated at seven base points; the
BoostedParametricTree learns log r(x|nu) = m(nu) . Delta(x) in the quadratic terms
m = (nu0, nu1, nu0^2, nu0*nu1, nu1^2) and is compared with the analytic log ratio.

    python examples/quickstart.py
"""
import time

import numpy as np

from bpt import BoostedParametricTree, toys
from bpt.parametrization import nominal_points

train = toys.gaussian_mean_width(50_000, random_state=0)
test = toys.gaussian_mean_width(20_000, random_state=1)
print(f"training sample: {train.X.shape[0]} events, {train.X.shape[1]} features, "
      f"{len(train.base_points)} base points")

model = BoostedParametricTree("quadratic", parameter_names=["mean", "width"],
                              n_estimators=200, learning_rate=0.2, max_depth=3,
                              min_samples_leaf=500, random_state=0)
tic = time.perf_counter()
model.fit(train.X, train.target)
print(f"fitted {model.n_iter_} trees in {time.perf_counter() - tic:.2f} s "
      f"(early stopping on {model.validation_fraction:.0%} of the events)")
print("terms:", model.parametrization_.names)
print("feature importances:", np.round(model.feature_importances_, 3))

nominal = test.X[nominal_points(test.target)]
print("\nlog r on nominal test events, learned vs true:")
print(f"{'nu':>14s}{'RMS error':>11s}{'RMS of true':>13s}")
for nu in [(1, 0), (0, 1), (1, 1), (0.5, -0.5), (2, 0)]:
    true = test.log_ratio(nominal, nu)
    error = model.predict_log_ratio(nominal, nu) - true
    print(f"{str(nu):>14s}{np.sqrt(np.mean(error ** 2)):11.4f}{np.sqrt(np.mean(true ** 2)):13.4f}")
