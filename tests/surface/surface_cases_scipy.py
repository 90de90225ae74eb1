"""The table of ``fad.scipy.special``, ``fad.scipy.stats`` and ``fad.scipy.linalg``,
against SciPy (a test oracle only)."""
from __future__ import annotations

import numpy as np
import scipy.linalg as sla
import scipy.special as ssp
import scipy.stats as sst

import fad.numpy as fnp
import fad.scipy.linalg as fsla
import fad.scipy.special as fsp
import fad.scipy.stats as fst
from surface_harness import ANY, F64, FC, REAL, case

UNARY = (((2, 3),), ((),), ((4,),))
BINARY = (((2, 3), (2, 3)), ((2, 3), (3,)), ((), (4,)))
RED = (((2, 3),), ((4,),), ((2, 1, 3),))



def sp_case(name, args=("x",), call=None, tag=None, **opts):
    """``call(fad.scipy.special.name)`` against ``call(scipy.special.name)``."""
    call = call or (lambda f: f)
    opts.setdefault("shapes", UNARY if len(args) == 1 else BINARY)
    opts.setdefault("dtypes", REAL)
    return case(f"scipy.special.{name}", call(getattr(fsp, name)),
                call(getattr(ssp, name)),
                id=f"scipy.special.{name}" + (f"[{tag}]" if tag else ""), args=args, **opts)


def _in_dtype_of(ref):
    """SciPy's stats compute in float64; fad's, like JAX's, keep float32 arguments
    float32 (its docstring): the reference, cast to the arguments' float type."""
    def wrapped(*args):
        dtype = np.result_type(*args)
        return np.asarray(ref(*args)).astype(dtype if dtype.kind == "f" else F64)
    return wrapped


def st_case(dist, fn, args, shapes, tag=None, **opts):
    opts.setdefault("dtypes", REAL)
    ref = getattr(getattr(sst, dist), fn)
    name = f"scipy.stats.{dist}.{fn}"
    return case(name, getattr(getattr(fst, dist), fn), _in_dtype_of(ref),
                id=name + (f"[{tag}]" if tag else ""), args=args, shapes=shapes, **opts)


def la_case(name, args=("sq",), call=None, tag=None, **opts):
    """``call(fad.scipy.linalg.name)`` against ``call(scipy.linalg.name)``."""
    call = call or (lambda f: f)
    opts.setdefault("shapes", (((3, 3),), ((2, 2),)) if len(args) == 1 else
                    (((3, 3), (3,)), ((3, 3), (3, 2))))
    opts.setdefault("dtypes", ANY)
    return case(f"scipy.linalg.{name}", call(getattr(fsla, name)), call(getattr(sla, name)),
                id=f"scipy.linalg.{name}" + (f"[{tag}]" if tag else ""), args=args, **opts)


