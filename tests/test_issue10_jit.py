"""Issue 10, items 1, 2, 12, 13 and 14 (parts): ``jit``'s constants, cache keys, cache
bounds, ``disable_jit`` across threads, and its checks of arguments."""
import math
import threading

import numpy as np
import pytest

import fad
import fad.numpy as fnp
from fad import lax
from fad.api_jit import CACHE_SIZE, jit_disabled
from fad.interpreters.lowering import compact_constant, stored_elements


def _counting(fun):
    """``fun`` and the list its calls append to (one entry per trace under ``jit``)."""
    calls = []

    def counted(*args, **kwargs):
        calls.append(1)
        return fun(*args, **kwargs)
    return counted, calls


# -- item 1: closed-over arrays are captured when traced ---------------------------------------

def test_item1_jit_captures_closed_over_arrays_at_trace_time():
    c = np.ones(3)
    f = lambda x: x * c + fnp.sin(c)   # noqa: E731  (reads c directly and through sin)
    jf = fad.jit(f)
    x = np.full(3, 2.0)
    first = jf(x)
    np.testing.assert_allclose(first, 2.0 + np.sin(1.0))
    c[:] = 5.0
    np.testing.assert_array_equal(jf(x), first)            # all trace-time values
    # inside grad (the same signature: the cached jaxpr, evaluated): d(x * c)/dx = old c
    np.testing.assert_array_equal(fad.grad(lambda x: fnp.sum(jf(x)))(x), np.ones(3))
    with fad.disable_jit():                                 # eager: all new values
        np.testing.assert_allclose(jf(x), 10.0 + np.sin(5.0))
    jf.clear_cache()                                        # traced again: new values
    np.testing.assert_allclose(jf(x), 10.0 + np.sin(5.0))


def test_item1_same_cause_grad_under_jit_reads_the_snapshot():
    w = np.array([1.0, 2.0])
    jg = fad.jit(fad.grad(lambda x: fnp.sum(fnp.sin(x * w))))
    x = np.array([0.5, 0.25])
    first = jg(x)
    w[:] = -3.0
    np.testing.assert_array_equal(jg(x), first)
    np.testing.assert_allclose(first, np.cos(x * [1.0, 2.0]) * [1.0, 2.0])


# -- item 2: static arguments keyed by type and value ------------------------------------------

def test_item2_static_args_equal_but_of_different_types_trace_separately():
    f = fad.jit(lambda x, s: x * s, static_argnums=1)
    x = np.arange(3)
    assert f(x, 2).dtype == np.int64
    out = f(x, 2.0)
    assert out.dtype == (x * 2.0).dtype == np.float64
    g = fad.jit(lambda x, flag: x + (1.0 if flag is True else 2.0), static_argnums=1)
    assert g(np.zeros(1), 1)[0] == 2.0
    assert g(np.zeros(1), True)[0] == 1.0
    h = fad.jit(lambda x, t: x + (1.0 if type(t[1]) is bool else 2.0), static_argnames="t")
    assert h(0.0, t=(0, 1)) == 2.0
    assert h(0.0, t=(0, True)) == 1.0        # (0, 1) == (0, True): keyed element by element


def test_item2_nan_static_argument_finds_its_entry():
    fun, calls = _counting(lambda x, s: x + 1.0)
    f = fad.jit(fun, static_argnums=1)
    for _ in range(5):
        f(1.0, float("nan"))
    assert len(calls) == 1


# -- item 12: bounded caches, no input-sized constants held ------------------------------------

def test_item12_caches_are_bounded_lru_and_clearable():
    fun, calls = _counting(lambda x: x * 2.0)
    f = fad.jit(fun)
    f(np.ones(1))
    for n in range(2, CACHE_SIZE + 10):
        f(np.ones(n))
        f(np.ones(1))                     # used again and again: never the one evicted
    assert len(f._cache) == len(f._fast_cache) == CACHE_SIZE
    n_traces = len(calls)
    f(np.ones(1))
    assert len(calls) == n_traces
    f(np.ones(2))                         # the least recently used: evicted, traced again
    assert len(calls) == n_traces + 1
    f.clear_cache()
    assert len(f._cache) == len(f._fast_cache) == 0
    np.testing.assert_array_equal(f(np.ones(3)), 2.0)
    assert len(calls) == n_traces + 2


def test_item12_static_nan_and_new_shapes_do_not_grow_the_cache():
    f = fad.jit(lambda x, s: x + s, static_argnums=1)
    for i in range(CACHE_SIZE + 20):
        f(np.ones(i % 70 + 1), float("nan"))
    assert len(f._cache) <= CACHE_SIZE


def _held_elements(jitted):
    """Elements stored by the arrays the cached programs of ``jitted`` hold."""
    total = 0
    for closed, _, run in jitted._cache.values():
        held = [*closed.consts, *run.straight.__globals__.values()]
        total += sum(stored_elements(x) for x in held if isinstance(x, np.ndarray))
    return total


