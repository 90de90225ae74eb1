"""``fad.numpy.linalg``: ``numpy.linalg`` on the primitives of ``fad.lax.linalg``.

With no tracer among the inputs each function is NumPy's own; on tracers it promotes as
``numpy.linalg`` does (integers and booleans to float64, float16 and longdouble refused)
and is composite on ``cholesky``, ``triangular_solve``, ``solve``, ``lu``, ``qr``,
``eigh``, ``svd`` and ``eig``. ``np.linalg.*`` called on a tracer arrives here through
``__array_function__``.

Derivatives: ``det``/``slogdet`` go through the LU factorisation and ``solve``/``inv``
through a solve with the matrix, so they need an invertible matrix (a singular one
raises ``LinAlgError``, as NumPy's ``solve`` does). Eigenvector and singular-vector
derivatives need distinct eigenvalues / singular values: degenerate ones give infinite or
NaN derivatives (as in JAX); eigenvalues, singular values and gauge-invariant functions
of the vectors (``abs(v) ** 2``, ``u @ diag(s) @ vh``) are what to differentiate. Norms
take the subgradient 0 where they are not differentiable (the 2-norm at 0, ``abs`` at 0).

Traced, ``eig``/``eigvals`` always return complex arrays (NumPy returns real ones when
every eigenvalue is real, a dtype that depends on the values); ``lstsq`` returns the
residuals of a full-rank system when the rank is not known (under ``jit``/``vmap``);
``qr(mode='raw')`` is not traceable.
"""
from __future__ import annotations

import functools
import operator

import numpy as np

import fad.numpy as fnp
from fad import lax
from fad.lax import linalg as lax_linalg
from fad.lax.plumbing import normalize_axis
from fad.numpy._promote import any_traced, asarray, cast, concrete_or_none

LinAlgError = np.linalg.LinAlgError
# NumPy's result types (namedtuples, so pytrees), taken from NumPy itself
SlogdetResult = type(np.linalg.slogdet(np.eye(1)))
EighResult = type(np.linalg.eigh(np.eye(1)))
EigResult = type(np.linalg.eig(np.eye(1)))
SVDResult = type(np.linalg.svd(np.eye(1)))
QRResult = type(np.linalg.qr(np.eye(1)))
_NO_VALUE = np._NoValue


def _eager(np_fn):
    """Run ``np_fn`` itself when no argument is traced (NumPy's values, errors, warnings)."""
    def wrap(fn):
        @functools.wraps(fn)
        def dispatch(*args, **kwargs):
            if not any_traced(args) and not any_traced(kwargs.values()):
                return np_fn(*args, **kwargs)
            return fn(*args, **kwargs)
        return dispatch
    return wrap


def _linalg_dtype(*arrays):
    """The dtype ``numpy.linalg`` computes in: float32/complex64 only when every input is
    single precision; integers and booleans count as float64."""
    single, complex_ = True, False
    for a in arrays:
        dt = np.dtype(a.dtype)
        if dt.kind in "fc":
            if dt not in (np.float32, np.float64, np.complex64, np.complex128):
                raise TypeError(f"array type {dt} is unsupported in linalg")
            single &= dt.itemsize == (4 if dt.kind == "f" else 8)
            complex_ |= dt.kind == "c"
        else:
            single = False
    real = np.float32 if single else np.float64
    return np.dtype(np.result_type(real, np.complex64) if complex_ else real)


def _prepare(*arrays):
    """The operands as arrays or tracers of their common linalg dtype."""
    arrays = [asarray(a) for a in arrays]
    dtype = _linalg_dtype(*arrays)
    return [cast(a, dtype) for a in arrays]


def _assert_stacked_square(*arrays):
    for a in arrays:
        if a.ndim < 2:
            raise LinAlgError(f"{a.ndim}-dimensional array given. Array must be at least "
                              "two-dimensional")
        if a.shape[-1] != a.shape[-2]:
            raise LinAlgError("Last 2 dimensions of the array must be square")


def _real_dtype(dtype):
    return np.dtype(np.float32) if dtype in (np.float32, np.complex64) else np.dtype(np.float64)


# -- factorisations and solves ------------------------------------------------------------------


@_eager(np.linalg.cholesky)
def cholesky(a, /, *, upper=False):
    """Like ``numpy.linalg.cholesky``: reads the lower triangle (the upper one with
    ``upper=True``); not positive definite raises ``LinAlgError``.

    >>> import numpy as np, fad, fad.numpy.linalg as la
    >>> a = np.array([[4.0, 2.0], [2.0, 3.0]])
    >>> l = la.cholesky(a)
    >>> bool(np.allclose(l @ l.T, a))
    True
    """
    (a,) = _prepare(a)
    _assert_stacked_square(a)
    if upper:
        return lax_linalg.adjoint(lax_linalg.cholesky(lax_linalg.adjoint(a),
                                                      symmetrize_input=False))
    return lax_linalg.cholesky(a, symmetrize_input=False)


