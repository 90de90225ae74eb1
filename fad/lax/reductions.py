"""Reductions over axes, and cumulative (scan-like) reductions along one axis.

Derivative conventions: ``reduce_max``/``reduce_min`` split the tangent equally among
tied extrema; ``reduce_prod`` and ``cumprod`` are exact where inputs are zero (no
division: products of exclusive cumulative products, and a linear recurrence);
``cummax``/``cummin`` take the tangent of the running extremum's first occurrence;
``argmax``/``argmin``/``reduce_and``/``reduce_or`` have zero tangents.

Two private linear primitives carry the cumulative derivatives: ``shift`` (move every
element one place along an axis, filling with zero) and ``linear_recurrence``
(``h[k] = a[k] * h[k-1] + b[k]``, linear in ``b``), whose transposes are each other's
mirror images.
"""
from __future__ import annotations

import numpy as np

from fad.core import dtypes
from fad.core.abstract import ShapedArray, get_aval
from fad.core.ad_util import Zero
from fad.core.primitive import Primitive
from fad.interpreters.batching import batch_rules
from fad.interpreters.jvp import jvp_rules
from fad.interpreters.transpose import is_undefined, transpose_rules
from fad.lax.elementwise import add, bitwise_or, div, eq, exp, gt, lt, select_n, sub
from fad.lax.elementwise import max as lax_max
from fad.lax.plumbing import (_check_kinds, _public_reduce, _reducer, batch_axis_at,
                              broadcast_in_dim, convert_element_type, mul, normalize_axis,
                              reduce_sum, reduce_sum_p, reshape, transpose)
from fad.lax.rules import defjvp_zero, deflinear

_NUMBER, _ORDERED = "iufc", "biuf"


# -- reductions over several axes ---------------------------------------------------------------
# (reduce_sum, the rules' own, and the machinery of all of them are in ``plumbing``)

def _identity(x, kind):
    """The identity of max (``kind='max'``) or min for ``x``'s dtype."""
    dt = x.dtype
    if dt.kind == "f":
        return -np.inf if kind == "max" else np.inf
    if dt.kind == "b":
        return kind != "max"
    info = np.iinfo(dt)
    return info.min if kind == "max" else info.max


def _max_impl(x, *, axes):
    x = np.asarray(x)
    return np.max(x, axis=axes, initial=_identity(x, "max"))


def _min_impl(x, *, axes):
    x = np.asarray(x)
    return np.min(x, axis=axes, initial=_identity(x, "min"))


def _prod_impl(x, *, axes):
    x = np.asarray(x)
    return np.multiply.reduce(x, axis=axes, dtype=x.dtype.type)   # (see _sum_impl)


def _bool_impl(fn):
    return lambda x, *, axes: fn(x, axis=axes)


reduce_max_p = _reducer("reduce_max", _max_impl, _ORDERED)
reduce_min_p = _reducer("reduce_min", _min_impl, _ORDERED)
reduce_prod_p = _reducer("reduce_prod", _prod_impl, _NUMBER)
reduce_and_p = _reducer("reduce_and", _bool_impl(np.all), "b")
reduce_or_p = _reducer("reduce_or", _bool_impl(np.any), "b")


reduce_max = _public_reduce(reduce_max_p, "Maximum (NaN propagates; -inf for empty axes)")
reduce_min = _public_reduce(reduce_min_p, "Minimum (NaN propagates; +inf for empty axes)")
reduce_prod = _public_reduce(reduce_prod_p, "Product")
reduce_and = _public_reduce(reduce_and_p, "Logical AND (bool operands)")
reduce_or = _public_reduce(reduce_or_p, "Logical OR (bool operands)")


def _kept(ndim, axes):
    return tuple(i for i in range(ndim) if i not in axes)


def _reduce_sum_transpose(ct, x, *, axes):
    shape = x.aval.shape
    return [broadcast_in_dim(ct, shape, _kept(len(shape), axes))]


