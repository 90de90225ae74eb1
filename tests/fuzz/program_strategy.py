"""Random well-typed fad programs, for the property tests in ``test_fuzz_programs.py``.

A program is Python source: a function ``f`` of one to three float64 arguments (shapes
``()``, ``(3,)``, ``(2, 3)``), returning one array or a pair, written with ``fnp``
(``fad.numpy``), ``lax`` and ``fad``: elementwise functions, broadcasting arithmetic,
reductions, reshapes and other structural functions, slices, gathers (constant and
traced indices), ``.at[...]`` updates, products, ``stop_gradient``, float32 casts, and
sub-functions under ``lax.cond``/``switch``/``scan``/``fori_loop``/``while_loop``,
``fad.custom_jvp``/``custom_vjp`` (rules that differentiate the same sub-function, so
correct by construction), ``fad.checkpoint``, ``fad.jit``, ``fad.vmap`` and ``fad.grad``,
nested two deep, closing over outer values or not. The source is the single truth: it is
what a failing test prints, and it is run twice, with fad's names (``FAD_NAMESPACE``)
and with NumPy ones that note every branch decision (``Reference``, at the end), the
latter an independent oracle for values and for whether finite differences cross a kink.

Values stay bounded (each carries a static bound on its magnitude, an operation is drawn
only if its result stays under ``BIG``, and loop carries go through ``tanh``), so that
float64 finite differences are meaningful and no NaN or infinity is ever right.

>>> from hypothesis import find
>>> p = find(programs(), lambda p: "lax.scan" in p.source)
>>> "def f(" in p.source and p.reverse
True
"""
from __future__ import annotations

import collections
import dataclasses
import functools
import itertools
import linecache
import math
import os
import types

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import fad
import fad.numpy as fnp
from fad import lax

BIG = 30.0            # no value a program computes exceeds this in magnitude
MAX_SIZE = 16         # nor has more elements than this
IN_SHAPES = [(), (3,), (2, 3)]
FAD_NAMESPACE = {"np": np, "fnp": fnp, "lax": lax, "fad": fad}
COUNTS = collections.Counter()   # property -> programs run (reported by conftest.py)

# name -> (template, bound of the result from the operand's bound)
UNARY = {
    "sin": ("fnp.sin({x})", lambda b: 1.0),
    "tanh": ("fnp.tanh({x})", lambda b: 1.0),
    "cos": ("fnp.cos({x})", lambda b: 1.0),
    "neg": ("-{x}", lambda b: b),
    "scale": ("0.5 * {x}", lambda b: 0.5 * b),
    "rsub": ("1.5 - {x}", lambda b: b + 1.5),
    "square": ("fnp.square({x})", lambda b: b * b),
    "sigmoid": ("fad.nn.sigmoid({x})", lambda b: 1.0),
    "arctan": ("fnp.arctan({x})", lambda b: 1.6),
    "exp": ("fnp.exp({x})", lambda b: math.exp(b) if b <= 3 else math.inf),
    "log1p_sq": ("fnp.log1p({x} * {x})", lambda b: math.log1p(b * b)),
    "sqrt1": ("fnp.sqrt({x} * {x} + 1.0)", lambda b: math.sqrt(b * b + 1)),
    "cube": ("{x} ** 3", lambda b: b ** 3),
    "pow": ("fnp.power(1.0 + {x} * {x}, 1.5)", lambda b: (1 + b * b) ** 1.5),
    "stop_gradient": ("fad.stop_gradient({x})", lambda b: b),   # not for finite differences
    "abs": ("fnp.abs({x})", lambda b: b),                        # kinks from here on
    "clip": ("fnp.clip({x}, -0.5, 0.7)", lambda b: min(b, 0.7)),
}
BINARY = {
    "add": ("{a} + {b}", lambda a, b: a + b),
    "mul": ("{a} * {b}", lambda a, b: a * b),
    "sub": ("{a} - {b}", lambda a, b: a + b),
    "div": ("{a} / (1.0 + {b} * {b})", lambda a, b: a),
    "maximum": ("fnp.maximum({a}, {b})", max),                   # kinks from here on
    "minimum": ("fnp.minimum({a}, {b})", max),
}
KINKS = {"abs", "clip", "maximum", "minimum", "max", "sort", "where", "cond", "switch", "while",
         "dynamic"}
# Ordered so that shrinking (towards the front) leaves plain arithmetic.
KINDS = ["unary", "binary", "unary", "binary", "reduce", "struct", "index", "at", "dot",
         "where", "reduce", "struct", "dynamic", "cast", "cond", "scan", "fori", "while", "switch",
         "custom_jvp", "custom_vjp", "checkpoint", "jit", "vmap", "grad"]
CONTROL = {"cond", "scan", "fori", "while", "switch", "custom_jvp", "custom_vjp",
           "checkpoint", "jit", "vmap", "grad"}