def _solve_shared_matrix(a, b):
    """``a`` one matrix, ``b`` a stack ``(..., n, k)``: one solve with all the columns."""
    shape = b.shape
    cols = fnp.reshape(fnp.moveaxis(b, -2, 0), (shape[-2], -1))
    x = lax_linalg.solve(a, cols)
    return fnp.moveaxis(fnp.reshape(x, (shape[-2],) + shape[:-2] + shape[-1:]), 0, -2)


@_eager(np.linalg.solve)
def solve(a, b):
    """Like ``numpy.linalg.solve`` (NumPy 2: ``b`` is a vector only when 1-D; batch
    dimensions broadcast). Singular ``a`` raises ``LinAlgError``.

    >>> import numpy as np, fad, fad.numpy.linalg as la
    >>> a = np.array([[4.0, 2.0], [2.0, 3.0]])
    >>> la.solve(a, np.array([6.0, 5.0])).round(6)
    array([1., 1.])
    >>> fad.grad(lambda b: la.solve(a, b).sum())(np.zeros(2)).round(3)
    array([0.125, 0.25 ])
    """
    a, b = _prepare(a, b)
    _assert_stacked_square(a)
    n = a.shape[-1]
    vector = b.ndim == 1
    if vector:
        b = fnp.reshape(b, (-1, 1))
    if b.ndim < 2 or b.shape[-2] != n:
        raise ValueError(f"solve: Input operand 1 has a mismatch in its core dimension 0, "
                         f"with gufunc signature (m,m),(m,n)->(m,n) (size {b.shape[-2]} is "
                         f"different from {n})")
    if a.ndim == 2 and b.ndim > 2:
        x = _solve_shared_matrix(a, b)
    else:
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        a = fnp.broadcast_to(a, batch + a.shape[-2:])
        x = lax_linalg.solve(a, fnp.broadcast_to(b, batch + b.shape[-2:]))
    return x[..., 0] if vector else x


@_eager(np.linalg.inv)
def inv(a):
    """Like ``numpy.linalg.inv`` (a solve with the identity, as NumPy's).

    >>> import numpy as np, fad, fad.numpy.linalg as la
    >>> a = np.array([[4.0, 2.0], [2.0, 3.0]])
    >>> bool(np.allclose(la.inv(a) @ a, np.eye(2)))
    True
    >>> fad.grad(lambda x: la.inv(x)[0, 0])(np.eye(2))
    array([[-1.,  0.],
           [ 0.,  0.]])
    """
    (a,) = _prepare(a)
    _assert_stacked_square(a)
    return lax_linalg.solve(a, fnp.broadcast_to(np.eye(a.shape[-1], dtype=a.dtype), a.shape))


def _lu_diagonal_and_parity(a):
    """The diagonal of ``u`` in ``p a = l u`` and the permutation's parity (+1 or -1)."""
    packed, pivots, _ = lax_linalg.lu(a)
    flips = fnp.sum(pivots != np.arange(a.shape[-1], dtype=np.int32), axis=-1)
    parity = (1 - 2 * (flips % 2)).astype(a.dtype)
    return lax_linalg.diagonal(packed), parity


@_eager(np.linalg.det)
def det(a):
    """Like ``numpy.linalg.det``, from the LU factorisation. Its derivative needs an
    invertible matrix (a singular one raises ``LinAlgError``).

    >>> import numpy as np, fad, fad.numpy.linalg as la
    >>> a = np.array([[4.0, 2.0], [2.0, 3.0]])
    >>> la.det(a).round(6)
    np.float64(8.0)
    >>> fad.grad(la.det)(a).round(6)
    array([[ 3., -2.],
           [-2.,  4.]])
    """
    (a,) = _prepare(a)
    _assert_stacked_square(a)
    d, parity = _lu_diagonal_and_parity(a)
    return fnp.multiply(parity, fnp.prod(d, axis=-1))


@_eager(np.linalg.slogdet)
def slogdet(a):
    """Like ``numpy.linalg.slogdet``: ``SlogdetResult(sign, logabsdet)``; a singular
    matrix gives sign 0 and logabsdet -inf.

    >>> import numpy as np, fad, fad.numpy.linalg as la
    >>> sign, logdet = la.slogdet(np.array([[0.0, 2.0], [3.0, 0.0]]))
    >>> float(sign), float(np.exp(logdet).round(6))
    (-1.0, 6.0)
    """
    (a,) = _prepare(a)
    _assert_stacked_square(a)
    d, parity = _lu_diagonal_and_parity(a)
    absd = fnp.abs(d)
    if d.dtype.kind == "c":
        zero = absd == 0
        phases = fnp.where(zero, 0, d / fnp.where(zero, 1, absd).astype(d.dtype))
    else:
        phases = fnp.sign(d)
    sign = fnp.multiply(parity, fnp.prod(phases, axis=-1))
    with np.errstate(divide="ignore"):
        logabsdet = fnp.sum(fnp.log(absd), axis=-1)
    return SlogdetResult(sign, logabsdet)


