"""Which results of a compiled program may share memory with its inputs, derived.

The lowering returns a result as it is, with no check, when no primitive on its way from
the inputs and constants may return an operand or a view of one; those primitives are
``MAY_RETURN_AN_OPERAND``. Here every primitive of the registry runs, as a compiled
program calls it (``instruction_impl``), on fresh operands and with the parameters that
make a view or the operand itself likely (an identity reshape, a full slice, a
conversion to the operand's own dtype); the primitives seen returning memory of an
operand must be exactly that set."""

import numpy as np
import pytest

import fad
import fad.lax.linalg_trmm
import fad.random
import fad.lax.linalg
from fad.test_util import all_primitives
import fad.numpy as fnp
from fad import lax
from fad.core.abstract import get_aval
from fad.core.ir import Literal
from fad.core.primitive import Primitive
from fad.interpreters.lowering import MAY_RETURN_AN_OPERAND, instruction_impl
from fad.lax.reductions import linear_recurrence, shift
from fad.lax.sort import take_along_axis

_X = np.arange(1.0, 7.0).reshape(2, 3) / 4.0
_N = np.arange(6).reshape(2, 3)
_IDX = np.array([2, 0, 1])


_registry = all_primitives


def _prim(name):
    return next(p for p in _registry() if p.name == name)


def _bind(name, *args, **params):
    return _prim(name).bind(*args, **params)


def _never_lowered(prim) -> bool:
    """Whether ``prim`` binds in its own way, and so never is an equation of a compiled
    program: ``fad.staged.calls.InlineCall`` runs its body under every trace (so under
    ``jit``'s staging too); a ``RegionMark`` is never bound, and nested away before
    programs are made."""
    return type(prim).bind is not Primitive.bind


@np.errstate(all="ignore")   # (arccos of 1.5 and the like: the values do not matter)
def _binds_without_parameters():
    """Programs binding each primitive that takes one to three operands of one type and
    no parameters (the elementwise ones), on float and integer arrays and on 0-d ones."""
    programs = []
    for prim in _registry():
        if _never_lowered(prim):
            continue
        for operand in (_X, _X[0, 0], _N > 2, _N, _X + 1j):
            for n in (1, 2, 3):
                try:
                    prim.abstract_eval(*[get_aval(operand)] * n)
                    prim.impl(*[operand] * n)
                except Exception:   # noqa: BLE001 - not a way to call this primitive
                    continue
                programs.append((prim.name, lambda x, p=prim, n=n: p.bind(*[x] * n),
                                 operand))
                break
    return programs


# Programs reaching the primitives with parameters, identity-like parameters included
# (bound directly where fad.lax would not bind them at all).
def _spd(x):
    """A 2x2 positive definite matrix made of ``x``'s first entries."""
    m = x[:2, :2]
    return m @ m.T + 2.0 * fnp.eye(2)