def register_profiles() -> None:
    """Register the hypothesis profiles of the fuzz tests (``conftest.py`` imports this
    module, so they exist before hypothesis reads ``--hypothesis-profile``):

    - ``fuzz-ci``, what the fuzz tests use unless told otherwise: a bounded,
      derandomized run, so that the suite stays fast and a failure reproduces;
    - ``long``: many examples per property, random, no deadline.
    """
    common = dict(deadline=None, print_blob=True,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                         HealthCheck.filter_too_much])
    settings.register_profile("fuzz-ci", max_examples=30, derandomize=True, database=None,
                              **common)
    settings.register_profile("long", max_examples=4000, **common)


register_profiles()


def fuzz_settings() -> settings:
    """The hypothesis settings of the fuzz tests: the ``long`` profile when it is loaded
    (``--hypothesis-profile=long``) or ``FAD_FUZZ_PROFILE`` names it, else ``fuzz-ci``;
    ``FAD_FUZZ_EXAMPLES``, if set, is the number of examples per property."""
    name = os.environ.get("FAD_FUZZ_PROFILE") or settings.get_current_profile_name()
    chosen = settings.get_profile("long" if name == "long" else "fuzz-ci")
    examples = os.environ.get("FAD_FUZZ_EXAMPLES")
    return settings(chosen, max_examples=int(examples)) if examples else chosen


@dataclasses.dataclass(frozen=True)
class Val:
    """A value of a program: its variable name, shape, a bound on its magnitude and its
    dtype's name."""
    name: str
    shape: tuple
    bound: float
    dtype: str = "float64"


def _promote(*vals) -> str:
    """The dtype NumPy gives an operation on ``vals`` (arrays and NumPy scalars alike)."""
    return "float64" if any(v.dtype == "float64" for v in vals) else "float32"


def _size(shape) -> int:
    return math.prod(shape)


def _bcast(*shapes):
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        return None


def _index_shape(shape, text):
    """The shape of ``x[text]`` for ``x`` of ``shape`` (None if NumPy rejects it)."""
    try:
        return np.empty(shape)[eval(f"np.s_[{text}]", {"np": np})].shape
    except IndexError:
        return None


