"""Lowering for ``jit``: turn a closed jaxpr into a lean NumPy program.

The program is a list of instructions ``(impl, input slots, output slots, params)`` over
numbered slots holding the constants, the literals, the inputs and every intermediate,
turned into one generated Python function of straight-line NumPy calls on local
variables: no tracing, no rule lookups, no per-operation type checks and no interpreter
loop, which is where ``jit`` gets its speed in pure Python. Dead equations are dropped
first, equations that read only constants and literals are computed once, here (constant
folding), and an equation repeating an earlier one on the same values reuses its result
(common subexpressions, e.g. the ``cos`` that ``grad(grad(sin))`` computes on both
levels).

A cached program must not keep arrays alive whose size comes from an input (one per
input shape, for as long as the cache holds the program), so:

- a constant array of one repeated value (``ones_like(x)``, ``zeros``, ``full``: what
  ``fad.numpy`` makes of an input's shape while tracing) is held as a read-only
  broadcast of that one value (``compact_constant``);
- an equation is folded only if none of its results has more elements than its largest
  operand *stores* (a broadcast stores one). Results that grow from small constants —
  broadcasts, ``iota``, ``full``, outer products, anything computed from a compacted
  constant — stay in the program, computed at each call.

So the values a program holds never store more elements than the constants it was given.

A program's results are fresh arrays, as eager evaluation's are (the caller may update
them in place), at no cost where freshness is known when lowering: a result can share
memory with an input, a constant or another result only if it is one of them, or comes
from them through primitives that may return an operand or a view of one
(``MAY_RETURN_AN_OPERAND``). Results that are an input or a constant are copied; those
that may be views of one, or of each other, go through ``fresh_outputs`` (copied if they
are); the others, most results of most programs, are returned as they are.
"""
from __future__ import annotations

import keyword
import math
from collections import Counter

import numpy as np

from fad.core.abstract import get_aval, native_byte_order
from fad.core.dtypes import PYTHON_SCALAR_TYPES
from fad.core.fresh import fresh_outputs
from fad.interpreters.debug_checks import checking_instruction, checks_on
from fad.interpreters.source_info import noted_sources, source_of
from fad.core.ir import ClosedJaxpr, Literal, dce_jaxpr, has_effects

# primitive -> rule(*operand avals, **params) returning a NumPy function of the operands
# alone, specialised to those types and parameters, or None (then the impl runs). For
# primitives whose impl spends time choosing a strategy from the operands' layout
# (dot_general): a compiled program knows the layout, so it chooses once, here.
lowering_rules: dict = {}

# Names of the primitives whose NumPy implementation may return an operand itself or a
# view of one (a reshape, the real part of a complex array; slices, transposes and
# broadcasts copy): their results may share memory with their operands. Derived by
# running every primitive's implementation on fresh operands, identity-like parameters
# included (tests/interpreters/test_lowering_aliasing.py checks that this is exactly the
# set of primitives seen doing it).
MAY_RETURN_AN_OPERAND = frozenset({"imag", "real", "reshape", "squeeze", "stop_gradient"})


def _instruction_key(prim, in_slots, params):
    """What identifies an instruction's result (primitives are pure), or ``None`` when
    its parameters are not hashable."""
    key = (prim, in_slots, tuple(sorted(params.items())))
    try:
        hash(key)
    except TypeError:
        return None
    return key


_BIG = 4096   # elements: a constant this large and uniform is compacted
# Elements: a temporary this large is freed as soon as it is dead (a ``del`` line), so that
# NumPy reuses its memory for the next one: a long program of small arrays (an unrolled
# RNN's 32x64 states) otherwise runs through fresh memory at every step, at 3x the time.
# Smaller ones (scalars, short vectors) are not worth a line.
_FREE_AT = 64


def stored_elements(x) -> int:
    """How many elements ``x`` holds in memory: its size, but one for each axis along
    which it is a broadcast (stride 0), and one for a scalar."""
    if not isinstance(x, np.ndarray):
        return 1
    return math.prod([n for n, stride in zip(x.shape, x.strides) if stride])


