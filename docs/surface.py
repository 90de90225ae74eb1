"""Write docs/SURFACE.md, fad's NumPy- and SciPy-style surface, from the code.

    python docs/surface.py           # rewrite docs/SURFACE.md
    python docs/surface.py --check   # exit status 1 if docs/SURFACE.md is stale

For each namespace: every public function, grouped by the module that defines it, with
the first sentence of its docstring wherever that says more than "Like numpy.X"; the
other public names (dtypes, constants, index objects). Then the functions NumPy and SciPy
have that fad does not: the ones left out on purpose with the reason (``OMITTED`` below),
and the rest, not written yet. That last part depends on the NumPy and SciPy installed;
its heading names their versions (``tests/test_surface_doc.py`` compares it only when
they are the same).

The walk of every public function (values, derivatives, vmap, jit, jaxprs) is
``tests/surface/``.
"""
from __future__ import annotations

import importlib
import inspect
import pathlib
import re
import sys
import types

import numpy as np
import scipy
import scipy.stats

import fad.nn
import fad.numpy as fnp
import fad.ops
import fad.random
import fad.scipy.linalg
import fad.scipy.special
import fad.scipy.stats

OUT = pathlib.Path(__file__).with_name("SURFACE.md")
OMITTED_MARK = "## What is not provided, and why"

# (namespace, fad module, the module it mirrors or None, what it is)
NAMESPACES = [
    ("fad.numpy", fnp, "numpy", "NumPy's API on traceable primitives"),
    ("fad.numpy.linalg", fnp.linalg, "numpy.linalg", "linear algebra"),
    ("fad.numpy.fft", fnp.fft, "numpy.fft", "discrete Fourier transforms"),
    ("fad.scipy.special", fad.scipy.special, "scipy.special", "special functions"),
    ("fad.scipy.linalg", fad.scipy.linalg, "scipy.linalg", "factorisations and solves"),
    ("fad.scipy.stats", fad.scipy.stats, "scipy.stats",
     "distributions as modules of functions, as in jax.scipy.stats"),
    ("fad.nn", fad.nn, None, "activations and friends, as jax.nn"),
    ("fad.random", fad.random, None, "explicit counter-based keys and samplers, as jax.random"),
    ("fad.ops", fad.ops, None, "segment reductions, as jax.ops"),
]

# Headings for the modules that define fad.numpy's functions.
GROUPS = {
    "fad.numpy._ufuncs": "Ufuncs (elementwise, NumPy 2 promotion)",
    "fad.numpy._elementwise": "Other elementwise functions",
    "fad.numpy._reductions": "Reductions and their NaN-ignoring forms",
    "fad.numpy._statistics": "Order statistics and correlations",
    "fad.numpy._shape": "Shapes: reshaping, joining, splitting, flipping",
    "fad.numpy._indexing": "Indexing, gathers and functional updates",
    "fad.numpy._creation": "Array creation",
    "fad.numpy._linalg": "Products, diagonals and triangles",
    "fad.numpy._einsum": "einsum",
    "fad.numpy._sorting": "Sorting and searching",
    "fad.numpy._padding": "Padding",
    "fad.numpy._signal": "Differences, interpolation, convolution",
    "fad.numpy._index_tricks": "Index tricks and data-dependent indices",
    "fad.numpy._setops": "Counting and sets",
    "fad.numpy._polynomial": "Polynomials",
    "fad.numpy._dtypes": "Dtype and shape queries",
    "numpy": "NumPy's own (dtype queries, re-exported unchanged)",
}