CASES = [
    sp_case("erf"), sp_case("erfc"), sp_case("erfinv", ("unit",)),
    sp_case("erfcinv", ("prob",)),
    sp_case("expit"), sp_case("logit", ("prob",)),
    sp_case("log_expit"), sp_case("ndtr"), sp_case("log_ndtr"), sp_case("ndtri", ("prob",)),
    sp_case("gammaln", ("pos",)), sp_case("digamma", ("pos",)), sp_case("psi", ("pos",)),
    sp_case("entr", ("pos",)), sp_case("i0"), sp_case("i0e"), sp_case("i1"), sp_case("i1e"),
    sp_case("betaln", ("pos", "pos")), sp_case("xlogy", ("x", "pos")),
    sp_case("gammainc", ("pos", "pos")), sp_case("gammaincc", ("pos", "pos")),
    sp_case("betainc", ("pos", "pos", "prob"),
            shapes=(((2, 3), (2, 3), (2, 3)), ((), (3,), (2, 1)), ((4,), (), ()))),
    sp_case("betaincc", ("pos", "pos", "prob"),
            shapes=(((2, 3), (2, 3), (2, 3)), ((), (3,), (2, 1)), ((4,), (), ()))),
    sp_case("xlog1py", ("x", "pos")),
    # scipy.special.polygamma computes float32 in float64; fad keeps float32, as JAX does
    case("scipy.special.polygamma", lambda x: fsp.polygamma(1, x),
         _in_dtype_of(lambda x: ssp.polygamma(1, x)), id="scipy.special.polygamma[n=1]",
         args=("pos",), shapes=UNARY, dtypes=REAL),
    case("scipy.special.polygamma", lambda x: fsp.polygamma(np.array([0, 2, 3]), x),
         _in_dtype_of(lambda x: ssp.polygamma(np.array([0, 2, 3]), x)),
         id="scipy.special.polygamma[n=[0,2,3]]", args=("pos",),
         shapes=(((3,),), ((2, 3),)), dtypes=REAL),
    sp_case("logsumexp", shapes=RED, dtypes=FC),
    sp_case("logsumexp", call=lambda f: lambda a: f(a, axis=-1, keepdims=True),
            tag="axis=-1,keepdims", shapes=RED),
    sp_case("logsumexp", ("x", "x"), call=lambda f: lambda a, b: f(a, axis=0, b=b,
                                                                   return_sign=True),
            tag="b,return_sign", shapes=(((2, 3), (2, 3)), ((4,), (4,)), ((2, 3), (3,)))),
    sp_case("logsumexp", ("x", "x"), call=lambda f: lambda a, b: f(a, axis=0, b=b,
                                                                   return_sign=True),
            tag="complex,b,return_sign", shapes=(((2, 3), (2, 3)), ((4,), (4,))),
            dtypes=(np.dtype(np.complex128), np.dtype(np.complex64))),
    sp_case("softmax", shapes=RED),
    sp_case("softmax", call=lambda f: lambda a: f(a, axis=0), tag="axis=0", shapes=RED),
    sp_case("log_softmax", shapes=RED),
    sp_case("log_softmax", call=lambda f: lambda a: f(a, axis=-1), tag="axis=-1", shapes=RED),
]

_XLS = (((4,), (), ()), ((2, 3), (3,), (2, 1)), ((3,), (3,), (3,)))
for fn in ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"):
    CASES.append(st_case("norm", fn, ("x", "x", "pos"), _XLS))
for fn in ("ppf", "isf"):
    CASES.append(st_case("norm", fn, ("prob", "x", "pos"), _XLS))
CASES += [st_case("norm", "logpdf", ("x",), UNARY, tag="loc,scale defaults"),
          st_case("norm", "cdf", ("x",), UNARY, tag="loc,scale defaults")]
for fn in ("logpdf", "pdf"):
    CASES += [
        st_case("beta", fn, ("prob", "gt1", "gt1"), _XLS),
        st_case("beta", fn, ("prob", "gt1", "gt1", "tiny", "gt1"),
                (((4,), (), (), (), ()), ((2, 3), (3,), (2, 1), (), (3,))), tag="loc,scale"),
        st_case("gamma", fn, ("pos", "pos"), (((4,), ()), ((2, 3), (3,)))),
        st_case("t", fn, ("x", "gt1"), (((4,), ()), ((2, 3), (3,)))),
        st_case("t", fn, ("x", "gt1", "x", "pos"), (((4,), (), (), ()),), tag="loc,scale"),
        st_case("dirichlet", fn, ("simplex", "gt1"), (((3,), (3,)), ((3, 2), (3,))),
                dtypes=(F64,), diff=(1,)),
        st_case("multivariate_normal", fn, ("x", "x", "spd"),
                (((3,), (3,), (3, 3)), ((4, 2), (2,), (2, 2)))),
    ]
for fn in ("logpmf", "pmf", "cdf", "logcdf"):
    CASES.append(st_case("bernoulli", fn, ("idx2", "prob"), (((4,), ()), ((2, 3), (3,))),
                         dtypes=(F64, np.dtype(np.float32)), diff=(1,)))
for fn in ("logpmf", "pmf", "cdf", "logcdf", "sf", "logsf"):
    CASES.append(st_case("poisson", fn, ("int", "pos"), (((4,), ()), ((2, 3), (3,))),
                         diff=(1,)))
