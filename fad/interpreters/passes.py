"""Optimisation passes: small pure functions from a jaxpr to a jaxpr.

Each pass takes a ``ClosedJaxpr`` (or an open ``Jaxpr``) and returns one of the same kind
that computes the same results, of the same types (shape, dtype and weak type), from the
same inputs. A pass never changes its input; when it has nothing to do it returns the
input itself, so ``pass_(p) is p`` says "nothing changed". Every pass also works on the
programs that equations carry as parameters (a ``cond``'s branches, a ``scan``'s or a
``while``'s body, ``jit``'s call, ``custom_jvp_call``, ``remat``), keeping their inputs and
outputs as they are; equations that shared one body share the new one.

- ``dce``: dead-code elimination (``dce_jaxpr`` and the ``dce_rules`` of higher-order
  primitives), in bodies too, and unused constants dropped; effects are kept.
- ``fold_constants``: equations that read only constants and literals are computed now,
  by the size rule of ``lowering`` (a result may not have more elements than its largest
  operand stores); scalar results become literals, arrays new constants.
- ``simplify``: algebraic rewrites from the table ``simplify_rules`` (``x * 1``,
  ``neg(neg(x))``, ``transpose(transpose(x))``, a product with the identity matrix...).
- ``cse``: an equation repeating an earlier one (same primitive, inputs and parameters)
  reuses its results.
- ``forward_inputs``: which outputs are just inputs.
- ``optimize``: the passes above, in rounds, until a round changes nothing.

Each pass is one walk over the equations with dictionaries keyed by variable: linear in
the number of equations, and no recursion per equation (only per nesting of bodies).
A simplification leaves the equations it made dead for ``dce``, and equations it made
identical for ``cse``: ``optimize`` runs them all.

>>> import numpy as np, fad, fad.numpy as fnp
>>> import fad.lax.passes_simplify   # (the rules of ``simplify``)
>>> closed = fad.make_jaxpr(lambda x: fnp.sin(x) * 1.0 + fnp.sin(x))(np.ones(3))
>>> print(optimize(closed))
{ lambda ; a:f64[3]. let
    b:f64[3] = sin a
    c:f64[3] = add b b
  in (c,) }
"""
from __future__ import annotations

import numpy as np

from fad.core.abstract import ShapedArray, get_aval, native_byte_order
from fad.core.ad_util import add_any_p
from fad.core.ir import ClosedJaxpr, Jaxpr, Literal, Var, dce_jaxpr, has_effects, new_eqn
from fad.interpreters.lowering import _no_larger_than_operands, compact_constant, stored_elements

__all__ = ["dce", "cse", "fold_constants", "simplify", "forward_inputs", "merge_forwarded",
           "optimize", "simplify_rules", "uniform_rules", "commutative", "SimplifyContext"]


# -- the walk shared by the passes --------------------------------------------------------------

class _Walk:
    """One run of a pass over a program and the programs its equations carry: applies
    ``body(jaxpr, consts, walk) -> (jaxpr, consts)`` (``consts`` ``None`` for an open
    jaxpr) to each program once, however many equations share it, and counts the
    changes the body functions report (``optimize`` stops when a round makes none)."""

    def __init__(self, body):
        self.body = body
        self.changes = 0
        self._programs = {}   # id(program) -> (program, result): equations share bodies
        self._params = {}     # id(params) -> (params, result): and parameter dicts

    def program(self, program):
        hit = self._programs.get(id(program))
        if hit is None:
            if isinstance(program, ClosedJaxpr):
                jaxpr, consts = self.body(program.jaxpr, program.consts, self)
                out = (program if jaxpr is program.jaxpr and consts is program.consts
                       else ClosedJaxpr(jaxpr, consts))
            else:
                out, _ = self.body(program, None, self)
            hit = self._programs[id(program)] = (program, out)
        return hit[1]

    def eqn(self, eqn):
        """``eqn`` with the pass applied to the programs among its parameters."""
        params = eqn.params
        hit = self._params.get(id(params))
        if hit is None:
            new = None
            for name, value in params.items():
                if isinstance(value, (Jaxpr, ClosedJaxpr)):
                    out = self.program(value)
                elif type(value) is tuple and value and isinstance(value[0],
                                                                   (Jaxpr, ClosedJaxpr)):
                    out = tuple(map(self.program, value))
                    out = value if all(a is b for a, b in zip(out, value)) else out
                else:
                    continue
                if out is not value:
                    new = dict(params) if new is None else new
                    new[name] = out
            if new is None:   # (the common case: no bodies; not remembered)
                return eqn
            hit = self._params[id(params)] = (params, new)
        return new_eqn((eqn.primitive, eqn.invars, eqn.outvars, hit[1]))


