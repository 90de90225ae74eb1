"""Reverse mode: transposing linear jaxprs.

``backward_pass`` runs a jaxpr that is linear in some of its inputs backwards: given the
cotangents of the outputs, it returns the cotangents of the linear inputs. Non-linear
equations (those reading only constants and non-linear inputs) are evaluated forward
first; linear equations are then visited in reverse, each through the transpose rule of
its primitive. Cotangents accumulate with ``add_any``; a structurally zero cotangent is
a symbolic ``Zero``, and an equation whose output cotangents are all zero is skipped.
"""
from __future__ import annotations

from fad.core.ad_util import Zero, add_tangents
from fad.core.ir import Jaxpr, Literal

# primitive -> rule(ct, *args, **params) -> list with one cotangent (or None/Zero) per
# argument. Linear arguments arrive as ``UndefinedPrimal``; ``ct`` is never a Zero for
# single-result primitives (a list, possibly with Zeros, for multiple results).
transpose_rules: dict = {}


class UndefinedPrimal:
    """Stands for a linear input of a transpose rule: only its type is known.

    >>> import numpy as np, fad
    >>> from fad.core.abstract import ShapedArray
    >>> from fad.extend import UndefinedPrimal
    >>> x = UndefinedPrimal(ShapedArray((3,), np.float64))
    >>> x, x.aval.shape
    (UndefinedPrimal(f64[3]), (3,))
    """

    __slots__ = ("aval",)

    def __init__(self, aval):
        self.aval = aval

    def __repr__(self):
        return f"UndefinedPrimal({self.aval.str_short()})"


def is_undefined(x) -> bool:
    return type(x) is UndefinedPrimal


def backward_pass(jaxpr: Jaxpr, consts, in_args, cts_out, all_linear: bool = False):
    """Cotangents of ``jaxpr``'s inputs; ``in_args[i]`` is an ``UndefinedPrimal`` for each
    linear input (its cotangent is returned; ``Zero`` if none reaches it) and a value
    otherwise (``None`` is returned in its place).

    ``all_linear`` promises that every equation reads a linear variable (true of the
    jaxprs ``linearize`` records), which skips the forward scan.
    """
    # ``env`` holds the non-linear values; every variable not in it is linear.
    env = dict(zip(jaxpr.constvars, consts))
    for v, x in zip(jaxpr.invars, in_args):
        if type(x) is not UndefinedPrimal:
            env[v] = x

    if all_linear:
        linear_eqns = jaxpr.eqns
    else:
        linear_eqns = []
        for eqn in jaxpr.eqns:
            if any(type(v) is not Literal and v not in env for v in eqn.invars):
                linear_eqns.append(eqn)
            else:
                outs = eqn.primitive.bind(*_operands(env, eqn.invars), **eqn.params)
                env.update(zip(eqn.outvars, outs) if eqn.primitive.multiple_results
                           else ((eqn.outvars[0], outs),))

    ct_env = {}
    for v, ct in zip(jaxpr.outvars, cts_out):
        _write_ct(ct_env, env, v, ct)

    for prim, invars, outvars, params in reversed(linear_eqns):
        if prim.multiple_results:
            cts = [ct_env.pop(v, None) for v in outvars]
            if all(c is None for c in cts):
                continue
            cts = [Zero(v.aval) if c is None else c for v, c in zip(outvars, cts)]
        else:
            cts = ct_env.pop(outvars[0], None)
            if cts is None:
                continue
        rule = transpose_rules.get(prim)
        if rule is None:
            raise NotImplementedError(
                f"fad cannot transpose the primitive '{prim.name}': it is not linear in "
                "the inputs being differentiated, or it has no transpose rule")
        for v, ct in zip(invars, rule(cts, *_operands(env, invars), **params)):
            if ct is not None:   # (None: a non-linear operand; skip the call)
                _write_ct(ct_env, env, v, ct)

    out = []
    for v, x in zip(jaxpr.invars, in_args):   # (a loop: no comprehension's call)
        out.append((ct_env[v] if v in ct_env else Zero(v.aval)) if type(x) is UndefinedPrimal
                   else None)
    return out


def _operands(env, atoms):
    """The operands of an equation for its rule: known values from ``env``, literals'
    values, and an ``UndefinedPrimal`` for each linear variable."""
    args = []
    for a in atoms:   # (a loop: no comprehension's call)
        args.append(env[a] if a in env else a.val if type(a) is Literal
                    else UndefinedPrimal(a.aval))
    return args


def _write_ct(ct_env, env, v, ct):
    """Accumulate cotangent ``ct`` of variable ``v`` (nothing for zeros, literals and
    non-linear values)."""
    if ct is None or type(ct) is Zero or type(v) is Literal or v in env:
        return
    prev = ct_env.get(v)
    ct_env[v] = ct if prev is None else add_tangents(prev, ct)

