"""The surface walk: every public function of fad.numpy, fad.numpy.linalg,
fad.numpy.fft, fad.scipy.*, fad.nn and fad.ops, from the tables of ``surface_cases_*``.

Each table line (a ``Case``) goes through the checks that apply to it:

- ``test_value``: eager and staged (jaxpr type-checked, evaluated) results equal NumPy's
  or SciPy's -- values, shapes, dtypes -- on shapes drawn by hypothesis (any broadcasting
  shapes, empty ones included, for elementwise functions), in every dtype of the case
  (complex included where the reference accepts it);
- ``test_grad``: ``check_grads`` to order 2 in both modes, at float64 and complex128,
  and the JVP and VJP jaxprs type-check;
- ``test_vmap``: ``vmap`` equals a Python loop (all arguments batched on a new first
  axis; then the first alone on a new last axis), and its jaxpr type-checks;
- ``test_jit``: ``jit`` equals eager, in every dtype of the case.

A check that fails because of a known bug in fad is marked ``xfail(strict=True)`` in the
table with the bug as its reason (``BUG_*`` in the case modules), so that the fix shows
up as an unexpected pass.

``test_every_public_function_has_a_case`` fails for a public function that no table line
walks and no exclusion (with its reason) names: a new function needs a line. fad.random
has its own walk (``test_surface_random.py``): its values are checked by moments.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import fad
import fad.nn
import fad.numpy as fnp
import fad.ops
import fad.scipy.linalg
import fad.scipy.special
import fad.scipy.stats
import surface_cases_linalg
import surface_cases_nn
import surface_cases_numpy
import surface_cases_scipy
import surface_cases_shape
from surface_harness import (C128, assert_same, check_batching, check_grad, check_jit,
                             check_value, make_arg, params, public_functions)

CASES = (surface_cases_numpy.CASES + surface_cases_shape.CASES + surface_cases_linalg.CASES
         + surface_cases_scipy.CASES + surface_cases_nn.CASES)

# The namespaces walked here, by the prefix of their table names.
NAMESPACES = {"numpy": fnp, "numpy.linalg": fnp.linalg, "numpy.fft": fnp.fft,
              "scipy.special": fad.scipy.special, "scipy.linalg": fad.scipy.linalg,
              "nn": fad.nn, "ops": fad.ops}
NAMESPACES.update({f"scipy.stats.{d}": getattr(fad.scipy.stats, d)
                   for d in dir(fad.scipy.stats) if not d.startswith("_")})

# Public functions with no table line, and why (none at present: every public function
# has a line).
EXCLUDED: dict[str, str] = {}

# (hypothesis's failure report imports libcst, which warns about mypy_extensions)
pytestmark = pytest.mark.filterwarnings("ignore:mypy_extensions:DeprecationWarning")

# Derandomized (a strict xfail must fail at every run) and without shrinking (a known
# bug's failing example need not be minimised at every run).
SETTINGS = settings(max_examples=5, deadline=None, derandomize=True, database=None,
                    phases=(Phase.explicit, Phase.generate),
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


@pytest.fixture(autouse=True)
def _quiet():
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.mark.parametrize("c", params(CASES, "value"))
@SETTINGS
@given(data=st.data())
def test_value(c, data):
    # every dtype of the case at each drawn shape: a sampled dtype would leave some out
    space = c.shape_space if c.shape_space is not None else st.sampled_from(c.shapes)
    shapes = data.draw(space, label="shapes")
    seed = data.draw(st.integers(0, 2 ** 16), label="seed")
    for dtype in c.dtypes:
        check_value(c, c.make(seed, shapes, dtype))


@pytest.mark.parametrize("c", params(CASES, "grad"))
def test_grad(c):
    check_grad(c, c.dtypes[0])
    if C128 in c.dtypes:
        check_grad(c, C128)


@pytest.mark.parametrize("c", params(CASES, "vmap"))
def test_vmap(c):
    check_batching(c)
    if C128 in c.dtypes:
        check_batching(c, C128)


@pytest.mark.parametrize("c", params(CASES, "jit"))
def test_jit(c):
    for dtype in c.dtypes:
        check_jit(c, dtype)


def test_every_public_function_has_a_case():
    covered = {name for c in CASES for name in c.covers}
    public = {f"{prefix}.{name}" for prefix, module in NAMESPACES.items()
              for name in public_functions(module)}
    missing = sorted(public - covered - set(EXCLUDED))
    assert not missing, (f"public functions without a line in the surface tables "
                         f"(tests/surface/surface_cases_*.py) or an EXCLUDED reason: {missing}")
    stale = sorted((covered | set(EXCLUDED)) - public
                   - {"numpy.r_", "numpy.c_"})     # index objects, not functions
    assert not stale, f"table lines for names that are not public functions: {stale}"
    both = sorted(covered & set(EXCLUDED))
    assert not both, f"excluded, yet walked by a table line: {both}"


def _special_cases_taking_complex():
    """The scipy.special lines (real dtypes) whose SciPy function accepts complex128,
    one per function, with the bug that makes fad fail on it (or None)."""
    out, seen = [], set()
    for c in surface_cases_scipy.CASES:
        name = c.covers[0].removeprefix("scipy.special.")
        if not c.covers[0].startswith("scipy.special.") or name in seen or C128 in c.dtypes:
            continue
        rng = np.random.default_rng(0)
        z = [make_arg(k, rng, s, C128) for k, s in zip(c.args, c.shapes[0])]
        try:
            c.ref(*z)
        except TypeError:
            continue
        seen.add(name)
        bug = surface_cases_scipy.COMPLEX_SPECIAL.get(name)
        out.append(pytest.param(c, z, id=name, marks=[pytest.mark.xfail(strict=True,
                                                                         reason=bug)]
                                if bug else []))
    return out


def _outcome(fn, args):
    try:
        return fn(*args)
    except TypeError as e:
        return e


@pytest.mark.parametrize("c,z", _special_cases_taking_complex())
def test_special_complex_is_right_or_refused(c, z):
    eager, jitted = _outcome(c.fn, z), _outcome(fad.jit(c.fn), z)
    if isinstance(eager, TypeError) or isinstance(jitted, TypeError):
        assert isinstance(eager, TypeError) and isinstance(jitted, TypeError), (
            f"refused only {'under jit' if isinstance(jitted, TypeError) else 'eagerly'}")
        return
    assert_same("eager", eager, c.ref(*z), 1e-10, 1e-10)
    assert_same("jit", jitted, eager, 1e-10, 1e-10)
