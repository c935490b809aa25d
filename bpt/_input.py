"""Checks of the arrays users pass in, with errors that name the argument and the problem."""
from collections.abc import Mapping
import warnings
from typing import NamedTuple, Optional

import numpy as np
from sklearn.utils import check_array


def real_array(values, name):
    """``values`` as a float64 array; complex or non-numeric input is an error."""
    values = np.asarray(values)
    if np.iscomplexobj(values):
        raise ValueError(f"{name} must be real, got complex values")
    try:
        return values.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric, got an array of {values.dtype}") from None


def require_target(estimator, y, meaning):
    if y is None:
        raise ValueError(f"{type(estimator).__name__} requires y to be passed, but the target "
                         f"y is None: pass {meaning}")
    return y


def as_rows(values, name, n_rows=None):
    """A finite 2-d array: 1-d input becomes one column."""
    values = real_array(values, name)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2 or values.shape[0] == 0:
        raise ValueError(f"{name} must have shape (n,) or (n, k), got {values.shape}")
    if n_rows is not None and values.shape[0] != n_rows:
        raise ValueError(f"{name} has {values.shape[0]} rows but X has {n_rows} samples")
    if not np.isfinite(values).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return values


def check_weights(sample_weight, n_samples, name="sample_weight"):
    if sample_weight is None:
        return np.ones(n_samples)
    weights = real_array(sample_weight, name)
    if weights.shape != (n_samples,):
        raise ValueError(f"{name} must have shape ({n_samples},), got {weights.shape}")
    if not np.isfinite(weights).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return weights


class Table(NamedTuple):
    """A 2-d float array with the names of its columns (None when the input had none)."""

    values: np.ndarray
    names: Optional[list]


def _library(obj):
    return type(obj).__module__.split(".")[0]


def _numeric_column(values, column, name):
    """One named column as float64; strings, categories and objects are refused by name."""
    dtype = getattr(values, "dtype", None)
    if _library(values) == "pandas" or _library(dtype) == "pandas":
        import pandas as pd
        if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
            raise ValueError(f"{name}: column {column!r} has dtype {dtype}; columns must be "
                             "numeric (encode categories or strings as numbers first)")
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(f"{name}: column {column!r} must hold one value per row, got shape "
                         f"{values.shape}")
    if values.dtype.kind not in "biuf":
        raise ValueError(f"{name}: column {column!r} has dtype {values.dtype}; columns must "
                         "be numeric (encode categories or strings as numbers first)")
    return values.astype(np.float64)


def _awkward_columns(array, name):
    import awkward as ak
    fields = ak.fields(array)
    if not fields:
        return None
    columns = []
    for field in fields:
        try:
            columns.append(ak.to_numpy(array[field], allow_missing=False))
        except ValueError:
            raise ValueError(f"{name}: field {field!r} does not have exactly one value per "
                             "event (jagged or missing entries); select one value per event, "
                             "e.g. with ak.firsts, and fill missing values with NaN") from None
    return dict(zip(fields, columns))


def as_table(data, name="X"):
    """Tabular input as a :class:`Table`: float64 values and column names.

    Named columns come from a pandas DataFrame (string column labels), an awkward record
    array (its fields), a dict of 1-d arrays (e.g. uproot's ``library="np"`` output), a
    NumPy structured array, or a :class:`Table` (returned as is). Any other array-like is
    returned unconverted, without names, for the caller's own checks. Non-numeric columns
    are refused naming the column.
    """
    if isinstance(data, Table):
        return data
    library = _library(data)
    columns = None
    if library == "pandas" and hasattr(data, "columns"):
        labels = list(data.columns)
        if len(set(labels)) != len(labels):
            raise ValueError(f"{name} has duplicated column names {labels}")
        # Column by column: a DataFrame of mixed dtypes would become an object array.
        columns = {label: data.iloc[:, k] for k, label in enumerate(labels)}
        if labels and not all(isinstance(label, str) for label in labels):
            values = [_numeric_column(v, label, name) for label, v in columns.items()]
            return Table(np.column_stack(values), None)
    elif library == "awkward":
        columns = _awkward_columns(data, name)
        if columns is None:
            return Table(np.asarray(data), None)
    elif isinstance(data, Mapping) and library != "scipy":  # a DOK sparse array is a Mapping
        columns = dict(data)
    elif isinstance(data, np.ndarray) and data.dtype.names is not None:
        columns = {field: data[field] for field in data.dtype.names}
    if columns is None:
        return Table(data, None)
    if not columns:
        raise ValueError(f"{name} has no columns")
    converted = {str(label): _numeric_column(values, label, name)
                 for label, values in columns.items()}
    lengths = {label: values.shape[0] for label, values in converted.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"{name}: columns have different lengths {lengths}")
    return Table(np.column_stack(list(converted.values())), list(converted))


