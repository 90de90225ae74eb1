"""``fad.extend``: what defining a new primitive takes.

A primitive is a named operation with a NumPy implementation and a shape rule
(``Primitive``); each transformation finds its rule for it in a table: ``jvp_rules``
(forward mode), ``transpose_rules`` (reverse mode, for primitives linear in some
operands), ``batch_rules`` (``vmap``), ``linearize_rules`` (``linearize``'s shortcut, optional)
and ``lowering_rules`` (``jit``'s compiled programs, optional). The helpers fill the
tables for the common cases in one line each:

- ``elementwise(name, impl, kinds)``: an elementwise primitive, with its shape rule
  (NumPy broadcasting, operands of one dtype, of the dtype kinds ``kinds``) and its
  batching rule;
- ``defderiv(prim, *partials)``: its derivative, one partial derivative per operand
  (``fn(ans, *operands)``), giving the JVP and the linearization rules;
- ``defjvp(prim, *fns)``: a JVP rule from one tangent contribution per operand
  (``fn(tangent, ans, *operands)``);
- ``deflinear(prim, transpose_rule)``: a primitive linear in all its operands;
- ``defbilinear(prim, lhs_rule, rhs_rule)``: one linear in each of two operands
  (``mul``, ``dot_general``);
- ``Zero``: the symbolic zero tangent rules receive (and skip) for constant operands.

A complete example: ``softplus(x) = log(1 + exp(x))``, its derivative the logistic
function, used under ``grad``, ``vmap`` and ``jit``:

>>> import numpy as np
>>> import fad
>>> from fad import lax
>>> from fad.extend import defderiv, elementwise
>>> softplus_p = elementwise("softplus", lambda x: np.logaddexp(0.0, x), kinds="f")
>>> defderiv(softplus_p, lambda ans, x: lax.logistic(x))
>>> softplus = softplus_p.bind
>>> fad.grad(lambda x: softplus(x).sum())(np.zeros(3))
array([0.5, 0.5, 0.5])
>>> fad.vmap(fad.grad(softplus))(np.array([0.0, 100.0]))
array([0.5, 1. ])
>>> print(fad.jit(softplus)(np.float64(0.0)).round(6))
0.693147

A linear primitive states its transpose (the cotangent of each operand that is
``UndefinedPrimal``, the one being differentiated):

>>> from fad.extend import deflinear
>>> from fad.core.primitive import Primitive
>>> double_p = Primitive("double")
>>> _ = double_p.def_impl(lambda x: 2 * x)
>>> _ = double_p.def_abstract_eval(lambda x: x)
>>> deflinear(double_p, lambda ct, x: [double_p.bind(ct)])
>>> fad.grad(lambda x: double_p.bind(x))(np.float64(3.0))
np.float64(2.0)

Without a batching rule a primitive cannot be ``vmap``-ed (``elementwise`` gives one;
``batch_rules[prim] = rule(args, dims, **params) -> (out, out_dim)`` otherwise).
"""
from fad.core.ad_util import Zero
from fad.core.primitive import Primitive
from fad.interpreters.batching import batch_rules
from fad.interpreters.jvp import jvp_rules
from fad.interpreters.lowering import lowering_rules
from fad.interpreters.partial_eval import linearize_rules
from fad.interpreters.transpose import UndefinedPrimal, transpose_rules
from fad.lax.rules import (IDENTITY, NEGATE, defbilinear, defderiv, defjvp, defjvp_zero,
                           deflinear, elementwise)

__all__ = ["IDENTITY", "NEGATE", "Primitive", "UndefinedPrimal", "Zero", "batch_rules",
           "defbilinear", "defderiv", "defjvp", "defjvp_zero", "deflinear", "elementwise",
           "jvp_rules", "linearize_rules", "lowering_rules", "transpose_rules"]