def compact_constant(c):
    """``c``, or, if it is a large array of one repeated value (the same bits in every
    element), a read-only broadcast of that value, which stores one element.

    >>> compact_constant(np.ones(10_000)).strides
    (0,)
    """
    if (not isinstance(c, np.ndarray) or c.dtype.kind not in "biufc"
            or stored_elements(c) < _BIG):
        return c
    flat = c.reshape(-1)
    rows = flat.view(np.uint8).reshape(flat.size, c.itemsize)   # each element's bits
    if (rows[-1] != rows[0]).any() or (rows != rows[0]).any():  # (the last first: cheap)
        return c
    return np.broadcast_to(flat[0], c.shape)


def _no_larger_than_operands(eqn, operands) -> bool:
    """Whether no result of ``eqn`` has more elements than its largest operand stores
    (the size rule for folding; see the module docstring)."""
    largest = max([stored_elements(x) for x in operands], default=0)
    return all(math.prod(v.aval.shape) <= largest for v in eqn.outvars)


def instruction_impl(eqn):
    """``(impl, params)``: the NumPy function a compiled program calls for ``eqn``, and
    its keyword arguments (the primitive's impl and parameters, or what its lowering
    rule specialised to the operand types)."""
    impl, params = eqn.primitive.impl, eqn.params
    rule = lowering_rules.get(eqn.primitive)
    special = rule(*[a.aval for a in eqn.invars], **params) if rule else None
    if special is not None:
        impl, params = special, {}
    impl = getattr(impl, "unchecked", impl)   # the program was type-checked when staged
    if all(a.aval.shape for a in eqn.invars):
        # No scalar operands: an impl with a scalar fast path has a plain array one.
        impl = getattr(impl, "array_impl", impl)
    return impl, params


def lower(closed: ClosedJaxpr, sources: dict | None = None):
    """A function running ``closed`` on NumPy values (flat list in, flat list out).

    ``sources`` (from ``source_info.noting_sources``), if given, maps result variables
    to the user's source lines; each generated line is then commented with its own
    (``jit(f).lower(x).as_python()``)."""
    jaxpr = dce_jaxpr(closed.jaxpr)
    checked = checks_on()   # (debug_nans, debug_infs: each instruction checks its results)
    if checked and sources is None:
        sources = noted_sources()
    slots = {}
    fixed = []  # values known before the call: constants, then literals

    def slot_of(atom):
        if type(atom) is Literal:
            fixed.append(atom.val)
            return len(fixed) - 1
        return slots[atom]

    for v, c in zip(jaxpr.constvars, closed.consts):
        slots[v] = len(fixed)
        fixed.append(compact_constant(native_byte_order(c)))   # (results are native)
    # Literals and folded values are interned after the constants; inputs and temporaries
    # follow them, so their slot numbers are assigned in a second pass once ``fixed`` is
    # complete.
    pending, eqns = [], []
    for eqn in jaxpr.eqns:
        # an int is a slot known now (a constant, a literal or a folded value)
        ins = [slot_of(a) if type(a) is Literal else slots.get(a, a) for a in eqn.invars]
        if all(type(a) is int for a in ins) and not has_effects(eqn) and _no_larger_than_operands(
                eqn, [fixed[i] for i in ins]):   # all known, and not growing: fold it
            out = eqn.primitive.impl(*[fixed[i] for i in ins], **eqn.params)
            for v, val in zip(eqn.outvars, out if eqn.primitive.multiple_results else [out]):
                slots[v] = len(fixed)
                fixed.append(val)
            continue
        pending.append(ins)
        eqns.append(eqn)
    literal_outs = [slot_of(a) if type(a) is Literal else slots.get(a, a)
                    for a in jaxpr.outvars]
    n_fixed = len(fixed)
    for i, v in enumerate(jaxpr.invars):
        slots[v] = n_fixed + i
    # slots whose value may be a Python scalar when the program runs: constants and
    # literals that are, and weakly typed arguments (every primitive returns NumPy values)
    maybe_python = {j for j, x in enumerate(fixed) if may_be_python_scalar(x)}
    maybe_python.update(n_fixed + i for i, v in enumerate(jaxpr.invars) if v.aval.weak_type)
    next_slot = n_fixed + len(jaxpr.invars)
    # slot -> number of elements, for the arguments and temporaries
    sizes = {n_fixed + i: math.prod(v.aval.shape) for i, v in enumerate(jaxpr.invars)}
    # slot -> the fixed and argument slots, and the results of fresh-array primitives,
    # whose memory the slot's value may share (its own alone, unless a primitive of
    # MAY_RETURN_AN_OPERAND made it); absent: just the slot itself
    shares = {}
    program = []
    computed = {}  # (primitive, input slots, params) -> output slots: compute each once
    for eqn, ins in zip(eqns, pending):
        in_slots = tuple(a if type(a) is int else slots[a] for a in ins)
        if _only_strengthens(eqn, in_slots, maybe_python):   # (no instruction)
            slots[eqn.outvars[0]] = in_slots[0]
            continue
        key = None if has_effects(eqn) else _instruction_key(eqn.primitive, in_slots,
                                                             eqn.params)
        if key is not None:
            if key in computed:   # the same operation on the same values: reuse it
                for v, slot in zip(eqn.outvars, computed[key]):
                    slots[v] = slot
                continue
        out_slots = []
        for v in eqn.outvars:
            slots[v] = next_slot
            sizes[next_slot] = math.prod(v.aval.shape)
            out_slots.append(next_slot)
            next_slot += 1
        if eqn.primitive.name in MAY_RETURN_AN_OPERAND:
            operands_memory = frozenset().union(*[shares.get(j, (j,)) for j in in_slots])
            shares.update((slot, operands_memory) for slot in out_slots)
        op = _operator_of(eqn, in_slots, maybe_python)
        impl, params = (op, {}) if op is not None else instruction_impl(eqn)
        if checked:
            impl = checking_instruction(eqn.primitive, impl, source_of(sources, eqn))
        multiple = eqn.primitive.multiple_results
        program.append((impl, in_slots, tuple(out_slots) if multiple else out_slots[0],
                        params, eqn.primitive.name,
                        source_of(sources, eqn) if sources else None))
        if key is not None:
            computed[key] = out_slots
    out_slots = [a if type(a) is int else slots[a] for a in literal_outs]
    returns = _fresh_returns(out_slots, fixed, len(jaxpr.invars), shares)
    run = _straight_line(program, fixed, len(jaxpr.invars), *returns, sizes)
    run.jaxpr = jaxpr
    run.num_instructions = len(program)
    return run


