"""The primitives the rules themselves use, below the registration helpers (``rules``).

Derivative rules multiply and negate (``mul``, ``neg``); broadcasting, batching and
transpose rules broadcast, reshape, transpose, sum and convert. Those primitives are
defined here with their implementations, shape and batching rules (and the elementwise
shape and batching rules), importing nothing else of ``fad.lax``; their derivative rules
are registered above, beside their kin, in ``elementwise``, ``structural`` and
``reductions``."""
from __future__ import annotations

import operator

import numpy as np
from numpy.exceptions import AxisError

from fad.core import dtypes
from fad.core.abstract import ShapedArray, get_aval
from fad.core.dtypes import INEXACT_SCALAR_TYPES, PYTHON_SCALAR_TYPES
from fad.core.primitive import Primitive
from fad.interpreters import batching
from fad.interpreters.batching import batch_rules
from fad.core import doc_examples as _doc_examples


# -- axes -----------------------------------------------------------------------------------

def normalize_axis(axis, ndim: int, name: str | None = None) -> int:
    """``axis`` in ``range(ndim)``, negative axes counting from the end: fad's one axis
    normaliser. Out of range it raises NumPy's ``AxisError`` (a ``ValueError`` and an
    ``IndexError``), with NumPy's message when no function ``name`` is given; a
    non-integer raises ``TypeError``.

    >>> normalize_axis(-1, 3)
    2
    """
    try:
        i = operator.index(axis)
    except TypeError:
        raise TypeError(f"{name or 'axis'}: axis must be an integer, got {axis!r}") from None
    if not -ndim <= i < ndim:
        if name is None:
            raise AxisError(i, ndim)
        raise AxisError(f"{name}: axis {i} is out of range for an array of rank {ndim}")
    return i % ndim


def normalize_axes(axes, ndim: int, name: str | None = None) -> tuple[int, ...]:
    """A sequence of distinct axes (or one axis) normalised by ``normalize_axis``, in the
    order given."""
    if not isinstance(axes, (tuple, list)):
        axes = (axes,) if np.ndim(axes) == 0 else tuple(axes)
    out = tuple(normalize_axis(a, ndim, name) for a in axes)
    if len(set(out)) != len(out):
        raise ValueError(f"{name or 'axis'}: repeated axis in {tuple(axes)}")
    return out


# -- elementwise shape and batching rules ---------------------------------------------------

