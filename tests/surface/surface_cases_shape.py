"""The table of ``fad.numpy``'s shape functions, indexing, creation, sorting, set
operations, signals, products, index tricks and dtype queries."""
from __future__ import annotations

import numpy as np

import fad.numpy as fnp
from surface_cases_numpy import np_case
from surface_harness import ANY, F32, F64, FC, I64, NUM, case

S23 = (((2, 3),), ((3, 2),), ((1, 4),))            # 2-D
S3D = (((2, 3, 2),), ((1, 2, 3),))                 # 3-D
S6 = (((2, 3),), ((6,),), ((3, 2),))               # six elements
PAIR = (((2, 3), (2, 3)), ((1, 4), (1, 4)), ((3, 1), (3, 1)))
VEC = (((4,),), ((5,),), ((1,),))
INT = "integer result"
NO_ARRAY = "no array argument"
BUG_ARGSORT_TIES = ("bug: eager argsort (kind=None) is NumPy's default sort, which is not "
                    "stable on ties here, while traced argsort is: "
                    "jit(argsort)([1, 0, -2, -2]) is [2 3 1 0], argsort(...) [3 2 1 0]")
BUG_POLYFIT_F32 = ("bug: traced polyfit of float32 data returns float32 coefficients; "
                   "numpy.polyfit (and fad's eager path) return float64")
BUG_AT_MINMAX_COMPLEX = ("bug: x.at[idx].min/.max reject complex x (TypeError 'scatter_min "
                         "does not accept operands of dtype complex128'); np.minimum.at and "
                         "fad.numpy.minimum order complex numbers lexicographically")


def both(name, tag, call, args=("x",), **opts):
    """``call(fad.numpy.name)`` against ``call(numpy.name)``."""
    return np_case(name, args, call=call, tag=tag, **opts)


def formula(name, tag, fn, ref, args=("x",), **opts):
    """A ``fad.numpy.name`` call against a NumPy formula (for JAX's extra arguments)."""
    return case(f"numpy.{name}", fn, ref, id=f"numpy.{name}[{tag}]", args=args, **opts)


def _padded(values, size, fill):
    out = np.full(size, fill, dtype=values.dtype)
    out[:min(size, len(values))] = values[:size]
    return out


def _np_at(x, idx, y, how):
    """NumPy's unbuffered in-place updates (``np.add.at``...) on a copy of ``x``."""
    x = np.array(x, copy=True)
    if how == "set":
        x[idx] = y
    else:
        getattr(np, how).at(x, idx, y)
    return x


