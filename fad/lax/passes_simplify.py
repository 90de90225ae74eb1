"""The algebraic simplifications of ``fad.interpreters.passes.simplify``, one rule per
primitive (registered in ``simplify_rules``; the interpreter layer below cannot name
``fad.lax``'s primitives itself).

A rule ``rule(ctx, eqn)`` returns what stands for the equation's result (an operand, or
the result of equations made with ``ctx.emit``), or ``None``; ``simplify`` takes the
rewrite only if that has exactly the result's type (shape, dtype, weak type), so the
rules below state the algebra and leave the types to it. Every rewrite gives the same
bits for finite values, with one exception (as in XLA's simplifier): ``x + 0`` is ``x``,
where the sum of ``-0.0`` and ``0.0`` is ``0.0``. A product with an identity matrix also
assumes finite values: ``a @ eye`` spreads NaN along the row of an infinite or NaN
element of ``a`` (``inf * 0``), the rewrite ``a`` does not (and keeps ``-0.0``).

======================================  =============================================
equation                                becomes
======================================  =============================================
``x * 1``, ``1 * x``, ``x / 1``         ``x`` (broadcast to the result's shape)
``x + 0``, ``0 + x``, ``x - 0``,        ``x`` (broadcast to the result's shape)
``add_any(x, 0)``
``x * x``, ``integer_pow(x, 2)``        ``square(x)`` (one form, for ``cse``)
``integer_pow(x, 1)``                   ``x``
``neg(neg(x))``                         ``x``
``convert_element_type`` to its type    ``x``
``reshape``, ``broadcast_in_dim``,      ``x`` when they keep the shape; one equation
``transpose``, ``squeeze``              for a reshape of a reshape (or squeeze), a
                                        broadcast of a broadcast, a transpose of a
                                        transpose
``dot_general(a, eye)``, ``(eye, a)``   ``a``, transposed as the product orders axes
``dot_general`` of a transpose          the transpose folded into the dimension numbers
                                        where the result's axes keep their order
outer product with all ones             a broadcast of the other operand
======================================  =============================================

``1`` and ``0`` are literals, constants or broadcasts, reshapes and conversions of them
(``ctx.uniform``); ``eye`` is a constant identity matrix (``ctx.is_identity``).

>>> import numpy as np, fad
>>> from fad.interpreters.passes import optimize
>>> A = np.random.default_rng(0).normal(size=(3, 3))
>>> print(optimize(fad.make_jaxpr(lambda x: (x @ np.eye(3)).T.T * 1.0)(A)))
{ lambda ; a:f64[3,3]. let
  in (a,) }
"""
from __future__ import annotations

from fad.core.ad_util import add_any_p
from fad.interpreters.passes import commutative, simplify_rules, uniform_rules
from fad.lax.dot import dot_general_p
from fad.lax.elementwise import (add_p, and_p, div_p, eq_p, integer_pow_p, ne_p, or_p,
                                 square_p, sub_p, xor_p)
from fad.lax.plumbing import (_convert_impl, broadcast_in_dim_p, convert_element_type_p,
                              mul_p, neg_p, reshape_p, transpose_p)
from fad.lax.structural import squeeze_p

__all__: list = []


def _is(ctx, atom, value) -> bool:
    u = ctx.uniform(atom)
    return u is not None and bool(u == value)


def _broadcast_to(ctx, x, aval):
    """``x`` as an array of ``aval``'s shape (NumPy's broadcasting: trailing axes
    aligned), or ``x`` itself if it has that shape (``simplify`` checks the dtypes)."""
    shape, ndim = aval.shape, x.aval.ndim
    if x.aval.shape == shape or ndim > len(shape):
        return x
    return ctx.emit(broadcast_in_dim_p, [x], shape=shape,
                    broadcast_dimensions=tuple(range(len(shape) - ndim, len(shape))))


def _neutral(value, *, left: bool, right: bool = True):
    """A rule for a binary primitive whose operand ``value`` (on the right; on the left
    too if ``left``) leaves the other operand as it is."""
    def rule(ctx, eqn):
        x, y = eqn.invars
        if right and _is(ctx, y, value):
            return _broadcast_to(ctx, x, eqn.outvars[0].aval)
        if left and _is(ctx, x, value):
            return _broadcast_to(ctx, y, eqn.outvars[0].aval)
        return None
    return rule


_times_one = _neutral(1, left=True)


def _mul(ctx, eqn):
    x, y = eqn.invars
    if x is y:
        return ctx.emit(square_p, [x])   # (x * x is square(x), bit for bit)
    return _times_one(ctx, eqn)


def _integer_pow(ctx, eqn):
    (x,), y = eqn.invars, eqn.params["y"]
    if y == 1:
        return x
    return ctx.emit(square_p, [x]) if y == 2 else None


def _neg(ctx, eqn):
    inner = ctx.defining(eqn.invars[0])
    return inner.invars[0] if inner is not None and inner.primitive is neg_p else None


def _convert(ctx, eqn):
    return eqn.invars[0]   # (taken only if that is the result's type: dtype and weak type)


# -- shapes --------------------------------------------------------------------------------

def _reshape(ctx, eqn):
    x = eqn.invars[0]
    inner = ctx.defining(x)
    if inner is not None and inner.primitive in (reshape_p, squeeze_p):
        x = inner.invars[0]   # (a squeeze is a reshape)
    if x.aval.shape == eqn.params["new_sizes"]:
        return x
    return ctx.emit(reshape_p, [x], **eqn.params) if x is not eqn.invars[0] else None


def _squeeze(ctx, eqn):
    x = eqn.invars[0]
    return x if not eqn.params["dimensions"] else None


