"""Issue 10, numerics: derivatives of ``mod`` & co. at multiples of the divisor (item 3),
and traced fad.numpy giving NumPy's bits on adversarial inputs (item 11)."""
from __future__ import annotations

import numpy as np
import pytest

import fad
import fad.numpy as fnp
from fad import lax
from fad.numpy import _ufuncs
from fad.test_util import check_grads

# -- item 3: mod's derivative at multiples of y ------------------------------------------------

TWO_PI = 2 * np.pi


def _grads(f, x, y):
    """``(d/dx, d/dy)`` of ``f`` at the point, by reverse and by forward mode."""
    x, y = np.float64(x), np.float64(y)
    rev = fad.grad(f, argnums=(0, 1))(x, y)
    fwd = tuple(fad.jvp(f, (x, y), t)[1] for t in ((1.0, 0.0), (0.0, 1.0)))
    return rev, fwd


MOD_SPELLINGS = [fnp.mod, fnp.remainder, lambda x, y: x % y, lambda x, y: fnp.divmod(x, y)[1],
                 lax.mod]


@pytest.mark.parametrize("mod", MOD_SPELLINGS, ids=["mod", "remainder", "operator",
                                                    "divmod", "lax"])
@pytest.mark.parametrize("x,y", [(0.0, TWO_PI), (2 * TWO_PI, TWO_PI), (-3 * TWO_PI, TWO_PI),
                                 (6.0, -3.0), (-6.0, -3.0), (-0.0, 2.0)])
def test_item3_mod_gradient_at_multiples_of_y(mod, x, y):
    # mod(x, y) = x - floor(x / y) y with floor' = 0: d/dx = 1, d/dy = -x / y here
    for grads in _grads(mod, x, y):
        np.testing.assert_array_equal(grads, (1.0, -np.floor_divide(x, y)))
    assert fad.grad(lambda t: fnp.mod(t, TWO_PI))(0.0) == 1.0


@pytest.mark.parametrize("x,y", [(0.7, TWO_PI), (-5.3, TWO_PI), (7.1, -3.0), (-7.1, -3.0)])
def test_item3_mod_fmod_gradients_away_from_multiples_match_finite_differences(x, y):
    for f in (fnp.mod, fnp.fmod, lambda a, b: fnp.divmod(a, b)[1]):
        check_grads(f, (np.float64(x), np.float64(y)), order=2)
    (dx, dy), _ = _grads(fnp.fmod, x, y)
    assert (dx, dy) == (1.0, -np.trunc(x / y))


@pytest.mark.parametrize("x,y", [(0.0, 2.0), (6.0, -3.0), (-6.0, 3.0), (-0.0, -2.0)])
def test_item3_fmod_gradient_at_multiples_of_y(x, y):
    for grads in _grads(fnp.fmod, x, y):
        np.testing.assert_array_equal(grads, (1.0, -np.trunc(x / y)))


@pytest.mark.parametrize("floordiv", [fnp.floor_divide, lambda x, y: x // y,
                                      lambda x, y: fnp.divmod(x, y)[0]])
@pytest.mark.parametrize("x,y", [(0.0, 2.0), (6.0, 3.0), (0.7, 2.0), (1.0, 0.0), (-1.0, 0.0)])
def test_item3_floor_divide_has_zero_derivative_everywhere(floordiv, x, y):
    # floor' = 0, also where y == 0 (the quotient was once x / y there, with 1/y for d/dx)
    with np.errstate(divide="ignore", invalid="ignore"):
        for grads in _grads(floordiv, x, y):
            np.testing.assert_array_equal(grads, (0.0, 0.0))


def test_item3_same_cause_pow_derivative_at_zero_exponent():
    # x ** 0 is 1 everywhere: d/dx is 0, not 0 * x ** -1 = nan at x = 0 or x * 0 at inf
    for x in (0.0, np.inf, 3.0):
        with np.errstate(divide="ignore", invalid="ignore"):   # (the unselected branch)
            assert fad.grad(lambda t: fnp.power(t, fnp.zeros(()) + 0.0))(np.float64(x)) == 0.0
            assert fad.grad(lambda t: lax.pow(t, np.float64(0.0)))(np.float64(x)) == 0.0
        assert fad.grad(lambda t: lax.integer_pow(t, 0))(np.float64(x)) == 0.0


def test_item3_same_cause_hypot_copysign_heaviside_follow_the_table():
    g = fad.grad(fnp.hypot, argnums=(0, 1))
    assert g(0.0, 0.0) == (0.0, 0.0)                      # hypot(x, 0) = |x|, abs'(0) = 0
    assert g(np.inf, 1.0) == (0.0, 0.0)
    np.testing.assert_allclose(g(3.0, -4.0), (0.6, -0.8))
    check_grads(fnp.hypot, (np.float64(3.0), np.float64(-4.0)), order=2)
    gc = fad.grad(fnp.copysign, argnums=(0, 1))
    assert gc(2.0, -1.0) == (-1.0, 0.0) and gc(-2.0, -0.0) == (1.0, 0.0)
    assert gc(0.0, -1.0) == (0.0, 0.0)
    gh = fad.grad(fnp.heaviside, argnums=(0, 1))
    assert gh(0.0, 0.5) == (0.0, 1.0) and gh(2.0, 0.5) == (0.0, 0.0)
    for f in (fnp.log2, fnp.log10):
        check_grads(f, (np.float64(3.0),), order=2)
    check_grads(fnp.float_power, (np.float64(1.5), np.float64(2.5)), order=2)


