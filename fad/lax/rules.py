"""Registration helpers: the common cases of shape, JVP, linearization, transpose and
batching rules in one line each. Every primitive in ``fad.lax`` is declared with these.

``defderiv`` is the derivative table's form: one partial derivative per operand, from
which both the JVP rule and the linearization rule (``linearize``'s shortcut, see
``fad.interpreters.partial_eval``) are made; ``deflinear`` does the same for linear
primitives."""
from __future__ import annotations

import numpy as np

from fad.core import dtypes
from fad.core.abstract import ShapedArray, get_aval
from fad.core.ad_util import Zero, add_any_p, add_tangents
from fad.core.primitive import Primitive
from fad.core.trace import Tracer, _current_trace, eval_trace
from fad.interpreters.batching import batch_rules
from fad.interpreters.jvp import jvp_rules, zero_derivative
from fad.interpreters.partial_eval import (Scaled, binary_linearize_rules, linearize_rules,
                                            materialize)
from fad.interpreters.transpose import transpose_rules

# -- shape rules ----------------------------------------------------------------------------

def broadcast_shapes(name, *shapes):
    if len(shapes) == 2:
        s0, s1 = shapes
        if s0 == s1 or not s1:
            return s0
        if not s0:
            return s1
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(f"{name}: operand shapes {', '.join(map(str, shapes))} do not "
                         "broadcast together (NumPy broadcasting rules)") from None


def _check_same_dtypes(name, avals):
    a0 = avals[0]
    if all(a.dtype == a0.dtype and a.weak_type == a0.weak_type for a in avals):
        return a0.dtype, a0.weak_type
    strong = {a.dtype for a in avals if not a.weak_type}
    if len(strong) > 1:
        raise TypeError(f"{name}: operands must have one dtype, got "
                        f"{', '.join(str(a.dtype) for a in avals)}; convert them with "
                        "fad.lax.convert_element_type (fad.numpy promotes automatically)")
    return fad_result_dtype(avals)


def fad_result_dtype(avals):
    return dtypes.result_type(*avals)


def _kinds_allowed(name, avals, kinds):
    for a in avals:
        if a.dtype.kind not in kinds:
            raise TypeError(f"{name} does not accept operands of dtype {a.dtype}")


FLOAT_KINDS, NUMBER_KINDS, INT_KINDS, ALL_KINDS = "fc", "iufc", "iub", "biufc"
REAL_FLOAT_KINDS, REAL_KINDS = "f", "iuf"


def elementwise_rule(name, kinds=ALL_KINDS, out_dtype=None):
    """Shape rule of an elementwise op with NumPy broadcasting; ``out_dtype`` fixes the
    result dtype (e.g. bool for comparisons), else it is the operands' dtype."""
    def rule(*avals, **params):
        a = avals[0]
        # Fast path: one operand, or operands of one type (the common case, on the hot
        # path of every staged operation).
        if a.dtype.kind in kinds:
            if len(avals) == 1 or (len(avals) == 2 and a == avals[1]):
                return a if out_dtype is None else ShapedArray(a.shape, out_dtype)
            if len(avals) == 2 and avals[1].dtype == a.dtype:
                # One dtype; an array with a scalar (x * 2.0) or with a weak twin.
                b = avals[1]
                if a.shape == b.shape or not b.shape:
                    shape = a.shape
                elif not a.shape:
                    shape = b.shape
                else:
                    shape = broadcast_shapes(name, a.shape, b.shape)
                if out_dtype is not None:
                    return ShapedArray(shape, out_dtype)
                weak = a.weak_type and b.weak_type
                if shape == a.shape and weak == a.weak_type:
                    return a
                return ShapedArray(shape, a.dtype, weak)
        _kinds_allowed(name, avals, kinds)
        dtype, weak = _check_same_dtypes(name, avals)
        shape = avals[0].shape if len(avals) == 1 else broadcast_shapes(
            name, *(a.shape for a in avals))
        if out_dtype is not None:
            return ShapedArray(shape, out_dtype)
        return ShapedArray(shape, dtype, weak)
    return rule


def elementwise(name, impl, nargs, kinds=ALL_KINDS, out_dtype=None) -> Primitive:
    """An elementwise primitive, with its NumPy impl and shape rule, vectorised for vmap."""
    prim = Primitive(name)
    prim.def_impl(impl)
    prim.def_abstract_eval(elementwise_rule(name, kinds, out_dtype))
    batch_rules[prim] = make_batch_elementwise(prim)
    return prim


# -- JVP rules ------------------------------------------------------------------------------