deflinear(reduce_sum_p, _reduce_sum_transpose)
for _p in (reduce_and_p, reduce_or_p):
    defjvp_zero(_p)


def _chooser_jvp(prim):
    """reduce_max/min: the mean of the tangents at the (tied) extrema."""
    def rule(primals, tangents, *, axes):
        (x,), (g,) = primals, tangents
        ans = prim.bind(x, axes=axes)
        if type(g) is Zero or not dtypes.is_inexact(get_aval(x).dtype):
            return ans, Zero.like(ans)
        aval = get_aval(x)
        at_extremum = eq(x, broadcast_in_dim(ans, aval.shape, _kept(aval.ndim, axes)))
        mask = convert_element_type(at_extremum, get_aval(g).dtype)
        count = reduce_sum(mask, axes)
        count = lax_max(count, np.ones((), get_aval(count).dtype)[()])
        return ans, div(reduce_sum(mul(g, mask), axes), count)
    return rule


jvp_rules[reduce_max_p] = _chooser_jvp(reduce_max_p)
jvp_rules[reduce_min_p] = _chooser_jvp(reduce_min_p)


def _reduce_prod_jvp(primals, tangents, *, axes):
    """d prod(x) = sum_i g_i prod_{j != i} x_j, with the products of the others taken as
    (exclusive cumprod from the left) * (exclusive cumprod from the right): no division,
    so exact where x has zeros."""
    (x,), (g,) = primals, tangents
    ans = reduce_prod_p.bind(x, axes=axes)
    if type(g) is Zero:
        return ans, Zero.like(ans)
    aval = get_aval(x)
    kept = _kept(aval.ndim, axes)
    n = int(np.prod([aval.shape[a] for a in axes], dtype=np.int64))
    flat_shape = tuple(aval.shape[i] for i in kept) + (n,)
    xs = reshape(transpose(x, kept + axes), flat_shape)
    gs = reshape(transpose(g, kept + axes), flat_shape)
    last = len(flat_shape) - 1
    left = cumprod(_shift_in_one(xs, last, False), last)
    right = cumprod(_shift_in_one(xs, last, True), last, reverse=True)
    return ans, reduce_sum(mul(gs, mul(left, right)), (last,))


jvp_rules[reduce_prod_p] = _reduce_prod_jvp


# -- argmax / argmin ---------------------------------------------------------------------------

def _arg_rule(name):
    def rule(x, *, axis, index_dtype):
        _check_kinds(name, x, _ORDERED)
        if not 0 <= axis < x.ndim:
            raise ValueError(f"{name}: axis {axis} is out of range for shape {x.shape}")
        if x.shape[axis] == 0:
            raise ValueError(f"{name}: cannot take the {name} of an empty axis "
                             f"(axis {axis} of shape {x.shape})")
        if not dtypes.is_integer(index_dtype):
            raise TypeError(f"{name}: index_dtype must be an integer dtype, got {index_dtype}")
        return ShapedArray(x.shape[:axis] + x.shape[axis + 1:], index_dtype)
    return rule


def _arg_batch(prim):
    def rule(args, dims, *, axis, index_dtype):
        (x,), (bd,) = args, dims
        new_axis = axis + (axis >= bd)
        return prim.bind(x, axis=new_axis, index_dtype=index_dtype), bd - (new_axis < bd)
    return rule


def _arg_impl(fn):
    return lambda x, *, axis, index_dtype: np.asarray(fn(x, axis=axis), index_dtype)[()]


argmax_p = Primitive("argmax")
argmin_p = Primitive("argmin")
for _p, _fn in ((argmax_p, np.argmax), (argmin_p, np.argmin)):
    _p.def_impl(_arg_impl(_fn))
    _p.def_abstract_eval(_arg_rule(_p.name))
    defjvp_zero(_p)
    batch_rules[_p] = _arg_batch(_p)


