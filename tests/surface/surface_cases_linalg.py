"""The table of ``fad.numpy.linalg`` and ``fad.numpy.fft``, against ``numpy.linalg`` and
``numpy.fft``.

Factorisations are unique up to a gauge (eigenvector and singular-vector signs or
phases): values are compared through ``post`` (absolute values of the vectors), and
derivatives are taken of gauge-invariant functions (``grad_fn``), as fad's docstring
asks."""
from __future__ import annotations

import numpy as np

import fad.numpy as fnp
from fad.numpy import fft as ffft
from fad.numpy import linalg as fla
from surface_harness import ANY, FC, REAL, case

SQ = (((3, 3),), ((2, 2, 2),), ((1, 1),))        # square matrices, stacks of them
SQ_B = (((3, 3), (3,)), ((2, 2, 2), (2, 2, 1)), ((3, 3), (3, 2)))
RECT = (((3, 2),), ((2, 4),), ((2, 3, 2),))
INT = "integer result"


def la_case(name, args=("sq",), call=None, tag=None, **opts):
    """``call(fad.numpy.linalg.name)`` against ``call(numpy.linalg.name)``."""
    call = call or (lambda f: f)
    opts.setdefault("shapes", SQ if len(args) == 1 else SQ_B)
    opts.setdefault("dtypes", ANY)
    return case(f"numpy.linalg.{name}", call(getattr(fla, name)),
                call(getattr(np.linalg, name)),
                id=f"numpy.linalg.{name}" + (f"[{tag}]" if tag else ""), args=args, **opts)


def fft_case(name, args=("x",), call=None, tag=None, **opts):
    call = call or (lambda f: f)
    opts.setdefault("shapes", (((2, 4),), ((5,),), ((2, 3, 4),)))
    opts.setdefault("dtypes", ANY)
    return case(f"numpy.fft.{name}", call(getattr(ffft, name)), call(getattr(np.fft, name)),
                id=f"numpy.fft.{name}" + (f"[{tag}]" if tag else ""), args=args, **opts)


def _herm(a):
    """The Hermitian part, with fad.numpy (NumPy's on NumPy arrays): eigh's derivatives
    are those of a function of a Hermitian matrix."""
    return (a + fnp.conj(fnp.swapaxes(a, -1, -2))) / 2


def _abs_vectors(out):
    """Eigen- and singular values as they are, vectors in absolute value (their gauge)."""
    return [np.abs(np.asarray(o)) if np.ndim(o) >= 2 else np.asarray(o) for o in out]


def _sorted_complex(out):
    return [np.sort_complex(np.asarray(o).astype(complex)) if np.ndim(o) == 1 or i == 0
            else np.abs(np.asarray(o)) for i, o in enumerate(out)]