@pytest.mark.parametrize("fun", [
    lambda x: x + fnp.ones_like(x),
    lambda x: x * fnp.full(x.shape, 3.0) - fnp.zeros_like(x),
    lambda x: x + lax.broadcast_in_dim(np.float64(1.0), x.shape, ()),
    fad.grad(lambda x: fnp.sum(x)),                # grad's seed, broadcast to x's shape
], ids=["ones_like", "full_zeros_like", "broadcast_in_dim", "grad_sum"])
def test_item12_programs_hold_no_input_sized_constants(fun):
    x = np.linspace(0.0, 1.0, 100_000)
    jf = fad.jit(fun)
    with fad.disable_jit():
        want = fun(x)
    for _ in range(2):                             # traced, then the fast path
        out = jf(x)
        np.testing.assert_array_equal(out, want)
        out += 1.0                                 # fresh and writable
    assert _held_elements(jf) < 100


def test_item12_results_viewing_a_compacted_constant_are_fresh():
    c = np.ones(10_000)
    jf = fad.jit(lambda x: (x * 2.0, lax.reshape(c, (100, 100))))
    for _ in range(2):
        _, out = jf(1.0)
        assert out.flags.writeable and out.flags.owndata
        out[0, 0] = 7.0
    assert c[0] == 1.0 and jf(1.0)[1][0, 0] == 1.0


def test_item12_compact_constant_is_bitwise():
    assert compact_constant(np.full(5000, np.nan)).strides == (0,)
    mixed_zeros = np.zeros(5000)
    mixed_zeros[-1] = -0.0                       # equal to 0.0, but not the same bits
    assert compact_constant(mixed_zeros) is mixed_zeros
    small = np.ones(10)                          # small: not worth a check
    assert compact_constant(small) is small
    compact = compact_constant(np.full((100, 50), 2, np.int32))
    assert stored_elements(compact) == 1 and compact.dtype == np.int32
    np.testing.assert_array_equal(compact, np.full((100, 50), 2, np.int32))


# -- item 13: disable_jit per thread -----------------------------------------------------------

def test_item13_disable_jit_overlapping_blocks_in_two_threads():
    seen = {}
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()

    def first():
        with fad.disable_jit():
            seen["first inside"] = jit_disabled()
            first_in.set()
            second_in.wait(5)
        seen["first after"] = jit_disabled()
        first_out.set()

    def second():
        first_in.wait(5)
        seen["second before"] = jit_disabled()
        with fad.disable_jit():
            second_in.set()
            first_out.wait(5)
            seen["second inside"] = jit_disabled()
        seen["second after"] = jit_disabled()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == {"first inside": True, "second before": False, "first after": False,
                    "second inside": True, "second after": False}
    assert jit_disabled() is False
    jf = fad.jit(lambda x: float(x) * 2)       # float() of a traced value: jit is on
    with pytest.raises(fad.errors.ConcretizationTypeError):
        jf(1.0)


def test_item13_nested_blocks_restore_the_outer_setting():
    with fad.disable_jit():
        with fad.disable_jit():
            assert jit_disabled()
        assert jit_disabled()
    assert not jit_disabled()


# -- item 14: make_jaxpr's static_argnums, Python ints beyond int64 ----------------------------

def test_item14_make_jaxpr_checks_static_argnums():
    with pytest.raises(ValueError, match=r"make_jaxpr: static_argnums=\(5,\).*1 positional"):
        fad.make_jaxpr(lambda x: x, static_argnums=5)
    jaxpr = fad.make_jaxpr(lambda x, n: x * n, static_argnums=-1)(1.0, 3)   # from the end
    assert len(jaxpr.jaxpr.invars) == 1


BIG = 2 ** 70


@pytest.mark.parametrize("call", [
    lambda f: f(1.0, BIG),
    lambda f: f(1.0, -BIG),
    lambda f: f(1.0, n=BIG),
    lambda f: f(1.0, (3, BIG)),
], ids=["positional", "negative", "keyword", "in_a_tuple"])
def test_item14_jit_python_int_beyond_int64_raises_clearly(call):
    f = fad.jit(lambda x, n: x * (n[1] if isinstance(n, tuple) else n))
    f(1.0, 3)                                  # the fast path knows (float, int) now
    f(1.0, (3, 4))
    with pytest.raises(OverflowError, match=r"argument .*n'|argument 1") as info:
        call(f)
    message = str(info.value)
    assert str(abs(BIG)) in message and "int64" in message and "static" in message


def test_item14_big_python_int_as_static_argument_works():
    f = fad.jit(lambda x, n: x * n, static_argnums=1)
    assert f(1.0, BIG) == float(BIG)
    assert math.isclose(fad.jit(lambda x: x * 2.0)(float(BIG)), 2.0 * BIG)