def defjvp(prim, *jvp_fns):
    """JVP from one function per operand, ``fn(g, ans, *primals, **params)`` giving the
    contribution of that operand's tangent ``g`` (never a Zero); ``None`` for operands
    the output does not depend on differentiably. Contributions are summed and
    broadcast to the output's shape."""
    if len(jvp_fns) == 1:  # unary: the common case, without the loop
        (fn,) = jvp_fns

        def rule(primals, tangents, **params):
            ans = prim.bind(*primals, **params)
            (g,) = tangents
            if type(g) is Zero or fn is None:
                return ans, Zero.like(ans)
            return ans, fn(g, ans, *primals, **params)
    else:
        def rule(primals, tangents, **params):
            ans = prim.bind(*primals, **params)
            out = None
            shape = ans.shape
            for fn, g, in zip(jvp_fns, tangents):
                if fn is None or type(g) is Zero:
                    continue
                t = fn(g, ans, *primals, **params)
                if getattr(t, "shape", ()) != shape:  # its operand was broadcast
                    t = broadcast_to_like(t, ans)
                out = t if out is None else add_tangents(out, t)
            if out is None:
                return ans, Zero.like(ans)
            return ans, out
    jvp_rules[prim] = rule


# Markers for ``defderiv``: the operand's tangent passes through unchanged / negated.
IDENTITY = "identity"
NEGATE = "negate"


def defderiv(prim, *partials):
    """The derivative of an elementwise primitive as one partial derivative per operand:
    ``fn(ans, *primals, **params)`` returning the coefficient that operand's tangent is
    multiplied by, ``IDENTITY`` (add's operands), ``NEGATE`` (sub's second), or ``None``
    (no dependence). Contributions are broadcast to the output's shape and summed.

    From this one table entry come the JVP rule and the linearization rule, which
    computes the coefficients from the primal values once and records only the
    multiplications by them in the linear program."""
    from fad.lax.elementwise import mul, mul_p, neg, neg_p

    def contribution(d):
        if d is None:
            return None
        if d is IDENTITY:
            return lambda g, ans, *primals, **params: g
        if d is NEGATE:
            return lambda g, ans, *primals, **params: neg(g)
        return lambda g, ans, *primals, **params: mul(g, d(ans, *primals, **params))

    defjvp(prim, *map(contribution, partials))

    # The rule for one and for two operands is spelled out (no loop over the operands,
    # positional calls when there are no parameters): these are most operations, and
    # the rule runs for each of them.
    def nary_rule(pe, primals, tangents, **params):
        # the primal result, on the level below (directly with NumPy at the bottom)
        ans = (prim.impl(*primals, **params) if pe.parent is eval_trace
               else prim.bind(*primals, **params))
        out = None
        for d, t in zip(partials, tangents):
            if t is None or d is None:
                continue
            if type(d) is str:   # IDENTITY or NEGATE
                c = _pass(pe, mul_p, neg_p, d, t)
            else:
                c = _scale(pe, mul_p, t, d(ans, *primals, **params))
            out = c if out is None else _add_linear(pe, mul_p, out, c)
        if out is not None and len(primals) > 1 and out.aval.shape != ans.shape:
            out = _staged(pe, broadcast_to_like, materialize(out), ans)  # broadcast
        return ans, out

    if len(partials) == 1:
        (d,) = partials

        def linearize_rule(pe, primals, tangents, **params):
            (x,) = primals
            ans = (prim.impl(x, **params) if pe.parent is eval_trace
                   else prim.bind(x, **params))
            if d is None:
                return ans, None
            if type(d) is str:
                return ans, _pass(pe, mul_p, neg_p, d, tangents[0])
            return ans, _scale(pe, mul_p, tangents[0], d(ans, x, **params))

    elif len(partials) == 2:
        dx, dy = partials

        def binary_rule(pe, x, tx, y, ty):
            ans = prim.impl(x, y)   # NumPy values: the primal result at once
            out = None
            # (each operand's contribution written inline, not through a helper: this
            # runs for every arithmetic operation under grad)
            if tx is not None and dx is not None:
                out = (tx if dx is IDENTITY else _pass(pe, mul_p, neg_p, dx, tx)
                       if type(dx) is str else _scale(pe, mul_p, tx, dx(ans, x, y)))
            if ty is not None and dy is not None:
                c = (ty if dy is IDENTITY else _pass(pe, mul_p, neg_p, dy, ty)
                     if type(dy) is str else _scale(pe, mul_p, ty, dy(ans, x, y)))
                out = c if out is None else _add_linear(pe, mul_p, out, c)
            if out is not None and out.aval.shape != ans.shape:
                out = _staged(pe, broadcast_to_like, materialize(out), ans)  # broadcast
            return ans, out

        def linearize_rule(pe, primals, tangents, **params):
            if params or pe.parent is not eval_trace:
                # (no binary elementwise primitive has parameters so far)
                return nary_rule(pe, primals, tangents, **params)
            (x, y), (tx, ty) = primals, tangents
            return binary_rule(pe, x, tx, y, ty)

        binary_linearize_rules[prim] = binary_rule

    else:
        linearize_rule = nary_rule

    linearize_rules[prim] = linearize_rule