_PROGRAMS = [
    ("reshape", lambda x: _bind("reshape", x, new_sizes=(2, 3)), _X),
    ("reshape", lambda x: x.reshape(3, 2), _X),
    ("reshape", lambda x: x.T.reshape(6), _X),
    ("squeeze", lambda x: lax.squeeze(x[None], (0,)), _X),
    ("squeeze", lambda x: _bind("squeeze", x, dimensions=()), _X),
    ("transpose", lambda x: _bind("transpose", x, permutation=(0, 1)), _X),
    ("transpose", lambda x: x.T, _X),
    ("broadcast_in_dim", lambda x: _bind("broadcast_in_dim", x, shape=(2, 3),
                                         broadcast_dimensions=(0, 1)), _X),
    ("broadcast_in_dim", lambda x: fnp.broadcast_to(x, (4, 2, 3)), _X),
    ("broadcast_in_dim", lambda x: fnp.broadcast_to(x[0, 0], (4, 2)), _X),
    ("slice", lambda x: _bind("slice", x, start_indices=(0, 0), limit_indices=(2, 3),
                              strides=None), _X),
    ("slice", lambda x: x[:, 1:], _X),
    ("slice", lambda x: x[:, ::2], _X),
    ("rev", lambda x: _bind("rev", x, dimensions=()), _X),
    ("rev", lambda x: fnp.flip(x, 0), _X),
    ("concatenate", lambda x: _bind("concatenate", x, dimension=0), _X),
    ("concatenate", lambda x: fnp.concatenate([x, x]), _X),
    ("pad", lambda x: lax.pad(x, 0.0, ((0, 0, 0), (0, 0, 0))), _X),
    ("pad", lambda x: lax.pad(x, 0.0, ((1, 0, 0), (0, -1, 1))), _X),
    ("iota", lambda x: lax.iota(np.int64, 4) + x, _N[0, 0]),
    ("convert_element_type", lambda x: _bind("convert_element_type", x,
                                             new_dtype=np.dtype(np.float64),
                                             weak_type=False), _X),
    ("convert_element_type", lambda x: x.astype(np.float32), _X),
    ("convert_element_type", lambda x: x.astype(np.int32), _X),
    ("real", lambda x: fnp.real(x), _X + 1j),
    ("imag", lambda x: fnp.imag(x), _X + 1j),
    ("select_n", lambda x: _bind("select_n", x > 0.5, x), _X),
    ("select_n", lambda x: fnp.where(x > 0.5, x, -x), _X),
    ("clamp", lambda x: lax.clamp(0.5, x, 1.0), _X),
    ("integer_pow", lambda x: _bind("integer_pow", x, y=1), _X),
    ("integer_pow", lambda x: _bind("integer_pow", x, y=0), _X),
    ("integer_pow", lambda x: x ** 3, _X),
    ("dynamic_slice", lambda x: lax.dynamic_slice(x, (0, 0), (2, 3)), _X),
    ("dynamic_slice", lambda x: lax.dynamic_slice(x, (0, 1), (2, 2)), _X),
    ("dynamic_update_slice", lambda x: lax.dynamic_update_slice(x, x[:, :1], (0, 1)), _X),
    ("dynamic_update_slice", lambda x: lax.dynamic_update_slice(x, x, (0, 0)), _X),
    ("gather", lambda x: x[:, _IDX], _X),
    ("gather", lambda x: x[np.array([0, 1])], _X),
    ("scatter", lambda x: fnp.at(x)[:, _IDX].set(x), _X),
    ("scatter_add", lambda x: fnp.at(x)[:, _IDX].add(x), _X),
    ("scatter_mul", lambda x: fnp.at(x)[:, _IDX].multiply(x), _X),
    ("scatter_min", lambda x: fnp.at(x)[:, _IDX].min(x), _X),
    ("scatter_max", lambda x: fnp.at(x)[:, _IDX].max(x), _X),
    ("take_along_axis", lambda x: take_along_axis(x, _N % 3, 1), _X),
    ("scatter_add_along_axis", lambda x: fad.grad(
        lambda x: fnp.sum(take_along_axis(x, _N % 3, 1) ** 2))(x), _X),
    ("sort", lambda x: fnp.sort(x, axis=1), _X),
    ("sort", lambda x: lax.sort((x, x[::-1]), dimension=0, num_keys=1), _X),
    ("top_k", lambda x: lax.top_k(x, 3), _X),
    ("argmax", lambda x: fnp.argmax(x, 1), _X),
    ("argmin", lambda x: fnp.argmin(x, 0), _X),
    ("reduce_sum", lambda x: _bind("reduce_sum", x, axes=()), _X),
    ("reduce_sum", lambda x: fnp.sum(x, 0), _X),
    ("reduce_prod", lambda x: _bind("reduce_prod", x, axes=()), _X),
    ("reduce_prod", lambda x: fnp.prod(x), _X),
    ("reduce_max", lambda x: _bind("reduce_max", x, axes=()), _X),
    ("reduce_max", lambda x: fnp.max(x, 1), _X),
    ("reduce_min", lambda x: _bind("reduce_min", x, axes=()), _X),
    ("reduce_min", lambda x: fnp.min(x, 1), _X),
    ("reduce_and", lambda x: _bind("reduce_and", x > 1, axes=()), _X),
    ("reduce_and", lambda x: fnp.all(x > 1, 0), _X),
    ("reduce_or", lambda x: _bind("reduce_or", x > 1, axes=()), _X),
    ("reduce_or", lambda x: fnp.any(x > 1), _X),
    ("cumsum", lambda x: fnp.cumsum(x, 1), _X),
    ("cumsum", lambda x: lax.cumsum(x, 0, reverse=True), _X),
    ("cumprod", lambda x: fnp.cumprod(x, 1), _X),
    ("cummax", lambda x: lax.cummax(x, 1), _X),
    ("cummin", lambda x: lax.cummin(x, 0, reverse=True), _X),
    ("cumlogsumexp", lambda x: lax.cumlogsumexp(x, 1), _X),
    ("linear_recurrence", lambda x: linear_recurrence(x, x, axis=1), _X),
    ("shift", lambda x: shift(x, 1), _X),
    ("shift", lambda x: shift(x, 0, reverse=True), _X),
    ("dot_general", lambda x: x @ x[0], _X),
    ("dot_general", lambda x: x[:, :2] @ x, _X),
    ("dot_general", lambda x: x @ x.T, _X),
    ("dot_general", lambda x: x.T @ x, _X),
    ("dot_general", lambda x: lax.dot_general(x, x, (((), ()), ((0,), (0,)))), _X),
    ("dot_general", lambda x: fnp.einsum("ij,ik->ijk", x, x), _X),
    ("dot_general", lambda x: fnp.einsum("ij,ij->i", x, x), _X),
    ("dot_general", lambda x: x[0, 0] * fnp.einsum("i,j->ij", x[0], x[1]), _X),
    ("and", lambda x: (x > 1) & (x < 3), _X),
    ("or", lambda x: (x > 1) | (x < 0.5), _X),
    ("xor", lambda x: (x > 1) ^ (x < 3), _X),
    ("not", lambda x: ~(x > 1), _X),
    ("shift_left", lambda x: fnp.left_shift(x, 1), _N),
    ("shift_right", lambda x: fnp.right_shift(x, 1), _N),
    ("add_any", lambda x: fad.jacrev(lambda x: x[0] * x[1] + fnp.sin(x[0]))(x), _X),
    ("polygamma", lambda x: lax.polygamma(1, x), _X),
    ("stop_gradient", lambda x: fad.stop_gradient(x), _X),
    ("fft", lambda x: fnp.fft.rfft(x), _X),
    ("fft", lambda x: fnp.fft.ifft(fnp.fft.fft(x + 1j)), _X),
    ("fft", lambda x: fnp.fft.irfftn(fnp.fft.rfftn(x)), _X),
    ("threefry2x32", lambda x: fad.random.uniform(
        fad.random.key((x[0, 0] * 0).astype(np.int64)), (2, 3)) + x, _X),
    ("random_gamma", lambda x: fad.random.gamma(fad.random.key(0), x + 1.0), _X),
    ("jit", lambda x: fad.jit(lambda y: y.reshape(6))(x), _X),
    ("cholesky", lambda x: fad.lax.linalg.cholesky(_spd(x)), _X),
    ("triangular_solve", lambda x: fad.lax.linalg.triangular_solve(
        _spd(x), x[:2, :1], left_side=True, lower=True), _X),
    ("solve", lambda x: fad.lax.linalg.solve(_spd(x), x[:2, :1]), _X),
    ("triangular_matmul", lambda x: fad.lax.linalg_trmm.triangular_matmul(
        _spd(x), x[:2, :1]), _X),
    ("triangular_congruence", lambda x: fad.lax.linalg_trmm.triangular_congruence(
        _spd(x), _spd(x)), _X),
    ("hermitian_part", lambda x: fad.lax.linalg_trmm.hermitian_part(_spd(x), True), _X),
    ("lu", lambda x: fad.lax.linalg.lu(_spd(x))[0], _X),
    ("lu_pivots_to_permutation",
     lambda x: fad.lax.linalg.lu_pivots_to_permutation(
         fad.lax.linalg.lu(_spd(x))[1], 2), _X),
    ("qr", lambda x: fad.lax.linalg.qr(_spd(x))[0], _X),
    ("eigh", lambda x: fad.lax.linalg.eigh(_spd(x))[1], _X),
    ("svd", lambda x: fad.lax.linalg.svd(_spd(x))[1], _X),
    ("eig", lambda x: fad.lax.linalg.eig(_spd(x))[0], _X),
    ("jit", lambda x: fad.jit(lambda y: y)(x), _X),
    ("custom_jvp_call", lambda x: (lambda f: (f.defjvp(lambda p, t: (f(*p), t[0].ravel())), f)[1])(
        fad.custom_jvp(lambda y: y.reshape(6)))(x), _X),
    ("custom_jvp_call", lambda x: (lambda f: (f.defjvp(lambda p, t: (f(*p), t[0])), f)[1])(
        fad.custom_jvp(lambda y: y))(x), _X),
    ("custom_vjp_call", lambda x: (lambda f: (f.defvjp(lambda y: (f(y), None),
                                                       lambda r, g: (g,)), f)[1])(
        fad.custom_vjp(lambda y: y))(x), _X),
    ("cond", lambda x: lax.cond(x[0, 0] > 0, lambda y: y, lambda y: y * 2.0, x), _X),
    ("scan", lambda x: lax.scan(lambda c, r: (c + r, c), x[0], x)[1], _X),
    ("remat", lambda x: fad.checkpoint(lambda y: y.reshape(6))(x), _X),
    ("remat", lambda x: fad.checkpoint(lambda y: y)(x), _X),
    ("scan", lambda x: lax.scan(lambda c, r: (c, r.reshape(3)), x[0], x)[0], _X),
    ("cond", lambda x: lax.cond(x[0, 0] > 0, lambda y: y.reshape(6), lambda y: (2 * y).ravel(), x),
     _X),
    ("while", lambda x: lax.while_loop(lambda c: c[0][0, 0] > 10.0, lambda c: (c[0].reshape(2, 3),
                                                                               c[1]), (x, x)), _X),
    ("while", lambda x: lax.while_loop(lambda c: c[1] < 2, lambda c: (c[0].reshape(2, 3),
                                                                      c[1] + 1), (x, 0))[0], _X),
    ("debug_callback", lambda x: fad.debug.callback(lambda v: None, x) or x * 2.0, _X),
]