def _public_arg(prim, what, sample):
    def arg(operand, axis: int, index_dtype=np.int64):
        aval = get_aval(operand)
        axis = normalize_axis(axis, aval.ndim, prim.name)
        index_dtype = dtypes.check_dtype(index_dtype, f"{prim.name} index_dtype")
        prim.abstract_eval(aval, axis=axis, index_dtype=index_dtype)
        return prim.bind(operand, axis=axis, index_dtype=index_dtype)
    arg.__name__ = prim.name
    arg.__doc__ = (f"Index of the first {what} along ``axis`` (NaN counts as the {what}, as "
                   f"in NumPy).\n\n    >>> {prim.name}(np.array({sample}), 0)\n"
                   "    np.int64(1)")
    return arg


argmax = _public_arg(argmax_p, "maximum", [1.0, 3.0, 3.0])
argmin = _public_arg(argmin_p, "minimum", [3.0, 1.0, 1.0])


# -- cumulative reductions ----------------------------------------------------------------------

def _cum_rule(name, kinds):
    def rule(x, *, axis, reverse):
        _check_kinds(name, x, kinds)
        if not 0 <= axis < x.ndim:
            raise ValueError(f"{name}: axis {axis} is out of range for shape {x.shape}")
        return x
    return rule


def _cum_impl(ufunc):
    def impl(x, *, axis, reverse):
        x = np.asarray(x)
        if reverse:
            return np.flip(ufunc.accumulate(np.flip(x, axis), axis=axis, dtype=x.dtype.type),
                           axis)
        return ufunc.accumulate(x, axis=axis, dtype=x.dtype.type)   # (see _sum_impl)
    return impl


def _cum_batch(prim):
    def rule(args, dims, *, axis, reverse):
        (x,), (bd,) = args, dims
        return prim.bind(x, axis=axis + (axis >= bd), reverse=reverse), bd
    return rule


def _cumulative(name, ufunc, kinds):
    prim = Primitive(name)
    prim.def_impl(_cum_impl(ufunc))
    prim.def_abstract_eval(_cum_rule(name, kinds))
    batch_rules[prim] = _cum_batch(prim)

    def cum(operand, axis: int = 0, reverse: bool = False):
        aval = get_aval(operand)
        axis = normalize_axis(axis, aval.ndim, name)
        _check_kinds(name, aval, kinds)
        return prim.bind(operand, axis=axis, reverse=bool(reverse))
    cum.__name__ = name
    result = np.round(_cum_impl(ufunc)(np.array([1.0, 3.0, 2.0]), axis=0, reverse=False), 4)
    cum.__doc__ = (f"Inclusive cumulative ``{ufunc.__name__}`` along ``axis`` (from the end "
                   f"when ``reverse``).\n\n    >>> np.round({name}(np.array([1.0, 3.0, 2.0])), "
                   f"4).tolist()\n    {result.tolist()}\n")
    return prim, cum


cumsum_p, cumsum = _cumulative("cumsum", np.add, _NUMBER)
cumprod_p, cumprod = _cumulative("cumprod", np.multiply, _NUMBER)
cummax_p, cummax = _cumulative("cummax", np.maximum, _ORDERED)
cummin_p, cummin = _cumulative("cummin", np.minimum, _ORDERED)
cumlogsumexp_p, cumlogsumexp = _cumulative("cumlogsumexp", np.logaddexp, "f")

deflinear(cumsum_p, lambda ct, x, *, axis, reverse: [cumsum(ct, axis, not reverse)])


def _first_mask(shape, axis, reverse):
    """A constant bool array: True at the first position a scan visits along ``axis``."""
    iota = np.arange(shape[axis]).reshape([-1 if i == axis else 1 for i in range(len(shape))])
    return np.broadcast_to(iota == (shape[axis] - 1 if reverse else 0), shape)


def _shift_in_one(x, axis, reverse):
    """``x`` moved one place in the scan direction, with a 1 entering at the start."""
    aval = get_aval(x)
    one_hot = _first_mask(aval.shape, axis, reverse).astype(aval.dtype)
    return add(shift(x, axis, reverse), one_hot)