# -- item 11: NumPy's bits, traced and eager ---------------------------------------------------

def _adversarial(dtype):
    """NaN of either sign, signed zeros and infinities, subnormals, extremes, and
    ordinary values (multiples of each other, so that mod & co. hit their jumps)."""
    fi = np.finfo(dtype)
    special = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, -7.0, 6.0, np.inf, -np.inf,
                        np.nan, fi.tiny, -fi.tiny, fi.smallest_subnormal, -fi.max, fi.max,
                        fi.eps, 1e10, TWO_PI], dtype)
    negative_nan = np.copysign(np.array(np.nan, dtype), np.array(-1, dtype))
    return np.append(special, negative_nan).astype(dtype)


def _random(dtype, n=200):
    rng = np.random.default_rng(10)
    return (rng.standard_normal(n) * np.exp(rng.uniform(-30, 30, n))).astype(dtype)


def _unary_inputs(dtype):
    return (np.concatenate([_adversarial(dtype), _random(dtype)]),)


def _binary_inputs(dtype):
    a, r = _adversarial(dtype), _random(dtype)
    return (np.concatenate([np.repeat(a, a.size), r]),
            np.concatenate([np.tile(a, a.size), np.roll(r, 1)]))


def _bits(a):
    a = np.asarray(a)
    if a.dtype.kind == "c":   # the real and imaginary parts' bits side by side
        a = np.stack([a.real, a.imag], axis=-1)
    return a.view(f"u{a.dtype.itemsize}") if a.dtype.kind == "f" else a


def _assert_same_bits(got, want, how):
    got, want = (tuple(np.asarray(v) for v in (o if isinstance(o, tuple) else (o,)))
                 for o in (got, want))
    assert len(got) == len(want), how
    for g, w in zip(got, want):
        assert (g.dtype, g.shape) == (w.dtype, w.shape), f"{how}: {g.dtype}{g.shape}"
        bad = np.flatnonzero(_bits(g).ravel() != _bits(w).ravel())
        assert bad.size == 0, (f"{how}: {bad.size} entries differ from NumPy's bits, e.g. "
                               f"entry {bad[0]}: {g.ravel()[bad[0]]!r} for {w.ravel()[bad[0]]!r}")


def _primal_of_vjp(f):
    return lambda *args: fad.vjp(f, *args)[0]


def _primal_of_jvp(f):
    return lambda *args: fad.jvp(f, args, tuple(np.ones_like(a) for a in args))[0]


def _via_jaxpr(f):
    def run(*args):
        closed = fad.make_jaxpr(f)(*args)
        out = fad.eval_jaxpr(closed.jaxpr, closed.consts, *args)
        return tuple(out) if len(out) > 1 else out[0]
    return run


TRANSFORMS = {"eager": lambda f: f, "jit": fad.jit, "vmap": fad.vmap,
              "vjp primal": _primal_of_vjp, "jvp primal": _primal_of_jvp,
              "make_jaxpr+eval_jaxpr": _via_jaxpr}


def _float_ufuncs():
    """Every fad.numpy ufunc with a loop for floats (NumPy's own list decides)."""
    return sorted((u.__name__, u, f) for u, f in _ufuncs.UFUNCS.items()
                  if any(t.startswith("d" * u.nin) for t in u.types))


def _complex_ufuncs():
    unordered = {"greater", "greater_equal", "less", "less_equal", "rint"}
    return sorted((u.__name__, u, f) for u, f in _ufuncs.UFUNCS.items()
                  if any(t.startswith("D" * u.nin) for t in u.types)
                  and u.__name__ not in unordered)