CASES = [
    # -- reshaping and transposing
    both("reshape", "(3,-1)", lambda f: lambda a: f(a, (3, -1)), shapes=S6),
    np_case("ravel", shapes=S3D + S23),
    np_case("transpose", shapes=S3D + S23),
    np_case("transpose", kw=dict(axes=(1, 0, 2)), shapes=S3D),
    both("swapaxes", "0,-1", lambda f: lambda a: f(a, 0, -1), shapes=S3D + S23),
    both("moveaxis", "0,-1", lambda f: lambda a: f(a, 0, -1), shapes=S3D + S23),
    both("rollaxis", "-1", lambda f: lambda a: f(a, -1), shapes=S3D + S23),
    np_case("permute_dims", shapes=S3D + S23),
    both("expand_dims", "1", lambda f: lambda a: f(a, 1), shapes=S23 + VEC),
    both("expand_dims", "(0,-1)", lambda f: lambda a: f(a, (0, -1)), shapes=S23 + VEC),
    np_case("squeeze", shapes=(((2, 1, 3),), ((1, 3),), ((1,),))),
    np_case("squeeze", kw=dict(axis=1), shapes=(((2, 1, 3),), ((3, 1),))),
    both("broadcast_to", "(2,2,3)", lambda f: lambda a: f(a, (2, 2, 3)),
         shapes=(((3,),), ((2, 1, 3),), ((),), ((2, 1),))),
    np_case("broadcast_arrays", ("x", "x"), shapes=(((3,), (2, 1)), ((), (2, 3)))),
    np_case("atleast_1d", shapes=(((),), ((3,),), ((2, 3),))),
    np_case("atleast_2d", shapes=(((),), ((3,),), ((2, 3),))),
    np_case("atleast_3d", shapes=(((),), ((3,),), ((2, 3),), ((1, 2, 3),))),
    np_case("atleast_2d", ("x", "x"), shapes=(((), (3,)), ((2, 3), (4,)))),
    # -- joining and splitting
    both("stack", "axis=0", lambda f: lambda a, b: f([a, b]), ("x", "x"), shapes=PAIR),
    both("stack", "axis=-1", lambda f: lambda a, b: f((a, b), axis=-1), ("x", "x"),
         shapes=PAIR),
    both("concatenate", "axis=-1", lambda f: lambda a, b: f([a, b], axis=-1), ("x", "x"),
         shapes=PAIR + (((2, 3), (2, 1)),)),
    both("concatenate", "axis=None", lambda f: lambda a, b: f([a, b], axis=None),
         ("x", "x"), shapes=PAIR + (((2, 3), (4,)),)),
    both("concat", "axis=0", lambda f: lambda a, b: f([a, b]), ("x", "x"), shapes=PAIR),
    both("hstack", "", lambda f: lambda a, b: f([a, b]), ("x", "x"),
         shapes=PAIR + (((3,), (2,)),)),
    both("vstack", "", lambda f: lambda a, b: f([a, b]), ("x", "x"),
         shapes=PAIR + (((3,), (3,)),)),
    both("row_stack", "", lambda f: lambda a, b: f([a, b]), ("x", "x"), shapes=PAIR),
    both("dstack", "", lambda f: lambda a, b: f([a, b]), ("x", "x"),
         shapes=PAIR + (((3,), (3,)),)),
    both("column_stack", "", lambda f: lambda a, b: f([a, b]), ("x", "x"),
         shapes=PAIR + (((3,), (3,)),)),
    both("append", "axis=0", lambda f: lambda a, b: f(a, b, axis=0), ("x", "x"), shapes=PAIR),
    both("append", "flat", lambda f: lambda a, b: f(a, b), ("x", "x"),
         shapes=PAIR + (((2, 3), (4,)),)),
    both("split", "3,axis=-1", lambda f: lambda a: f(a, 3, axis=-1),
         shapes=(((2, 3),), ((3,),), ((2, 2, 3),))),
    both("split", "[1,2]", lambda f: lambda a: f(a, [1, 2]), shapes=(((4, 2),), ((3,),))),
    both("array_split", "2,axis=-1", lambda f: lambda a: f(a, 2, axis=-1),
         shapes=(((2, 3),), ((5,),), ((2, 2, 3),))),
    both("hsplit", "2", lambda f: lambda a: f(a, 2), shapes=(((2, 4),), ((4,),))),
    both("vsplit", "2", lambda f: lambda a: f(a, 2), shapes=(((4, 3),), ((2, 2, 1),))),
    both("dsplit", "2", lambda f: lambda a: f(a, 2), shapes=(((1, 2, 4),), ((2, 1, 2),))),
    # -- repeating, flipping, rolling
    both("tile", "(2,1)", lambda f: lambda a: f(a, (2, 1)), shapes=S23 + VEC + (((),),)),
    both("repeat", "2,axis=0", lambda f: lambda a: f(a, 2, axis=0), shapes=S23 + VEC),
    both("repeat", "[1,0,2]", lambda f: lambda a: f(a, [1, 0, 2]),
         shapes=(((3,),), ((1, 3),), ((3, 1),))),
    np_case("flip", shapes=S23 + S3D + VEC),
    np_case("flip", kw=dict(axis=0), shapes=S23 + S3D + VEC),
    np_case("fliplr", shapes=S23 + S3D),
    np_case("flipud", shapes=S23 + VEC),
    both("roll", "1,axis=-1", lambda f: lambda a: f(a, 1, axis=-1), shapes=S23 + S3D + VEC),
    both("roll", "-2", lambda f: lambda a: f(a, -2), shapes=S23 + VEC),
    np_case("rot90", shapes=S23 + S3D),
    np_case("rot90", kw=dict(k=3, axes=(1, 0)), shapes=S23 + S3D),
    # -- inserting and deleting, differences, padding
    both("insert", "1,axis=0", lambda f: lambda a, v: f(a, 1, v, axis=0), ("x", "x"),
         shapes=(((2, 3), (3,)), ((3,), ()), ((2, 2), (1, 2)))),
    both("insert", "[0,2]", lambda f: lambda a, v: f(a, [0, 2], v), ("x", "x"),
         shapes=(((2, 3), (2,)), ((3,), ()))),
    both("delete", "[0,2],axis=-1", lambda f: lambda a: f(a, [0, 2], axis=-1),
         shapes=(((2, 3),), ((1, 4),), ((4,),))),
    both("delete", "1", lambda f: lambda a: f(a, 1), shapes=S23 + VEC[:2]),
    np_case("diff", shapes=S23 + S3D + VEC),
    np_case("diff", kw=dict(n=2, axis=0), shapes=(((3, 2),), ((4,),))),
    both("diff", "prepend", lambda f: lambda a, p: f(a, prepend=p), ("x", "x"),
         shapes=(((2, 3), (2, 1)), ((4,), ()))),
    np_case("pad", kw=dict(pad_width=1), shapes=S23 + VEC),
    np_case("pad", kw=dict(pad_width=((1, 2), (0, 1)), constant_values=2.0), shapes=S23),
    np_case("pad", kw=dict(pad_width=2, mode="edge"), shapes=S23 + VEC),
    np_case("pad", kw=dict(pad_width=(2, 3), mode="reflect"), shapes=S23[:2] + VEC),
    np_case("pad", kw=dict(pad_width=2, mode="symmetric", reflect_type="odd"),
            shapes=S23[:2] + VEC),
    np_case("pad", kw=dict(pad_width=3, mode="wrap"), shapes=S23 + VEC),
    # -- indexing
    both("take", "idx,axis=0", lambda f: lambda a, i: f(a, i, axis=0), ("x", "idx2"),
         shapes=(((2, 3), (4,)), ((2,), (2, 2)), ((2, 1, 2), ()))),
    both("take", "idx", lambda f: lambda a, i: f(a, i), ("x", "idx4"),
         shapes=(((2, 3), (3,)), ((4,), (2, 2)))),
    both("take_along_axis", "axis=-1", lambda f: lambda a, i: f(a, i, axis=-1),
         ("x", "idx3"), shapes=(((2, 3), (2, 3)), ((2, 3), (2, 1)), ((3,), (5,)))),
    np_case("diagonal", shapes=(((3, 3),), ((2, 4),), ((2, 3, 2),))),
    np_case("diagonal", kw=dict(offset=1, axis1=-1, axis2=0), shapes=(((3, 3),), ((2, 3, 2),))),
    np_case("diag", shapes=(((3,),), ((3, 3),), ((2, 4),))),
    np_case("diag", kw=dict(k=-1), shapes=(((3,),), ((3, 3),))),
    np_case("diagflat", shapes=(((3,),), ((2, 2),))),
    np_case("trace", shapes=(((3, 3),), ((2, 4),), ((2, 3, 2),))),
    np_case("trace", kw=dict(offset=1), shapes=(((3, 3),), ((2, 4),))),
    np_case("tril", shapes=(((3, 3),), ((2, 4),), ((2, 3, 2),))),
    np_case("triu", kw=dict(k=1), shapes=(((3, 3),), ((2, 4),), ((2, 3, 2),))),
    # -- products
    np_case("dot", ("x", "x"), shapes=(((2, 3), (3, 2)), ((3,), (3,)), ((3,), (3, 2)),
                                       ((2, 2, 3), (3, 4)), ((), (2,)))),
    np_case("matmul", ("x", "x"), shapes=(((2, 3), (3, 2)), ((3,), (3,)), ((2, 2, 3), (3, 4)),
                                          ((3,), (2, 3, 1)))),
    np_case("vdot", ("x", "x"), shapes=(((2, 3), (2, 3)), ((3,), (3,)))),
    np_case("inner", ("x", "x"), shapes=(((2, 3), (4, 3)), ((3,), (3,)), ((), (2,)))),
    np_case("outer", ("x", "x"), shapes=(((2, 3), (4,)), ((3,), (2,)))),
    np_case("kron", ("x", "x"), shapes=(((2, 3), (2, 2)), ((3,), (2,)), ((2,), (2, 2)))),
    np_case("vecdot", ("x", "x"), shapes=(((2, 3), (2, 3)), ((3,), (2, 3)))),
    np_case("tensordot", ("x", "x"), shapes=(((2, 3, 2), (3, 2, 2)), ((2, 3), (2, 3)))),
    np_case("tensordot", ("x", "x"), kw=dict(axes=([0], [1])),
            shapes=(((2, 3), (3, 2)), ((3, 2), (2, 3)))),
    both("einsum", "ij,jk->ik", lambda f: lambda a, b: f("ij,jk->ik", a, b), ("x", "x"),
         shapes=(((2, 3), (3, 2)), ((1, 4), (4, 1)))),
    both("einsum", "ii->i", lambda f: lambda a: f("ii->i", a), shapes=(((3, 3),),)),
    both("einsum", "...i,i", lambda f: lambda a, b: f("...i,i", a, b), ("x", "x"),
         shapes=(((2, 3), (3,)), ((3,), (3,)), ((2, 2, 3), (3,)))),
    both("einsum", "interleaved", lambda f: lambda a, b: f(a, [0, 1], b, [1, 2], [2, 0]),
         ("x", "x"), shapes=(((2, 3), (3, 2)),)),
    # -- creation
    both("zeros", "(2,3)", lambda f: lambda: f((2, 3)), (), shapes=((),), diff=(),
         nodiff=NO_ARRAY, vmap=NO_ARRAY),
    both("ones", "3,complex64", lambda f: lambda: f(3, np.complex64), (), shapes=((),),
         diff=(), nodiff=NO_ARRAY, vmap=NO_ARRAY),
    both("empty", "(2,2)", lambda f: lambda: f((2, 2)), (), shapes=((),), diff=(),
         nodiff=NO_ARRAY, vmap=NO_ARRAY, post=lambda out: [o.shape for o in out]),
    both("eye", "3,4,k=1", lambda f: lambda: f(3, 4, k=1), (), shapes=((),), diff=(),
         nodiff=NO_ARRAY, vmap=NO_ARRAY),
    both("identity", "3", lambda f: lambda: f(3, dtype=np.float32), (), shapes=((),),
         diff=(), nodiff=NO_ARRAY, vmap=NO_ARRAY),
    both("tri", "3,4,k=-1", lambda f: lambda: f(3, 4, k=-1), (), shapes=((),), diff=(),
         nodiff=NO_ARRAY, vmap=NO_ARRAY),
    both("arange", "5", lambda f: lambda: f(5), (), shapes=((),), diff=(),
         nodiff=NO_ARRAY, vmap=NO_ARRAY),
    both("arange", "1.,3.,.5", lambda f: lambda: f(1.0, 3.0, 0.5, dtype=np.float32), (),
         shapes=((),), diff=(), nodiff=NO_ARRAY, vmap=NO_ARRAY),
    both("full", "(2,3),traced", lambda f: lambda v: f((2, 3), v), shapes=(((),), ((3,),))),
    both("linspace", "5", lambda f: lambda a, b: f(a, b, 5), ("x", "big"),
         shapes=(((), ()), ((2,), (2,)), ((), (3,)))),
    both("linspace", "4,endpoint=False,axis=-1",
         lambda f: lambda a, b: f(a, b, 4, endpoint=False, axis=-1), ("x", "big"),
         shapes=(((2,), (2,)), ((), ()))),
    np_case("zeros_like", dtypes=ANY),
    np_case("ones_like", kw=dict(dtype=np.float32)),
    both("full_like", "2.5", lambda f: lambda a: f(a, 2.5)),
    np_case("empty_like", post=lambda out: [(o.shape, o.dtype) for o in out], diff=(),
            nodiff="uninitialised values", vmap="uninitialised values"),
    np_case("array"),
    np_case("asarray", kw=dict(dtype=np.complex128)),
    both("array", "[a,b]", lambda f: lambda a, b: f([a, b]), ("x", "x"),
         shapes=(((2, 3), (2, 3)), ((), ()))),
    both("asarray", "(a,b)", lambda f: lambda a, b: f((a, b)), ("x", "x"),
         shapes=(((3,), (3,)), ((), ()))),
    np_case("meshgrid", ("x", "x"), shapes=(((3,), (2,)), ((1,), (4,)))),
    np_case("meshgrid", ("x", "x"), kw=dict(indexing="ij"), shapes=(((3,), (2,)),)),
    # -- sorting and searching
    np_case("sort", shapes=S23 + S3D + VEC, dtypes=ANY),
    np_case("sort", kw=dict(axis=0), shapes=S23 + S3D, dtypes=ANY),
    np_case("argsort", shapes=S23 + VEC, dtypes=ANY, diff=(), nodiff=INT),
    formula("argsort", "ties", lambda: fnp.argsort(np.array([1, 0, -2, -2])),
            lambda: np.argsort(np.array([1, 0, -2, -2]), kind="stable"), (),
            shapes=((),), diff=(), nodiff=INT, vmap=NO_ARRAY,
            xfail={"value": BUG_ARGSORT_TIES}),
    np_case("argsort", kw=dict(axis=None, stable=True), shapes=S23 + VEC, dtypes=ANY,
            diff=(), nodiff=INT),
    both("lexsort", "(a,b)", lambda f: lambda a, b: f((a, b)), ("int", "x"),
         shapes=(((5,), (5,)), ((2, 3), (2, 3))), dtypes=ANY, diff=(), nodiff=INT),
    formula("partition", "kth=1", lambda a: fnp.partition(a, 1)[..., :2],
            lambda a: np.sort(np.partition(a, 1)[..., :2], axis=-1),
            shapes=S23[:2] + S3D + VEC[:2], dtypes=ANY,
            post=lambda out: [np.sort(np.asarray(o), axis=-1) for o in out]),
    formula("argpartition", "kth=1",
            lambda a: fnp.take_along_axis(a, fnp.argpartition(a, 1), -1)[..., 1],
            lambda a: np.take_along_axis(a, np.argpartition(a, 1), -1)[..., 1],
            shapes=S23[:2] + S3D + VEC[:2], dtypes=ANY),
    np_case("searchsorted", ("sorted", "x"), shapes=(((5,), (3,)), ((4,), ()),
                                                     ((3,), (2, 2))),
            dtypes=ANY, diff=(), nodiff=INT),
    np_case("searchsorted", ("sorted", "x"), kw=dict(side="right"),
            shapes=(((5,), (3,)),), dtypes=ANY, diff=(), nodiff=INT),
    # -- index tricks
    np_case("nonzero", ("int",), shapes=S23 + VEC, dtypes=(I64,), diff=(), nodiff=INT,
            stage="the result's shape depends on the values (size= below)"),
    formula("nonzero", "size=4", lambda a: fnp.nonzero(a, size=4),
            lambda a: tuple(_padded(i, 4, 0) for i in np.nonzero(a)),
            ("int",), shapes=S23 + VEC, dtypes=(I64,), diff=(), nodiff=INT),
    formula("argwhere", "size=3", lambda a: fnp.argwhere(a, size=3),
            lambda a: np.concatenate([np.argwhere(a), np.zeros((3, a.ndim), np.int64)])[:3],
            ("int",), shapes=S23 + VEC, dtypes=(I64,), diff=(), nodiff=INT),
    np_case("argwhere", ("int",), shapes=S23, dtypes=(I64,), diff=(), nodiff=INT,
            stage="the result's shape depends on the values (size= above)"),
    formula("flatnonzero", "size=5,fill_value=-1",
            lambda a: fnp.flatnonzero(a, size=5, fill_value=-1),
            lambda a: _padded(np.flatnonzero(a), 5, -1),
            ("int",), shapes=S23 + VEC, dtypes=(I64,), diff=(), nodiff=INT),
    both("select", "2 conditions", lambda f: lambda c1, c2, a, b: f([c1, c2], [a, b], 0.5),
         ("bool", "bool", "x", "x"), shapes=(((2, 3),) * 4, ((3,), (2, 3), (3,), ()))),
    both("piecewise", "x<0,x>=0",
         lambda f: lambda x: f(x, [x < 0, x >= 0], [lambda v: -v, lambda v: v * v]),
         ("away",), dtypes=NUM),
    formula("r_", "a,b", lambda a, b: fnp.r_[a, b], lambda a, b: np.r_[a, b], ("x", "x"),
            shapes=(((3,), (2,)), ((2, 3), (1, 3)))),
    formula("c_", "a,b", lambda a, b: fnp.c_[a, b], lambda a, b: np.c_[a, b], ("x", "x"),
            shapes=(((3,), (3,)), ((2, 3), (2, 1)))),
    both("tril_indices", "3", lambda f: lambda: f(3), (), shapes=((),), diff=(),
         nodiff=NO_ARRAY, vmap=NO_ARRAY),
    both("triu_indices", "3,1,4", lambda f: lambda: f(3, 1, 4), (), shapes=((),), diff=(),
         nodiff=NO_ARRAY, vmap=NO_ARRAY),
    both("diag_indices", "3", lambda f: lambda: f(3), (), shapes=((),), diff=(),
         nodiff=NO_ARRAY, vmap=NO_ARRAY),
    np_case("tril_indices_from", shapes=(((3, 3),), ((2, 4),)), diff=(), nodiff=INT),
    np_case("triu_indices_from", kw=dict(k=-1), shapes=(((3, 3),), ((2, 4),)), diff=(),
            nodiff=INT),
    np_case("diag_indices_from", shapes=(((3, 3),), ((2, 2),)), diff=(), nodiff=INT),
    # -- counting and sets
    np_case("unique", ("int",), shapes=S23 + VEC, dtypes=ANY,
            stage="the result's shape depends on the values (size= below)"),
    formula("unique", "size=5", lambda a: fnp.unique(a, size=5),
            lambda a: _padded(np.unique(a), 5, np.unique(a)[0]), ("int",),
            shapes=S23 + VEC, dtypes=ANY),
    formula("unique", "size=3,return_counts", lambda a: fnp.unique(a, size=3,
                                                                   return_counts=True),
            lambda a: tuple(_padded(r, 3, f) for r, f in zip(
                np.unique(a, return_counts=True), (np.unique(a)[0], 0))),
            ("int",), shapes=S23 + VEC, dtypes=(F64, I64), diff=(), nodiff="counts"),
    np_case("bincount", ("int",), shapes=VEC, dtypes=(I64,), diff=(), nodiff=INT,
            stage="the result's length depends on the values (length= below)"),
    formula("bincount", "weights,length=5", lambda x, w: fnp.bincount(x, w, length=5),
            lambda x, w: np.bincount(x, w, minlength=5)[:5], ("int", "x"),
            shapes=(((4,), (4,)), ((6,), (6,))), dtypes=(F64, F32), diff=(1,)),
    np_case("histogram", kw=dict(bins=4, range=(-2.0, 2.0)), shapes=VEC + S23, dtypes=ANY,
            diff=(), nodiff="counts"),
    both("histogram", "weights", lambda f: lambda a, w: f(a, bins=3, range=(-2, 2),
                                                          weights=w),
         ("x", "pos"), shapes=(((5,), (5,)), ((2, 3), (2, 3))), dtypes=ANY, diff=(1,)),
    # -- signals and polynomials
    np_case("gradient", shapes=(((3, 4),), ((5,),)), dtypes=FC),
    np_case("gradient", kw=dict(axis=0, edge_order=2), shapes=(((3, 4),), ((5,),))),
    np_case("ediff1d", shapes=S23 + VEC),
    both("ediff1d", "to_end,to_begin", lambda f: lambda a: f(a, to_end=[1.0],
                                                             to_begin=[0.0, 2.0]),
         shapes=VEC),
    np_case("interp", ("x", "sorted", "x"), shapes=(((3,), (5,), (5,)), ((), (4,), (4,)),
                                                    ((2, 2), (3,), (3,))), dtypes=ANY),
    np_case("convolve", ("x", "x"), shapes=(((5,), (3,)), ((2,), (4,)), ((1,), (1,)))),
    np_case("convolve", ("x", "x"), kw=dict(mode="same"), shapes=(((5,), (3,)),)),
    np_case("correlate", ("x", "x"), shapes=(((5,), (3,)), ((2,), (4,)))),
    np_case("correlate", ("x", "x"), kw=dict(mode="full"), shapes=(((5,), (3,)),)),
    np_case("polyval", ("x", "x"), shapes=(((3,), (4,)), ((1,), ()), ((4,), (2, 2)))),
    both("polyfit", "deg=2", lambda f: lambda x, y: f(x, y, 2), ("sorted", "x"),
         shapes=(((5,), (5,)), ((6,), (6, 2))), dtypes=ANY, rtol=1e-7, atol=1e-7,
         xfail=dict.fromkeys(("value", "jit"), BUG_POLYFIT_F32)),
    # -- functional updates: x.at[idx]
    formula("at", "[1].set", lambda x, y: fnp.at(x)[1].set(y),
            lambda x, y: _np_at(x, 1, y, "set"), ("x", "x"),
            shapes=(((3,), ()), ((2, 3), (3,)))),
    formula("at", "[idx].add", lambda x, i, y: fnp.at(x)[i].add(y),
            lambda x, i, y: _np_at(x, i, y, "add"), ("x", "idx2", "x"),
            shapes=(((3,), (4,), (4,)), ((2, 3), (3,), (3, 3)))),
    formula("at", "[idx].multiply", lambda x, i, y: fnp.at(x)[i].multiply(y),
            lambda x, i, y: _np_at(x, i, y, "multiply"), ("x", "idx3", "x"),
            shapes=(((3,), (2,), (2,)),)),
    formula("at", "[::2].min", lambda x, y: fnp.at(x)[::2].min(y),
            lambda x, y: _np_at(x, slice(None, None, 2), y, "minimum"), ("x", "x"),
            shapes=(((4,), (2,)), ((3, 2), ())),
            xfail=dict.fromkeys(("value", "grad", "vmap", "jit"), BUG_AT_MINMAX_COMPLEX)),
    formula("at", "[idx].max", lambda x, i, y: fnp.at(x)[i].max(y),
            lambda x, i, y: _np_at(x, i, y, "maximum"), ("x", "idx3", "x"),
            shapes=(((3,), (2,), (2,)),),
            xfail=dict.fromkeys(("value", "grad", "vmap", "jit"), BUG_AT_MINMAX_COMPLEX)),
    formula("at", "[idx].get", lambda x, i: fnp.at(x)[i].get(), lambda x, i: x[i],
            ("x", "idx2"), shapes=(((3,), (4,)), ((2, 3), (2, 2)))),
]