def match_columns(table, expected, name="X"):
    """The values of ``table`` with its columns in the order of ``expected`` (the names seen
    at fit); missing or unexpected columns are an error naming them. Input without names
    is taken to be in the fitted order."""
    if table.names is None or expected is None:
        return table.values
    expected = [str(n) for n in expected]
    missing = [n for n in expected if n not in table.names]
    extra = [n for n in table.names if n not in expected]
    if missing or extra:
        message = "The feature names should match those that were passed during fit.\n"
        if extra:
            message += "Feature names unseen at fit time:\n" + "".join(f"- {n}\n" for n in extra)
        if missing:
            message += ("Feature names seen at fit time, yet now missing:\n"
                        + "".join(f"- {n}\n" for n in missing))
        raise ValueError(f"{message}({name} must have the columns {expected})")
    if len(set(table.names)) != len(table.names):
        raise ValueError(f"{name} has duplicated column names {table.names}")
    if table.names == expected:
        return table.values
    order = [table.names.index(n) for n in expected]
    return np.ascontiguousarray(table.values[:, order])


def validate_features(estimator, X, reset):
    """The feature matrix of a fit (``reset=True``) or a prediction, as a C-ordered float array.

    At fit, the column names of tabular input (see :func:`as_table`) become
    ``estimator.feature_names_in_``; at prediction, named columns are matched to them by
    name, in any order. NaN marks a missing value; infinities are refused.
    """
    table = as_table(X)
    fitted_names = None if reset else getattr(estimator, "feature_names_in_", None)
    if not reset and (table.names is None) != (fitted_names is None):
        warnings.warn("X has feature names, but the model was fitted without them" if
                      fitted_names is None else "X has no feature names, but the model was "
                      f"fitted with {list(fitted_names)}: its columns are taken in that order",
                      UserWarning, stacklevel=3)
    values = match_columns(table, fitted_names)
    try:
        X = check_array(values, dtype=[np.float64, np.float32], ensure_all_finite="allow-nan",
                        order="C", ensure_min_samples=2 if reset else 1, input_name="X",
                        estimator=estimator)
    except ValueError as exc:
        if "could not convert" not in str(exc):
            raise
        raise ValueError(f"X must be numeric (every feature column float): {exc}") from None
    if reset:
        estimator.n_features_in_ = X.shape[1]
        if table.names is not None:
            estimator.feature_names_in_ = np.asarray(table.names, dtype=object)
        elif hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    elif X.shape[1] != estimator.n_features_in_:
        raise ValueError(f"X has {X.shape[1]} features, but {type(estimator).__name__} is "
                         f"expecting {estimator.n_features_in_} features as input.")
    return X


def named_rows(values, name, expected_names=None):
    """Parameter points (one per row) and their names, from an array, a DataFrame, a dict of
    columns or a named pandas Series (one parameter).

    With ``expected_names``, named columns are put in that order (missing or unknown names
    are an error) and the names returned are ``expected_names``.
    """
    table = as_table(values, name)
    names = table.names
    if names is None and _library(values) == "pandas" and isinstance(
            getattr(values, "name", None), str):
        names = [values.name]
    rows = as_rows(table.values, name)
    if names is not None and expected_names is not None:
        expected = [str(n) for n in expected_names]
        if sorted(names) != sorted(expected):
            raise ValueError(f"{name}: the columns {names} do not name the parameters "
                             f"{expected}")
        rows = rows[:, [names.index(n) for n in expected]]
        names = expected
    return rows, names