def _cumprod_jvp(primals, tangents, *, axis, reverse):
    # y[k] = x[k] y[k-1]  =>  dy[k] = x[k] dy[k-1] + y[k-1] g[k]: a linear recurrence.
    (x,), (g,) = primals, tangents
    y = cumprod_p.bind(x, axis=axis, reverse=reverse)
    if type(g) is Zero:
        return y, Zero.like(y)
    y_before = _shift_in_one(y, axis, reverse)
    return y, linear_recurrence(x, mul(y_before, g), axis, reverse)


def _cumchooser_jvp(prim, beats):
    """cummax/cummin: the tangent at the first occurrence of the running extremum."""
    def rule(primals, tangents, *, axis, reverse):
        (x,), (g,) = primals, tangents
        y = prim.bind(x, axis=axis, reverse=reverse)
        if type(g) is Zero or not dtypes.is_inexact(get_aval(x).dtype):
            return y, Zero.like(y)
        aval = get_aval(x)
        is_new = bitwise_or(beats(x, shift(y, axis, reverse)),
                               _first_mask(aval.shape, axis, reverse))
        dtype = get_aval(g).dtype
        one, zero = np.ones(aval.shape, dtype), np.zeros(aval.shape, dtype)
        carry = select_n(is_new, one, zero)
        return y, linear_recurrence(carry, select_n(is_new, zero, g), axis, reverse)
    return rule


def _cumlogsumexp_jvp(primals, tangents, *, axis, reverse):
    # dy[k] = sum_{j<=k} exp(x[j] - y[k]) g[j]
    #       = exp(y[k-1] - y[k]) dy[k-1] + exp(x[k] - y[k]) g[k]   (coefficients <= 1)
    (x,), (g,) = primals, tangents
    y = cumlogsumexp_p.bind(x, axis=axis, reverse=reverse)
    if type(g) is Zero:
        return y, Zero.like(y)
    shape = get_aval(x).shape
    decay = exp(sub(shift(y, axis, reverse), y))
    decay = select_n(_first_mask(shape, axis, reverse), decay,
                        np.zeros(shape, get_aval(y).dtype))
    return y, linear_recurrence(decay, mul(exp(sub(x, y)), g), axis, reverse)


jvp_rules[cumprod_p] = _cumprod_jvp
jvp_rules[cummax_p] = _cumchooser_jvp(cummax_p, gt)
jvp_rules[cummin_p] = _cumchooser_jvp(cummin_p, lt)
jvp_rules[cumlogsumexp_p] = _cumlogsumexp_jvp


# -- shift and linear_recurrence: the linear machinery of the cumulative JVPs -------------------

def shift(x, axis: int, reverse: bool = False):
    """``out[k] = x[k-1]`` along ``axis`` with ``out[0] = 0`` (``out[k] = x[k+1]`` and a
    zero at the end when ``reverse``): the step of an exclusive scan."""
    axis = normalize_axis(axis, get_aval(x).ndim, "shift")
    return shift_p.bind(x, axis=axis, reverse=bool(reverse))


def _shift_impl(x, *, axis, reverse):
    x = np.asarray(x)
    out = np.zeros_like(x)
    n = x.shape[axis]
    src = [slice(None)] * x.ndim
    dst = [slice(None)] * x.ndim
    src[axis], dst[axis] = (slice(1, n), slice(0, n - 1)) if reverse else (slice(0, n - 1),
                                                                          slice(1, n))
    out[tuple(dst)] = x[tuple(src)]
    return out


shift_p = Primitive("shift")
shift_p.def_impl(_shift_impl)
shift_p.def_abstract_eval(_cum_rule("shift", "biufc"))
deflinear(shift_p, lambda ct, x, *, axis, reverse: [shift(ct, axis, not reverse)])
batch_rules[shift_p] = _cum_batch(shift_p)


