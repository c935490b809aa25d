"""Monomial parametrizations: the terms m(nu) in which BPT, BIT and the likelihood are linear."""
from collections.abc import Mapping
from itertools import combinations_with_replacement
from numbers import Integral

import numpy as np

_NAMED_ORDERS = {"linear": 1, "quadratic": 2, "cubic": 3}


class Parametrization:
    """An ordered list of monomial terms in ``n_params`` parameters.

    Parameters
    ----------
    params : int or sequence of str, optional
        The number of parameters, or their names (which fixes the number).
    order : {"linear", "quadratic", "cubic"} or int, default="quadratic"
        All monomials of total degree 1 to ``order``, ordered by degree, then
        lexicographically in the parameter indices: for two parameters at order 2,
        ``nu0, nu1, nu0^2, nu0*nu1, nu1^2``. Ignored when ``terms`` or ``exponents`` is given.
    n_params : int, optional
        Keyword form of an integer ``params``.
    terms : sequence of tuples of int, optional
        Explicit terms as tuples of parameter indices, e.g. ``[(0,), (0, 0), (0, 1)]`` for
        ``nu0, nu0^2, nu0*nu1``.
    exponents : array-like of int, shape (n_terms, n_params), optional
        Explicit terms as exponent rows, e.g. ``[[1, 0], [2, 0], [1, 1]]``.

    Attributes
    ----------
    n_params : int
    n_terms : int
    param_names : list of str
    names : list of str
        Readable term names, e.g. ``"nu0"``, ``"nu0^2"``, ``"nu0*nu1"``.
    exponents : ndarray of int, shape (n_terms, n_params)
    order : int
        Highest total degree of a term.

    Examples
    --------
    >>> p = Parametrization(["tes", "jes"], order=2)
    >>> p.names
    ['tes', 'jes', 'tes^2', 'tes*jes', 'jes^2']
    >>> p.values([[0.5, 1.0]])
    array([[0.5 , 1.  , 0.25, 0.5 , 1.  ]])
    """

    def __init__(self, params=None, order="quadratic", *, n_params=None, terms=None,
                 exponents=None):
        self.n_params, self.param_names = _resolve_params(params, n_params, terms, exponents)
        if terms is not None and exponents is not None:
            raise ValueError("give either terms (index tuples) or exponents, not both")
        if exponents is not None:
            exps = _exponents_from_rows(exponents, self.n_params)
        elif terms is not None:
            exps = _exponents_from_index_tuples(terms, self.n_params)
        else:
            exps = _exponents_up_to_order(_resolve_order(order), self.n_params)
        self.exponents = exps
        self.exponents.setflags(write=False)
        self.n_terms = exps.shape[0]
        self.order = int(exps.sum(axis=1).max())
        self.names = [self._term_name(row) for row in exps]

    @classmethod
    def from_spec(cls, spec, n_params=None, param_names=None, n_terms=None):
        """Build a parametrization from an estimator's ``parametrization`` argument.

        ``spec`` is a Parametrization (returned unchanged after the checks), an order
        (``"linear"``, ``"quadratic"``, ``"cubic"`` or an int), or a list of index tuples.
        ``param_names``, if given, names the parameters. ``n_params`` and ``n_terms`` are
        what the data say; with an order and only ``n_terms`` known, the number of
        parameters is the one giving that many terms.
        """
        if param_names is not None:
            if n_params is not None and len(param_names) != n_params:
                raise ValueError(f"{len(param_names)} parameter names given for {n_params} "
                                 "parameters")
            n_params = len(param_names)
        if isinstance(spec, Parametrization):
            parametrization = spec
            if param_names is not None and list(param_names) != spec.param_names:
                raise ValueError("parameter_names disagree with the parametrization's names")
        elif isinstance(spec, (str, Integral)):
            order = _resolve_order(spec)
            if n_params is None:
                n_params = _n_params_for_terms(n_terms, order)
            parametrization = cls(param_names if param_names is not None else n_params,
                                  order=order)
        else:
            params = param_names if param_names is not None else n_params
            parametrization = cls(params, terms=spec)
        if n_params is not None and parametrization.n_params != n_params:
            raise ValueError(f"the parametrization has {parametrization.n_params} parameters "
                             f"but the data have {n_params}")
        if n_terms is not None and parametrization.n_terms != n_terms:
            raise ValueError(f"the parametrization has {parametrization.n_terms} terms "
                             f"{parametrization.names} but the data have {n_terms} columns")
        return parametrization

    def values(self, nu):
        """Term values m(nu).

        Parameters
        ----------
        nu : array-like, shape (n_params,) or (m, n_params)
            One point or m points; a scalar is accepted for one parameter.

        Returns
        -------
        ndarray, shape (n_terms,) or (m, n_terms)
        """
        points, single = self._as_points(nu)
        values = _monomials(points, self.exponents)
        return values[0] if single else values

    def gradient(self, nu):
        """Derivatives of the term values: shape (n_terms, n_params) or (m, n_terms, n_params)."""
        points, single = self._as_points(nu)
        grad = np.zeros((points.shape[0], self.n_terms, self.n_params))
        for p in range(self.n_params):
            exps = self.exponents.copy()
            coef = exps[:, p].astype(np.float64)
            exps[:, p] = np.maximum(exps[:, p] - 1, 0)
            grad[:, :, p] = coef * _monomials(points, exps)
        return grad[0] if single else grad

    def design_matrix(self, points, description="points"):
        """Term values at ``points`` (m, n_params), checked to determine every term.

        Raises a ValueError naming the undetermined combinations of terms when
        ``V^T V`` is singular (too few points, or points that do not vary some terms
        independently).
        """
        points = np.asarray(points, dtype=np.float64).reshape(-1, self.n_params)
        design = self.values(points)
        n_points, n_terms = design.shape
        singular = np.linalg.svd(design, compute_uv=False) if n_points else np.zeros(0)
        tolerance = max(design.shape) * np.finfo(float).eps * (singular.max(initial=0.0) or 1.0)
        rank = int((singular > tolerance).sum())
        if rank == n_terms:
            return design
        _, _, vt = np.linalg.svd(np.vstack([design, np.zeros((max(0, n_terms - n_points),
                                                               n_terms))]))
        directions = []
        for vector in vt[rank:]:
            vector = vector / vector[np.argmax(np.abs(vector))]  # largest component +1
            directions.append(" ".join(f"{c:+.3g}*{name}" for c, name in zip(vector, self.names)
                                       if abs(c) > 1e-6))
        shown = ", ".join(_format_point(p) for p in points[:12])
        raise ValueError(
            f"the {n_points} {description} [{shown}{', ...' if n_points > 12 else ''}] cannot "
            f"determine the {n_terms} terms {self.names}: undetermined combination(s): "
            f"{'; '.join(directions)}. Add points that vary these terms independently.")

    def hessian(self, nu):
        """Second derivatives of the term values: (n_terms, n_params, n_params), or with a
        leading axis for m points."""
        points, single = self._as_points(nu)
        result = np.zeros((points.shape[0], self.n_terms, self.n_params, self.n_params))
        for a in range(self.n_params):
            for b in range(a, self.n_params):
                exps = self.exponents.copy()
                coef = exps[:, a].astype(np.float64)
                exps[:, a] = np.maximum(exps[:, a] - 1, 0)
                coef = coef * exps[:, b]
                exps[:, b] = np.maximum(exps[:, b] - 1, 0)
                result[:, :, a, b] = result[:, :, b, a] = coef * _monomials(points, exps)
        return result[0] if single else result

    def term_index(self, term):
        """Position of a term given by name (``"nu0^2"``) or index tuple (``(0, 0)``)."""
        if isinstance(term, str):
            if term not in self.names:
                raise KeyError(f"no term named {term!r}; terms are {self.names}")
            return self.names.index(term)
        row = _exponents_from_index_tuples([term], self.n_params)[0]
        matches = np.flatnonzero((self.exponents == row).all(axis=1))
        if matches.size == 0:
            raise KeyError(f"term {term!r} is not in the parametrization")
        return int(matches[0])

    def _as_points(self, nu):
        return as_points(self._ordered_by_name(nu), self.n_params)

    def _ordered_by_name(self, nu):
        """A point given by name (a dict, a pandas Series, or a DataFrame / dict of columns
        for several points) as values in the order of ``param_names``."""
        if type(nu).__module__.split(".")[0] == "pandas":
            nu = nu.to_dict("series") if hasattr(nu, "columns") else nu.to_dict()
        if not isinstance(nu, Mapping):
            return nu
        names = [str(name) for name in nu]
        missing = [n for n in self.param_names if n not in names]
        unknown = [n for n in names if n not in self.param_names]
        if missing or unknown:
            problems = ([f"missing {missing}"] if missing else []) + (
                [f"unknown {unknown}"] if unknown else [])
            raise ValueError(f"parameter point {dict(nu)!r}: {' and '.join(problems)} "
                             f"parameters; the parameters are {self.param_names}")
        by_name = {str(name): value for name, value in nu.items()}
        columns = [np.asarray(by_name[n], dtype=np.float64) for n in self.param_names]
        if all(c.ndim == 0 for c in columns):
            return np.array(columns)
        return np.column_stack([np.broadcast_to(c, np.broadcast(*columns).shape)
                                for c in columns])

    def _term_name(self, row):
        parts = []
        for name, power in zip(self.param_names, row):
            if power == 1:
                parts.append(name)
            elif power > 1:
                parts.append(f"{name}^{power}")
        return "*".join(parts)

    def __eq__(self, other):
        return (isinstance(other, Parametrization) and self.param_names == other.param_names
                and np.array_equal(self.exponents, other.exponents))

    def __hash__(self):
        return hash((tuple(self.param_names), self.exponents.tobytes()))

    def __repr__(self):
        return f"Parametrization({self.param_names}, terms={self.names})"

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.exponents.setflags(write=False)


