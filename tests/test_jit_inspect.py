"""``jit(f).lower(*args)`` (``as_text``, ``as_python``, ``compile``) and the compile log
(``fad.config.log_compiles``, ``explain_cache_misses``)."""
import logging
import os
import subprocess
import sys

import numpy as np
import pytest

import fad
import fad.numpy as fnp

W = np.arange(9.0).reshape(3, 3)


def seed(x):
    return x ** 4 + 3 * x ** 2 + 2 * x


def model(x):
    y = fnp.sin(x)
    z = W @ x
    return fnp.sum(y * z)


def test_as_text_is_the_jaxpr_that_runs():
    lowered = fad.jit(lambda x: fnp.sin(x) * 2.0).lower(np.float64(1.0))
    text = lowered.as_text()
    assert "sin a" in text and "mul b 2.0" in text
    assert lowered.jaxpr.jaxpr.eqns[0].primitive.name == "sin"
    assert "2 equations" in repr(lowered)


def test_as_python_comments_each_line_with_the_users_line():
    src = fad.jit(fad.value_and_grad(model)).lower(np.ones(3)).as_python()
    lines = src.splitlines()
    assert lines[0].startswith("def run(v")
    assert lines[1].startswith("    # constants: v0: f64[3,3]")
    here = os.path.basename(__file__)
    body = [ln for ln in lines[2:] if not ln.lstrip().startswith("return")]
    assert body and all(f"{here}:" in ln and "(model)" in ln for ln in body)
    backward = [ln for ln in body if "# backward pass of " in ln]
    assert backward and body[-len(backward):] == backward   # (forward, then backward)
    # one NumPy call per line, named as NumPy names it
    assert any("np.sin(" in ln for ln in body) and any("np.dot(" in ln for ln in body)
    # the forward pass comes first, then the backward pass: the line numbers of the
    # user's program go down again where the backward pass starts
    numbers = [int(ln.split(f"{here}:")[1].split()[0]) for ln in body]
    assert numbers[0] < numbers[-2] and numbers[-1] < max(numbers)


def test_as_python_of_the_seed_gradient_runs_and_is_exact():
    lowered = fad.jit(fad.grad(seed)).lower(2.0)
    compiled = lowered.compile()
    assert float(compiled(2.0)) == 4 * 8 + 6 * 2 + 2
    assert "seed" in lowered.as_python() and compiled.as_python() == lowered.as_python()


def test_lowered_program_is_the_executed_source():
    # as_python is the code the program runs: executing it gives the compiled results
    lowered = fad.jit(model).lower(np.ones(3))
    compiled = lowered.compile()
    x = np.array([0.3, -1.0, 2.0])
    np.testing.assert_allclose(compiled(x), model(x))
    np.testing.assert_allclose(fad.jit(model)(x), compiled(x))


def test_lower_static_arguments_and_pytrees():
    f = fad.jit(lambda d, n: {"y": d["a"] * n + d["b"]}, static_argnums=1)
    lowered = f.lower({"a": np.ones(2), "b": 1.0}, 3)
    out = lowered.compile()({"a": np.full(2, 2.0), "b": 1.0})
    np.testing.assert_allclose(out["y"], [7.0, 7.0])
    with pytest.raises(TypeError, match="structure"):
        lowered.compile()([np.ones(2)])


def test_control_flow_lowers_with_readable_names():
    src = fad.jit(lambda x: fad.lax.while_loop(lambda c: c < 10.0, lambda c: c * 2.0, x)
                  ).lower(1.0).as_python()
    assert "while_(" in src
    compile(src, "<test>", "exec")


@pytest.fixture
def log_all():
    fad.config.update("log_compiles", True)
    fad.config.update("explain_cache_misses", True)
    yield
    fad.config.update("log_compiles", False)
    fad.config.update("explain_cache_misses", False)


def test_log_compiles_says_why(log_all, caplog):
    g = fad.jit(lambda x, n: x * n, static_argnums=1)
    with caplog.at_level(logging.WARNING, logger="fad"):
        g(np.ones(3), 2)
        g(np.ones(3), 2)          # a hit: nothing logged
        g(np.ones(4), 2)
        g(np.ones(4), 3)
        g([np.ones(4)], 3)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 4
    assert "(its first call)" in messages[0] and "f64[3]" in messages[0]
    assert "argument 'x' was f64[3], now f64[4]" in messages[1]
    assert "static argument 'n' was 2, now 3" in messages[2]
    assert "pytree structure" in messages[3]


def test_explain_cache_misses_alone_names_pytree_leaves(caplog):
    fad.config.update("explain_cache_misses", True)
    try:
        g = fad.jit(lambda p: p["w"] * 2.0)
        with caplog.at_level(logging.WARNING, logger="fad"):
            g({"w": np.ones(2)})
            g({"w": np.ones(2, np.float32)})
    finally:
        fad.config.update("explain_cache_misses", False)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1   # the first call is logged only with log_compiles
    assert "argument 'p'['w'] was f64[2], now f32[2]" in messages[0]


def test_nothing_logged_by_default(caplog):
    g = fad.jit(lambda x: x + 1.0)
    with caplog.at_level(logging.DEBUG, logger="fad"):
        g(1.0)
        g(np.ones(2))
    assert not caplog.records


def test_config_errors():
    with pytest.raises(AttributeError, match="no option 'log_compile'"):
        fad.config.update("log_compile", True)
    with pytest.raises(TypeError, match="True or False"):
        fad.config.update("log_compiles", "yes")
    with pytest.raises(AttributeError, match="fad.config.update"):
        fad.config.log_compiles = True
    assert "log_compiles=False" in repr(fad.config)


def test_config_from_the_environment():
    code = "import fad; print(fad.config.log_compiles, fad.config.explain_cache_misses)"
    env = {**os.environ, "FAD_LOG_COMPILES": "1", "FAD_EXPLAIN_CACHE_MISSES": "0"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True)
    assert out.stdout.split() == ["True", "False"]
    env["FAD_LOG_COMPILES"] = "maybe"
    bad = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert bad.returncode != 0 and "FAD_LOG_COMPILES='maybe' is not a boolean" in bad.stderr