def _run(body, program):
    """``(result, changes)``: the pass ``body`` applied to ``program``."""
    if not isinstance(program, (ClosedJaxpr, Jaxpr)):
        raise TypeError(f"expected a ClosedJaxpr or a Jaxpr, got {type(program).__name__}; "
                        "make one with fad.make_jaxpr(f)(*args)")
    walk = _Walk(body)
    return walk.program(program), walk.changes


def _substituted(eqn, subst: dict):
    """``eqn`` reading ``subst[v]`` for each input ``v`` that ``subst`` replaces."""
    if subst:
        invars = eqn.invars
        for a in invars:
            if a in subst:
                return new_eqn((eqn.primitive, [subst.get(b, b) for b in invars],
                                eqn.outvars, eqn.params))
    return eqn


def _rebuilt(jaxpr, consts, eqns, subst, constvars=None, new_consts=None):
    """``(jaxpr, consts)`` with ``eqns`` and the outputs read through ``subst``."""
    outvars = [subst.get(v, v) for v in jaxpr.outvars]
    constvars = jaxpr.constvars if constvars is None else constvars
    return Jaxpr(constvars, jaxpr.invars, outvars, eqns), (
        consts if new_consts is None else new_consts)


# -- dce --------------------------------------------------------------------------------------

def _dce_body(jaxpr, consts, walk):
    before = walk.changes
    eqns = [walk.eqn(e) for e in jaxpr.eqns]   # (bodies first: their rules then see them lean)
    kept = dce_jaxpr(Jaxpr(jaxpr.constvars, jaxpr.invars, jaxpr.outvars, eqns)).eqns
    # what was dropped: equations, and the inputs and outputs of higher-order equations
    # (a rule may rebuild an equation it keeps whole, so that is not counted)
    changes = len(eqns) - len(kept) + _arity(eqns) - _arity(kept)
    if not changes:
        kept = eqns if walk.changes > before else jaxpr.eqns
    constvars, new_consts = jaxpr.constvars, consts
    if consts is not None:   # (an open jaxpr's constants are its caller's to give)
        read = {a for e in kept for a in e.invars}
        read.update(jaxpr.outvars)
        if not all(v in read for v in constvars):
            pairs = [(v, c) for v, c in zip(constvars, consts) if v in read]
            constvars, new_consts = [v for v, _ in pairs], [c for _, c in pairs]
            changes += len(jaxpr.constvars) - len(constvars)
    walk.changes += changes
    if kept is jaxpr.eqns and constvars is jaxpr.constvars:
        return jaxpr, consts
    return Jaxpr(constvars, jaxpr.invars, jaxpr.outvars, kept), new_consts


def _arity(eqns) -> int:
    return sum(len(e.invars) + len(e.outvars) for e in eqns)


def dce(program):
    """Dead-code elimination: drop the equations whose results nothing reads (unless they
    have effects, like ``fad.debug.print``), the unused results of higher-order equations
    (their ``dce_rules``), dead code inside bodies, and constants nothing reads.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> closed = fad.make_jaxpr(lambda x: (fnp.cos(x), fnp.sin(x))[1])(np.ones(2))
    >>> print(dce(closed))
    { lambda ; a:f64[2]. let
        b:f64[2] = sin a
      in (b,) }
    """
    return _run(_dce_body, program)[0]


# -- cse --------------------------------------------------------------------------------------

# Primitives whose two operands may be swapped (``add(x, y)`` is ``add(y, x)``, bit for bit):
# CSE orders their operands first. Registered with the primitives' other rules in ``fad.lax``.
commutative: set = {add_any_p}