# the non-ufunc elementwise functions, as (name, fad.numpy function, NumPy reference, nargs)
OTHERS = [
    ("clip(x, -1, 2)", lambda x: fnp.clip(x, -1.0, 2.0), lambda x: np.clip(x, -1.0, 2.0), 1),
    ("clip(x, 0, 1)", lambda x: fnp.clip(x, 0.0, 1.0), lambda x: np.clip(x, 0.0, 1.0), 1),
    ("clip(x, -0, 0)", lambda x: fnp.clip(x, -0.0, 0.0), lambda x: np.clip(x, -0.0, 0.0), 1),
    ("clip(x, 0, None)", lambda x: fnp.clip(x, 0.0, None), lambda x: np.clip(x, 0.0, None), 1),
    ("clip(x, None, -0)", lambda x: fnp.clip(x, None, -0.0),
     lambda x: np.clip(x, None, -0.0), 1),
    ("clip(x, lo, hi)", fnp.clip, np.clip, 3),
    ("where", lambda x, y: fnp.where(x > y, x, y), lambda x, y: np.where(x > y, x, y), 2),
    ("round", fnp.round, np.round, 1),
    ("round(x, 2)", lambda x: fnp.round(x, 2), lambda x: np.round(x, 2), 1),
    ("round(x, -1)", lambda x: fnp.round(x, -1), lambda x: np.round(x, -1), 1),
    ("sinc", fnp.sinc, np.sinc, 1), ("fix", fnp.fix, np.fix, 1),
    ("angle", fnp.angle, np.angle, 1), ("nan_to_num", fnp.nan_to_num, np.nan_to_num, 1),
    ("real", fnp.real, np.real, 1), ("imag", fnp.imag, np.imag, 1),
    ("isclose", fnp.isclose, np.isclose, 2),
] + [(f"power(x, {n})", lambda x, n=n: fnp.power(x, n), lambda x, n=n: np.power(x, n), 1)
     for n in (-3, -2, -1, 0, 1, 2, 3, 0.5, 2.0, -2.0)] + [
    (f"x ** {n}", lambda x, n=n: x ** n, lambda x, n=n: x ** n, 1) for n in (-3, 2, 3, 0.5)
] + [(f"operator {name}", op, op, 2) for name, op in (
    ("%", lambda x, y: x % y), ("//", lambda x, y: x // y), ("**", lambda x, y: x ** y),
    ("/", lambda x, y: x / y), ("*", lambda x, y: x * y), ("-", lambda x, y: x - y))]

CASES = [(name, f, u, u.nin) for name, u, f in _float_ufuncs()] + OTHERS


def _inputs(nargs, dtype):
    if nargs == 1:
        return _unary_inputs(dtype)
    x, y = _binary_inputs(dtype)
    if nargs == 2:
        return x, y
    return x, np.minimum(y, np.roll(y, 3)), np.maximum(y, np.roll(y, 3))   # clip's bounds


def test_item11_the_walk_covers_the_elementwise_functions():
    names = {c[0] for c in CASES}
    assert {"hypot", "copysign", "signbit", "remainder", "fmod", "divmod", "float_power",
            "heaviside", "log2", "rad2deg", "arctan2", "logaddexp", "nextafter"} <= names
    assert len(names) > 60


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name,f,ref,nargs", CASES, ids=[c[0] for c in CASES])
def test_item11_traced_and_eager_give_numpys_bits(name, f, ref, nargs, dtype):
    args = _inputs(nargs, dtype)
    with np.errstate(all="ignore"):
        want = ref(*args)
        for how, transform in TRANSFORMS.items():
            _assert_same_bits(transform(f)(*args), want, f"{name} {how}")


# (ordered comparisons and rint of complex numbers are not traceable: a TypeError says so)
COMPLEX_UFUNCS = [(name, f, u) for name, u, f in _complex_ufuncs()]


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
@pytest.mark.parametrize("name,f,ref", COMPLEX_UFUNCS, ids=[c[0] for c in COMPLEX_UFUNCS])
def test_item11_complex_traced_give_numpys_bits(name, f, ref, dtype):
    parts = _adversarial(np.finfo(dtype).dtype)
    z = np.empty(parts.size ** 2, dtype)   # (not x + 1j * y, which makes nan of 1j * inf)
    z.real, z.imag = np.repeat(parts, parts.size), np.tile(parts, parts.size)
    args = (z, np.roll(z, 7))[:ref.nin]
    with np.errstate(all="ignore"):
        want = ref(*args)
        for how in ("jit", "vmap", "jvp primal"):
            _assert_same_bits(TRANSFORMS[how](f)(*args), want, f"{name} {how}")


def test_item11_hypot_on_100000_random_inputs():
    rng = np.random.default_rng(11)
    x, y = (rng.standard_normal(100_000) * 10.0 ** rng.integers(-300, 300, 100_000)
            for _ in range(2))
    _assert_same_bits(fad.jit(fnp.hypot)(x, y), np.hypot(x, y), "hypot jit")


def test_item11_lax_float_power_takes_the_widest_dtypes_only():
    for f in (lax.float_power, fad.jit(lax.float_power)):
        with pytest.raises(TypeError, match="float64 or complex128.*convert the operands"):
            f(np.float32(2.0), np.float32(3.0))
    assert fnp.float_power(np.float32(2.0), np.float32(3.0)).dtype == np.float64
    assert fad.jit(fnp.float_power)(np.float32(2.0), np.float32(3.0)).dtype == np.float64


def test_item11_copysign_signbit_of_negative_nan_and_clip_of_negative_zero():
    nan = np.copysign(np.nan, -1.0)
    assert fad.jit(fnp.signbit)(nan) and fad.vmap(fnp.signbit)(np.array([nan]))[0]
    assert np.signbit(fad.jit(fnp.copysign)(1.0, nan))
    assert np.signbit(fad.jit(lambda x: fnp.clip(x, 0.0, 1.0))(np.array([-0.0])))[0]