@_eager(np.linalg.qr)
def qr(a, mode="reduced"):
    """Like ``numpy.linalg.qr`` with modes 'reduced', 'complete' and 'r' ('raw', the
    Householder reflectors, is not traceable).

    >>> import numpy as np, fad, fad.numpy.linalg as la
    >>> a = np.array([[4.0, 2.0], [2.0, 3.0]])
    >>> q, r = la.qr(a)
    >>> bool(np.allclose(q @ r, a)), bool(np.allclose(q.T @ q, np.eye(2)))
    (True, True)
    """
    if mode not in ("reduced", "complete", "r", "raw"):
        raise ValueError(f"Unrecognized mode '{mode}'")
    if mode == "raw":
        raise NotImplementedError("qr(mode='raw') cannot be traced: use mode 'reduced', "
                                  "'complete' or 'r'")
    (a,) = _prepare(a)
    if a.ndim < 2:
        raise LinAlgError(f"{a.ndim}-dimensional array given. Array must be at least "
                          "two-dimensional")
    q, r = lax_linalg.qr(a, full_matrices=mode == "complete")
    return r if mode == "r" else QRResult(q, r)


# -- spectral decompositions ----------------------------------------------------------------------


def _uplo(UPLO):
    if UPLO not in ("L", "U"):
        raise ValueError("UPLO argument must be 'L' or 'U'")
    return UPLO == "L"


@_eager(np.linalg.eigh)
def eigh(a, UPLO="L"):
    """Like ``numpy.linalg.eigh``: ``EighResult(eigenvalues, eigenvectors)``, reading the
    ``UPLO`` triangle. Eigenvector derivatives need distinct eigenvalues (degenerate ones
    give infinite/NaN derivatives, as in JAX).

    >>> import numpy as np, fad, fad.numpy.linalg as la
    >>> a = np.array([[4.0, 2.0], [2.0, 3.0]])
    >>> w, v = la.eigh(a)
    >>> bool(np.allclose(a @ v, v * w))
    True
    """
    lower = _uplo(UPLO)
    (a,) = _prepare(a)
    _assert_stacked_square(a)
    v, w = lax_linalg.eigh(a, lower=lower, symmetrize_input=False)
    return EighResult(w, v)


@_eager(np.linalg.eigvalsh)
def eigvalsh(a, UPLO="L"):
    """Like ``numpy.linalg.eigvalsh``.

    >>> import numpy as np, fad, fad.numpy.linalg as la
    >>> la.eigvalsh(np.array([[2.0, 1.0], [1.0, 2.0]]))
    array([1., 3.])
    """
    return eigh(a, UPLO).eigenvalues


@_eager(np.linalg.eig)
def eig(a):
    """Like ``numpy.linalg.eig``: ``EigResult(eigenvalues, eigenvectors)``, but complex
    whatever the values when traced. Differentiable (eigenvalues; eigenvectors for
    distinct eigenvalues, in gauge-invariant functions).

    >>> import numpy as np, fad, fad.numpy.linalg as la
    >>> w, v = la.eig(np.array([[2.0, 0.0], [0.0, 3.0]]))
    >>> w
    array([2., 3.])
    """
    (a,) = _prepare(a)
    _assert_stacked_square(a)
    w, v = lax_linalg.eig(a)
    return EigResult(w, v)


@_eager(np.linalg.eigvals)
def eigvals(a):
    """Like ``numpy.linalg.eigvals``, complex whatever the values when traced.

    >>> import numpy as np, fad, fad.numpy.linalg as la
    >>> la.eigvals(np.array([[0.0, -1.0], [1.0, 0.0]]))
    array([0.+1.j, 0.-1.j])
    """
    (a,) = _prepare(a)
    _assert_stacked_square(a)
    return lax_linalg.eig(a, compute_right_eigenvectors=False)[0]


def _descending_abs_eigh(a, compute_uv):
    """The SVD of Hermitian ``a`` from its eigendecomposition, as NumPy computes it."""
    w, v = eigh(a)
    s = fnp.abs(w)
    order = fnp.flip(fnp.argsort(s, axis=-1), axis=-1)
    s = fnp.take_along_axis(s, order, axis=-1)
    if not compute_uv:
        return s
    sgn = fnp.take_along_axis(fnp.sign(w), order, axis=-1)
    u = fnp.take_along_axis(v, fnp.expand_dims(order, -2), axis=-1)
    vh = fnp.conj(fnp.swapaxes(u * fnp.expand_dims(sgn, -2).astype(u.dtype), -1, -2))
    return SVDResult(u, s, vh)


