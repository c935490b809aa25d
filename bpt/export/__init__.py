"""Export of fitted models: a versioned JSON model file, a standalone NumPy evaluator, ONNX,
and a plain log-ratio callable for other likelihood frameworks.

- :mod:`bpt.export.format`: :func:`save` / :func:`load` of the JSON model file;
- :mod:`bpt.export.evaluator`: the pure-NumPy reader and evaluator of that file, which
  imports nothing from bpt and can be copied next to a model file;
- :mod:`bpt.export.onnx`: :func:`to_onnx`, an ONNX graph of the ensemble and the ratio
  (needs the ``export`` extra);
- :mod:`bpt.export.treelite`: :func:`to_treelite` and :func:`compile_treelite`, the trees as a
  Treelite model and compiled C (needs the ``export`` extra);
- :mod:`bpt.export.callable`: :func:`log_ratio_function`, log r at fixed events as a
  function of the parameters, with its gradient.
"""
from .callable import LogRatioFunction, log_ratio_function
from .format import load, save
from .onnx import to_onnx
from .treelite import compile_treelite, to_treelite

__all__ = ["LogRatioFunction", "compile_treelite", "load", "log_ratio_function", "save",
           "to_onnx", "to_treelite"]