CASES = [
    la_case("cholesky", ("spd",)),
    la_case("cholesky", ("spd",), call=lambda f: lambda a: f(a, upper=True), tag="upper"),
    la_case("det", grad_tol=1e-4),
    la_case("slogdet"),
    la_case("inv"),
    la_case("solve", ("sq", "x")),
    la_case("pinv", ("x",), shapes=RECT),
    la_case("matrix_power", call=lambda f: lambda a: f(a, 3), tag="3"),
    la_case("matrix_power", call=lambda f: lambda a: f(a, -2), tag="-2"),
    la_case("matrix_rank", ("x",), shapes=RECT, diff=(), nodiff=INT),
    la_case("matrix_transpose", ("x",), shapes=RECT),
    la_case("eigh", ("herm",), call=lambda f: lambda a: f(_herm(a)), post=_abs_vectors,
            grad_fn=lambda a: (lambda wv: (wv[0], wv[1] * fnp.conj(wv[1])))(fla.eigh(_herm(a)))),
    la_case("eigvalsh", ("herm",), call=lambda f: lambda a: f(_herm(a))),
    # traced eig/eigvals are complex (NumPy's are real when every eigenvalue is; fad's
    # docstring says so): dtypes are not compared, and the derivatives are of real parts,
    # whose dtype does not depend on the path
    la_case("eigvals", ("distinct",), post=_sorted_complex, check_dtype=False,
            shapes=(((3, 3),), ((2, 2, 2),)), dtypes=FC,
            grad_fn=lambda a: fnp.real(fla.eigvals(a))),
    la_case("eig", ("distinct",), post=_sorted_complex, check_dtype=False,
            shapes=(((3, 3),), ((2, 2, 2),)), dtypes=FC,
            grad_fn=lambda a: (lambda wv: (fnp.real(wv[0]), fnp.abs(wv[1]) ** 2))(fla.eig(a))),
    la_case("svd", ("x",), shapes=RECT, post=_abs_vectors,
            call=lambda f: lambda a: f(a, full_matrices=False), tag="full_matrices=False",
            grad_fn=lambda a: (lambda usv: (usv[1], usv[0] * fnp.conj(usv[0]),
                                            usv[2] * fnp.conj(usv[2])))(
                fla.svd(a, full_matrices=False))),
    la_case("svd", ("x",), shapes=RECT, call=lambda f: lambda a: f(a, compute_uv=False),
            tag="compute_uv=False"),
    la_case("svdvals", ("x",), shapes=RECT),
    la_case("qr", ("x",), shapes=RECT + SQ),
    la_case("qr", ("x",), shapes=RECT, call=lambda f: lambda a: f(a, mode="r"), tag="r"),
    la_case("qr", ("x",), shapes=(((3, 2),), ((2, 3, 2),)),
            call=lambda f: lambda a: f(a, mode="complete"), tag="complete",
            grad_fn=lambda a: fla.qr(a, mode="complete")[1]),
    la_case("lstsq", ("x", "x"), shapes=(((4, 2), (4,)), ((3, 3), (3, 2))),
            call=lambda f: lambda a, b: f(a, b, rcond=None)[:2], tag="full rank",
            dtypes=REAL),
    la_case("lstsq", ("x", "x"), shapes=(((4, 2), (4,)),),
            call=lambda f: lambda a, b: f(a, b)[2:], tag="rank,s", dtypes=REAL, diff=()),
    la_case("cond", ("sq",)), la_case("cond", ("sq",), call=lambda f: lambda a: f(a, "fro"),
                                      tag="fro"),
    la_case("cond", ("sq",), call=lambda f: lambda a: f(a, 1), tag="1"),
    la_case("norm", ("away",), shapes=(((4,),), ((2, 3),), ((2, 2, 3),))),
    la_case("norm", ("away",), call=lambda f: lambda a: f(a, 1, axis=-1), tag="1,axis=-1",
            shapes=(((4,),), ((2, 3),))),
    la_case("norm", ("x",), call=lambda f: lambda a: f(a, np.inf), tag="inf",
            shapes=(((4,),), ((2, 3),))),
    la_case("norm", ("x",), call=lambda f: lambda a: f(a, 2), tag="2 (matrix)",
            shapes=(((2, 3),), ((3, 3),))),
    la_case("norm", ("x",), call=lambda f: lambda a: f(a, "nuc", keepdims=True),
            tag="nuc,keepdims", shapes=(((2, 3),), ((3, 3),))),
    la_case("norm", ("away",), call=lambda f: lambda a: f(a, 3, axis=0), tag="3,axis=0",
            shapes=(((4,),), ((2, 3),))),
    la_case("vector_norm", ("away",), shapes=(((4,),), ((2, 3),), ((2, 2, 3),))),
    la_case("vector_norm", ("away",), call=lambda f: lambda a: f(a, ord=1, axis=(0, 1)),
            tag="ord=1,axis=(0,1)", shapes=(((2, 3),), ((2, 2, 3),))),
    la_case("matrix_norm", ("x",), shapes=RECT),
    la_case("matrix_norm", ("x",), call=lambda f: lambda a: f(a, ord=-np.inf), tag="-inf",
            shapes=RECT),
    la_case("matrix_norm", ("x",), call=lambda f: lambda a: f(a, ord=-2), tag="-2",
            shapes=RECT),
    la_case("multi_dot", ("x", "x", "x"), call=lambda f: lambda a, b, c: f([a, b, c]),
            shapes=(((2, 3), (3, 4), (4, 2)), ((3,), (3, 2), (2,)))),
    la_case("matmul", ("x", "x"), shapes=(((2, 3), (3, 2)), ((2, 2, 3), (3,)))),
    la_case("outer", ("x", "x"), shapes=(((3,), (2,)), ((1,), (4,)))),
    la_case("tensordot", ("x", "x"), call=lambda f: lambda a, b: f(a, b, axes=1),
            shapes=(((2, 3), (3, 2)), ((3,), (3, 2)))),
    la_case("vecdot", ("x", "x"), shapes=(((2, 3), (2, 3)), ((3,), (2, 3)))),
    la_case("cross", ("x", "x"), shapes=(((3,), (3,)), ((2, 3), (3,)), ((2, 1, 3), (4, 3)))),
    la_case("trace", ("x",), shapes=RECT + SQ),
    la_case("trace", ("x",), call=lambda f: lambda a: f(a, offset=-1), tag="offset=-1",
            shapes=RECT + SQ),
    la_case("diagonal", ("x",), shapes=RECT + SQ),
    la_case("tensorinv", ("sq",), shapes=(((4, 4),),),
            call=lambda f: lambda a: f(fnp.reshape(a, (2, 2, 4)), ind=2), tag="ind=2"),
    la_case("tensorsolve", ("sq", "x"), shapes=(((4, 4), (2, 2)),),
            call=lambda f: lambda a, b: f(fnp.reshape(a, (2, 2, 2, 2)), b)),
]

_FFTS = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"]
_FFT2 = ["fft2", "ifft2", "rfft2", "irfft2"]
_FFTN = ["fftn", "ifftn", "rfftn", "irfftn"]
for name in _FFTS:
    CASES.append(fft_case(name))
    CASES.append(fft_case(name, call=lambda f: lambda a: f(a, n=6, axis=0, norm="ortho"),
                          tag="n=6,axis=0,ortho", shapes=(((2, 4),), ((5,),))))
for name in _FFT2:
    CASES.append(fft_case(name, shapes=(((2, 4),), ((3, 2, 3),))))
    CASES.append(fft_case(name, call=lambda f: lambda a: f(a, s=(3, 4), norm="forward"),
                          tag="s=(3,4),forward", shapes=(((2, 4),), ((3, 2, 3),))))
for name in _FFTN:
    CASES.append(fft_case(name))
    CASES.append(fft_case(name, call=lambda f: lambda a: f(a, s=(4,), axes=(0,)),
                          tag="s=(4,),axes=(0,)", shapes=(((2, 4),), ((3, 2),))))
CASES += [
    fft_case("fftshift"), fft_case("ifftshift"),
    fft_case("fftshift", call=lambda f: lambda a: f(a, axes=0), tag="axes=0"),
    fft_case("fftfreq", (), call=lambda f: lambda: f(5, 0.5), tag="5,0.5", shapes=((),),
             diff=(), nodiff="no array argument", vmap="no array argument"),
    fft_case("rfftfreq", (), call=lambda f: lambda: f(6), tag="6", shapes=((),),
             diff=(), nodiff="no array argument", vmap="no array argument"),
    fft_case("fftfreq", ("pos",), call=lambda f: lambda d: f(4, d), tag="traced d",
             shapes=(((),),), dtypes=REAL),
]
