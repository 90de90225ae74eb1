"""Registration helpers: the common cases of shape, JVP, linearization, transpose and
batching rules in one line each. Every primitive in ``fad.lax`` is declared with these
(the shape and batching ones, with the primitives the others use, in ``plumbing``).

``defderiv`` is the derivative table's form: one partial derivative per operand, from
which both the JVP rule and the linearization rule (``linearize``'s shortcut, see
``fad.interpreters.partial_eval``) are made; ``deflinear`` does the same for linear
primitives, ``defbilinear`` for bilinear ones (``mul``, ``dot_general``). The public
surface of these helpers, for defining new primitives, is ``fad.extend``."""
from __future__ import annotations

from fad.core.abstract import get_aval
from fad.core.ad_util import Zero, add_tangents
from fad.interpreters.jvp import jvp_rules, zero_derivative
from fad.interpreters.partial_eval import binary_linearize_rules, linearize_rules
from fad.interpreters.scaled import (add_linear, emit_add, materialize, negate, primal_result,
                                     run_staged, scale)
from fad.interpreters.transpose import UndefinedPrimal, transpose_rules
from fad.lax.plumbing import (batch_axis_at, broadcast_to, full, mul, mul_p, neg, neg_p,
                              reduce_sum, reshape)
# The shape and batching rules of elementwise primitives sit below these helpers, with the
# primitives every rule needs (``fad.lax.plumbing``); ``elementwise`` and its dtype kinds
# belong to the registration surface (``fad.extend``) all the same.
from fad.lax.plumbing import (ALL_KINDS, FLOAT_KINDS, INT_KINDS, NUMBER_KINDS,  # noqa: F401
                              REAL_FLOAT_KINDS, REAL_KINDS, broadcast_shapes, elementwise,
                              elementwise_rule)

# -- JVP rules ------------------------------------------------------------------------------