for fn in ("cdf", "logcdf", "sf", "logsf"):
    CASES += [
        st_case("t", fn, ("x", "gt1"), (((4,), ()), ((2, 3), (3,)))),
        st_case("t", fn, ("x", "gt1", "x", "pos"), (((4,), (), (), ()),), tag="loc,scale"),
        st_case("gamma", fn, ("pos", "pos"), (((4,), ()), ((2, 3), (3,)))),
        st_case("gamma", fn, ("big", "pos", "tiny", "pos"), (((4,), (), (), ()),),
                tag="loc,scale"),
        st_case("beta", fn, ("prob", "gt1", "pos"), _XLS),
        st_case("beta", fn, ("prob", "gt1", "pos", "tiny", "gt1"),
                (((4,), (), (), (), ()),), tag="loc,scale"),
    ]

CASES += [
    la_case("cholesky", ("spd",)),
    la_case("cholesky", ("spd",), call=lambda f: lambda a: f(a, lower=True), tag="lower"),
    # cho_factor's other triangle holds SciPy's leftover data and fad's zeros (its
    # docstring): compared through the factor's triangle
    la_case("cho_factor", ("spd",), call=lambda f: lambda a: fnp.triu(f(a)[0]), tag="[0]"),
    la_case("cho_solve", ("spd", "x"),
            call=lambda f: lambda a, b: f((fsla if f is fsla.cho_solve else sla).cho_factor(a),
                                          b)),
    la_case("det"), la_case("inv"),
    la_case("solve", ("sq", "x")),
    la_case("solve", ("spd", "x"), call=lambda f: lambda a, b: f(a, b, assume_a="pos"),
            tag="assume_a=pos"),
    la_case("solve_triangular", ("tril", "x"), call=lambda f: lambda a, b: f(a, b, lower=True),
            tag="lower"),
    la_case("solve_triangular", ("triu", "x"), call=lambda f: lambda a, b: f(a, b, trans=1),
            tag="trans=1"),
    la_case("lu", ("sq",)),
    la_case("lu", ("x",), call=lambda f: lambda a: f(a, permute_l=True), tag="permute_l",
            shapes=(((3, 3),), ((2, 3),), ((3, 2),))),
    la_case("lu_factor", ("sq",), grad_fn=lambda a: fsla.lu_factor(a)[0]),
    la_case("lu_solve", ("sq", "x"),
            call=lambda f: lambda a, b: f((fsla if f is fsla.lu_solve else sla).lu_factor(a),
                                          b)),
    la_case("qr", ("x",), shapes=(((3, 3),), ((3, 2),))),
    la_case("qr", ("x",), call=lambda f: lambda a: f(a, mode="economic"), tag="economic",
            shapes=(((3, 2),), ((2, 3),))),
    la_case("svd", ("x",), call=lambda f: lambda a: f(a, compute_uv=False), tag="values",
            shapes=(((3, 2),), ((2, 3),))),
    la_case("svd", ("x",), call=lambda f: lambda a: f(a, full_matrices=False),
            tag="full_matrices=False", shapes=(((3, 2),), ((2, 3),)),
            post=lambda out: [np.abs(np.asarray(o)) for o in out],
            grad_fn=lambda a: (lambda usv: (usv[1], usv[0] * fnp.conj(usv[0])))(
                fsla.svd(a, full_matrices=False))),
    la_case("eigh", ("herm",), call=lambda f: lambda a: f(a, eigvals_only=True),
            tag="eigvals_only", grad_fn=lambda a: fsla.eigh((a + fnp.conj(a.T)) / 2,
                                                            eigvals_only=True)),
    la_case("eigh", ("herm",), post=lambda out: [np.abs(np.asarray(o)) for o in out],
            grad_fn=lambda a: (lambda wv: (wv[0], wv[1] * fnp.conj(wv[1])))(
                fsla.eigh((a + fnp.conj(a.T)) / 2))),
    la_case("expm", ("small",), shapes=(((3, 3),), ((2, 2),), ((2, 3, 3),))),
]

# fad.scipy.special functions of real arguments whose SciPy counterpart takes complex
# ones too: fad must give SciPy's value or refuse (TypeError), the same eagerly and under
# jit (tests/surface/test_surface.py::test_special_complex_is_right_or_refused). This
# maps such a function to the bug that makes it fail (none at present: erf, erfc, ndtr,
# log_ndtr, digamma and psi refuse complex arguments; xlogy and xlog1py take them).
COMPLEX_SPECIAL: dict[str, str] = {}