# Names of the mirrored NumPy/SciPy namespaces that fad leaves out on purpose, and why.
# A name of the mirrored module that is neither provided nor here is listed as not
# written yet.
OMITTED = {
    "numpy": [
        (("copyto", "fill_diagonal", "place", "put", "put_along_axis", "putmask"),
         "In-place updates: fad's arrays are values, never mutated. Use the functional "
         "form `x.at[idx].set(y)` (or `fad.numpy.at(x)[idx]` for NumPy arrays), `where`, "
         "or `take_along_axis`."),
        (("array2string", "array_repr", "array_str", "base_repr", "binary_repr",
          "format_float_positional", "format_float_scientific", "get_printoptions",
          "set_printoptions", "printoptions", "info", "typename"),
         "Text and printing: not computations on arrays. fad returns NumPy arrays when "
         "nothing is traced; print those with NumPy."),
        (("fromfile", "fromregex", "fromstring", "frombuffer", "genfromtxt", "load",
          "loadtxt", "save", "savetxt", "savez", "savez_compressed"),
         "Files and buffers: input and output are NumPy's job; load with NumPy, then "
         "compute with fad."),
        (("ascontiguousarray", "asfortranarray", "isfortran", "may_share_memory",
          "shares_memory", "require", "from_dlpack", "getbufsize", "setbufsize"),
         "Memory layout and sharing: a traced value has no memory to lay out or share."),
        (("geterr", "seterr", "geterrcall", "seterrcall"),
         "Floating-point error handling is NumPy's (`numpy.errstate` applies to fad's "
         "NumPy backend too); `fad.config.debug_nans` finds NaNs in traced programs."),
        (("busday_count", "busday_offset", "is_busday", "datetime_as_string",
          "datetime_data", "isnat"),
         "Dates and times: fad has no datetime dtypes."),
        (("asmatrix", "bmat"),
         "The `numpy.matrix` class: not supported (its `*` is a matrix product); use "
         "2-D arrays and `@`."),
        (("min_scalar_type", "mintypecode", "common_type"),
         "Dtype choices from values or legacy type codes: fad follows NumPy 2's "
         "value-independent promotion (`result_type`, `promote_types`)."),
        (("extract", "trim_zeros", "intersect1d", "setdiff1d", "setxor1d", "union1d",
          "unique_all", "unique_counts", "unique_inverse", "unique_values"),
         "Results whose shape depends on the data: not written yet. Under `jit`/`vmap` "
         "they need a static size, as `nonzero(..., size=)` and `unique(..., size=)` take; "
         "eagerly NumPy's own gives the answer."),
        (("frompyfunc", "nested_iters"),
         "Wrapping Python callables as ufuncs and NumPy's iterator objects: a fad "
         "function traced under `vmap` is the way to map a Python function."),
        (("show_config", "show_runtime", "get_include", "test"),
         "NumPy's build information and test runner."),
    ],
    "numpy.linalg": [(("test",), "NumPy's test runner.")],
    "numpy.fft": [(("test",), "NumPy's test runner.")],
    "scipy.linalg": [
        (("logm", "sqrtm", "funm", "signm", "fractional_matrix_power", "schur", "rsf2csf",
          "hessenberg", "qz", "ordqz"),
         "Need a Schur (or Hessenberg) decomposition, which no primitive provides; a "
         "diagonalisation would lose accuracy on non-normal matrices (see "
         "`fad/scipy/linalg.py`)."),
        (("get_blas_funcs", "get_lapack_funcs", "find_best_blas_type"),
         "Direct BLAS/LAPACK access: fad's factorisations are primitives on NumPy, with "
         "no LAPACK layer to hand out."),
        (("eig", "eigvals", "eigvalsh", "lstsq", "norm", "pinv", "svdvals"),
         "Provided by `fad.numpy.linalg` under the same names (NumPy's signatures)."),
        (("test",), "SciPy's test runner."),
    ],
    "scipy.special": [
        (("cbrt", "exp2", "expm1", "log1p", "round", "sinc"),
         "Provided by `fad.numpy` (NumPy's functions of the same name)."),
        (("softplus",), "Provided by `fad.nn` (`fad.nn.softplus`, as `jax.nn.softplus`)."),
        (("geterr", "seterr"),
         "SciPy's error reporting for its special-function kernels: fad's functions are "
         "NumPy computations (`numpy.errstate` applies)."),
        (("test",), "SciPy's test runner."),
    ],
}