def _operand_copy(x):
    """``x`` in memory of its own (arrays of any layout stay arrays)."""
    return np.array(x, copy=True) if isinstance(x, np.ndarray) else x


def _aliasing(program, operand):
    """The names of the primitives of ``program``'s jaxpr (staged for ``operand``) whose
    implementation, called as a compiled program calls it on operands of memory of
    their own, returned memory of an operand; and the names of all its primitives."""
    closed = fad.make_jaxpr(program)(operand)
    env = dict(zip(closed.jaxpr.constvars, closed.consts))
    env.update(zip(closed.jaxpr.invars, [operand]))
    seen, aliasing = set(), set()
    for eqn in closed.jaxpr.eqns:
        operands = [_operand_copy(a.val if type(a) is Literal else env[a])
                    for a in eqn.invars]
        impl, params = instruction_impl(eqn)
        out = impl(*operands, **params)
        outs = out if eqn.primitive.multiple_results else [out]
        seen.add(eqn.primitive.name)
        if any(isinstance(o, np.ndarray) and isinstance(a, np.ndarray)
               and np.shares_memory(o, a) for o in outs for a in operands):
            aliasing.add(eqn.primitive.name)
        env.update(zip(eqn.outvars, outs))
    return seen, aliasing


_ALL_PROGRAMS = _binds_without_parameters() + _PROGRAMS


