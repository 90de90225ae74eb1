"""Tests of fad/numpy/_dtypes.py: dtype names and queries exported by fad.numpy."""
from __future__ import annotations

import types

import numpy as np

import fad.numpy as fnp
from fad.numpy import _dtypes


def test_dtypes_module_does_not_export_numpy():
    """``fad.numpy.np`` was NumPy itself (``__all__`` built from ``dir()``)."""
    assert "np" not in _dtypes.__all__
    assert not hasattr(fnp, "np")
    assert not any(isinstance(getattr(_dtypes, n), types.ModuleType) for n in _dtypes.__all__)
    assert fnp.float32 is np.float32 and fnp.finfo is np.finfo