def _pass(pe, mul_p, neg_p, d, t):
    """The contribution of tangent ``t`` through an ``IDENTITY`` or ``NEGATE`` partial."""
    if d is IDENTITY:
        return t
    if type(t) is Scaled:
        return Scaled(t.src, -t.coef, mul_p, t.aval)
    return pe.emit(neg_p, [t.ir_var], t.ir_var.aval, {})


def _scale(pe, mul_p, t, coef):
    """The tangent ``t * coef`` for a known coefficient (an operand's partial derivative).

    A coefficient that is a NumPy value of the tangent's type is deferred (a ``Scaled``,
    folding into ``t``'s pending coefficient); any other is recorded now."""
    scaled = type(t) is Scaled
    ta = t.aval if scaled else t.ir_var.aval   # (a Scaled's aval: its source's, made strong)
    tc = type(coef)
    if tc is float and ta.dtype == dtypes.FLOAT64:  # a Python float (x * 2.0)
        coef = np.float64(coef)
        tc = np.float64
    elif tc is np.ndarray and not coef.shape:   # a 0-d array: the scalar it holds
        coef = coef[()]
        tc = type(coef)
    # A traced coefficient (the primal values are abstract: jit, vmap, the compiled
    # staged gradient) is deferred exactly as a NumPy one is, so that the coefficients
    # are multiplied in the same order whether the primal values are known or not, and
    # a gradient does not depend to the last bit on whether it was compiled.
    if ((tc in dtypes.INEXACT_SCALAR_TYPES or tc is np.ndarray and coef.shape == ta.shape
         or isinstance(coef, Tracer) and coef._trace is not pe
         and coef.aval.shape in ((), ta.shape))
            and coef.dtype == ta.dtype):   # (dtypes.numpy_value_of_type, inlined)
        if scaled:
            return Scaled(t.src, t.coef * coef, mul_p, ta)
        return Scaled(t, coef, mul_p, ta.strip_weak_type() if ta.weak_type else ta)
    return pe.emit_scaled(mul_p, materialize(t).ir_var, coef)


def _add_linear(pe, mul_p, a, b):
    """The tangent ``a + b``. Two scalings of one tangent add their coefficients
    (``src * p + src * q = src * (p + q)``; ``src`` itself counts as ``src * 1``), so an
    elementwise function of one variable linearizes to one multiplication however it
    combines its intermediate values; anything else is recorded as an addition."""
    a_scaled, b_scaled = type(a) is Scaled, type(b) is Scaled
    sa = a.src if a_scaled else a
    sb = b.src if b_scaled else b
    if sa is sb:
        if a_scaled or b_scaled:
            pa = a.coef if a_scaled else 1
            pb = b.coef if b_scaled else 1
            return Scaled(sa, pa + pb, mul_p, a.aval if a_scaled else b.aval)
        # ``t + t``: ``t * 2``, with a coefficient of the tangent's dtype
        ta = sa.ir_var.aval
        return Scaled(sa, ta.dtype.type(2), mul_p, ta.strip_weak_type() if ta.weak_type else ta)
    return _emit_add(pe, materialize(a), materialize(b))


def _emit_add(pe, a, b):
    """Record ``a + b`` for two tangents, broadcasting one to the other if needed."""
    sa, sb = a.ir_var.aval.shape, b.ir_var.aval.shape
    if sa != sb:
        shape = broadcast_shapes("add_any", sa, sb)
        from fad.lax.structural import broadcast_to
        a = _staged(pe, broadcast_to, a, shape) if sa != shape else a
        b = _staged(pe, broadcast_to, b, shape) if sb != shape else b
    return pe.emit(add_any_p, [a.ir_var, b.ir_var], a.ir_var.aval, {})


def _staged(pe, fn, *args):
    """Run ``fn`` with the partial evaluator current, so that what it binds on tangents
    is recorded (the general path, for the rare cases a fast rule does not spell out)."""
    token = _current_trace.set(pe)
    try:
        return fn(*args)
    finally:
        _current_trace.reset(token)


def def_linear_linearization(prim):
    """Linearization rule of a primitive linear in its operands: apply it to the
    primals and, in the linear program, to the tangents (when every operand has one)."""
    def linearize_rule(pe, primals, tangents, **params):
        if any(t is None for t in tangents):
            return None  # some operands are constants: the general rule instantiates zeros
        ans = prim.bind(*primals, **params)
        invars = [materialize(t).ir_var for t in tangents]
        aval = prim.abstract_eval(*[v.aval for v in invars], **params)
        return ans, pe.emit(prim, invars, aval, params)
    linearize_rules[prim] = linearize_rule


