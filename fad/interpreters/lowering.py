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
"""
from __future__ import annotations

import math

import numpy as np

from fad.core.ir import ClosedJaxpr, Literal, dce_jaxpr

# primitive -> rule(*operand avals, **params) returning a NumPy function of the operands
# alone, specialised to those types and parameters, or None (then the impl runs). For
# primitives whose impl spends time choosing a strategy from the operands' layout
# (dot_general): a compiled program knows the layout, so it chooses once, here.
lowering_rules: dict = {}


def _instruction_key(prim, in_slots, params):
    """What identifies an instruction's result (primitives are pure), or ``None`` when
    its parameters are not hashable."""
    key = (prim, in_slots, tuple(sorted(params.items())))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def lower(closed: ClosedJaxpr):
    """A function running ``closed`` on NumPy values (flat list in, flat list out)."""
    jaxpr = dce_jaxpr(closed.jaxpr)
    slots = {}
    fixed = []  # values known before the call: constants, then literals

    def slot_of(atom):
        if type(atom) is Literal:
            fixed.append(atom.val)
            return len(fixed) - 1
        return slots[atom]

    for v, c in zip(jaxpr.constvars, closed.consts):
        slots[v] = len(fixed)
        fixed.append(c)
    # Literals and folded values are interned after the constants; inputs and temporaries
    # follow them, so their slot numbers are assigned in a second pass once ``fixed`` is
    # complete.
    pending, eqns = [], []
    for eqn in jaxpr.eqns:
        # an int is a slot known now (a constant, a literal or a folded value)
        ins = [slot_of(a) if type(a) is Literal else slots.get(a, a) for a in eqn.invars]
        if all(type(a) is int for a in ins):  # constant: fold it
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
    next_slot = n_fixed + len(jaxpr.invars)
    # slot -> number of elements, for the arguments and temporaries
    sizes = {n_fixed + i: math.prod(v.aval.shape) for i, v in enumerate(jaxpr.invars)}
    program = []
    computed = {}  # (primitive, input slots, params) -> output slots: compute each once
    for eqn, ins in zip(eqns, pending):
        in_slots = tuple(a if type(a) is int else slots[a] for a in ins)
        key = _instruction_key(eqn.primitive, in_slots, eqn.params)
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
        multiple = eqn.primitive.multiple_results
        impl, params = eqn.primitive.impl, eqn.params
        rule = lowering_rules.get(eqn.primitive)
        special = rule(*[a.aval for a in eqn.invars], **params) if rule else None
        if special is not None:
            impl, params = special, {}
        impl = getattr(impl, "unchecked", impl)   # the program was type-checked when staged
        if all(a.aval.shape for a in eqn.invars):
            # No scalar operands: an impl with a scalar fast path has a plain array one.
            impl = getattr(impl, "array_impl", impl)
        program.append((impl, in_slots, tuple(out_slots) if multiple else out_slots[0],
                        params))
        if key is not None:
            computed[key] = out_slots
    out_slots = [a if type(a) is int else slots[a] for a in literal_outs]
    run = _straight_line(program, fixed, len(jaxpr.invars), out_slots, sizes)
    run.jaxpr = jaxpr
    run.num_instructions = len(program)
    return run


_BIG = 4096   # elements: a temporary this large is freed as soon as it is dead


def _fresh(x):
    return x.copy() if type(x) is np.ndarray else x


def _straight_line(program, fixed, n_args, out_slots, sizes):
    """The program as one generated Python function: each instruction a line
    ``v7 = f3(v1, v2)`` on local variables (no interpreter loop, no slot list), with
    large temporaries deleted after their last use (a smaller working set).

    Slots: ``fixed`` values are globals ``v0 ...`` of the function, the arguments and
    temporaries its locals; the impls and parameters are globals ``f<i>``, ``p<i>``."""
    namespace = {f"v{i}": x for i, x in enumerate(fixed)}
    n_fixed = len(fixed)
    last_use = {}
    for i, (_, ins, _, _) in enumerate(program):
        for slot in ins:
            last_use[slot] = i
    for slot in out_slots:
        last_use[slot] = len(program)
    args = ", ".join(f"v{n_fixed + i}" for i in range(n_args))
    lines = [f"def run({args}):"]
    for i, (impl, ins, outs, params) in enumerate(program):
        namespace[f"f{i}"] = impl
        call = f"f{i}({', '.join(f'v{j}' for j in ins)}"
        if params:
            namespace[f"p{i}"] = params
            call += f"{', ' if ins else ''}**p{i}"
        target = (", ".join(f"v{j}" for j in outs) + ("," if len(outs) == 1 else "")
                  if type(outs) is tuple else f"v{outs}")
        lines.append(f"    {target} = {call})")
        dead = [j for j in ins if j >= n_fixed and last_use[j] == i and sizes[j] >= _BIG]
        if dead:
            lines.append(f"    del {', '.join(f'v{j}' for j in sorted(set(dead)))}")
    # Results are fresh arrays, as eager evaluation's are (the caller may update them in
    # place): a value fixed at compile time, or one returned twice, is copied.
    namespace["fresh"] = _fresh
    results, returned = [], set()
    for j in out_slots:
        if (j < n_fixed and type(fixed[j]) is np.ndarray) or j in returned:
            results.append(f"fresh(v{j})")
        else:
            results.append(f"v{j}")
        returned.add(j)
    lines.append(f"    return [{', '.join(results)}]")
    code = compile("\n".join(lines), f"<fad compiled {len(program)} instructions>", "exec")
    exec(code, namespace)
    straight = namespace["run"]

    def run(*args):
        if len(args) != n_args:
            raise TypeError(f"the compiled program takes {n_args} arguments, got {len(args)}")
        return straight(*args)

    run.straight = straight   # (callers that pass the right number of arguments)
    return run

