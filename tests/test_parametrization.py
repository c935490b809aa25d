"""Parametrization: terms, names, values and derivatives."""
import pickle

import numpy as np
import pytest

from bpt import Parametrization


def test_orders_and_names():
    assert Parametrization(1, "linear").names == ["nu0"]
    assert Parametrization(1, "quadratic").names == ["nu0", "nu0^2"]
    assert Parametrization(n_params=1, order=3).names == ["nu0", "nu0^2", "nu0^3"]
    two = Parametrization(n_params=2, order=2)
    assert two.names == ["nu0", "nu1", "nu0^2", "nu0*nu1", "nu1^2"]
    assert two.exponents.tolist() == [[1, 0], [0, 1], [2, 0], [1, 1], [0, 2]]
    named = Parametrization(["tes", "jes"], order=2)
    assert named.names == ["tes", "jes", "tes^2", "tes*jes", "jes^2"]
    assert named.param_names == ["tes", "jes"] and named.order == 2


def test_number_of_terms_is_binomial():
    from math import comb
    for n_params in range(1, 5):
        for order in range(1, 4):
            p = Parametrization(n_params, order)
            assert p.n_terms == comb(n_params + order, order) - 1


def test_explicit_terms_two_ways():
    by_index = Parametrization(2, terms=[(0,), (0, 0), (0, 1)])
    by_exponent = Parametrization(exponents=[[1, 0], [2, 0], [1, 1]])
    assert by_index == by_exponent
    assert by_index.names == ["nu0", "nu0^2", "nu0*nu1"]
    assert by_index.term_index("nu0*nu1") == 2 == by_index.term_index((1, 0))


def test_values_for_one_and_many_points():
    p = Parametrization(["a", "b"], order=2)
    np.testing.assert_allclose(p.values([0.5, -2.0]), [0.5, -2.0, 0.25, -1.0, 4.0])
    many = p.values([[0.5, -2.0], [1.0, 3.0], [0.0, 0.0]])
    assert many.shape == (3, 5)
    np.testing.assert_allclose(many[1], [1, 3, 1, 3, 9])
    np.testing.assert_array_equal(many[2], 0)
    assert Parametrization(1, 2).values(3.0).tolist() == [3.0, 9.0]


def test_gradient_matches_finite_differences():
    p = Parametrization(3, order=3)
    point = np.array([0.3, -1.2, 0.7])
    eps = 1e-6
    numeric = np.column_stack([(p.values(point + eps * e) - p.values(point - eps * e)) / (2 * eps)
                               for e in np.eye(3)])
    np.testing.assert_allclose(p.gradient(point), numeric, atol=1e-8)
    assert p.gradient([[0.3, -1.2, 0.7]] * 4).shape == (4, p.n_terms, 3)


def test_from_spec_and_pickle():
    p = Parametrization.from_spec("quadratic", n_params=2, param_names=["x", "y"])
    assert p.names[3] == "x*y"
    assert Parametrization.from_spec(p, n_params=2) is p
    assert pickle.loads(pickle.dumps(p)) == p
    with pytest.raises(ValueError):
        p.exponents[0, 0] = 5  # read-only