def as_points(nu, n_params, name="parameter points"):
    """Parameter points as an (m, n_params) float array, and whether a single point
    (shape (n_params,), or a scalar for one parameter) was given."""
    points = np.asarray(nu, dtype=np.float64)
    if points.ndim == 0 and n_params == 1:
        return points.reshape(1, 1), True
    if points.ndim == 1 and points.shape[0] == n_params:
        return points.reshape(1, -1), True
    if points.ndim == 2 and points.shape[1] == n_params:
        return points, False
    raise ValueError(f"{name} must have shape ({n_params},) or (m, {n_params}); got shape "
                     f"{points.shape}")


def nominal_points(points):
    """Which of the points (m, n_params) is the nominal (reference) point 0: a bool mask."""
    return (np.asarray(points) == 0).all(axis=1)


def _monomials(points, exponents):
    """prod_p points[:, p] ** exponents[:, p]: shape (n_points, n_terms)."""
    values = np.ones((points.shape[0], exponents.shape[0]))
    for p in range(exponents.shape[1]):
        if exponents[:, p].any():
            values *= points[:, p:p + 1] ** exponents[:, p]
    return values


def _format_point(point):
    return "(" + ", ".join(f"{v:g}" for v in point) + ")"


def _resolve_params(params, n_params, terms, exponents):
    if params is not None and n_params is not None:
        raise ValueError("give the parameters either positionally or as n_params, not both")
    if params is None:
        params = n_params
    if params is None:
        if exponents is not None:
            params = np.asarray(exponents).shape[-1]
        elif terms is not None:
            params = 1 + max((max(t) for t in terms if len(t)), default=-1)
        else:
            raise ValueError("the number of parameters (or their names) is required")
    if isinstance(params, Integral) and not isinstance(params, bool):
        if params < 1:
            raise ValueError(f"n_params must be at least 1, got {params}")
        return int(params), [f"nu{p}" for p in range(params)]
    if isinstance(params, str):
        raise TypeError("parameter names must be a sequence of strings, not a single string")
    names = list(params)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"parameter names must be non-empty strings, got {names!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"parameter names must be unique, got {names!r}")
    return len(names), names