@np.errstate(all="ignore")
def _derive():
    seen, aliasing = set(), set()
    for _, program, operand in _ALL_PROGRAMS:
        s, a = _aliasing(program, operand)
        seen |= s
        aliasing |= a
    return seen, aliasing


_SEEN, _ALIASING = _derive()


def test_every_primitive_of_the_registry_is_run():
    missing = {p.name for p in _registry() if not _never_lowered(p)} - _SEEN
    assert not missing, f"no program above reaches {sorted(missing)}: add one"


@pytest.mark.parametrize("name,program,operand", _PROGRAMS,
                         ids=[f"{name}-{i}" for i, (name, _, _) in enumerate(_PROGRAMS)])
def test_each_program_reaches_the_primitive_it_is_for(name, program, operand):
    assert name in _aliasing(program, operand)[0]


def test_may_return_an_operand_is_the_set_of_primitives_seen_doing_it():
    assert _ALIASING == set(MAY_RETURN_AN_OPERAND)


def test_a_program_without_views_returns_its_results_unchecked():
    run = fad.jit(lambda x: x + 1.0)
    run(np.ones(16))
    (_, _, lowered), = run._cache.values()
    assert "fresh" not in lowered.source


def test_a_program_returning_a_view_of_its_input_checks_it():
    run = fad.jit(lambda x: (x.reshape(2, 2), x * 2.0, x))
    x = np.ones(4)
    a, b, c = run(x)
    assert not any(np.shares_memory(r, x) for r in (a, b, c))
    assert not np.shares_memory(a, b) and not np.shares_memory(b, c)
    (_, _, lowered), = run._cache.values()
    assert lowered.source.count("fresh_outputs") == 1