# -- dtype and shape queries: their (static) answers on traced arrays, as arrays
CASES += [
    formula("ndim", "traced", lambda a: fnp.asarray(fnp.ndim(a)),
            lambda a: np.asarray(np.ndim(a)), shapes=S23 + VEC + (((),),), diff=(),
            nodiff=INT),
    formula("shape", "traced", lambda a: fnp.asarray(fnp.shape(a)),
            lambda a: np.asarray(np.shape(a)), shapes=S23 + VEC, diff=(), nodiff=INT),
    formula("size", "traced", lambda a: fnp.asarray(fnp.size(a)),
            lambda a: np.asarray(np.size(a)), shapes=S23 + VEC, diff=(), nodiff=INT),
    formula("iscomplexobj", "traced", lambda a: fnp.asarray(fnp.iscomplexobj(a)),
            lambda a: np.asarray(np.iscomplexobj(a)), diff=(), nodiff="a bool"),
    formula("isrealobj", "traced", lambda a: fnp.asarray(fnp.isrealobj(a)),
            lambda a: np.asarray(np.isrealobj(a)), diff=(), nodiff="a bool"),
    formula("result_type", "traced,float32",
            lambda a: fnp.zeros((), fnp.result_type(a, np.float32)),
            lambda a: np.zeros((), np.result_type(a, np.float32)), diff=(), nodiff="a dtype"),
    formula("can_cast", "dtypes", lambda: np.asarray([fnp.can_cast(np.int32, np.float32),
                                                      fnp.can_cast(F64, F32, "same_kind")]),
            lambda: np.asarray([np.can_cast(np.int32, np.float32),
                                np.can_cast(F64, F32, "same_kind")]),
            (), shapes=((),), diff=(), nodiff="a bool", vmap=NO_ARRAY),
    formula("promote_types", "dtypes",
            lambda: np.zeros((), fnp.promote_types(np.int32, np.float32)),
            lambda: np.zeros((), np.promote_types(np.int32, np.float32)),
            (), shapes=((),), diff=(), nodiff="a dtype", vmap=NO_ARRAY),
    formula("issubdtype", "dtypes",
            lambda: np.asarray([fnp.issubdtype(F32, fnp.floating),
                                fnp.issubdtype(np.int8, fnp.inexact)]),
            lambda: np.asarray([np.issubdtype(F32, np.floating),
                                np.issubdtype(np.int8, np.inexact)]),
            (), shapes=((),), diff=(), nodiff="a bool", vmap=NO_ARRAY),
    formula("isscalar", "values", lambda: np.asarray([fnp.isscalar(3.0),
                                                      fnp.isscalar(np.zeros(2))]),
            lambda: np.asarray([np.isscalar(3.0), np.isscalar(np.zeros(2))]),
            (), shapes=((),), diff=(), nodiff="a bool", vmap=NO_ARRAY),
]