def _fresh_returns(out_slots, fixed, n_args, shares):
    """How the program returns each result (see the module docstring), as ``(how,
    slot)`` pairs, ``how`` one of ``"copy"`` (an argument, an array constant, or a slot
    returned before), ``"check"`` (maybe a view of an argument, a constant or another
    result: ``fresh_outputs`` decides) and ``"as_is"`` (memory no one else holds, or a
    scalar); and the argument and constant slots the checked results may be views of."""
    n_fixed = len(fixed)
    given = range(n_fixed + n_args)   # the constants, literals and arguments
    memory = {j: shares.get(j, (j,)) for j in out_slots}
    holders = Counter(k for j in memory for k in memory[j])   # (distinct results)
    returns, returned, sources = [], set(), set()
    for j in out_slots:
        if j in returned or (j in given and (j >= n_fixed or type(fixed[j]) is np.ndarray)):
            returns.append(("copy", j))
        elif j < n_fixed or all(k not in given and holders[k] == 1 for k in memory[j]):
            returns.append(("as_is", j))   # (j < n_fixed: a literal)
        else:
            returns.append(("check", j))
            sources.update(k for k in memory[j] if k in given and (
                k >= n_fixed or type(fixed[k]) is np.ndarray))
        returned.add(j)
    return returns, sorted(sources)


def _fresh(x):
    return x.copy() if type(x) is np.ndarray else x