def _broadcast_in_dim(ctx, eqn):
    x, (shape, dims) = eqn.invars[0], (eqn.params["shape"], eqn.params["broadcast_dimensions"])
    if x.aval.shape == shape:
        return x   # (then ``dims`` is the identity: the shape rule wants them increasing)
    inner = ctx.defining(x)
    if inner is not None and inner.primitive is broadcast_in_dim_p:
        # operand axis i went to axis d1[i], which goes to dims[d1[i]]
        inner_dims = inner.params["broadcast_dimensions"]
        return ctx.emit(broadcast_in_dim_p, [inner.invars[0]], shape=shape,
                        broadcast_dimensions=tuple(dims[d] for d in inner_dims))
    return None


def _transposed(ctx, x, perm):
    """``x`` with its axes permuted by ``perm``, composed with the transpose defining
    ``x`` if there is one (output axis i is its axis perm[i], which is the inner
    operand's axis inner_perm[perm[i]])."""
    identity = tuple(range(len(perm)))
    if perm == identity:
        return x
    inner = ctx.defining(x)
    if inner is not None and inner.primitive is transpose_p:
        inner_perm = inner.params["permutation"]
        x, perm = inner.invars[0], tuple(inner_perm[p] for p in perm)
        if perm == identity:
            return x
    return ctx.emit(transpose_p, [x], permutation=perm)


def _transpose(ctx, eqn):
    x, perm = eqn.invars[0], eqn.params["permutation"]
    inner = ctx.defining(x)
    if perm == tuple(range(len(perm))) or (inner is not None and inner.primitive is transpose_p):
        return _transposed(ctx, x, perm)
    return None


# -- dot_general ---------------------------------------------------------------------------

def _dot_with_identity(ctx, lhs, rhs, dims):
    """The product with an identity matrix, as the other operand transposed: the eye's
    free axis takes the place of the contracted one."""
    (lc, rc), (lb, _) = dims
    if lb or len(lc) != 1:
        return None
    if ctx.is_identity(rhs):   # result: lhs's free axes, then the eye's (lhs's axis lc)
        free = [k for k in range(lhs.aval.ndim) if k != lc[0]]
        return _transposed(ctx, lhs, (*free, lc[0]))
    if ctx.is_identity(lhs):   # result: the eye's axis (rhs's axis rc), then rhs's free
        free = [k for k in range(rhs.aval.ndim) if k != rc[0]]
        return _transposed(ctx, rhs, (rc[0], *free))
    return None


def _outer_with_ones(ctx, lhs, rhs, dims, aval):
    """An outer product (nothing contracted) with an all-ones operand: a broadcast."""
    (lc, _), (lb, _) = dims
    if lc or lb:
        return None
    nl, nr = lhs.aval.ndim, rhs.aval.ndim
    if _is(ctx, lhs, 1):
        return ctx.emit(broadcast_in_dim_p, [rhs], shape=aval.shape,
                        broadcast_dimensions=tuple(range(nl, nl + nr)))
    if _is(ctx, rhs, 1):
        return ctx.emit(broadcast_in_dim_p, [lhs], shape=aval.shape,
                        broadcast_dimensions=tuple(range(nl)))
    return None


def _untransposed(ctx, x, contract, batch):
    """``(operand, contract, batch)`` reading the operand of the transpose defining ``x``
    (axis k of ``x`` is its axis perm[k]), if the free axes keep their order (the result
    lists them in the operand's order); else ``x``'s own."""
    inner = ctx.defining(x)
    if inner is None or inner.primitive is not transpose_p:
        return x, contract, batch
    perm = inner.params["permutation"]
    free = [perm[k] for k in range(len(perm)) if k not in contract and k not in batch]
    if any(a > b for a, b in zip(free, free[1:])):
        return x, contract, batch
    return (inner.invars[0], tuple(perm[k] for k in contract), tuple(perm[k] for k in batch))


def _dot_general(ctx, eqn):
    lhs, rhs = eqn.invars
    dims = eqn.params["dimension_numbers"]
    out = (_dot_with_identity(ctx, lhs, rhs, dims)
           or _outer_with_ones(ctx, lhs, rhs, dims, eqn.outvars[0].aval))
    if out is not None:
        return out
    (lc, rc), (lb, rb) = dims
    new_lhs, lc, lb = _untransposed(ctx, lhs, lc, lb)
    new_rhs, rc, rb = _untransposed(ctx, rhs, rc, rb)
    if new_lhs is lhs and new_rhs is rhs:
        return None
    return ctx.emit(dot_general_p, [new_lhs, new_rhs], **{
        **eqn.params, "dimension_numbers": ((lc, rc), (lb, rb))})


# -- the table -------------------------------------------------------------------------------

simplify_rules.update({
    mul_p: _mul,
    div_p: _neutral(1, left=False),
    add_p: _neutral(0, left=True),
    add_any_p: _neutral(0, left=True),
    sub_p: _neutral(0, left=False),
    neg_p: _neg,
    integer_pow_p: _integer_pow,
    convert_element_type_p: _convert,
    reshape_p: _reshape,
    squeeze_p: _squeeze,
    broadcast_in_dim_p: _broadcast_in_dim,
    transpose_p: _transpose,
    dot_general_p: _dot_general,
})


def _same_value(u, **params):
    return u


uniform_rules.update({
    broadcast_in_dim_p: _same_value,
    reshape_p: _same_value,
    squeeze_p: _same_value,
    transpose_p: _same_value,
    convert_element_type_p: _convert_impl,
})

commutative.update({add_p, mul_p, and_p, or_p, xor_p, eq_p, ne_p})