def _atom_key(a):
    """What identifies an input: the variable, or a literal's value (its bits: ``0.0`` is
    not ``-0.0``), type and weak type."""
    if type(a) is Literal:
        val = a.val
        try:
            bits = np.asarray(val, a.aval.dtype).tobytes()
        except (TypeError, ValueError, OverflowError):
            bits = repr(val)
        return (type(val), a.aval, bits)
    return a


def _order_key(key):
    return (0, key.count, "") if type(key) is Var else (1, 0, repr(key))


def _eqn_key(eqn):
    """What identifies the results of ``eqn`` (primitives are pure), or ``None`` when its
    parameters are not hashable or it has effects."""
    if not eqn.outvars or has_effects(eqn):
        return None
    ins = tuple(_atom_key(a) for a in eqn.invars)
    if eqn.primitive in commutative and len(ins) == 2:
        ins = tuple(sorted(ins, key=_order_key))
    # (parameter types too: ``True == 1``; result types too: the weak type is recorded)
    params = tuple((k, type(v), v) for k, v in sorted(eqn.params.items()))
    key = (eqn.primitive, ins, params, tuple(v.aval for v in eqn.outvars))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _cse_body(jaxpr, consts, walk):
    subst, seen, eqns = {}, {}, []
    for eqn in jaxpr.eqns:
        eqn = walk.eqn(_substituted(eqn, subst))
        key = _eqn_key(eqn)
        if key is not None:
            earlier = seen.get(key)
            if earlier is not None:   # computed before: read those results
                subst.update(zip(eqn.outvars, earlier))
                continue
            seen[key] = eqn.outvars
        eqns.append(eqn)
    changes = len(jaxpr.eqns) - len(eqns)
    walk.changes += changes
    if not changes and all(a is b for a, b in zip(eqns, jaxpr.eqns)):
        return jaxpr, consts
    return _rebuilt(jaxpr, consts, eqns, subst)


def cse(program):
    """Common subexpressions: an equation with the primitive, inputs (literals compared
    by value, dtype and weak type) and parameters of an earlier one, and no effects, is
    dropped; what read its results reads the earlier one's. Operands of ``commutative``
    primitives are compared in either order.

    >>> import numpy as np, fad, fad.lax.passes_simplify   # (which primitives commute)
    >>> closed = fad.make_jaxpr(lambda x, y: x * y + y * x)(np.ones(2), np.ones(2))
    >>> print(cse(closed))
    { lambda ; a:f64[2] b:f64[2]. let
        c:f64[2] = mul a b
        d:f64[2] = add c c
      in (d,) }
    """
    return _run(_cse_body, program)[0]


# -- fold_constants ---------------------------------------------------------------------------

_UNKNOWN = object()


def _is_concrete(x) -> bool:
    return isinstance(x, (np.ndarray, np.generic, bool, int, float, complex))


def _folded_atom(var, value, may_add_constants: bool):
    """What stands for ``var`` once its value is known to be ``value``: a literal (a
    scalar), ``var`` itself made a constant (an array), or ``None`` when ``value`` would
    not have exactly ``var``'s type (its weak type included)."""
    aval = var.aval
    if aval.dtype.kind not in "biufc":
        return None
    if not aval.shape:
        x = np.asarray(value)
        if x.shape or x.dtype != aval.dtype:
            return None
        # a weak scalar is a Python scalar, as the literals of ``x * 2.0`` are
        val = x.item() if aval.weak_type else x[()]
        return Literal(val, aval) if get_aval(val) == aval else None
    if (not may_add_constants or aval.weak_type or type(value) is not np.ndarray
            or value.shape != aval.shape or value.dtype != aval.dtype):
        return None
    return var


def _evaluated(eqn, operands):
    """The results of ``eqn`` on ``operands`` (a list), or ``None`` if its impl raises:
    the equation then stays, and raises when the program runs, as it would have."""
    try:
        out = eqn.primitive.impl(*operands, **eqn.params)
    except Exception:   # (any error of any impl: it is the program's to raise, later)
        return None
    return list(out) if eqn.primitive.multiple_results else [out]