def _resolve_order(order):
    if isinstance(order, str):
        if order not in _NAMED_ORDERS:
            raise ValueError(f"unknown order {order!r}; use one of {list(_NAMED_ORDERS)} "
                             "or a positive integer")
        return _NAMED_ORDERS[order]
    if isinstance(order, Integral) and not isinstance(order, bool) and order >= 1:
        return int(order)
    raise ValueError(f"order must be 'linear', 'quadratic', 'cubic' or a positive integer, "
                     f"got {order!r}")


def _n_params_for_terms(n_terms, order):
    if n_terms is None:
        raise ValueError("the number of parameters is needed to build the parametrization")
    counts = {}
    n_params = 1
    while True:
        count = _exponents_up_to_order(order, n_params).shape[0]
        counts[n_params] = count
        if count == n_terms:
            return n_params
        if count > n_terms:
            raise ValueError(f"{n_terms} columns do not match any number of parameters at order "
                             f"{order} (parameters: terms = {counts}); pass a Parametrization "
                             "or explicit terms")
        n_params += 1


def _exponents_up_to_order(order, n_params):
    rows = []
    for degree in range(1, order + 1):
        for combo in combinations_with_replacement(range(n_params), degree):
            rows.append(np.bincount(combo, minlength=n_params))
    return np.array(rows, dtype=np.int64)


def _exponents_from_index_tuples(terms, n_params):
    rows = []
    for term in terms:
        term = tuple(term) if not isinstance(term, Integral) else (term,)
        if not term:
            raise ValueError("a term needs at least one parameter index (no constant term: "
                             "log r vanishes at the reference point)")
        if not all(isinstance(t, Integral) and 0 <= t < n_params for t in term):
            raise ValueError(f"term {term!r} has indices outside 0..{n_params - 1}")
        rows.append(np.bincount(term, minlength=n_params))
    return _checked_rows(np.array(rows, dtype=np.int64).reshape(len(rows), n_params))


def _exponents_from_rows(exponents, n_params):
    exps = np.asarray(exponents)
    if exps.ndim != 2 or exps.shape[1] != n_params:
        raise ValueError(f"exponents must have shape (n_terms, {n_params}), got {exps.shape}")
    if not np.issubdtype(exps.dtype, np.integer) or (exps < 0).any():
        raise ValueError("exponents must be non-negative integers")
    if (exps.sum(axis=1) == 0).any():
        raise ValueError("a term with all exponents zero is a constant; log r vanishes at the "
                         "reference point, so constants are not allowed")
    return _checked_rows(exps.astype(np.int64))


def _checked_rows(exps):
    if exps.shape[0] == 0:
        raise ValueError("a parametrization needs at least one term")
    if np.unique(exps, axis=0).shape[0] != exps.shape[0]:
        raise ValueError("the same term is listed twice")
    return exps