@_eager(np.linalg.svd)
def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """Like ``numpy.linalg.svd``: ``SVDResult(U, S, Vh)`` (or ``S``). Singular-vector
    derivatives need distinct nonzero singular values.

    >>> import numpy as np, fad, fad.numpy.linalg as la
    >>> a = np.array([[4.0, 2.0], [2.0, 3.0]])
    >>> u, s, vh = la.svd(a)
    >>> bool(np.allclose(u * s @ vh, a))
    True
    """
    (a,) = _prepare(a)
    if a.ndim < 2:
        raise LinAlgError(f"{a.ndim}-dimensional array given. Array must be at least "
                          "two-dimensional")
    if hermitian:
        return _descending_abs_eigh(a, compute_uv)
    if not compute_uv:
        return lax_linalg.svd(a, compute_uv=False)
    return SVDResult(*lax_linalg.svd(a, full_matrices=bool(full_matrices)))


@_eager(np.linalg.svdvals)
def svdvals(x, /):
    """Like ``numpy.linalg.svdvals``.

    >>> import numpy as np, fad, fad.numpy.linalg as la
    >>> la.svdvals(np.array([[3.0, 0.0], [0.0, -4.0]]))
    array([4., 3.])
    """
    return svd(x, compute_uv=False)


# -- norms ---------------------------------------------------------------------------------------


def _sqrt_sum_squares(x, axis, keepdims):
    """``sqrt(sum(|x|**2))`` with derivative 0 (a subgradient) where it is 0."""
    sq = fnp.real(fnp.conj(x) * x) if x.dtype.kind == "c" else x * x
    s = fnp.sum(sq, axis=axis, keepdims=keepdims)
    # where s is 0, s itself (the norm's value 0, whose derivative 2 x is 0 there); NaN
    # goes through the root, and stays NaN in value and derivative, as in NumPy
    nonzero = s != 0
    return fnp.where(nonzero, fnp.sqrt(fnp.where(nonzero, s, 1)), s).astype(s.dtype)