# What a namespace leaves out as a whole, said once.
NOTES = {
    "scipy.stats": "Frozen distributions (`norm(loc, scale).pdf(x)`), sampling (`.rvs`) "
                   "and fitting are left out: fad's distributions are modules of pure "
                   "functions, as in `jax.scipy.stats`; sample with `fad.random` and "
                   "explicit keys.",
}

# The methods of SciPy's distributions that a fad distribution module may mirror.
_STATS_METHODS = ("logpdf", "pdf", "logpmf", "pmf", "cdf", "logcdf", "sf", "logsf", "ppf",
                  "isf")


# -- reading the code ---------------------------------------------------------------------

def _is_function(value) -> bool:
    return callable(value) and not isinstance(value, (type, types.ModuleType))


def public_names(module) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in dir(module) if not n.startswith("_")]
    return sorted(names)


def public_functions(module) -> list[str]:
    return [n for n in public_names(module) if _is_function(getattr(module, n))]


def _first_sentence(text: str) -> str:
    """Up to the first full stop outside parentheses and code (or the whole text)."""
    depth, code = 0, False
    for i, ch in enumerate(text):
        if text.startswith("``", i):
            code = not code
        if code:
            continue
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "." and depth <= 0 and (i + 1 == len(text) or text[i + 1] == " "):
            return text[:i + 1]
    return text


def _summary(fn, name) -> str | None:
    """The docstring's first sentence in Markdown, unless it only says ``Like
    numpy.name`` (or is NumPy's own signature line)."""
    doc = inspect.getdoc(fn) or ""
    paragraph = " ".join(doc.split("\n\n")[0].split())
    sentence = _first_sentence(paragraph)
    plain = re.fullmatch(r"Like ``[\w.]+``(\.|; traceable and differentiable\.)",
                         sentence)
    if not sentence or plain or sentence.startswith(f"{name}("):
        return None
    if len(sentence) > 240:
        sentence = sentence[:237].rsplit(" ", 1)[0] + " ..."
    return sentence.replace("``", "`")


def _other_names(module) -> dict[str, list[str]]:
    kinds: dict[str, list[str]] = {"classes and dtypes": [], "constants": [],
                                   "modules": [], "index objects": []}
    for n in public_names(module):
        v = getattr(module, n)
        if isinstance(v, type):
            kinds["classes and dtypes"].append(n)
        elif isinstance(v, types.ModuleType):
            kinds["modules"].append(n)
        elif hasattr(v, "__getitem__") and not _is_function(v):
            kinds["index objects"].append(n)
        elif not _is_function(v):
            kinds["constants"].append(n)
    return {k: v for k, v in kinds.items() if v}


def _names(names) -> str:
    return " ".join(f"`{n}`" for n in names)


# -- the provided surface -----------------------------------------------------------------

def _stats_lines(module) -> list[str]:
    lines = ["| distribution | functions |", "|---|---|"]
    for dist in sorted(n for n in dir(module) if not n.startswith("_")):
        lines.append(f"| `{dist}` | {_names(public_functions(getattr(module, dist)))} |")
    return lines


def _function_lines(title, module) -> list[str]:
    groups: dict[str, list[str]] = {}
    for n in public_functions(module):
        owner = getattr(getattr(module, n), "__module__", None) or title
        groups.setdefault(owner, []).append(n)
    lines = []
    several = len(groups) > 1
    for owner in sorted(groups, key=lambda m: (list(GROUPS).index(m) if m in GROUPS
                                               else len(GROUPS), m)):
        names = groups[owner]
        if several:
            lines += [f"**{GROUPS.get(owner, owner)}** ({len(names)}): {_names(names)}", ""]
        else:
            lines += [_names(names), ""]
        notes = [(n, _summary(getattr(module, n), n)) for n in names if owner != "numpy"]
        notes = [(n, s) for n, s in notes if s]
        if notes:
            lines += [f"- `{n}`: {s}" for n, s in notes] + [""]
    return lines