def _fold_body(jaxpr, consts, walk):
    # values known now, as ``lowering`` holds them (uniform arrays compacted, so that the
    # size rule decides here as it does there)
    known = {}
    if consts is not None:
        known = {v: compact_constant(native_byte_order(c))
                 for v, c in zip(jaxpr.constvars, consts) if _is_concrete(c)}
    subst, eqns, new_constvars, new_consts = {}, [], [], []
    for eqn in jaxpr.eqns:
        eqn = walk.eqn(_substituted(eqn, subst))
        operands = [a.val if type(a) is Literal else known.get(a, _UNKNOWN)
                    for a in eqn.invars]
        if (not any(x is _UNKNOWN for x in operands) and eqn.outvars and not has_effects(eqn)
                and _no_larger_than_operands(eqn, operands)):
            outs = _evaluated(eqn, operands)
            atoms = outs and [_folded_atom(v, x, consts is not None)
                              for v, x in zip(eqn.outvars, outs)]
            if atoms and None not in atoms:
                for v, atom, x in zip(eqn.outvars, atoms, outs):
                    if atom is v:   # an array: the variable becomes a constant
                        new_constvars.append(v)
                        new_consts.append(x)
                        known[v] = x
                    else:
                        subst[v] = atom
                continue
        eqns.append(eqn)
    changes = len(jaxpr.eqns) - len(eqns)
    walk.changes += changes
    if not changes and all(a is b for a, b in zip(eqns, jaxpr.eqns)):
        return jaxpr, consts
    return _rebuilt(jaxpr, consts, eqns, subst, jaxpr.constvars + new_constvars,
                    None if consts is None else list(consts) + new_consts)


def fold_constants(program):
    """Compute now the equations that read only constants and literals (and have no
    effects), where no result has more elements than the largest operand stores
    (``lowering``'s size rule: a program keeps no array larger than the constants it was
    given; a constant of one repeated value stores one). Scalar results become literals,
    arrays new constants (of an open ``Jaxpr``, which has no constant values, only
    literals fold, into literals).

    >>> import numpy as np, fad
    >>> closed = fad.make_jaxpr(fad.jacfwd(lambda x: x * 2.0))(np.ones(2))
    >>> print(closed)    # (a is the identity matrix jacfwd pushes forward)
    { lambda a:f64[2,2]; b:f64[2]. let
        c:f64[2] = mul b 2.0:f64[]
        d:f64[2,2] = mul a 2.0:f64[]
        e:f64[2,2] = transpose[permutation=(1, 0)] d
      in (e,) }
    >>> folded = fold_constants(closed)
    >>> print(folded)
    { lambda a:f64[2,2] b:f64[2,2] c:f64[2,2]; d:f64[2]. let
        e:f64[2] = mul d 2.0:f64[]
      in (c,) }
    >>> folded.consts[-1]
    array([[2., 0.],
           [0., 2.]])
    """
    return _run(_fold_body, program)[0]


# -- simplify ---------------------------------------------------------------------------------

# primitive -> rule(ctx: SimplifyContext, eqn) -> atom or None. The atom (an input of
# ``eqn``, a variable defined before it, or the result of equations the rule made with
# ``ctx.emit``) stands for ``eqn``'s one result from there on; ``None`` keeps ``eqn``. A
# rewrite whose atom has not exactly the result's type (shape, dtype, weak type) is
# dropped, so a rule need not check types. Registered in ``fad.lax.passes_simplify``.
simplify_rules: dict = {}

# primitive -> rule(value, **params) -> value: for a primitive whose result holds one
# repeated value when its operand does (a broadcast, a reshape, a conversion), that value
# (``SimplifyContext.uniform`` follows them: ``broadcast_in_dim(1.0)`` is all ones).
uniform_rules: dict = {}


class _Rejected(Exception):
    """A rule's ``emit`` made an equation its primitive's shape rule refuses."""