def _vector_norm(x, ord, axis, keepdims):
    if ord is None or ord == 2:
        return _sqrt_sum_squares(x, axis, keepdims)
    if isinstance(ord, str):
        raise ValueError(f"Invalid norm order '{ord}' for vectors")
    absx = fnp.abs(x)
    if ord == np.inf:
        return fnp.max(absx, axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return fnp.min(absx, axis=axis, keepdims=keepdims)
    if ord == 0:
        return fnp.sum((x != 0).astype(absx.dtype), axis=axis, keepdims=keepdims)
    if ord == 1:
        return fnp.sum(absx, axis=axis, keepdims=keepdims)
    s = fnp.sum(fnp.power(absx, absx.dtype.type(ord)), axis=axis, keepdims=keepdims)
    nonzero = s != 0     # (the root's derivative at 0: the subgradient 0)
    root = fnp.power(fnp.where(nonzero, s, 1), s.dtype.type(1.0 / ord))
    # where s is 0 and ord > 0, the root is s itself, whose derivative ord |x|**(ord - 1) is
    # 0 there (the root's inf times it would be NaN); for ord < 0, s is 0 only where an
    # entry is infinite, and the norm is the root of s, inf
    rest = s if ord > 0 else fnp.power(s, s.dtype.type(1.0 / ord))
    return fnp.where(nonzero, root, rest)


def _singular_values(x, row, col):
    return svd(fnp.moveaxis(x, (row, col), (-2, -1)), compute_uv=False)


def _matrix_norm(x, ord, row, col, keepdims):
    if row == col:
        raise ValueError("Duplicate axes given.")
    if ord in ("fro", "f", None):
        out = _sqrt_sum_squares(x, (row, col), False)
    elif ord == "nuc":
        out = fnp.sum(_singular_values(x, row, col), axis=-1)
    elif isinstance(ord, str) or ord not in (2, -2, 1, -1, np.inf, -np.inf):
        raise ValueError("Invalid norm order for matrices.")
    elif ord in (2, -2):
        s = _singular_values(x, row, col)
        out = fnp.max(s, axis=-1) if ord == 2 else fnp.min(s, axis=-1)
    else:   # the largest (smallest) absolute column sum (1) or row sum (inf)
        summed, other = (row, col) if ord in (1, -1) else (col, row)
        other -= other > summed
        sums = fnp.sum(fnp.abs(x), axis=summed)
        out = fnp.max(sums, axis=other) if ord > 0 else fnp.min(sums, axis=other)
    if keepdims:
        shape = list(x.shape)
        shape[row] = shape[col] = 1
        out = fnp.reshape(out, shape)
    return out


def _norm_operand(x):
    x = asarray(x)
    return x if x.dtype.kind in "fc" else cast(x, np.dtype(np.float64))


@_eager(np.linalg.norm)
def norm(x, ord=None, axis=None, keepdims=False):
    """Like ``numpy.linalg.norm``: every vector and matrix ``ord`` NumPy accepts; the
    2-norm's derivative at 0 is 0 (a subgradient), not NaN.

    >>> import numpy as np, fad, fad.numpy.linalg as la
    >>> la.norm(np.array([3.0, 4.0]))
    np.float64(5.0)
    >>> fad.grad(la.norm)(np.array([3.0, 4.0]))
    array([0.6, 0.8])
    """
    x = _norm_operand(x)
    nd = x.ndim
    if axis is None:
        if ord is None or (ord in ("f", "fro") and nd == 2) or (ord == 2 and nd == 1):
            out = _sqrt_sum_squares(fnp.ravel(x), 0, False)
            return fnp.reshape(out, (1,) * nd) if keepdims else out
        axis = tuple(range(nd))
    elif not isinstance(axis, tuple):
        try:
            axis = (operator.index(axis),)
        except TypeError:
            raise TypeError("'axis' must be None, an integer or a tuple of integers") from None
    axis = tuple(normalize_axis(a, nd) for a in axis)
    if len(axis) == 1:
        return _vector_norm(x, ord, axis, keepdims)
    if len(axis) == 2:
        return _matrix_norm(x, ord, axis[0], axis[1], keepdims)
    raise ValueError("Improper number of dimensions to norm.")


@_eager(np.linalg.vector_norm)
def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    """Like ``numpy.linalg.vector_norm`` (several axes are flattened into one).

    >>> import numpy as np, fad, fad.numpy.linalg as la
    >>> la.vector_norm(np.array([[3.0, 4.0], [6.0, 8.0]]), axis=1)
    array([ 5., 10.])
    >>> la.vector_norm(np.array([1.0, -2.0]), ord=1)
    np.float64(3.0)
    """
    x = _norm_operand(x)
    nd = x.ndim
    axes = tuple(range(nd)) if axis is None else (
        tuple(axis) if isinstance(axis, tuple) else (axis,))
    axes = tuple(normalize_axis(a, nd) for a in axes)
    rest = [i for i in range(nd) if i not in axes]
    flat = fnp.reshape(fnp.transpose(x, rest + list(axes)),
                       tuple(x.shape[i] for i in rest) + (-1,))
    out = _vector_norm(flat, ord, (len(rest),), False)
    if keepdims:
        out = fnp.reshape(out, tuple(1 if i in axes else n for i, n in enumerate(x.shape)))
    return out


@_eager(np.linalg.matrix_norm)
def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    """Like ``numpy.linalg.matrix_norm``: ``norm`` over the last two axes.

    >>> import numpy as np, fad, fad.numpy.linalg as la
    >>> la.matrix_norm(np.array([[3.0, 0.0], [0.0, 4.0]]))
    np.float64(5.0)
    >>> la.matrix_norm(np.array([[3.0, 0.0], [0.0, 4.0]]), ord=2)
    np.float64(4.0)
    """
    return norm(x, ord=ord, axis=(-2, -1), keepdims=keepdims)


@_eager(np.linalg.cond)
def cond(x, p=None):
    """Like ``numpy.linalg.cond`` (without NumPy's NaN-to-inf replacement).

    >>> import numpy as np, fad, fad.numpy.linalg as la
    >>> la.cond(np.diag([1.0, 4.0]))
    np.float64(4.0)
    """
    x = _norm_operand(x)
    if p is None or p in (2, -2):
        s = svdvals(x)
        with np.errstate(all="ignore"):
            return s[..., -1] / s[..., 0] if p == -2 else s[..., 0] / s[..., -1]
    return norm(x, p, axis=(-2, -1)) * norm(inv(x), p, axis=(-2, -1))


# -- pseudo-inverse, least squares, rank ----------------------------------------------------------


def _cutoff_reciprocal(s, rcond):
    """``1 / s`` where ``s > rcond * max(s)`` (the cut made without derivative), else 0."""
    cutoff = lax.stop_gradient(rcond * fnp.max(s, axis=-1, keepdims=True))
    large = s > cutoff
    return fnp.where(large, 1 / fnp.where(large, s, 1), 0).astype(s.dtype)


@_eager(np.linalg.pinv)
def pinv(a, rcond=None, hermitian=False, *, rtol=_NO_VALUE):
    """Like ``numpy.linalg.pinv``, from the SVD (its derivative needs distinct singular
    values).

    >>> import numpy as np, fad, fad.numpy.linalg as la
    >>> a = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    >>> la.pinv(a) @ np.array([1.0, 4.0, 9.0])
    array([1., 2.])
    """
    (a,) = _prepare(a)
    if rcond is None:
        rcond = 1e-15 if rtol is _NO_VALUE else (
            max(a.shape[-2:]) * np.finfo(a.dtype).eps if rtol is None else rtol)
    elif rtol is not _NO_VALUE:
        raise ValueError("`rtol` and `rcond` can't be both set.")
    rcond = fnp.expand_dims(asarray(rcond), -1)
    m, n = a.shape[-2:]
    if m == 0 or n == 0:
        return fnp.zeros(a.shape[:-2] + (n, m), a.dtype)
    u, s, vt = svd(fnp.conj(a), full_matrices=False, hermitian=hermitian)
    s_inv = _cutoff_reciprocal(s, rcond.astype(s.dtype))
    return fnp.matmul(fnp.swapaxes(vt, -1, -2),
                      fnp.expand_dims(s_inv, -1).astype(a.dtype) * fnp.swapaxes(u, -1, -2))


@_eager(np.linalg.lstsq)
def lstsq(a, b, rcond=None):
    """Like ``numpy.linalg.lstsq``: ``(x, residuals, rank, s)``, singular values at most
    ``rcond * max(s)`` treated as zero. The residuals are NumPy's (empty unless the rank
    is full and ``m > n``) when the rank is known; under ``jit``/``vmap`` it is not, and
    they are those of a full-rank system.

    >>> import numpy as np, fad, fad.numpy.linalg as la
    >>> a = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]])
    >>> x, res, rank, s = la.lstsq(a, np.array([1.0, 3.0, 5.0]))
    >>> x.round(6), int(rank)
    (array([1., 2.]), 2)
    """
    a, b = _prepare(a, b)
    vector = b.ndim == 1
    if vector:
        b = fnp.reshape(b, (-1, 1))
    for x in (a, b):
        if x.ndim != 2:
            raise LinAlgError(f"{x.ndim}-dimensional array given. Array must be "
                              "two-dimensional")
    m, n = a.shape
    if b.shape[0] != m:
        raise LinAlgError("Incompatible dimensions")
    if rcond is None:
        rcond = np.finfo(a.dtype).eps * max(n, m)
    u, s, vh = svd(a, full_matrices=False)
    s_inv = _cutoff_reciprocal(s, s.dtype.type(rcond))
    rank = fnp.sum(s_inv != 0).astype(np.int32)
    uhb = fnp.matmul(fnp.conj(fnp.swapaxes(u, -1, -2)), b)
    x = fnp.matmul(fnp.conj(fnp.swapaxes(vh, -1, -2)),
                   fnp.expand_dims(s_inv, -1).astype(a.dtype) * uhb)
    known_rank = concrete_or_none(rank)
    if m > n and (known_rank is None or int(known_rank) == n):
        r = b - fnp.matmul(a, x)
        resids = fnp.sum(fnp.real(fnp.conj(r) * r) if r.dtype.kind == "c" else r * r, axis=0)
    else:
        resids = np.array([], _real_dtype(a.dtype))
    if m == 0:
        x = fnp.zeros_like(x)
    return (x[:, 0] if vector else x), resids, rank, s


@_eager(np.linalg.matrix_rank)
def matrix_rank(A, tol=None, hermitian=False, *, rtol=None):
    """Like ``numpy.linalg.matrix_rank`` (an integer: no derivative).

    >>> import numpy as np, fad, fad.numpy.linalg as la
    >>> la.matrix_rank(np.array([[1.0, 2.0], [2.0, 4.0]]))
    np.int64(1)
    """
    A = lax.stop_gradient(asarray(A))
    if A.ndim < 2:
        return fnp.any(A != 0).astype(np.int64)
    S = svd(A, compute_uv=False, hermitian=hermitian)
    if tol is None:
        rtol = (max(A.shape[-2:]) * np.finfo(S.dtype).eps if rtol is None
                else fnp.expand_dims(asarray(rtol), -1))
        tol = fnp.max(S, axis=-1, keepdims=True) * rtol
    else:
        tol = fnp.expand_dims(asarray(tol), -1)
    return fnp.sum(S > tol, axis=-1).astype(np.intp)


# -- products and the rest -----------------------------------------------------------------------


@_eager(np.linalg.matrix_power)
def matrix_power(a, n):
    """Like ``numpy.linalg.matrix_power`` (the same products in the same order).

    >>> import numpy as np, fad, fad.numpy.linalg as la
    >>> la.matrix_power(np.array([[1, 1], [0, 1]]), 3)
    array([[1, 3],
           [0, 1]])
    """
    a = asarray(a)
    try:
        n = operator.index(n)
    except TypeError as e:
        raise TypeError("exponent must be an integer") from e
    _assert_stacked_square(a)
    if n == 0:
        return fnp.broadcast_to(np.eye(a.shape[-1], dtype=a.dtype), a.shape)
    if n < 0:
        a, n = inv(a), -n
    if n == 1:
        return a
    if n == 2:
        return fnp.matmul(a, a)
    if n == 3:
        return fnp.matmul(fnp.matmul(a, a), a)
    z = result = None
    while n > 0:
        z = a if z is None else fnp.matmul(z, z)
        n, bit = divmod(n, 2)
        if bit:
            result = z if result is None else fnp.matmul(result, z)
    return result


def _chain_order(shapes):
    """NumPy's dynamic programme for the cheapest order of a chain of products: the
    split point of each sub-chain."""
    n = len(shapes)
    p = [s[0] for s in shapes] + [shapes[-1][1]]
    m = np.zeros((n, n))
    split = np.empty((n, n), dtype=np.intp)
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            m[i, j] = np.inf
            for k in range(i, j):
                q = m[i, k] + m[k + 1, j] + p[i] * p[k + 1] * p[j + 1]
                if q < m[i, j]:
                    m[i, j], split[i, j] = q, k
    return split


def _chain(arrays, split, i, j):
    if i == j:
        return arrays[i]
    k = split[i, j]
    return fnp.dot(_chain(arrays, split, i, k), _chain(arrays, split, k + 1, j))


@_eager(np.linalg.multi_dot)
def multi_dot(arrays, *, out=None):
    """Like ``numpy.linalg.multi_dot`` (NumPy's order of products); ``out`` is not
    supported when traced.

    >>> import numpy as np, fad, fad.numpy.linalg as la
    >>> la.multi_dot([np.ones((2, 3)), np.ones((3, 4)), np.ones(4)])
    array([12., 12.])
    """
    if out is not None:
        raise TypeError("multi_dot(..., out=...) cannot write into a traced array: drop "
                        "out= and use the returned value")
    arrays = [asarray(a) for a in arrays]
    if len(arrays) < 2:
        raise ValueError("Expecting at least two arrays.")
    if len(arrays) == 2:
        return fnp.dot(arrays[0], arrays[1])
    first, last = arrays[0].ndim, arrays[-1].ndim
    if first == 1:
        arrays[0] = fnp.reshape(arrays[0], (1, -1))
    if last == 1:
        arrays[-1] = fnp.reshape(arrays[-1], (-1, 1))
    for a in arrays:
        if a.ndim != 2:
            raise LinAlgError(f"{a.ndim}-dimensional array given. Array must be "
                              "two-dimensional")
    if len(arrays) == 3:   # NumPy compares the costs of the two orders
        (a0, a1), c1 = arrays[0].shape, arrays[2].shape[1]
        b1 = arrays[1].shape[1]
        split = np.zeros((3, 3), np.intp)
        split[0, 2] = 1 if a0 * b1 * (a1 + c1) < a1 * c1 * (a0 + b1) else 0
        split[1, 2] = 1
    else:
        split = _chain_order([a.shape for a in arrays])
    result = _chain(arrays, split, 0, len(arrays) - 1)
    if first == 1 and last == 1:
        return result[0, 0]
    return fnp.ravel(result) if first == 1 or last == 1 else result


@_eager(np.linalg.cross)
def cross(x1, x2, /, *, axis=-1):
    """Like ``numpy.linalg.cross``: of (arrays of) 3-element vectors.

    >>> import numpy as np, fad, fad.numpy.linalg as la
    >>> la.cross(np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))
    array([0., 0., 1.])
    """
    x1, x2 = asarray(x1), asarray(x2)
    if x1.shape[axis] != 3 or x2.shape[axis] != 3:
        raise ValueError("Both input arrays must be (arrays of) 3-dimensional vectors, but "
                         f"they are {x1.shape[axis]} and {x2.shape[axis]} dimensional "
                         "instead.")
    a, b = fnp.moveaxis(x1, axis, -1), fnp.moveaxis(x2, axis, -1)
    comps = [a[..., (i + 1) % 3] * b[..., (i + 2) % 3] - a[..., (i + 2) % 3] * b[..., (i + 1) % 3]
             for i in range(3)]
    return fnp.moveaxis(fnp.stack(comps, axis=-1), -1, axis)


@_eager(np.linalg.outer)
def outer(x1, x2, /):
    """Like ``numpy.linalg.outer``: of two vectors.

    >>> import numpy as np, fad, fad.numpy.linalg as la
    >>> la.outer(np.array([1, 2]), np.array([1, 10]))
    array([[ 1, 10],
           [ 2, 20]])
    """
    x1, x2 = asarray(x1), asarray(x2)
    if x1.ndim != 1 or x2.ndim != 1:
        raise ValueError(f"Input arrays must be one-dimensional, but they are x1.ndim="
                         f"{x1.ndim} and x2.ndim={x2.ndim}.")
    return fnp.outer(x1, x2)


@_eager(np.linalg.tensorsolve)
def tensorsolve(a, b, axes=None):
    """Like ``numpy.linalg.tensorsolve``.

    >>> import numpy as np, fad, fad.numpy.linalg as la
    >>> a = 2 * np.eye(4).reshape(2, 2, 2, 2)
    >>> la.tensorsolve(a, np.ones((2, 2)))
    array([[0.5, 0.5],
           [0.5, 0.5]])
    """
    a, b = asarray(a), asarray(b)
    if axes is not None:
        order = [k for k in range(a.ndim) if k not in [k2 % a.ndim for k2 in axes]]
        a = fnp.transpose(a, order + [k % a.ndim for k in axes])
    shape = a.shape[-(a.ndim - b.ndim):]
    size = int(np.prod(shape))
    if a.size != size ** 2:
        raise LinAlgError("Input arrays must satisfy the requirement prod(a.shape[b.ndim:]) "
                          "== prod(a.shape[:b.ndim])")
    return fnp.reshape(solve(fnp.reshape(a, (size, size)), fnp.ravel(b)), shape)


@_eager(np.linalg.tensorinv)
def tensorinv(a, ind=2):
    """Like ``numpy.linalg.tensorinv``.

    >>> import numpy as np, fad, fad.numpy.linalg as la
    >>> a = np.eye(4).reshape(4, 2, 2)
    >>> la.tensorinv(a, ind=1).shape
    (2, 2, 4)
    """
    a = asarray(a)
    if ind <= 0:
        raise ValueError("Invalid ind argument.")
    size = int(np.prod(a.shape[ind:]))
    return fnp.reshape(inv(fnp.reshape(a, (size, -1))), a.shape[ind:] + a.shape[:ind])


@_eager(np.linalg.matrix_transpose)
def matrix_transpose(x, /):
    """Like ``numpy.linalg.matrix_transpose``.

    >>> import numpy as np, fad, fad.numpy.linalg as la
    >>> la.matrix_transpose(np.ones((5, 2, 3))).shape
    (5, 3, 2)
    """
    x = asarray(x)
    if x.ndim < 2:
        raise ValueError(f"Input array must be at least 2-dimensional, but it is {x.ndim}")
    return fnp.swapaxes(x, -1, -2)


@_eager(np.linalg.vecdot)
def vecdot(x1, x2, /, *, axis=-1):
    """Like ``numpy.linalg.vecdot``.

    >>> import numpy as np, fad, fad.numpy.linalg as la
    >>> la.vecdot(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    np.float64(11.0)
    """
    return fnp.vecdot(x1, x2, axis=axis)


@_eager(np.linalg.matmul)
def matmul(x1, x2, /):
    """Like ``numpy.linalg.matmul``.

    >>> import numpy as np, fad, fad.numpy.linalg as la
    >>> la.matmul(np.array([[1, 2], [3, 4]]), np.array([1, 1]))
    array([3, 7])
    """
    return fnp.matmul(x1, x2)


@_eager(np.linalg.tensordot)
def tensordot(x1, x2, /, *, axes=2):
    """Like ``numpy.linalg.tensordot``.

    >>> import numpy as np, fad, fad.numpy.linalg as la
    >>> la.tensordot(np.ones((2, 3)), np.ones((3, 4)), axes=1).shape
    (2, 4)
    """
    return fnp.tensordot(x1, x2, axes)


@_eager(np.linalg.trace)
def trace(x, /, *, offset=0, dtype=None):
    """Like ``numpy.linalg.trace``: over the last two axes.

    >>> import numpy as np, fad, fad.numpy.linalg as la
    >>> la.trace(np.arange(8).reshape(2, 2, 2))
    array([ 3, 11])
    """
    return fnp.trace(x, offset, -2, -1, dtype)


@_eager(np.linalg.diagonal)
def diagonal(x, /, *, offset=0):
    """Like ``numpy.linalg.diagonal``: of the last two axes.

    >>> import numpy as np, fad, fad.numpy.linalg as la
    >>> la.diagonal(np.arange(8).reshape(2, 2, 2))
    array([[0, 3],
           [4, 7]])
    """
    return fnp.diagonal(x, offset, -2, -1)


__all__ = ["LinAlgError", "cholesky", "solve", "inv", "det", "slogdet", "qr", "eigh",
           "eigvalsh", "eig", "eigvals", "svd", "svdvals", "norm", "vector_norm",
           "matrix_norm", "cond", "pinv", "lstsq", "matrix_rank", "matrix_power",
           "multi_dot", "cross", "outer", "tensorsolve", "tensorinv", "matrix_transpose",
           "vecdot", "matmul", "tensordot", "trace", "diagonal"]