def _straight_line(program, fixed, n_args, returns, sources, sizes):
    """The program as one generated Python function: each instruction a line
    ``v7 = f3(v1, v2)`` on local variables (no interpreter loop, no slot list), with
    large temporaries deleted after their last use (a smaller working set).

    Slots: ``fixed`` values are globals ``v0 ...`` of the function, the arguments and
    temporaries its locals. A NumPy function is called by its NumPy name (``np.sin``),
    other impls by their primitive's name; parameters that are Python literals are
    written inline, the others passed from globals ``p<i>``."""
    namespace = {f"v{i}": x for i, x in enumerate(fixed)}
    n_fixed = len(fixed)
    last_use = {}
    for i, (_, ins, *_) in enumerate(program):
        for slot in ins:
            last_use[slot] = i
    for slot in [*(j for _, j in returns), *range(n_fixed, n_fixed + n_args)]:
        last_use[slot] = len(program)   # (arguments: fresh_outputs may read them)
    args = ", ".join(f"v{n_fixed + i}" for i in range(n_args))
    lines = [f"def run({args}):", *_constants_comment(fixed)]
    names = _FunctionNames(namespace)
    for i, (impl, ins, outs, params, prim_name, where) in enumerate(program):
        expression = getattr(impl, "expression", None)
        if expression is not None and not params:   # (an operator: ``v1 * v2``)
            call = expression.format(*[f"v{j}" for j in ins])
        else:
            call = f"{names.of(impl, prim_name)}({', '.join(f'v{j}' for j in ins)}"
            inline, other = _split_params(params)
            if inline:
                call += (", " if ins else "") + ", ".join(f"{k}={v!r}"
                                                          for k, v in inline.items())
            if other:
                namespace[f"p{i}"] = other
                call += f"{', ' if ins or inline else ''}**p{i}"
            call += ")"
        target = (", ".join(f"v{j}" for j in outs) + ("," if len(outs) == 1 else "")
                  if type(outs) is tuple else f"v{outs}")
        line = f"    {target} = {call}" if target else f"    {call}"   # (no results)
        lines.append(f"{line:<44}  # {where}" if where and where != "fad" else line)
        dead = [j for j in ins if j >= n_fixed and last_use[j] == i and sizes[j] >= _FREE_AT]
        if dead:
            lines.append(f"    del {', '.join(f'v{j}' for j in sorted(set(dead)))}")
    lines += _return_lines(returns, sources, n_fixed)
    namespace["fresh"], namespace["fresh_outputs"] = _fresh, fresh_outputs
    source = "\n".join(lines)
    code = compile(source, f"<fad compiled {len(program)} instructions>", "exec")
    exec(code, namespace)
    straight = namespace["run"]

    def run(*args):
        if len(args) != n_args:
            raise TypeError(f"the compiled program takes {n_args} arguments, got {len(args)}")
        return straight(*args)

    run.straight = straight   # (callers that pass the right number of arguments)
    run.source = source       # (for reading, and tests)
    return run


def _return_lines(returns, sources, n_fixed) -> list:
    """The generated lines returning the results as ``_fresh_returns`` says: one call of
    ``fresh_outputs`` for the results to check, against the argument and constant
    ``sources`` they may be views of, then the list of results, copied where needed."""
    checked = [f"v{j}" for how, j in returns if how == "check"]
    lines = []
    if checked:
        lines.append(f"    {', '.join(checked)}, = fresh_outputs([{', '.join(checked)}], "
                     f"[{', '.join(f'v{j}' for j in sources)}])")
    results = [f"v{j}" if how != "copy" else f"v{j}.copy()" if j < n_fixed else f"fresh(v{j})"
               for how, j in returns]
    lines.append(f"    return [{', '.join(results)}]")
    return lines


def _constants_comment(fixed) -> list:
    """Comment lines saying what the globals ``v0 ...`` (constants, literals, folded
    values) hold: a scalar's value, an array's type."""
    if not fixed:
        return []
    shown = []
    for i, x in enumerate(fixed[:12]):
        try:
            aval = get_aval(x)
        except TypeError:   # (not an array: say what it is)
            shown.append(f"v{i}: {type(x).__name__}")
            continue
        if isinstance(x, (np.ndarray, np.generic)) and not aval.shape:
            shown.append(f"v{i} = {x.item()!r}:{aval.str_short()}")
        elif isinstance(x, (int, float, complex, bool)):
            shown.append(f"v{i} = {x!r}:{aval.str_short()}")
        else:   # (an array, or a value of an enclosing trace)
            shown.append(f"v{i}: {aval.str_short()}")
    more = f", ... v{len(fixed) - 1}" if len(fixed) > 12 else ""
    return [f"    # constants: {', '.join(shown)}{more}"]