def provided() -> str:
    counts = []
    body = []
    for title, module, _, what in NAMESPACES:
        if title == "fad.scipy.stats":
            dists = [n for n in dir(module) if not n.startswith("_")]
            n_fns = sum(len(public_functions(getattr(module, d))) for d in dists)
            counts.append(f"| `{title}` | {n_fns} functions of {len(dists)} distributions | "
                          f"{what} |")
            body += [f"## `{title}`", "", *_stats_lines(module), ""]
            continue
        fns = public_functions(module)
        counts.append(f"| `{title}` | {len(fns)} | {what} |")
        body += [f"## `{title}` ({len(fns)} functions)", ""]
        body += _function_lines(title, module)
        for kind, names in _other_names(module).items():
            body += [f"Also {kind}: {_names(names)}", ""]
    head = [
        "# fad's supported surface",
        "",
        "Generated from the code by `python docs/surface.py`; do not edit by hand "
        "(`tests/test_surface_doc.py` fails when this file is stale). Every function "
        "listed is walked by `tests/surface/`: values against NumPy/SciPy (moments for "
        "`fad.random`), derivatives to second order in both modes where differentiable, "
        "`vmap` against a loop, `jit` against eager, and type-checked jaxprs.",
        "",
        "Under each group, a note quotes a function's docstring where it says more than "
        "\"like NumPy's\": JAX's extra arguments, what differs, what needs concrete "
        "values.",
        "",
        "| namespace | public functions | what |",
        "|---|---|---|",
        *counts,
        "",
    ]
    return "\n".join(head + body)


# -- what is left out ---------------------------------------------------------------------

def _mirror_functions(mirror: str) -> list[str]:
    module = importlib.import_module(mirror)
    if mirror == "scipy.stats":
        return sorted(n for n in dir(module) if not n.startswith("_")
                      and not isinstance(getattr(module, n), (type, types.ModuleType))
                      and hasattr(getattr(module, n), "rvs"))
    return [n for n in dir(module) if not n.startswith("_")
            and _is_function(getattr(module, n))]


def omitted() -> str:
    lines = [OMITTED_MARK, "",
             f"Compared with NumPy {np.__version__} and SciPy {scipy.__version__}.", ""]
    for title, module, mirror, _ in NAMESPACES:
        if mirror is None:
            continue
        have = set(dir(module))
        missing = [n for n in _mirror_functions(mirror) if n not in have]
        reasons = OMITTED.get(mirror, [])
        on_purpose = {n for names, _ in reasons for n in names}
        lines += [f"### `{mirror}` in `{title}`", ""]
        if mirror in NOTES:
            lines += [NOTES[mirror], ""]
        if mirror == "scipy.stats":
            lines += _stats_methods(module)
        for names, why in reasons:
            shown = [n for n in names if n in missing]
            if shown:
                lines += [f"- {_names(shown)}: {why}"]
        rest = [n for n in missing if n not in on_purpose]
        if reasons:
            lines += [""]
        if rest:
            lines += [f"Not written yet ({len(rest)}): {_names(rest)}", ""]
        elif not reasons and mirror not in NOTES:
            lines += ["Everything is provided.", ""]
    return "\n".join(lines)


def _stats_methods(module) -> list[str]:
    """The standard methods of SciPy's distributions that fad's modules lack."""
    out = []
    for dist in sorted(n for n in dir(module) if not n.startswith("_")):
        theirs = [m for m in _STATS_METHODS if hasattr(getattr(scipy.stats, dist), m)]
        ours = set(public_functions(getattr(module, dist)))
        lacking = [m for m in theirs if m not in ours]
        if lacking:
            out.append(f"- `{dist}` lacks {_names(lacking)}")
    return out + [""] if out else []


def render() -> str:
    return provided() + "\n" + omitted()


def main(argv) -> int:
    text = render()
    if "--check" in argv:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT} is stale: run python docs/surface.py")
            return 1
        return 0
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