class SimplifyContext:
    """What a simplification rule may ask about the program before the equation it looks
    at: where a variable comes from (``defining``), a constant's value (``value``),
    whether an atom holds one repeated value (``uniform``), or is an identity matrix
    (``is_identity``); and how it makes new equations (``emit``)."""

    def __init__(self, jaxpr: Jaxpr, consts):
        self._values = {}
        if consts is not None:
            self._values = {v: c for v, c in zip(jaxpr.constvars, consts) if _is_concrete(c)}
        self._defining = {}   # Var -> the equation (of one result) defining it
        self._uniform = {}    # Var -> its one value, or None: known or memoised
        self._identity = {}   # Var -> bool (memo)
        self._emitted = []

    def defining(self, atom):
        """The equation whose one result ``atom`` is, or ``None`` (an input, a constant,
        a literal, a result of an equation of several)."""
        return self._defining.get(atom) if type(atom) is Var else None

    def value(self, atom):
        """The value of a literal or of a constant, or ``None``."""
        return atom.val if type(atom) is Literal else self._values.get(atom)

    def uniform(self, atom):
        """The value every element of ``atom`` is known to equal (a scalar), or ``None``
        (not known, or NaN, which equals nothing)."""
        if type(atom) is Literal:
            return _uniform_value(atom.val)
        if atom not in self._uniform:
            value = self._values.get(atom)
            self._uniform[atom] = None if value is None else _uniform_value(value)
        return self._uniform[atom]

    def is_identity(self, atom) -> bool:
        """Whether ``atom`` is a constant square identity matrix (``np.eye(n)``)."""
        if atom not in self._identity:
            x = self.value(atom)
            self._identity[atom] = (
                isinstance(x, np.ndarray) and x.ndim == 2 and x.shape[0] == x.shape[1]
                and x.dtype.kind in "biufc" and np.array_equal(x, np.eye(len(x), dtype=x.dtype)))
        return self._identity[atom]

    def emit(self, primitive, invars, **params) -> Var:
        """A new equation ``primitive[params] invars`` (of one result, typed by the
        primitive's shape rule), placed before the rewritten one if the rule's rewrite is
        taken; its result."""
        try:
            aval = primitive.abstract_eval(*[a.aval for a in invars], **params)
        except Exception as e:   # (the shape rule's own error: the rewrite does not apply)
            raise _Rejected from e
        if not isinstance(aval, ShapedArray):
            raise _Rejected
        out = Var(aval)
        self._emitted.append(new_eqn((primitive, list(invars), [out], params)))
        return out

    def _record(self, eqn):
        if len(eqn.outvars) != 1:
            return
        out = eqn.outvars[0]
        self._defining[out] = eqn
        rule = uniform_rules.get(eqn.primitive)
        if rule is not None and len(eqn.invars) == 1:
            u = self.uniform(eqn.invars[0])
            if u is not None:
                try:
                    self._uniform[out] = _uniform_value(rule(u, **eqn.params))
                except Exception:   # (a conversion that fails: not known, then)
                    pass

    def _rewrite(self, rule, eqn):
        """``(atom, new equations)`` if ``rule`` rewrites ``eqn`` to an atom of its
        result's type, else ``None``."""
        self._emitted = []
        try:
            atom = rule(self, eqn)
        except _Rejected:
            return None
        if atom is None or atom is eqn.outvars[0] or atom.aval != eqn.outvars[0].aval:
            return None
        return atom, self._emitted


def _uniform_value(x):
    """The one value all elements of ``x`` equal (a scalar), or ``None``."""
    if not isinstance(x, np.ndarray):
        if isinstance(x, (np.generic, bool, int, float, complex)):
            return None if x != x else x
        return None
    if not x.size or x.dtype.kind not in "biufc":
        return None
    first = x[(0,) * x.ndim]
    if first != first:   # NaN
        return None
    if stored_elements(x) == 1 or bool((x == first).all()):
        return first
    return None


def _simplify_body(jaxpr, consts, walk):
    ctx = SimplifyContext(jaxpr, consts)
    subst, eqns, changes = {}, [], 0
    for eqn in jaxpr.eqns:
        eqn = walk.eqn(_substituted(eqn, subst))
        rule = simplify_rules.get(eqn.primitive)
        if rule is not None and len(eqn.outvars) == 1 and not has_effects(eqn):
            rewrite = ctx._rewrite(rule, eqn)
            if rewrite is not None:
                atom, emitted = rewrite
                for e in emitted:
                    ctx._record(e)
                eqns.extend(emitted)
                subst[eqn.outvars[0]] = atom
                changes += 1
                continue
        ctx._record(eqn)
        eqns.append(eqn)
    walk.changes += changes
    if not changes and all(a is b for a, b in zip(eqns, jaxpr.eqns)):
        return jaxpr, consts
    return _rebuilt(jaxpr, consts, eqns, subst)