def broadcast_shapes(name, *shapes):
    """NumPy's ``broadcast_shapes``; a ``ValueError`` that names the operation ``name``
    if the shapes do not broadcast.

    >>> import numpy as np, fad, fad.lax as lax
    >>> lax.broadcast_shapes('add', (2, 1), (3,))
    (2, 3)
    """
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
    result dtype (e.g. bool for comparisons), else it is the operands' dtype.

    >>> import numpy as np, fad, fad.lax as lax
    >>> from fad.core.abstract import ShapedArray
    >>> rule = lax.elementwise_rule('less', out_dtype=np.bool_)
    >>> rule(ShapedArray((2, 1), np.float64), ShapedArray((3,), np.float64))
    ShapedArray((2, 3), bool)
    """
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


def elementwise(name, impl, kinds=ALL_KINDS, out_dtype=None) -> Primitive:
    """An elementwise primitive, with its NumPy impl and shape rule, vectorised for vmap.

    >>> import numpy as np, fad, fad.lax as lax
    >>> from fad.extend import defderiv
    >>> hypot_p = lax.elementwise('doc_hypot', np.hypot, kinds='f')
    >>> defderiv(hypot_p, lambda ans, x, y: x / ans, lambda ans, x, y: y / ans)
    >>> hypot_p.bind(3.0, 4.0), fad.grad(hypot_p.bind)(3.0, 4.0)
    (np.float64(5.0), np.float64(0.6))
    """
    prim = Primitive(name)
    prim.def_impl(impl)
    prim.def_abstract_eval(elementwise_rule(name, kinds, out_dtype))
    batch_rules[prim] = make_batch_elementwise(prim)
    return prim


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
        ranks = [get_aval(x).ndim - (d is not None) for x, d in zip(args, dims)]
        rank = max(ranks)
        moved = []
        for x, d, r in zip(args, dims, ranks):
            if d is not None:
                x = batch_axis_at(x, d)
                if r < rank:
                    x = expand_dims(x, tuple(range(1, 1 + rank - r)))
            moved.append(x)
        return prim.bind(*moved, **params), 0
    return rule


# -- operands of the binary primitives --------------------------------------------------------

_KIND_RANK = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}
_SCALAR_KIND = {bool: "b", int: "i", float: "f", complex: "c"}
_PY_TYPE_OF_KIND = {"b": bool, "i": int, "u": int, "f": float, "c": complex}


def _scalar_like(name, v, other):
    """The Python scalar ``v`` as a NumPy scalar of ``other``'s dtype; a value that would
    change (``2.5`` for an int32 operand) is a ``TypeError`` rather than truncated."""
    aval = get_aval(other)
    dtype = aval.dtype
    if type(v) is float and dtype.kind in "fc" and not aval.weak_type:
        return dtype.type(v)  # the common case, e.g. x * 2.0
    if aval.weak_type:       # both weak (e.g. a traced Python scalar): stay weak, as in NumPy
        if _KIND_RANK[_SCALAR_KIND[type(v)]] < _KIND_RANK.get(dtype.kind, 0):
            return _PY_TYPE_OF_KIND[dtype.kind](v)   # 1 -> 1.0 for a float: one dtype
        return v
    exact_kind = _KIND_RANK[_SCALAR_KIND[type(v)]] <= _KIND_RANK.get(dtype.kind, 3)
    try:
        if exact_kind:
            return dtype.type(v)
        with np.errstate(all="ignore"):
            out = dtype.type(v)
        if out == v:
            return out
    except (OverflowError, TypeError, ValueError):
        pass
    raise TypeError(f"{name}: the Python scalar {v!r} does not convert exactly to the "
                    f"other operand's dtype {dtype}; convert the operands to one dtype "
                    "first (fad.numpy promotes them automatically)")


def _promote(x, y, name="lax"):
    """Give a Python scalar operand the dtype of the other (array) operand; two Python
    scalars of different kinds promote as Python does (``1 / 5.0``: the int becomes a
    float), which matters when a program is staged rather than evaluated."""
    tx, ty = type(x), type(y)
    if tx in PYTHON_SCALAR_TYPES:
        if ty not in PYTHON_SCALAR_TYPES:
            x = _scalar_like(name, x, y)
        elif tx is not ty:
            to = tx if _PYTHON_RANK[tx] > _PYTHON_RANK[ty] else ty
            x, y = to(x), to(y)
    elif ty in PYTHON_SCALAR_TYPES:
        y = _scalar_like(name, y, x)
    return x, y


_PYTHON_RANK = {bool: 0, int: 1, float: 2, complex: 3}


def _unary(prim):
    def op(x):
        return prim.bind(x)
    op.__name__ = prim.name
    op.__doc__ = f"Elementwise ``{prim.name}``.\n\n{_doc_examples.lax_example(prim.name, 1)}\n"
    return op


def _binary(prim):
    def op(x, y):
        return prim.bind(*_promote(x, y, prim.name))
    op.__name__ = prim.name
    op.__doc__ = (f"Elementwise ``{prim.name}`` with NumPy broadcasting.\n\n"
                  f"{_doc_examples.lax_example(prim.name, 2)}\n")
    return op


# NumPy's float scalars do arithmetic through their operators ~10x faster than through
# ufuncs (which convert them to 0-d arrays and back), with the same result: scalar code
# (grad at a point, the inner loops of user code) takes the operator.
_SCALAR_OPERANDS = INEXACT_SCALAR_TYPES | {float}


def _scalar_fast(ufunc, op):
    def impl(x, y):
        tx, ty = type(x), type(y)
        if (tx in INEXACT_SCALAR_TYPES and ty in _SCALAR_OPERANDS) or (
                ty in INEXACT_SCALAR_TYPES and tx is float):
            return op(x, y)
        return ufunc(x, y)
    impl.__name__ = ufunc.__name__
    impl.array_impl = ufunc   # for programs that know their operands are arrays
    return impl


# -- the arithmetic of the derivative rules ------------------------------------------------

neg_p = elementwise("neg", np.negative, NUMBER_KINDS)
mul_p = elementwise("mul", _scalar_fast(np.multiply, operator.mul), NUMBER_KINDS + "b")
neg = _unary(neg_p)
mul = _binary(mul_p)


def convert_element_type(x, new_dtype, weak_type: bool = False):
    """``x`` converted to ``new_dtype`` (complex to real takes the real part).

    >>> import numpy as np, fad, fad.lax as lax
    >>> lax.convert_element_type(np.array([1.7, -1.7]), np.int32)
    array([ 1, -1], dtype=int32)
    >>> lax.convert_element_type(np.array([1 + 2j]), np.float64)
    array([1.])
    """
    new_dtype = dtypes.check_dtype(new_dtype, "conversion target")
    if type(x) in PYTHON_SCALAR_TYPES and not weak_type:   # a constant: convert it now
        return _convert_impl(x, new_dtype=new_dtype, weak_type=False)
    aval = get_aval(x)
    if aval.dtype == new_dtype and aval.weak_type == weak_type:
        return x
    return convert_element_type_p.bind(x, new_dtype=new_dtype, weak_type=weak_type)


def _convert_impl(x, *, new_dtype, weak_type):
    x = np.asarray(x)
    if x.dtype.kind == "c" and new_dtype.kind != "c":
        x = x.real
    out = x.astype(new_dtype)
    return out[()] if out.ndim == 0 else out


convert_element_type_p = elementwise("convert_element_type", _convert_impl)
convert_element_type_p.def_abstract_eval(
    lambda x, *, new_dtype, weak_type: ShapedArray(x.shape, new_dtype, weak_type))


# -- shapes ---------------------------------------------------------------------------------

def _def_checked_impl(prim, impl):
    """Eager evaluation runs the shape rule first, so that misuse raises the same
    error whether traced or not (and never a NumPy traceback)."""
    def checked(*args, **params):
        prim.abstract_eval(*map(get_aval, args), **params)
        return impl(*args, **params)
    checked.unchecked = impl   # for compiled programs, whose types were checked when staged
    prim.def_impl(checked)


def broadcast_in_dim(x, shape, broadcast_dimensions):
    """Broadcast ``x`` to ``shape``; operand axis ``i`` becomes output axis
    ``broadcast_dimensions[i]`` (its size must be 1 or equal to that axis).

    >>> import numpy as np, fad, fad.lax as lax
    >>> lax.broadcast_in_dim(np.array([1, 2]), (2, 3), (0,))
    array([[1, 1, 1],
           [2, 2, 2]])
    """
    shape, dims = tuple(int(d) for d in shape), tuple(int(d) for d in broadcast_dimensions)
    if get_aval(x).shape == shape and dims == tuple(range(len(shape))):
        return x
    return broadcast_in_dim_p.bind(x, shape=shape, broadcast_dimensions=dims)


def _broadcast_in_dim_impl(x, *, shape, broadcast_dimensions):
    x = np.asarray(x)
    if not x.ndim:                       # a scalar: the common case (e.g. grad's seed)
        return np.full(shape, x, x.dtype)
    expanded = [1] * len(shape)
    for i, d in enumerate(broadcast_dimensions):
        expanded[d] = x.shape[i]
    out = np.empty(shape, x.dtype)       # a fresh array (a broadcast view is read-only)
    np.copyto(out, x.reshape(expanded))
    return out


def _broadcast_in_dim_rule(x, *, shape, broadcast_dimensions):
    dims = broadcast_dimensions
    ok = (len(dims) == x.ndim and all(0 <= d < len(shape) for d in dims)
          and all(a < b for a, b in zip(dims, dims[1:]))
          and all(x.shape[i] in (1, shape[d]) for i, d in enumerate(dims)))
    if not ok:
        raise ValueError(f"broadcast_in_dim: cannot broadcast operand of shape {x.shape} to "
                         f"{shape} with broadcast_dimensions={dims}")
    return ShapedArray(shape, x.dtype, x.weak_type)


def _broadcast_in_dim_batch(args, dims, *, shape, broadcast_dimensions):
    (x,), (bd,) = args, dims
    x = batch_axis_at(x, bd)
    size = get_aval(x).shape[0]
    return broadcast_in_dim_p.bind(x, shape=(size, *shape), broadcast_dimensions=(
        0, *(d + 1 for d in broadcast_dimensions))), 0


broadcast_in_dim_p = Primitive("broadcast_in_dim")
_def_checked_impl(broadcast_in_dim_p, _broadcast_in_dim_impl)
broadcast_in_dim_p.def_abstract_eval(_broadcast_in_dim_rule)
batch_rules[broadcast_in_dim_p] = _broadcast_in_dim_batch


def broadcast_to(x, shape):
    """NumPy's ``broadcast_to`` (trailing axes aligned).

    >>> import numpy as np, fad, fad.lax as lax
    >>> lax.broadcast_to(np.array([1, 2, 3]), (2, 3))
    array([[1, 2, 3],
           [1, 2, 3]])
    """
    shape = tuple(shape)
    ndim = get_aval(x).ndim
    if len(shape) < ndim:
        raise ValueError(f"broadcast_to: cannot broadcast shape {get_aval(x).shape} to {shape}")
    return broadcast_in_dim(x, shape, tuple(range(len(shape) - ndim, len(shape))))


def full(shape, fill_value, dtype=None):
    """An array of ``shape`` filled with ``fill_value`` (a scalar, possibly traced).

    >>> import numpy as np, fad, fad.lax as lax
    >>> lax.full((2, 2), 7.0)
    array([[7., 7.],
           [7., 7.]])
    >>> fad.grad(lambda v: lax.full((3,), v).sum())(1.0)
    np.float64(3.0)
    """
    dtype = get_aval(fill_value).dtype if dtype is None else dtypes.check_dtype(dtype)
    value = convert_element_type(fill_value, dtype)
    if not isinstance(value, (np.ndarray, np.generic)) or np.ndim(value):
        return broadcast_in_dim(value, tuple(shape), ())
    return np.full(tuple(shape), value, dtype)


def reshape(x, new_sizes):
    """``x`` with the shape ``new_sizes`` (C order; the sizes must multiply to ``x``'s
    size; no ``-1``).

    >>> import numpy as np, fad, fad.lax as lax
    >>> lax.reshape(np.arange(6), (2, 3))
    array([[0, 1, 2],
           [3, 4, 5]])
    """
    new_sizes = tuple(int(d) for d in new_sizes)
    if get_aval(x).shape == new_sizes:
        return x
    return reshape_p.bind(x, new_sizes=new_sizes)


def _reshape_rule(x, *, new_sizes):
    if int(np.prod(new_sizes, dtype=np.int64)) != x.size or any(d < 0 for d in new_sizes):
        raise ValueError(f"reshape: cannot reshape an array of shape {x.shape} "
                         f"({x.size} elements) into shape {new_sizes}")
    return ShapedArray(new_sizes, x.dtype, x.weak_type)


def _reshape_batch(args, dims, *, new_sizes):
    (x,), (bd,) = args, dims
    x = moveaxis(x, bd, 0) if bd != 0 else x
    return reshape_p.bind(x, new_sizes=(get_aval(x).shape[0], *new_sizes)), 0


reshape_p = Primitive("reshape")
_def_checked_impl(reshape_p, lambda x, *, new_sizes: np.reshape(x, new_sizes))
reshape_p.def_abstract_eval(_reshape_rule)
batch_rules[reshape_p] = _reshape_batch


def expand_dims(x, dimensions):
    """Insert size-1 axes at the positions ``dimensions`` of the result.

    >>> import numpy as np, fad, fad.lax as lax
    >>> lax.expand_dims(np.ones((2, 3)), (0, 3)).shape
    (1, 2, 3, 1)
    """
    ndim = get_aval(x).ndim + len(dimensions)
    dims = tuple(sorted(normalize_axis(d, ndim, "expand_dims") for d in dimensions))
    if len(set(dims)) != len(dims):
        raise ValueError(f"expand_dims: repeated axis in {dimensions}")
    shape = list(get_aval(x).shape)
    for d in dims:
        shape.insert(d, 1)
    return reshape(x, shape)


def transpose(x, permutation):
    """Permute the axes: output axis ``i`` is operand axis ``permutation[i]``.

    >>> import numpy as np, fad, fad.lax as lax
    >>> lax.transpose(np.ones((2, 3, 4)), (2, 0, 1)).shape
    (4, 2, 3)
    """
    perm = tuple(int(p) for p in permutation)
    if perm == tuple(range(len(perm))) and len(perm) == get_aval(x).ndim:
        return x
    return transpose_p.bind(x, permutation=perm)


def _transpose_rule(x, *, permutation):
    if sorted(permutation) != list(range(x.ndim)):
        raise ValueError(f"transpose: permutation {permutation} is not a permutation of the "
                         f"axes of an array of shape {x.shape}")
    return ShapedArray(tuple(x.shape[p] for p in permutation), x.dtype, x.weak_type)


def _transpose_batch(args, dims, *, permutation):
    (x,), (bd,) = args, dims
    perm = (bd, *(p + (p >= bd) for p in permutation))
    return transpose_p.bind(x, permutation=perm), 0


transpose_p = Primitive("transpose")
_def_checked_impl(transpose_p, lambda x, *, permutation: np.transpose(x, permutation).copy())
transpose_p.def_abstract_eval(_transpose_rule)
batch_rules[transpose_p] = _transpose_batch


def moveaxis(x, source: int, destination: int):
    """Move axis ``source`` of ``x`` to position ``destination`` (ints; negative count
    from the end), the others keeping their order.

    >>> import numpy as np, fad, fad.lax as lax
    >>> lax.moveaxis(np.ones((2, 3, 4)), 0, -1).shape
    (3, 4, 2)
    """
    ndim = get_aval(x).ndim
    source = normalize_axis(source, ndim, "moveaxis")
    destination = normalize_axis(destination, ndim, "moveaxis")
    if source == destination:
        return x
    perm = [i for i in range(ndim) if i != source]
    perm.insert(destination, source)
    return transpose(x, perm)


def batch_axis_at(x, bd, size=None, pos=0):
    """``x`` with its batch axis ``bd`` at ``pos`` (first by default); an unbatched ``x``
    (``bd is None``) is broadcast there along a new axis of ``size``. Batching rules
    line their operands up with it."""
    if bd is None:
        shape = get_aval(x).shape
        dims = tuple(i + (i >= pos) for i in range(len(shape)))
        return broadcast_in_dim(x, shape[:pos] + (size,) + shape[pos:], dims)
    return x if bd == pos else moveaxis(x, bd, pos)


batching.batch_axis_at = batch_axis_at   # (for the interpreters: see fad.interpreters.batching)


# -- reduce_sum (and the reductions' shape and batching rules) --------------------------------

def _check_kinds(name, aval, kinds):
    if aval.dtype.kind not in kinds:
        raise TypeError(f"{name} does not accept operands of dtype {aval.dtype}")


def _reduce_rule(name, kinds):
    def rule(x, *, axes):
        _check_kinds(name, x, kinds)
        if any(not 0 <= a < x.ndim for a in axes):
            raise ValueError(f"{name}: axes {axes} out of range for shape {x.shape}")
        shape = tuple(d for i, d in enumerate(x.shape) if i not in axes)
        return ShapedArray(shape, x.dtype, x.weak_type)
    return rule


def _reduce_batch(prim):
    """Batching rule of a reduction: reduce the shifted axes, keep the batch axis."""
    def rule(args, dims, *, axes):
        (x,), (bd,) = args, dims
        new_axes = tuple(a + (a >= bd) for a in axes)
        out_bd = bd - sum(a < bd for a in new_axes)
        return prim.bind(x, axes=new_axes), out_bd
    return rule


_KINDS: dict = {}  # primitive -> the dtype kinds it accepts


def _reducer(name, impl, kinds):
    prim = Primitive(name)
    _KINDS[prim] = kinds
    prim.def_impl(impl)
    prim.def_abstract_eval(_reduce_rule(name, kinds))
    batch_rules[prim] = _reduce_batch(prim)
    return prim


def _sum_impl(x, *, axes):
    x = np.asarray(x)
    # (np.sum, minus its dispatch; the scalar type, as NumPy takes no big-endian dtype here)
    return np.add.reduce(x, axis=axes, dtype=x.dtype.type)


reduce_sum_p = _reducer("reduce_sum", _sum_impl, "biufc")


def _public_reduce(prim, what):
    def reduce(x, axes):
        aval = get_aval(x)
        axes = tuple(sorted(normalize_axes(axes, aval.ndim, prim.name)))
        _check_kinds(prim.name, aval, _KINDS[prim])
        return prim.bind(x, axes=axes) if axes else x
    reduce.__name__ = prim.name
    sample = np.array([[True, False]]) if _KINDS[prim] == "b" else (
        np.array([[1.0, 2.0]]))
    example = f"np.array({sample.tolist()})"
    result = np.asarray(prim.impl(sample, axes=(1,))).tolist()
    reduce.__doc__ = (f"{what} of ``x`` over ``axes`` (a tuple of ints, or an int; negative "
                      f"counts from the end).\n\n    >>> import numpy as np, fad.lax as lax\n"
                      f"    >>> lax.{prim.name}({example}, (1,)).tolist()"
                      f"\n    {result}\n")
    return reduce


reduce_sum = _public_reduce(reduce_sum_p, "Sum")


__all__ = ["neg", "mul", "convert_element_type", "broadcast_in_dim", "broadcast_to", "full",
           "reshape", "expand_dims", "transpose", "moveaxis", "reduce_sum",
           "neg_p", "mul_p", "convert_element_type_p", "broadcast_in_dim_p", "reshape_p",
           "transpose_p", "reduce_sum_p"]