def defjvp(prim, *jvp_fns):
    """JVP from one function per operand, ``fn(g, ans, *primals, **params)`` giving the
    contribution of that operand's tangent ``g`` (never a Zero); ``None`` for operands
    the output does not depend on differentiably. Contributions are summed and
    broadcast to the output's shape.

    >>> import numpy as np, fad, fad.lax as lax
    >>> from fad.extend import defjvp, elementwise
    >>> square_p = elementwise('doc_square', np.square, kinds='f')
    >>> defjvp(square_p, lambda g, ans, x: 2 * x * g)
    >>> fad.jvp(square_p.bind, (3.0,), (1.0,))
    (np.float64(9.0), np.float64(6.0))
    """
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
    multiplications by them in the linear program.

    >>> import numpy as np, fad, fad.lax as lax
    >>> from fad.extend import defderiv, elementwise
    >>> cube_p = elementwise('doc_cube', lambda x: x ** 3, kinds='f')
    >>> defderiv(cube_p, lambda ans, x: 3 * x ** 2)
    >>> fad.grad(cube_p.bind)(2.0), fad.jacfwd(cube_p.bind)(2.0)
    (np.float64(12.0), array(12.))
    """
    def contribution(d):
        if d is None:
            return None
        if d is IDENTITY:
            return lambda g, ans, *primals, **params: g
        if d is NEGATE:
            return lambda g, ans, *primals, **params: neg(g)
        return lambda g, ans, *primals, **params: mul(g, d(ans, *primals, **params))

    defjvp(prim, *map(contribution, partials))
    _def_partials_linearization(prim, partials)


_NO_PARAMS: dict = {}


def _def_partials_linearization(prim, partials):
    """The linearization rule of an elementwise primitive from its partial derivatives
    (``defderiv``'s table): each operand's tangent scaled by its partial (deferred, a
    ``Scaled``), the shares summed. Two-operand primitives also get the operators'
    shortcut (``binary_linearize_rules``)."""
    def share(pe, d, t, ans, primals, params):
        """Tangent ``t``'s share of the result through the partial ``d``, in its shape."""
        if d is IDENTITY:
            c = t
        elif d is NEGATE:
            c = negate(pe, neg_p, t)
        else:
            c = scale(pe, mul_p, t, d(ans, *primals, **params))
        if c.aval.shape != ans.shape:   # its operand was broadcast
            c = run_staged(pe, broadcast_to_like, materialize(c), ans)
        return c

    def linearize_rule(pe, primals, tangents, **params):
        ans = primal_result(pe, prim, primals, params)
        out = None
        for d, t in zip(partials, tangents):
            if t is not None and d is not None:
                c = share(pe, d, t, ans, primals, params)
                out = c if out is None else add_linear(pe, mul_p, out, c)
        return ans, out

    linearize_rules[prim] = linearize_rule
    if len(partials) == 2:
        dx, dy = partials

        def binary_rule(pe, x, tx, y, ty):
            # (binary rules run with NumPy below: the primal result at once)
            ans = prim.impl(x, y)
            out = None
            if tx is not None and dx is not None:
                out = share(pe, dx, tx, ans, (x, y), _NO_PARAMS)
            if ty is not None and dy is not None:
                c = share(pe, dy, ty, ans, (x, y), _NO_PARAMS)
                out = c if out is None else add_linear(pe, mul_p, out, c)
            return ans, out

        binary_linearize_rules[prim] = binary_rule


def defbilinear(prim, lhs_rule, rhs_rule, *, scaling=False):
    """A primitive linear in each of its two operands (``mul``, ``dot_general``), its
    derivative stated once: the JVP is ``prim(dx, y) + prim(x, dy)``; the transpose with
    respect to ``x`` is ``lhs_rule(ct, x, y, **params)`` and with respect to ``y``
    ``rhs_rule(ct, x, y, **params)`` (the other operand is known); the linearization
    records ``prim(dx, y)`` and ``prim(x, dy)`` with the known operand a residual.

    ``scaling=True`` says that ``prim(t, c)`` multiplies ``t`` elementwise by ``c``
    (``mul``): its linearization then defers the multiplication (a ``Scaled`` tangent),
    so that chains of products record one equation. For example (without ``mul``'s care
    for broadcasting): ``defbilinear(mul_p, lambda ct, x, y: mul(ct, y), lambda ct, x, y:
    mul(x, ct), scaling=True)``.

    >>> import numpy as np, fad, fad.lax as lax
    >>> from fad.extend import defbilinear, elementwise
    >>> times_p = elementwise('doc_times', np.multiply, kinds='f')
    >>> defbilinear(times_p, lambda ct, x, y: lax.mul(ct, y), lambda ct, x, y: lax.mul(x, ct))
    >>> fad.grad(times_p.bind, argnums=(0, 1))(2.0, 5.0)
    (np.float64(5.0), np.float64(2.0))
    """
    def jvp_rule(primals, tangents, **params):
        (x, y), (dx, dy) = primals, tangents
        ans = prim.bind(x, y, **params)
        out = Zero.like(ans) if type(dx) is Zero else prim.bind(dx, y, **params)
        if type(dy) is not Zero:
            out = add_tangents(out, prim.bind(x, dy, **params))
        return ans, out

    def transpose_rule(ct, x, y, **params):
        if type(x) is UndefinedPrimal:
            if type(y) is UndefinedPrimal:
                raise TypeError(f"{prim.name} is not linear in both of its operands at once")
            return [lhs_rule(ct, x, y, **params), None]
        return [None, rhs_rule(ct, x, y, **params)]

    jvp_rules[prim] = jvp_rule
    transpose_rules[prim] = transpose_rule
    if scaling:   # the partial derivative with respect to each operand is the other
        _def_partials_linearization(prim, (lambda ans, x, y: y, lambda ans, x, y: x))
    else:
        linearize_rules[prim] = _bilinear_linearization(prim)


def _bilinear_linearization(prim):
    def linearize_rule(pe, primals, tangents, **params):
        (x, y), (tx, ty) = primals, map(materialize, tangents)
        ans = primal_result(pe, prim, primals, params)
        out = None
        if tx is not None:
            yv = pe.atom(y)
            out = pe.emit(prim, [tx.ir_var, yv], prim.abstract_eval(tx.aval, yv.aval, **params),
                          params)
        if ty is not None:
            xv = pe.atom(x)
            t = pe.emit(prim, [xv, ty.ir_var], prim.abstract_eval(xv.aval, ty.aval, **params),
                        params)
            out = t if out is None else emit_add(pe, out, t)
        return ans, out
    return linearize_rule


def defjvp_zero(prim):
    """The output is piecewise constant (comparisons, floor, sign, argmax, ...).

    >>> import numpy as np, fad, fad.lax as lax
    >>> from fad.extend import defjvp_zero, elementwise
    >>> step_p = elementwise('doc_step', lambda x: (x > 0).astype(x.dtype), kinds='f')
    >>> defjvp_zero(step_p)
    >>> fad.grad(step_p.bind)(1.0)
    np.float64(0.0)
    """
    def rule(primals, tangents, **params):
        ans = prim.bind(*primals, **params)
        if prim.multiple_results:
            return ans, [Zero.like(a) for a in ans]
        return ans, Zero.like(ans)
    jvp_rules[prim] = rule
    zero_derivative[prim] = None


def linear_jvp(prim, linear=None):
    """The JVP rule of a primitive linear (jointly) in the operands ``linear`` (all of them
    when ``None``): the primitive applied to their tangents (symbolic zeros made concrete)
    and to the other operands' primal values (integer indices, say)."""
    def rule(primals, tangents, **params):
        ans = prim.bind(*primals, **params)
        operands = range(len(primals)) if linear is None else linear
        if all(type(tangents[i]) is Zero for i in operands):
            return ans, Zero.like(ans)
        args = list(primals)
        for i in operands:
            args[i] = instantiate_like(tangents[i])
        return ans, prim.bind(*args, **params)
    return rule


def deflinear(prim, transpose_rule):
    """A primitive linear in all its operands: its JVP applies it to the tangents, its
    linearization records it on them; ``transpose_rule(ct, *operands, **params)``.

    >>> import numpy as np, fad, fad.lax as lax
    >>> from fad.extend import deflinear, elementwise
    >>> halve_p = elementwise('doc_halve', lambda x: x / 2, kinds='f')
    >>> deflinear(halve_p, lambda ct, x: [halve_p.bind(ct)])
    >>> fad.grad(halve_p.bind)(3.0)
    np.float64(0.5)
    """
    jvp_rules[prim] = linear_jvp(prim)
    transpose_rules[prim] = transpose_rule
    if not prim.multiple_results:
        linearize_rules[prim] = _linear_linearization(prim)


def _linear_linearization(prim):
    """Apply the primitive to the primals and, in the linear program, to the tangents
    (when every operand has one)."""
    def linearize_rule(pe, primals, tangents, **params):
        if any(t is None for t in tangents):
            return None  # some operands are constants: the general rule instantiates zeros
        ans = prim.bind(*primals, **params)
        invars = [materialize(t).ir_var for t in tangents]
        aval = prim.abstract_eval(*[v.aval for v in invars], **params)
        return ans, pe.emit(prim, invars, aval, params)
    return linearize_rule


def instantiate_like(t):
    """A tangent as a value: zeros of its type for a symbolic zero."""
    if type(t) is Zero:
        return full(t.aval.shape, 0, t.aval.dtype)
    return t


def broadcast_to_like(t, ans):
    """Broadcast tangent ``t`` to the shape of ``ans`` if an operand was broadcast.

    >>> import numpy as np, fad, fad.lax as lax
    >>> lax.broadcast_to_like(np.float64(2.0), np.ones(3))
    array([2., 2., 2.])
    """
    shape = get_aval(ans).shape
    if get_aval(t).shape == shape:
        return t
    return broadcast_to(t, shape)


def unbroadcast(ct, aval):
    """Sum ``ct`` down to ``aval``'s shape: the transpose of NumPy broadcasting.

    >>> import numpy as np, fad, fad.lax as lax
    >>> from fad.core.abstract import ShapedArray
    >>> lax.unbroadcast(np.ones((2, 3)), ShapedArray((3,), np.float64))
    array([2., 2., 2.])
    """
    ct_shape = ct.shape if hasattr(ct, "shape") else ()
    if ct_shape == aval.shape:
        return ct
    lead = len(ct_shape) - len(aval.shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, d in enumerate(aval.shape) if d == 1 and ct_shape[lead + i] != 1)
    if axes:
        ct = reduce_sum(ct, axes)
    return reshape(ct, aval.shape) if get_aval(ct).shape != aval.shape else ct


# -- batching rules -------------------------------------------------------------------------

def all_batched_at_front(args, dims):
    """Every operand with its batch axis first; unbatched ones are broadcast along it."""
    size = next(get_aval(x).shape[d] for x, d in zip(args, dims) if d is not None)
    return [batch_axis_at(x, d, size) for x, d in zip(args, dims)]


def batch_same_shape(prim):
    """Batching for elementwise ops without broadcasting (e.g. ``add_any``).

    >>> import numpy as np, fad, fad.lax as lax
    >>> rule = lax.batch_same_shape(lax.add_any_p)
    >>> out, dim = rule([np.ones((2, 3)), np.ones((3, 2))], (0, 1))
    >>> out.shape, dim
    ((2, 3), 0)
    """
    def rule(args, dims, **params):
        return prim.bind(*all_batched_at_front(args, dims), **params), 0
    return rule


__all__ = [n for n in dir() if not n.startswith("_")]
