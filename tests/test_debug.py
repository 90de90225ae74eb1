"""``fad.debug.print``/``callback``/``breakpoint`` inside every transformation, and the
``debug_nans``/``debug_infs`` checks (eager, under jit, in backward passes)."""
import os
import sys

import numpy as np
import pytest

import fad
import fad.numpy as fnp
from fad import lax
from fad.test_util import all_primitives

HERE = os.path.basename(__file__)


def f(x):
    fad.debug.print("f sees {}", x)
    return fnp.sum(fnp.sin(x))


X = np.array([1.0, 2.0])


def lines(capsys):
    return capsys.readouterr().out.splitlines()


@pytest.mark.parametrize("transform", [
    lambda g: g, fad.jit, fad.grad, lambda g: fad.jit(fad.grad(g)),
    lambda g: (lambda x: fad.jvp(g, (x,), (x,))), fad.hessian,
    lambda g: fad.jit(fad.value_and_grad(g)), fad.checkpoint])
def test_print_shows_the_primal_values_once_per_call(transform, capsys):
    fn = transform(f)
    for _ in range(3):   # (the staged and compiled paths replay: they print too)
        fn(X)
        assert lines(capsys) == ["f sees [1. 2.]"]


@pytest.mark.parametrize("transform", [lambda g: g, fad.jit])
def test_print_one_line_per_lane(transform, capsys):
    fad.vmap(transform(f))(np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert lines(capsys) == ["[lane 0] f sees [1. 2.]", "[lane 1] f sees [3. 4.]"]
    fad.vmap(fad.grad(f))(np.ones((2, 2)))
    assert lines(capsys) == ["[lane 0] f sees [1. 1.]", "[lane 1] f sees [1. 1.]"]


def test_nested_vmap_labels_outermost_first_and_in_axes(capsys):
    g = fad.vmap(fad.vmap(lambda s: f(s)), in_axes=1)
    g(np.arange(4.0).reshape(2, 2))
    assert lines(capsys) == ["[lane 0, 0] f sees 0.0", "[lane 0, 1] f sees 2.0",
                             "[lane 1, 0] f sees 1.0", "[lane 1, 1] f sees 3.0"]


def body(c, x):
    fad.debug.print("c={c} x={x}", c=c, x=x)
    return c + x, c * x


@pytest.mark.parametrize("transform", [
    lambda g: g, fad.jit, lambda g: (lambda xs: fad.grad(lambda v: g(v)[1].sum())(xs))])
def test_print_in_scan_bodies_every_step_in_order(transform, capsys):
    transform(lambda xs: lax.scan(body, 0.0, xs))(np.arange(3.0))
    assert lines(capsys) == ["c=0.0 x=0.0", "c=0.0 x=1.0", "c=1.0 x=2.0"]


def test_print_survives_dead_code_and_branches(capsys):
    fad.jit(lambda x: (f(x), 1.0)[1])(X)
    assert lines(capsys) == ["f sees [1. 2.]"]
    fad.jit(lambda x: lax.cond(x > 0, lambda y: f(y), lambda y: y * 0.0, x))(1.0)
    assert lines(capsys) == ["f sees 1.0"]
    fad.jit(lambda x: lax.cond(x > 0, lambda y: f(y), lambda y: y * 0.0, x))(-1.0)
    assert lines(capsys) == []


def test_print_in_lowered_code_names_the_line():
    src = fad.jit(f).lower(X).as_python()
    assert "debug_callback(" in src and f"# {HERE}:" in src


def test_print_to_stderr_and_errors(capsys):
    fad.jit(lambda x: fad.debug.print("e {}", x, file="stderr") or x)(1.0)
    assert capsys.readouterr().err == "e 1.0\n"
    with pytest.raises(TypeError, match="format must be a str"):
        fad.debug.print(3.0)
    with pytest.raises(ValueError, match="'stdout' or 'stderr'"):
        fad.debug.print("{}", 1.0, file="log")
    with pytest.raises(TypeError, match="not callable"):
        fad.debug.callback(3, 1.0)


def test_callback_with_lanes():
    seen = []
    fad.vmap(lambda x: fad.debug.callback(lambda lanes, v: seen.append((lanes, float(v))),
                                          x, pass_lanes=True) or x)(np.array([5.0, 6.0]))
    assert seen == [((0,), 5.0), ((1,), 6.0)]


def test_breakpoint_calls_the_hook_with_values(monkeypatch):
    stops = []
    monkeypatch.setattr(sys, "breakpointhook",
                        lambda: stops.append(dict(sys._getframe(1).f_locals["values"])))
    fad.jit(lambda x: fad.debug.breakpoint(x=x) or x * 2.0)(3.0)
    fad.vmap(lambda x: fad.debug.breakpoint(x=x) or x)(np.array([1.0, 2.0]))
    assert [float(s["x"]) for s in stops] == [3.0, 1.0, 2.0]
    assert stops[1]["lanes"] == (0,) and "lanes" not in stops[0]


# -- debug_nans, debug_infs ---------------------------------------------------------------

@pytest.fixture
def nans():
    fad.config.update("debug_nans", True)
    yield
    fad.config.update("debug_nans", False)


def log_sum(x):
    y = fnp.log(x)   # the line the errors name
    return fnp.sum(y)


def zero_times_sqrt(x):
    return fnp.sum(fnp.sqrt(x) * 0.0)   # the line the errors name


LOG_LINE = log_sum.__code__.co_firstlineno + 1
SQRT_LINE = zero_times_sqrt.__code__.co_firstlineno + 1


@pytest.mark.parametrize("transform", [
    fad.jit, fad.value_and_grad, lambda g: fad.jit(fad.value_and_grad(g)), fad.vmap,
    lambda g: fad.jit(fad.vmap(g))])
def test_debug_nans_names_the_primitive_and_line(nans, transform):
    with pytest.raises(FloatingPointError, match=rf"primitive log produced a NaN .* at "
                                                 rf"{HERE}:{LOG_LINE} \(log_sum\)"):
        transform(log_sum)(-np.ones(2) if transform is not fad.vmap else -np.ones((2, 2)))


@pytest.mark.parametrize("transform", [fad.grad, lambda g: fad.jit(fad.grad(g))])
def test_debug_nans_in_the_derivative(nans, transform):
    # sqrt'(0) = inf, times 0: the derivative is NaN, the function's value is not
    with pytest.raises(FloatingPointError, match=rf"mul produced a NaN .* at "
                                                 rf"{HERE}:{SQRT_LINE}"):
        transform(zero_times_sqrt)(np.zeros(2))


def test_debug_nans_outside_transformations_is_numpys(nans):
    with pytest.raises(FloatingPointError, match="invalid value encountered in log"):
        fnp.log(-np.ones(2))


def test_debug_nans_lets_nans_passed_in_through(nans):
    x = np.array([np.nan, 1.0])
    assert np.isnan(fad.jit(lambda v: v * 2.0)(x)[0])
    assert np.isnan(fad.grad(lambda v: fnp.sum(v * v))(x)[0])


def test_switching_off_restores_everything(nans):
    fad.config.update("debug_nans", False)
    before = {p: p.impl for p in all_primitives()}
    fad.config.update("debug_nans", True)
    g = fad.jit(log_sum)
    with pytest.raises(FloatingPointError):
        g(-np.ones(2))
    fad.config.update("debug_nans", False)
    with np.errstate(invalid="ignore"):
        assert np.isnan(g(-np.ones(2)))            # the cached program was dropped
        assert np.isnan(fad.grad(zero_times_sqrt)(np.zeros(2))).all()
    assert np.geterr()["invalid"] == "warn"
    assert {p: p.impl for p in all_primitives()} == before
    fad.config.update("debug_nans", True)   # (the fixture switches it off again)


def test_debug_infs(monkeypatch):
    fad.config.update("debug_infs", True)
    try:
        with pytest.raises(FloatingPointError, match="debug_infs: the primitive div produced "
                                                     "an inf"):
            fad.jit(lambda x: 1.0 / x)(np.zeros(2))
        with pytest.raises(FloatingPointError, match="divide by zero"):
            fnp.divide(1.0, np.zeros(2))
        assert fad.jit(lambda x: x * 2.0)(np.inf) == np.inf   # passed in, not produced
    finally:
        fad.config.update("debug_infs", False)
    assert fad.jit(lambda x: 1.0 / x)(np.ones(2)).tolist() == [1.0, 1.0]


def test_debug_nans_from_the_environment():
    import subprocess
    code = ("import fad, fad.numpy as fnp, numpy as np\n"
            "try:\n    fad.jit(lambda x: fnp.log(x))(-1.0)\n"
            "except FloatingPointError as e:\n    print('raised', 'log' in str(e))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "FAD_DEBUG_NANS": "1"}, check=True)
    assert out.stdout.strip() == "raised True"