def linear_recurrence(a, b, axis: int, reverse: bool = False):
    """``h[k] = a[k] * h[k-1] + b[k]`` along ``axis`` with ``h[-1] = 0`` (scanning from the
    end when ``reverse``); ``a`` and ``b`` have one shape and dtype. Linear in ``b``."""
    axis = normalize_axis(axis, get_aval(b).ndim, "linear_recurrence")
    _linear_recurrence_rule(get_aval(a), get_aval(b), axis=axis, reverse=reverse)
    return linear_recurrence_p.bind(a, b, axis=axis, reverse=bool(reverse))


def _linear_recurrence_impl(a, b, *, axis, reverse):
    """Log-depth prefix composition of the affine maps ``h -> a h + b``."""
    a, b = np.moveaxis(np.asarray(a), axis, -1), np.moveaxis(np.asarray(b), axis, -1)
    if reverse:
        a, b = a[..., ::-1], b[..., ::-1]
    a, h = a.copy(), b.copy()
    n, s = h.shape[-1], 1
    while s < n:
        h[..., s:] += a[..., s:] * h[..., :-s]
        a[..., s:] *= a[..., :-s].copy()
        s *= 2
    if reverse:
        h = h[..., ::-1]
    return np.ascontiguousarray(np.moveaxis(h, -1, axis))


def _linear_recurrence_rule(a, b, *, axis, reverse):
    if a.shape != b.shape or a.dtype != b.dtype:
        raise TypeError(f"linear_recurrence: operands must have one shape and dtype, got "
                        f"{a.str_short()} and {b.str_short()}")
    return _cum_rule("linear_recurrence", _NUMBER)(b, axis=axis, reverse=reverse)


def _linear_recurrence_jvp(primals, tangents, *, axis, reverse):
    # dh[k] = a[k] dh[k-1] + (da[k] h[k-1] + db[k])
    (a, b), (da, db) = primals, tangents
    h = linear_recurrence_p.bind(a, b, axis=axis, reverse=reverse)
    if type(da) is Zero and type(db) is Zero:
        return h, Zero.like(h)
    forcing = db
    if type(da) is not Zero:
        from_a = mul(da, shift(h, axis, reverse))
        forcing = from_a if type(db) is Zero else add(from_a, db)
    return h, linear_recurrence(a, forcing, axis, reverse)


def _linear_recurrence_transpose(ct, a, b, *, axis, reverse):
    # h = L b with L lower-triangular (L[k, i] = a[i+1] ... a[k]); L^T is the recurrence
    # run the other way with the coefficients shifted by one.
    if is_undefined(a):
        raise TypeError("linear_recurrence is not linear in its coefficients")
    return [None, linear_recurrence(shift(a, axis, not reverse), ct, axis, not reverse)]


def _linear_recurrence_batch(args, dims, *, axis, reverse):
    (a, b), (da, db) = args, dims
    if da == db:
        return linear_recurrence_p.bind(a, b, axis=axis + (axis >= da), reverse=reverse), da
    size = get_aval(a if da is not None else b).shape[da if da is not None else db]
    a, b = batch_axis_at(a, da, size), batch_axis_at(b, db, size)
    return linear_recurrence_p.bind(a, b, axis=axis + 1, reverse=reverse), 0


linear_recurrence_p = Primitive("linear_recurrence")
linear_recurrence_p.def_impl(_linear_recurrence_impl)
linear_recurrence_p.def_abstract_eval(_linear_recurrence_rule)
jvp_rules[linear_recurrence_p] = _linear_recurrence_jvp
transpose_rules[linear_recurrence_p] = _linear_recurrence_transpose
batch_rules[linear_recurrence_p] = _linear_recurrence_batch

__all__ = ["reduce_sum", "reduce_max", "reduce_min", "reduce_prod", "reduce_and",
           "reduce_or", "argmax", "argmin", "cumsum", "cumprod", "cummax", "cummin",
           "cumlogsumexp", "reduce_sum_p", "reduce_max_p", "reduce_min_p", "reduce_prod_p",
           "reduce_and_p", "reduce_or_p", "argmax_p", "argmin_p", "cumsum_p", "cumprod_p",
           "cummax_p", "cummin_p", "cumlogsumexp_p"]