# -- operators ---------------------------------------------------------------------------------

def _operator(symbol: str, fn):
    """``fn``, marked to be written in a compiled program as the Python expression
    ``symbol`` (a format string of the operands: ``"{0} * {1}"``)."""
    fn.expression = symbol
    return fn


_OPERATORS = {
    "add": _operator("{0} + {1}", lambda x, y: x + y),
    "sub": _operator("{0} - {1}", lambda x, y: x - y),
    "mul": _operator("{0} * {1}", lambda x, y: x * y),
    "div": _operator("{0} / {1}", lambda x, y: x / y),
    "neg": _operator("-{0}", lambda x: -x),
}
_POWERS: dict = {}   # exponent -> the operator ``{0} ** exponent``


# primitive -> the name of its operator in ``_OPERATORS`` (``"mul"``), or, for
# ``integer_pow``, ``"pow"``: the primitives a compiled program writes as Python's
# operators (``v3 = v1 * v2``: no function call) where that gives the same value — the
# operands of inexact dtypes, and one sure to be a NumPy value when the program runs
# (``may_be_python_scalar``): on NumPy values the operator is the ufunc the primitive
# calls, the same bits; two Python scalars would give a Python scalar.
operator_forms: dict = {}


def _operator_of(eqn, in_slots, maybe_python):
    """The operator computing ``eqn`` in a compiled program, or None."""
    name = operator_forms.get(eqn.primitive)
    if name is None or any(a.aval.dtype.kind not in "fc" for a in eqn.invars) or all(
            j in maybe_python for j in in_slots):
        return None
    if name != "pow":
        return None if eqn.params else _OPERATORS[name]
    y = eqn.params["y"]
    op = _POWERS.get(y)
    if op is None:
        op = _POWERS[y] = _operator(f"{{0}} ** {y}", lambda v: v ** y)
    return op


def _only_strengthens(eqn, in_slots, maybe_python) -> bool:
    """Whether ``eqn`` converts a NumPy value to its own dtype, changing only the weak
    type (``2.0 * x`` of a Python float ``x`` used as float64): nothing to do at run time,
    where NumPy values carry no weak type."""
    return (eqn.primitive.name == "convert_element_type"
            and eqn.params["new_dtype"] == eqn.invars[0].aval.dtype
            and in_slots[0] not in maybe_python)


def may_be_python_scalar(value) -> bool:
    """Whether a constant or literal of a program is a Python scalar."""
    return type(value) in PYTHON_SCALAR_TYPES


class _FunctionNames:
    """The names the generated code calls the impls by: ``np.<name>`` for NumPy's own
    functions, else the primitive's name (``name_2``, ... for a second impl of one
    primitive, e.g. a lowering rule's specialisation)."""

    def __init__(self, namespace: dict):
        self.namespace = namespace
        namespace["np"] = np
        self.named = {}   # id(impl) -> name

    def of(self, impl, prim_name: str) -> str:
        name = self.named.get(id(impl))
        if name is not None:
            return name
        numpy_name = getattr(impl, "__name__", None)
        if numpy_name and getattr(np, numpy_name, None) is impl:
            name = f"np.{numpy_name}"
        else:
            base = "".join(c if c.isalnum() else "_" for c in prim_name)
            if keyword.iskeyword(base) or not base.isidentifier():
                base += "_"   # (``while``)
            name, k = base, 1
            while name in self.namespace:
                k += 1
                name = f"{base}_{k}"
            self.namespace[name] = impl
        self.named[id(impl)] = name
        return name


_LITERAL_TYPES = (bool, int, str, type(None))


def _is_python_literal(value) -> bool:
    """Whether ``repr(value)`` is Python source that evaluates to ``value``."""
    if type(value) in _LITERAL_TYPES:
        return True
    if type(value) is float:
        return math.isfinite(value)
    return type(value) is tuple and all(_is_python_literal(x) for x in value)


def _split_params(params: dict):
    """``params`` as (written inline, passed from a global)."""
    inline = {k: v for k, v in params.items() if _is_python_literal(v) and k.isidentifier()}
    return inline, {k: v for k, v in params.items() if k not in inline}
