"""Expected yields by cross-section interpolation: the faster, approximate option.

Per process p of an unbinned region, the expected yield is approximated as

    sigma_p(theta, nu) = f_p(theta, nu) (A_p + m(theta) . B_p) prod_g Y_pg(nu_g),

with A_p = sum_i a_i g_ip and B_p = sum_i a_i g_ip t_ip exact (the POI dependence is linear
in its terms), and Y_pg the yield factor of systematic group g, sum_i a_i g_ip S_ipg / A_p,
tabulated on a grid of its single parameter and interpolated by a cubic spline of log Y.
Effects are thereby assumed to factorize between the POI and each systematic group; the
exact sums over the simulated events are the default.
"""
import functools

import numpy as np
from scipy.interpolate import CubicSpline

from .modifiers import product_rule


GRID_POINTS = 41


class SplineYields:
    """Interpolated ``sum_i a_i (R_i - 1)`` of a region's simulated events, with derivatives."""

    def __init__(self, layout, events, parameters, grid_points=GRID_POINTS):
        self.layout = layout
        self.n_params = len(parameters)
        weighted = events.yield_weights[:, None] * events.fractions
        self.A = weighted.sum(axis=0)
        self.B = [weighted[:, p] @ events.coefficients[:, layout.ratio_start[p]:layout.ratio_stop[p]]
                  for p in range(layout.n_processes)]
        self.poi = {c.process: c for c in layout.components if c.is_poi}
        self.factors = [[] for _ in range(layout.n_processes)]   # (parameter index, spline)
        for component in layout.components:
            if component.is_poi:
                continue
            p = component.process
            index = self._single_parameter(component.indices)
            grid = _grid(parameters, index, grid_points)
            block = events.coefficients[:, component.start:component.stop]
            values = component.surrogate.parametrization.values(grid[:, None])
            factors = np.exp(block @ values.T).T @ weighted[:, p] / self.A[p]
            self.factors[p].append((index, CubicSpline(grid, np.log(factors))))
        for p, systematic, indices in layout.generic:
            index = self._single_parameter(indices)
            grid = _grid(parameters, index, grid_points)
            X = events.X
            factors = np.array([np.exp(systematic.log_ratio(X, [v])) @ weighted[:, p]
                                for v in grid]) / self.A[p]
            self.factors[p].append((index, CubicSpline(grid, np.log(factors))))

    @staticmethod
    def _single_parameter(indices):
        if len(indices) != 1:
            raise ValueError("yields='spline' interpolates each systematic in its one "
                             "parameter; use yields='exact' for systematics of several "
                             "parameters")
        return int(indices[0])

    def evaluate(self, vector, with_hessian=False):
        """(sum_p sigma_p - A_p, gradient, Hessian or None)."""
        n = self.n_params
        rate, _, rate_gradient, rate_hessian = self.layout.rate_values(vector, True)
        total, gradient, hessian = 0.0, np.zeros(n), np.zeros((n, n))
        for p in range(self.layout.n_processes):
            factors = [(rate[p], rate_gradient[p], rate_hessian[p])]
            if p in self.poi:
                component = self.poi[p]
                point = vector[component.indices]
                par = component.surrogate.parametrization
                value = self.A[p] + par.values(point) @ self.B[p]
                grad = np.zeros(n)
                grad[component.indices] = self.B[p] @ par.gradient(point)
                hess = np.zeros((n, n))
                hess[np.ix_(component.indices, component.indices)] = np.tensordot(
                    self.B[p], par.hessian(point), axes=1)
                factors.append((value, grad, hess))
            else:
                factors.append((self.A[p], np.zeros(n), np.zeros((n, n))))
            for index, spline in self.factors[p]:
                x = vector[index]
                value = np.exp(spline(x))
                d1, d2 = spline(x, 1), spline(x, 2)
                grad = np.zeros(n)
                grad[index] = value * d1
                hess = np.zeros((n, n))
                hess[index, index] = value * (d1 ** 2 + d2)
                factors.append((value, grad, hess))
            value, grad, hess = functools.reduce(product_rule, factors)
            total += value - self.A[p]
            gradient += grad
            hessian += hess
        return total, gradient, (hessian if with_hessian else None)


def _grid(parameters, index, n_points):
    parameter = parameters.parameters[index]
    low, high = parameter.bounds
    low = low if np.isfinite(low) else parameter.nominal - 5 * parameter.width
    high = high if np.isfinite(high) else parameter.nominal + 5 * parameter.width
    return np.linspace(low, high, n_points)