def defjvp_zero(prim):
    """The output is piecewise constant (comparisons, floor, sign, argmax, ...)."""
    def rule(primals, tangents, **params):
        ans = prim.bind(*primals, **params)
        if prim.multiple_results:
            return ans, [Zero.like(a) for a in ans]
        return ans, Zero.like(ans)
    jvp_rules[prim] = rule
    zero_derivative[prim] = None


def deflinear(prim, transpose_rule):
    """A primitive linear in all its operands: its JVP applies it to the tangents."""
    def rule(primals, tangents, **params):
        ans = prim.bind(*primals, **params)
        if all(type(t) is Zero for t in tangents):
            return ans, Zero.like(ans)
        tangents = [instantiate_like(t) for t in tangents]
        return ans, prim.bind(*tangents, **params)
    jvp_rules[prim] = rule
    transpose_rules[prim] = transpose_rule
    if not prim.multiple_results:
        def_linear_linearization(prim)


def _linear_in(prim, i):
    def rule(primals, tangents, **params):
        ans = prim.bind(*primals, **params)
        if type(tangents[i]) is Zero:
            return ans, Zero.like(ans)
        args = list(primals)
        args[i] = tangents[i]
        return ans, prim.bind(*args, **params)
    return rule


def instantiate_like(t):
    if type(t) is Zero:
        from fad.lax.structural import full
        return full(t.aval.shape, 0, t.aval.dtype)
    return t


def broadcast_to_like(t, ans):
    """Broadcast tangent ``t`` to the shape of ``ans`` if an operand was broadcast."""
    shape = get_aval(ans).shape
    if get_aval(t).shape == shape:
        return t
    from fad.lax.structural import broadcast_to
    return broadcast_to(t, shape)


def unbroadcast(ct, aval):
    """Sum ``ct`` down to ``aval``'s shape: the transpose of NumPy broadcasting."""
    ct_shape = ct.shape if hasattr(ct, "shape") else ()
    if ct_shape == aval.shape:
        return ct
    from fad.lax.reductions import reduce_sum   # (imported here: they import this module)
    from fad.lax.structural import reshape
    lead = len(ct_shape) - len(aval.shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, d in enumerate(aval.shape) if d == 1 and ct_shape[lead + i] != 1)
    if axes:
        ct = reduce_sum(ct, axes)
    return reshape(ct, aval.shape) if get_aval(ct).shape != aval.shape else ct


# -- batching rules -------------------------------------------------------------------------

def moveaxis_to_front(x, bdim):
    if bdim == 0:
        return x
    from fad.lax.structural import moveaxis
    return moveaxis(x, bdim, 0)


def make_batch_elementwise(prim):

    def rule(args, dims, **params):
        if len(args) == 1:
            return prim.bind(args[0], **params), dims[0]
        # Batched operands of one rank with the batch axis in one place, and unbatched
        # scalars (which broadcast against anything): nothing to move.
        d0, ndim = None, None
        for x, d in zip(args, dims):
            n = x.ndim if type(x) is np.ndarray else get_aval(x).ndim
            if d is None:
                if n:
                    break
            elif d0 is None:
                d0, ndim = d, n
            elif d != d0 or n != ndim:
                break
        else:
            return prim.bind(*args, **params), d0
        from fad.lax.structural import expand_dims
        ranks = [get_aval(x).ndim - (d is not None) for x, d in zip(args, dims)]
        rank = max(ranks)
        moved = []
        for x, d, r in zip(args, dims, ranks):
            if d is not None:
                x = moveaxis_to_front(x, d)
                if r < rank:
                    x = expand_dims(x, tuple(range(1, 1 + rank - r)))
            moved.append(x)
        return prim.bind(*moved, **params), 0
    return rule


def all_batched_at_front(args, dims):
    """Every operand with its batch axis first; unbatched ones are broadcast along it."""
    from fad.lax.structural import broadcast_in_dim
    size = next(get_aval(x).shape[d] for x, d in zip(args, dims) if d is not None)
    moved = []
    for x, d in zip(args, dims):
        if d is None:
            shape = get_aval(x).shape
            x = broadcast_in_dim(x, (size, *shape), tuple(range(1, len(shape) + 1)))
        else:
            x = moveaxis_to_front(x, d)
        moved.append(x)
    return moved


def batch_same_shape(prim):
    """Batching for elementwise ops without broadcasting (e.g. ``add_any``)."""
    def rule(args, dims, **params):
        return prim.bind(*all_batched_at_front(args, dims), **params), 0
    return rule


__all__ = [n for n in dir() if not n.startswith("_")]