class _Builder:
    """Draws the body of one function: its lines and the values they define.

    ``opts``: ``while``, ``custom_vjp``, ``stop_gradient``, ``cast`` (whether each may be
    drawn),
    ``kinks`` (whether anything non-smooth may), ``hessian`` (no custom_vjp inside the
    rules of another)."""

    def __init__(self, draw, opts, depth, names, params, outer=(), used=None):
        self.draw, self.opts, self.depth, self.names = draw, opts, depth, names
        self.used = set() if used is None else used   # features of the whole program
        self.params = list(params)
        self.lines = []
        self.env = self.params + (list(outer) if outer and draw(st.booleans()) else [])

    # -- helpers ------------------------------------------------------------------------
    def fresh(self, prefix="v"):
        return f"{prefix}{next(self.names)}"

    def emit(self, expr, shape, bound, like=(), dtype=None):
        """Define a value ``expr`` of ``shape``, ``bound`` and ``dtype`` (by default, what
        NumPy makes of the values ``like``)."""
        val = Val(self.fresh(), tuple(shape), float(bound), dtype or _promote(*like))
        self.lines.append(f"{val.name} = {expr}")
        self.env.append(val)
        return val

    def pick(self, ok=lambda v: True, fresh=False):
        """A value of the environment passing ``ok`` (None if there is none): half the
        time one of the two latest, so that chains of dependent values grow; ``fresh``:
        not a parameter, if there is one."""
        cands = [v for v in reversed(self.env) if ok(v)]
        if fresh:
            cands = [v for v in cands if v not in self.params] or cands
        if not cands:
            return None
        n = len(cands) - 1
        return cands[self.draw(st.one_of(st.integers(0, min(n, 1)), st.integers(0, n)))]

    def allowed(self, name):
        if name in KINKS and not self.opts["kinks"]:
            return False
        return self.opts.get(name, True)

    def run(self, n_ops):
        kinds = [k for k in KINDS if self.allowed(k) and (self.depth < 2 or k not in CONTROL)]
        done = 0
        for _ in range(3 * n_ops):
            if done == n_ops:
                break
            kind = self.draw(st.sampled_from(kinds))
            if self.allowed(kind) and getattr(self, "op_" + kind)():
                done += 1

    def fit(self, v, shape, dtype):
        """``v`` made of ``shape`` and ``dtype`` (an expression and its bound)."""
        if v.shape == shape:
            expr = v.name
        elif _size(v.shape) == _size(shape):
            expr = f"{v.name}.reshape({shape})"
        else:
            expr = f"fnp.broadcast_to(fnp.mean({v.name}), {shape})"
        return (expr if v.dtype == dtype else f"{expr}.astype(np.{dtype})"), v.bound

    def sub(self, params, closure=True, **opts):
        """A sub-function's builder, its parameters of the types of the values
        ``params``; ``opts`` change the options for it."""
        vals = [Val(self.fresh(), v.shape, v.bound, v.dtype) for v in params]
        child = _Builder(self.draw, dict(self.opts, **opts), self.depth + 1, self.names,
                         vals, self.env if closure else (), self.used)
        child.run(self.draw(st.integers(1, 3)))
        return child

    def define(self, child, ret, signature=None, prelude=()):
        """Emit ``def fN(signature): <prelude>; <child's lines>; return ret``; ``fN``."""
        name = self.fresh("f")
        sig = signature or ", ".join(v.name for v in child.params)
        self.lines.append(f"def {name}({sig}):")
        self.lines += ["    " + line for line in [*prelude, *child.lines, f"return {ret}"]]
        return name

    # -- plain operations -----------------------------------------------------------------
    def op_unary(self):
        x = self.pick()
        name = self.draw(st.sampled_from([u for u in UNARY if self.allowed(u)]))
        template, bound = UNARY[name]
        b = bound(x.bound)
        return b <= BIG and self.emit(template.format(x=x.name), x.shape, b, (x,))

    def op_binary(self):
        a = self.pick()
        b = self.pick(lambda v: _bcast(a.shape, v.shape) is not None
                      and _size(_bcast(a.shape, v.shape)) <= MAX_SIZE)
        if b is None:
            return False
        template, bound = BINARY[self.draw(st.sampled_from(
            [k for k in BINARY if self.allowed(k)]))]
        out = bound(a.bound, b.bound)
        return out <= BIG and self.emit(template.format(a=a.name, b=b.name),
                                        _bcast(a.shape, b.shape), out, (a, b))

    def op_where(self):
        p = self.pick()
        a = self.pick(lambda v: _bcast(p.shape, v.shape) is not None)
        c = self.pick(lambda v: _bcast(p.shape, a.shape, v.shape) is not None)
        shape = _bcast(p.shape, a.shape, c.shape)
        if _size(shape) > MAX_SIZE:
            return False
        thr = self.draw(st.sampled_from([0.0, 0.3, -0.5]))
        return self.emit(f"fnp.where(fnp.greater({p.name}, {thr}), {a.name}, {c.name})",
                         shape, max(a.bound, c.bound), (a, c))

    def op_reduce(self):
        x = self.pick()
        kind = self.draw(st.sampled_from(["sum", "mean", "prod", "cumsum", "logsumexp",
                                          "var"] + ["max"] * self.allowed("max")))
        axis = self.draw(st.sampled_from([None, *range(len(x.shape))]
                                         + [-1] * (len(x.shape) > 0)))
        keep = kind != "cumsum" and self.draw(st.booleans())
        if kind == "cumsum":
            shape = np.cumsum(np.empty(x.shape), axis=axis).shape
        else:
            shape = np.sum(np.empty(x.shape), axis=axis, keepdims=keep).shape
        n = _size(x.shape) if axis is None else x.shape[axis]
        bound = {"sum": n * x.bound, "mean": x.bound, "max": x.bound, "prod": x.bound ** n,
                 "cumsum": n * x.bound, "logsumexp": x.bound + math.log(n),
                 "var": x.bound ** 2}[kind]
        if bound > BIG:
            return False
        args = "" if axis is None else f"axis={axis}"
        if keep:
            args += (", " if args else "") + "keepdims=True"
        if kind == "logsumexp":
            return self.emit(f"fad.scipy.special.logsumexp({x.name}"
                             f"{', ' + args if args else ''})", shape, bound, (x,))
        # the method or the function (max as a function: the reference notes its kinks)
        if kind != "max" and self.draw(st.booleans()):
            return self.emit(f"{x.name}.{kind}({args})", shape, bound, (x,))
        return self.emit(f"fnp.{kind}({x.name}{', ' + args if args else ''})", shape, bound,
                         (x,))

    def op_struct(self):
        x = self.pick()
        nd = len(x.shape)
        kind = self.draw(st.sampled_from(["reshape", "transpose", "broadcast", "expand",
                                          "concatenate", "stack", "flip", "roll", "tile",
                                          "pad", "squeeze", "tril", "sort"]))
        axis = self.draw(st.integers(0, max(nd - 1, 0)))
        forms = {   # kind -> (applies, expression)
            "transpose": (nd == 2, self.draw(st.sampled_from(
                ["{x}.T", "fnp.transpose({x})", "fnp.swapaxes({x}, 0, 1)"]))),
            "flip": (nd > 0, f"fnp.flip({{x}}, axis={axis})"),
            "roll": (nd > 0, f"fnp.roll({{x}}, 1, axis={axis})"),
            "tile": (2 * _size(x.shape) <= MAX_SIZE, "fnp.tile({x}, 2)"),
            "pad": (0 < nd and _size(np.empty(x.shape)[..., :1].shape) * (x.shape[-1] + 2)
                    <= MAX_SIZE, "fnp.pad({x}, [(0, 0)] * ({x}.ndim - 1) + [(1, 1)])"),
            "squeeze": (1 in x.shape, "fnp.squeeze({x})"),
            "tril": (nd == 2, "fnp.tril({x})"),
            "sort": (nd > 0 and self.allowed("sort"), f"fnp.sort({{x}}, axis={axis})"),
        }
        if kind in forms:
            applies, form = forms[kind]
            if not applies:
                return False
            probe = Reference().names()
            shape = eval(form.format(x="z"), {**probe, "z": np.zeros(x.shape)}).shape
            return self.emit(form.format(x=x.name), shape, x.bound, (x,))
        if kind == "reshape":
            n = _size(x.shape)
            targets = [s for s in [(), (1,), (n,), (1, n), (n, 1), (2, n // 2), (3, n // 3)]
                       if _size(s) == n and s != x.shape]
            t = self.draw(st.sampled_from(targets))
            form = self.draw(st.sampled_from(["{x}.reshape({t})", "fnp.reshape({x}, {t})"]))
            return self.emit(form.format(x=x.name, t=t), t, x.bound, (x,))
        if kind == "broadcast":
            targets = [t for t in [(3,), (2,), (2, 3), (3, 2), (2, 2), (2, 1, 3)]
                       if t != x.shape and _bcast(x.shape, t) == t]
            if not targets:
                return False
            t = self.draw(st.sampled_from(targets))
            return self.emit(f"fnp.broadcast_to({x.name}, {t})", t, x.bound, (x,))
        if kind == "expand":
            axis = self.draw(st.integers(0, nd))
            shape = x.shape[:axis] + (1,) + x.shape[axis:]
            if axis == 0 and self.draw(st.booleans()):
                return self.emit(f"{x.name}[None]", shape, x.bound, (x,))
            return self.emit(f"fnp.expand_dims({x.name}, {axis})", shape, x.bound, (x,))
        if kind == "stack":
            y = self.pick(lambda v: v.shape == x.shape)
            if 2 * _size(x.shape) > MAX_SIZE:
                return False
            shape = x.shape[:axis] + (2,) + x.shape[axis:]
            return self.emit(f"fnp.stack([{x.name}, {y.name}], axis={axis})", shape,
                             max(x.bound, y.bound), (x, y))
        y = self.pick(lambda v: len(v.shape) == nd > 0 and all(
            a == b for i, (a, b) in enumerate(zip(v.shape, x.shape)) if i != axis))
        if y is None:
            return False
        shape = list(x.shape)
        shape[axis] += y.shape[axis]
        if _size(shape) > MAX_SIZE:
            return False
        return self.emit(f"fnp.concatenate([{x.name}, {y.name}], axis={axis})", shape,
                         max(x.bound, y.bound), (x, y))

    def index_text(self, shape, unique):
        """A NumPy index into an array of ``shape``: slices, ints, at most one int array
        (with repeats unless ``unique``), for the leading axes or, after ``...``, the
        trailing ones."""
        k = self.draw(st.integers(1, len(shape)))
        ellipsis = k < len(shape) and self.draw(st.booleans())
        parts, array_used = [], False
        for n in (shape[-k:] if ellipsis else shape[:k]):
            choices = [":", "0", "-1"] + (["1:", "::-1", "1"] if n >= 2 else []) \
                + (["::2", ":2"] if n >= 3 else [])
            if not array_used:
                choices.append("array")
            part = self.draw(st.sampled_from(choices))
            if part == "array":
                array_used = True
                m = self.draw(st.integers(1, min(3, n) if unique else 3))
                idx = self.draw(st.lists(st.integers(-n, n - 1), min_size=m, max_size=m,
                                         unique_by=(lambda i: i % n) if unique else None))
                part = f"np.array({idx})"
            parts.append(part)
        return ", ".join((["..."] if ellipsis else []) + parts)

    def op_index(self):
        x = self.pick(lambda v: len(v.shape) > 0)
        if x is None:
            return False
        text = self.index_text(x.shape, unique=False)
        shape = _index_shape(x.shape, text)
        if shape is None or _size(shape) == 0:
            return False
        return self.emit(f"{x.name}[{text}]", shape, x.bound, (x,))

    def update(self, x, text, t, unique):
        """``x.at[text].set/add(...)`` of a value or a scalar broadcast to shape ``t``."""
        mode = self.draw(st.sampled_from(["add", "set", "mul"] if unique else ["add"]))
        v = self.pick(lambda v: _bcast(v.shape, t) == t)
        value, vb = (v.name, v.bound) if v is not None and self.draw(st.booleans()) \
            else ("0.5", 0.5)
        bound = {"add": x.bound + 3 * vb, "set": max(x.bound, vb), "mul": x.bound * vb}[mode]
        return bound <= BIG and self.emit(f"{x.name}.at[{text}].{mode}({value})", x.shape,
                                          bound, (x,))

    def op_at(self):
        x = self.pick(lambda v: len(v.shape) > 0)
        if x is None:
            return False
        unique = self.draw(st.booleans())
        text = self.index_text(x.shape, unique=unique)
        t = _index_shape(x.shape, text)
        return t is not None and _size(t) > 0 and self.update(x, text, t, unique)

    def op_dynamic(self):
        """Indexing (``x[i]``, ``take``, ``.at[i]``) at a traced index ``i``."""
        x = self.pick(lambda v: len(v.shape) > 0)
        y = self.pick(lambda v: len(v.shape) > 0)
        if x is None:
            return False
        if self.draw(st.booleans()):
            i = f"fnp.argmax({y.name}) % {x.shape[0]}"
            return self.update(x, i, x.shape[1:], unique=True)
        # (take, not x[i]: x may be a NumPy array, which a traced index cannot index)
        axis = self.draw(st.integers(0, len(x.shape) - 1))
        i = f"fnp.argmax({y.name}) % {x.shape[axis]}"
        return self.emit(f"fnp.take({x.name}, {i}, axis={axis})",
                         x.shape[:axis] + x.shape[axis + 1:], x.bound, (x,))

    def op_cast(self):
        x = self.pick()
        to = "float32" if x.dtype == "float64" else "float64"
        form = self.draw(st.sampled_from(["{x}.astype(np.{t})",
                                          "fnp.asarray({x}, dtype=np.{t})"]))
        self.used.add("float32")
        return self.emit(form.format(x=x.name, t=to), x.shape, x.bound, dtype=to)

    def op_dot(self):
        a = self.pick(lambda v: len(v.shape) in (1, 2))
        if a is None:
            return False
        n = a.shape[-1]
        b = self.pick(lambda v: len(v.shape) in (1, 2) and v.shape[0] == n)
        if b is not None and self.draw(st.booleans()):
            shape = a.shape[:-1] + b.shape[1:]
            form = self.draw(st.sampled_from(["{a} @ {b}", "fnp.dot({a}, {b})",
                                              "fnp.matmul({a}, {b})"]))
            bound = n * a.bound * b.bound
            return bound <= BIG and self.emit(form.format(a=a.name, b=b.name), shape, bound,
                                              (a, b))
        b = self.pick(lambda v: v.shape == a.shape)
        if len(a.shape) == 1 and self.draw(st.booleans()):
            shape, form = (n, n), "fnp.outer({a}, {b})"
            bound = a.bound * b.bound
        else:
            spec = "i,i->" if len(a.shape) == 1 else "ij,ij->i"
            shape, form = a.shape[:-1], f"fnp.einsum({spec!r}, {{a}}, {{b}})"
            bound = n * a.bound * b.bound
        if bound > BIG or _size(shape) > MAX_SIZE:
            return False
        return self.emit(form.format(a=a.name, b=b.name), shape, bound, (a, b))

    # -- control flow and sub-functions -----------------------------------------------------
    def operands(self):
        ops = [self.pick()]
        if self.draw(st.booleans()):
            ops.append(self.pick())
        return ops

    def branches(self, ops, k):
        """``k`` sub-functions of ``ops``' types, their results of one shape."""
        children = [self.sub(ops) for _ in range(k)]
        first = children[0].pick(fresh=True)
        names, bound = [], 0.0
        for child in children:
            expr, b = child.fit(first if child is children[0] else child.pick(fresh=True),
                                first.shape, first.dtype)
            names.append(self.define(child, expr))
            bound = max(bound, b)
        return names, first, bound

    def op_cond(self):
        ops, p = self.operands(), self.pick()
        (t, f), first, bound = self.branches(ops, 2)
        thr = self.draw(st.sampled_from([0.0, 0.5, -0.3]))
        args = ", ".join(o.name for o in ops)
        self.used.add("cond")
        return self.emit(f"lax.cond(fnp.greater(fnp.sum({p.name}), {thr}), {t}, {f}, {args})",
                         first.shape, bound, (first,))

    def op_switch(self):
        p = self.pick(lambda v: len(v.shape) > 0)
        if p is None:
            return False
        ops = self.operands()
        names, first, bound = self.branches(ops, self.draw(st.integers(2, 3)))
        args = ", ".join(o.name for o in ops)
        self.used.add("switch")
        return self.emit(f"lax.switch(fnp.argmax({p.name}), [{', '.join(names)}], {args})",
                         first.shape, bound, (first,))

    def step(self, carries, extra=()):
        """A loop body over the values ``carries`` (and parameters ``extra``): its builder
        and the expressions of the next carries (squashed by ``tanh``, so that they stay
        bounded however many steps run)."""
        child = self.sub([dataclasses.replace(c, bound=max(c.bound, 1.0)) for c in carries]
                         + list(extra))
        nxt = [f"fnp.tanh({child.fit(child.pick(fresh=True), c.shape, c.dtype)[0]})"
               for c in carries]
        return child, nxt

    def op_scan(self):
        carries = self.operands()
        xs = self.pick(lambda v: len(v.shape) > 0) if self.draw(st.booleans()) else None
        extra = [] if xs is None else [Val("", xs.shape[1:], xs.bound, xs.dtype)]
        child, nxt = self.step(carries, extra)
        length = self.draw(st.integers(1, 3)) if xs is None else xs.shape[0]
        y = child.pick()
        if _size((length,) + y.shape) > MAX_SIZE:
            return False
        c_names = [v.name for v in child.params[:len(carries)]]
        c, x = self.fresh("c"), child.params[-1].name if xs is not None else "_"
        body = self.define(child, f"({', '.join(nxt)},), {y.name}", f"{c}, {x}",
                           [f"{', '.join(c_names)}, = {c}"])
        rest = f"None, length={length}" if xs is None else xs.name
        if self.draw(st.booleans()):
            rest += ", reverse=True"
        outs = [Val(self.fresh(), v.shape, max(v.bound, 1.0), v.dtype) for v in carries]
        ys = Val(self.fresh(), (length,) + y.shape, y.bound, y.dtype)
        init = ", ".join(v.name for v in carries)
        self.lines.append(f"({', '.join(v.name for v in outs)},), {ys.name} = "
                          f"lax.scan({body}, ({init},), {rest})")
        self.env += [*outs, ys]
        self.used.add("scan")
        return True

    def op_fori(self):
        c = self.pick()
        n = self.draw(st.integers(0, 3))
        child, (nxt,) = self.step([dataclasses.replace(c, bound=max(c.bound, 1.0) + 0.1 * n)])
        p = child.params[0].name
        # (0.1 * i is a float64: NumPy promotes a float32 carry, which must keep its type)
        step = "0.1 * i" if c.dtype == "float64" else f"fnp.asarray(0.1 * i, dtype=np.{c.dtype})"
        body = self.define(child, nxt, f"i, {p}", [f"{p} = {p} + {step}"])
        self.used.add("fori")
        return self.emit(f"lax.fori_loop(0, {n}, {body}, {c.name})", c.shape,
                         max(c.bound, 1.0), (c,))

    def op_while(self):
        c = self.pick()
        child, (nxt,) = self.step([c])
        body = self.define(child, nxt)
        n = self.draw(st.integers(0, 4))
        thr = self.draw(st.sampled_from([0.5, 1.0, -0.2]))
        self.used.add("while")
        return self.emit(f"lax.while_loop(lambda s: fnp.logical_and(s[0] < {n}, fnp.less("
                         f"fnp.sum(s[1]), {thr})), lambda s: (s[0] + 1, {body}(s[1])), "
                         f"(0, {c.name}))[1]", c.shape, max(c.bound, 1.0), (c,))

    def wrapped(self, closure, **opts):
        """A sub-function of one or two values: (its name, the arguments, the result)."""
        ops = self.operands()
        child = self.sub(ops, closure=closure, **opts)
        r = child.pick(fresh=True)
        return self.define(child, r.name), ", ".join(o.name for o in ops), r

    def op_custom_jvp(self):
        self.used.add("custom_jvp")
        # (the rule is fad.jvp of the sub-function: no custom_vjp there)
        g, args, r = self.wrapped(closure=False, custom_vjp=False)
        self.lines += [f"{g}_c = fad.custom_jvp({g})",
                       f"{g}_c.defjvp(lambda p, t: fad.jvp({g}, p, t))"]
        return self.emit(f"{g}_c({args})", r.shape, r.bound, (r,))

    def op_custom_vjp(self):
        # hessian differentiates the rules in forward mode, and so a custom_vjp function
        # that the fwd rule of another calls (an error, as in JAX)
        self.used.add("custom_vjp")
        g, args, r = self.wrapped(closure=False, custom_vjp=not self.opts["hessian"])
        self.lines += [f"{g}_c = fad.custom_vjp({g})",
                       f"{g}_c.defvjp(lambda *a: ({g}(*a), a), "
                       f"lambda res, ct: fad.vjp({g}, *res)[1](ct))"]
        return self.emit(f"{g}_c({args})", r.shape, r.bound, (r,))

    def op_checkpoint(self):
        g, args, r = self.wrapped(closure=True)
        policy = self.draw(st.sampled_from(["", ", policy=fad.checkpoint_policies."
                                                "dots_saveable"]))
        self.used.add("checkpoint")
        return self.emit(f"fad.checkpoint({g}{policy})({args})", r.shape, r.bound, (r,))

    def op_jit(self):
        g, args, r = self.wrapped(closure=True)
        self.used.add("jit")
        return self.emit(f"fad.jit({g})({args})", r.shape, r.bound, (r,))

    def op_vmap(self):
        x = self.pick(lambda v: len(v.shape) > 0)
        if x is None:
            return False
        axis = self.draw(st.integers(0, len(x.shape) - 1))
        inner = x.shape[:axis] + x.shape[axis + 1:]
        other = self.pick() if self.draw(st.booleans()) else None
        params = [dataclasses.replace(x, shape=inner)] + ([other] if other else [])
        child = self.sub(params)
        r = child.pick(fresh=True)
        shape = (x.shape[axis],) + r.shape
        if _size(shape) > MAX_SIZE:
            return False
        g = self.define(child, r.name)
        self.used.add("vmap")
        if other is None:
            return self.emit(f"fad.vmap({g}, in_axes={axis})({x.name})", shape, r.bound,
                             (r,))
        return self.emit(f"fad.vmap({g}, in_axes=({axis}, None))({x.name}, {other.name})",
                         shape, r.bound, (r,))

    def op_grad(self):
        """``grad`` of a smooth sub-function (its derivative is differentiated again by
        the tests, and the reference runs it with fad, unable to note kinks)."""
        x = self.pick()
        child = self.sub([x], kinks=False, custom_vjp=False)
        g = self.define(child, f"fnp.sum({child.pick(fresh=True).name})")
        self.used.add("grad")
        return self.emit(f"fnp.tanh(fad.grad({g})({x.name}))", x.shape, 1.0, (x,))


class Program:
    """A generated program: ``source`` defines ``f`` (returning an array, or a tuple of
    two: ``out_shapes``) and ``loss`` (a weighted sum of ``f``'s results, for ``grad``
    and ``hessian``)."""

    def __init__(self, source, in_shapes, out_shapes, features):
        self.source, self.in_shapes = source, in_shapes
        self.out_shapes, self.features = list(out_shapes), frozenset(features)

    def __repr__(self):
        return f"Program(features={sorted(self.features)}):\n{self.source}"

    def namespace(self, names):
        """Run the source with ``names`` bound as globals; the resulting globals."""
        filename = f"<fuzz program {abs(hash(self.source)):x}>"
        linecache.cache[filename] = (len(self.source), None,
                                     self.source.splitlines(True), filename)
        glb = dict(names)
        exec(compile(self.source, filename, "exec"), glb)
        return glb

    @functools.cached_property
    def f(self):
        """The program as a function of fad."""
        return self.namespace(FAD_NAMESPACE)["f"]

    @functools.cached_property
    def loss(self):
        """``sum(f(*args) * W)``: a real scalar of ``f``'s result, with weights that
        differ from element to element (so that a transposed map shows)."""
        return self.namespace(FAD_NAMESPACE)["loss"]

    @property
    def forward(self):
        """Whether forward mode (jvp) applies: no custom_vjp."""
        return "custom_vjp" not in self.features

    @property
    def reverse(self):
        """Whether reverse mode (vjp, grad) applies: no while_loop."""
        return "while" not in self.features

    def reference(self, *args):
        """``f(*args)`` run on NumPy alone: ``(result, Reference)``, the latter holding
        every branch decision taken."""
        ref = Reference()
        out = self.namespace(ref.names())["f"](*args)
        return (tuple(map(np.asarray, out)) if isinstance(out, tuple) else np.asarray(out)), ref


@st.composite
def programs(draw, forward=False, reverse=False, hessian=False, smooth=False,
             float32=False, max_ops=6):
    """Programs; ``forward``/``reverse``: only programs that forward (reverse) mode
    differentiates (no ``custom_vjp``; no ``while_loop``); ``hessian``: that
    forward-over-reverse differentiates (no ``while_loop``, no ``custom_vjp`` inside
    another); ``smooth``: whose derivatives are those of the function (no
    ``stop_gradient``); ``float32``: casting values to float32 and back."""
    shapes = draw(st.lists(st.sampled_from(IN_SHAPES), min_size=1, max_size=3))
    names = itertools.count(len(shapes))
    params = [Val(f"v{i}", s, 2.0) for i, s in enumerate(shapes)]
    opts = {"while": not (reverse or hessian), "custom_vjp": not forward, "kinks": True,
            "hessian": hessian, "stop_gradient": not smooth, "cast": float32}
    b = _Builder(draw, opts, 0, names, params)
    b.run(draw(st.integers(1, max_ops)))
    outs = [b.pick(fresh=True) for _ in range(draw(st.integers(1, 2)))]
    ret = ", ".join(v.name for v in outs) + ("," if len(outs) > 1 else "")
    body = "\n".join("    " + line for line in b.lines + [f"return {ret}"])
    weights = [np.round(np.linspace(0.5, 1.5, _size(v.shape)), 3).reshape(v.shape)
               for v in outs]
    if len(outs) == 1:
        loss = "    return fnp.sum(f(*args) * W0)\n"
    else:
        loss = "    out = f(*args)\n    return fnp.sum(out[0] * W0) + fnp.sum(out[1] * W1)\n"
    source = (f"def f({', '.join(p.name for p in params)}):\n{body}\n\n\n"
              + "".join(f"W{i} = np.array({w.tolist()!r})\n" for i, w in enumerate(weights))
              + f"\n\ndef loss(*args):\n{loss}")
    return Program(source, tuple(shapes), [v.shape for v in outs], b.used)


@st.composite
def arguments(draw, program, smooth=True, batch=None):
    """Arguments for ``program``: uniform in [-2, 2] from a drawn seed (``smooth``), or
    also from a few round values that make ties and zeros; 0-d ones as NumPy scalars or
    0-d arrays. ``batch``: a leading axis of that size on every argument."""
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    rounded = not smooth and draw(st.booleans())
    args = []
    for shape in program.in_shapes:
        shape = ((batch,) if batch else ()) + shape
        x = rng.choice([-1.0, -0.5, 0.0, 0.5, 1.0], shape) if rounded \
            else rng.uniform(-2, 2, shape)
        args.append(np.asarray(x) if shape or draw(st.booleans()) else np.float64(x))
    return tuple(args)


def _rebound(fun, names):
    """``fun`` with the global names ``names`` (its closure kept)."""
    return types.FunctionType(fun.__code__, {**fun.__globals__, **names}, fun.__name__,
                              fun.__defaults__, fun.__closure__)


class Reference:
    """NumPy versions of the names a program uses, noting each data-dependent branch
    decision (``decisions``: signs) and how near the nearest kink was (``margin``)."""

    def __init__(self):
        self.decisions, self.margin = [], math.inf

    def note(self, gap):
        gap = np.asarray(gap, dtype=float)
        self.decisions.append(np.sign(gap))
        if gap.size:
            self.margin = min(self.margin, float(np.min(np.abs(gap))))

    def names(self):
        """The globals a program runs with on NumPy: ``np``, ``fnp``, ``lax``, ``fad``."""
        ref = self

        def gaps(x, axis):   # between the two largest along ``axis`` (all: None)
            a = np.asarray(x)
            a = np.sort(a.reshape(-1) if axis is None else np.moveaxis(a, axis, -1))
            if a.shape[-1] > 1:
                ref.note(a[..., -1] - a[..., -2])

        class NumPy:
            def __getattr__(self, name):
                return getattr(np, name)

            def abs(self, x):
                ref.note(x)
                return np.abs(x)

            def maximum(self, a, b):
                ref.note(np.subtract(a, b))
                return np.maximum(a, b)

            def minimum(self, a, b):
                ref.note(np.subtract(a, b))
                return np.minimum(a, b)

            def clip(self, x, lo, hi):
                ref.note(np.subtract(x, lo))
                ref.note(np.subtract(x, hi))
                return np.clip(x, lo, hi)

            def greater(self, a, b):
                ref.note(np.subtract(a, b))
                return np.greater(a, b)

            def less(self, a, b):
                ref.note(np.subtract(a, b))
                return np.less(a, b)

            def max(self, x, axis=None, keepdims=False):
                gaps(x, axis)
                return np.max(x, axis=axis, keepdims=keepdims)

            def argmax(self, x):
                gaps(x, None)
                return np.argmax(x)

            def sort(self, x, axis=-1):
                s = np.sort(x, axis=axis)
                ref.note(np.diff(s, axis=axis))
                return s

        def vmap(fun, in_axes=0):
            def mapped(*args):
                axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
                n = next(np.shape(a)[ax] for a, ax in zip(args, axes) if ax is not None)
                return np.stack([fun(*[a if ax is None else np.take(a, i, axis=ax)
                                       for a, ax in zip(args, axes)]) for i in range(n)])
            return mapped

        class Custom:
            def __init__(self, fun):
                self.fun = fun

            def __call__(self, *args):
                return self.fun(*args)

            def defjvp(self, rule):
                return rule

            def defvjp(self, fwd, bwd):
                return None

        def scan(f, init, xs=None, length=None, reverse=False):
            n = length if xs is None else len(xs)
            carry, ys = init, [None] * n
            for i in (reversed(range(n)) if reverse else range(n)):
                carry, ys[i] = f(carry, None if xs is None else xs[i])
            return carry, np.stack(ys)

        def fori_loop(lo, hi, body, x):
            for i in range(lo, hi):
                x = body(i, x)
            return x

        def while_loop(cond, body, x):
            while cond(x):
                x = body(x)
            return x

        def logsumexp(x, axis=None, keepdims=False):
            top = np.max(x, axis=axis, keepdims=True)
            out = np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True)) + top
            return out if keepdims else np.squeeze(out, axis=axis)

        rlax = types.SimpleNamespace(
            cond=lambda p, t, f, *ops: t(*ops) if p else f(*ops),
            switch=lambda i, bs, *ops: bs[min(max(int(i), 0), len(bs) - 1)](*ops),
            scan=scan, fori_loop=fori_loop, while_loop=while_loop)
        rfad = types.SimpleNamespace(
            custom_jvp=Custom, custom_vjp=Custom, jit=lambda g: g, vmap=vmap,
            checkpoint=lambda g, policy=None: g, stop_gradient=lambda x: x,
            # (a derivative: fad's, of the sub-function run with fad's names)
            grad=lambda g: fad.grad(_rebound(g, FAD_NAMESPACE)),
            checkpoint_policies=types.SimpleNamespace(dots_saveable=None),
            nn=types.SimpleNamespace(sigmoid=lambda x: 1 / (1 + np.exp(-x))),
            scipy=types.SimpleNamespace(special=types.SimpleNamespace(logsumexp=logsumexp)))
        return {"np": np, "fnp": NumPy(), "lax": rlax, "fad": rfad}