def simplify(program):
    """Algebraic simplification by the rules of ``simplify_rules`` (registered by
    ``fad.lax.passes_simplify``): ``x * 1``, ``x + 0``, ``neg(neg(x))``, products with the
    identity matrix, transposes and reshapes composed or dropped... Each rewrite keeps the
    result's type exactly, or is not made. The equations it bypasses stay, dead, for
    ``dce``; the ones it makes alike (``square(x)`` for ``x ** 2``) are merged by ``cse``.

    >>> import numpy as np, fad, fad.lax.passes_simplify
    >>> print(dce(simplify(fad.make_jaxpr(lambda x: -(-x) * 1.0)(np.ones(2)))))
    { lambda ; a:f64[2]. let
      in (a,) }
    """
    return _run(_simplify_body, program)[0]


# -- forwarding and the pipeline ----------------------------------------------------------------

def forward_inputs(program):
    """``(pruned, forwarded)``: ``forwarded[i]`` is the index of the input that output
    ``i`` of ``program`` is (or ``None``), and ``pruned`` is ``program`` computing only the
    other outputs. A caller runs ``pruned`` and passes those inputs through itself
    (``merge_forwarded``), rather than having the program copy them (a compiled program
    returns fresh arrays, so it copies an input it returns).

    >>> import numpy as np, fad
    >>> x, y = np.ones(2), np.arange(2.0)
    >>> pruned, forwarded = forward_inputs(fad.make_jaxpr(lambda x, y: (y, x * 2.0))(x, y))
    >>> forwarded
    [1, None]
    >>> merge_forwarded(forwarded, [x, y], fad.eval_jaxpr(pruned, (), x, y))
    [array([0., 1.]), array([2., 2.])]
    """
    closed = program if isinstance(program, ClosedJaxpr) else None
    jaxpr = closed.jaxpr if closed is not None else program
    if not isinstance(jaxpr, Jaxpr):
        raise TypeError(f"forward_inputs: expected a ClosedJaxpr or a Jaxpr, got "
                        f"{type(program).__name__}")
    index = {v: i for i, v in enumerate(jaxpr.invars)}
    forwarded = [index.get(v) if type(v) is Var else None for v in jaxpr.outvars]
    if all(f is None for f in forwarded):
        return program, forwarded
    pruned = Jaxpr(jaxpr.constvars, jaxpr.invars,
                   [v for v, f in zip(jaxpr.outvars, forwarded) if f is None], jaxpr.eqns)
    return (pruned if closed is None else ClosedJaxpr(pruned, closed.consts)), forwarded


def merge_forwarded(forwarded, args, outs) -> list:
    """All the outputs, from the inputs ``args`` and the outputs ``outs`` of the program
    ``forward_inputs`` pruned (see there)."""
    rest = iter(outs)
    return [next(rest) if f is None else args[f] for f in forwarded]


def optimize(program, max_rounds: int = 8):
    """``program`` through ``dce``, then rounds of ``fold_constants``, ``simplify``,
    ``cse`` and ``dce`` until a round changes nothing (at most ``max_rounds``): each
    pass can give the next work (a folded constant is an identity matrix, a simplified
    product repeats an earlier one). Linear in the number of equations.

    >>> import numpy as np, fad, fad.lax.passes_simplify
    >>> print(optimize(fad.make_jaxpr(lambda x: (x * 1.0 + 0.0) ** 2 * (x * x))(np.ones(2))))
    { lambda ; a:f64[2]. let
        b:f64[2] = square a
        c:f64[2] = square b
      in (c,) }
    """
    if isinstance(max_rounds, bool) or not isinstance(max_rounds, int) or max_rounds < 1:
        raise ValueError(f"optimize: max_rounds must be a positive int, got {max_rounds!r}")
    program, _ = _run(_dce_body, program)
    for _ in range(max_rounds):
        changes = 0
        for body in (_fold_body, _simplify_body, _cse_body, _dce_body):
            program, n = _run(body, program)
            changes += n
        if not changes:
            break
    return program
