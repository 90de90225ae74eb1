"""Write the parts of the documentation that come from running fad: ``docs/_generated/``.

``conf.py`` runs ``main()`` at the start of every build, so the pages show what the code
does now: the printed programs and generated code of "How fad works", the graph of a
gradient (DOT text, and an SVG where Graphviz is installed), the supported-surface
tables (from ``docs/surface.py``), the subgradient table (from ``fad.lax.elementwise``),
``fad.config``'s options, the benchmark workloads, and the lists of names the API
reference documents. Nothing here is written by hand twice: a new public function shows
up in the reference and on the surface page by itself.

    python docs/_generate.py        # write docs/_generated/ alone (the build does it too)
"""
from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import pathlib
import re
import sys
import tempfile
import types

import numpy as np

DOCS = pathlib.Path(__file__).resolve().parent
ROOT = DOCS.parent
OUT = DOCS / "_generated"

if str(ROOT) not in sys.path:      # (run as a script from a checkout)
    sys.path.insert(0, str(ROOT))

import fad  # noqa: E402
import fad.graph  # noqa: E402
import fad.numpy as fnp  # noqa: E402
from fad.core import config as config_module  # noqa: E402

# Modules written while these docs were: documented when they import.
OPTIONAL_MODULES = ("fad.optimizers", "fad.flatten_util", "fad.scipy.optimize")


def write(name: str, content: str | bytes) -> None:
    """Write ``_generated/name`` unless it already holds ``content`` (an unchanged file
    keeps its time stamp, so Sphinx does not read the pages that include it again)."""
    OUT.mkdir(exist_ok=True)
    path = OUT / name
    data = content.encode("utf-8") if isinstance(content, str) else content
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)


def heading(title: str, char: str) -> list[str]:
    return [title, char * len(title), ""]


def importable(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


# -- "How fad works": a small program, its jaxprs, its compiled code and its graph --------

EXAMPLE = '''\
import fad.numpy as fnp


def f(x):
    return fnp.sin(x) * x


def loss(w, x, y):
    return fnp.mean((fnp.tanh(x @ w) - y) ** 2)
'''


def example_namespace() -> dict:
    """``EXAMPLE`` run under the file name ``example.py``, so that the source lines
    ``as_python()`` notes read ``example.py:N``."""
    namespace: dict = {}
    exec(compile(EXAMPLE, "example.py", "exec"), namespace)
    return namespace


def svg_of(dot: str) -> bytes | None:
    """``dot`` laid out as SVG where Graphviz is installed here, else ``None`` (the build
    passes without it)."""
    if not fad.graph.graphviz_available():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            return fad.graph.render(dot, pathlib.Path(tmp) / "figure.svg").read_bytes()
        except RuntimeError:       # (Graphviz there, but failing: say so on the page)
            return None


def how_it_works() -> None:
    ns = example_namespace()
    f, loss = ns["f"], ns["loss"]
    w, x, y = np.ones(3), np.ones((4, 3)), np.zeros(4)
    write("example.py", EXAMPLE)
    write("jit_grad_loss.txt", fad.jit(fad.grad(loss)).lower(w, x, y).as_python() + "\n")
    dot = fad.graph.grad_to_dot(f, np.float64(1.0))
    write("grad_f.dot", dot)
    svg = svg_of(dot)
    figure = [".. The figure of grad(f), written by docs/_generate.py.", ""]
    if svg is not None:
        write("grad_f.svg", svg)
        figure += [".. figure:: /_generated/grad_f.svg", "   :alt: the forward and backward "
                   "passes of grad(f), with the residuals that connect them", "",
                   "   ``fad.graph.grad_to_dot(f, 1.0)``, laid out by Graphviz: the forward "
                   "pass (blue), the backward pass (red) and the residuals the backward "
                   "pass reads (dashed).", ""]
    else:
        figure += [".. note::", "   Graphviz was not installed when these pages were built, "
                   "so the picture is missing; ``dot -Tsvg grad_f.dot`` draws it from the "
                   "text below (or ``fad.graph.render(text, \"grad_f.svg\")``).", ""]
    write("grad_f_figure.inc", "\n".join(figure))


# -- the supported surface: docs/surface.py's Markdown, as reStructuredText ---------------

def load_surface():
    """``docs/surface.py`` as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("fad_docs_surface", DOCS / "surface.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RST_SPECIAL = re.compile(r"([\\*_`|])")
_MAY_PRECEDE = "'\"([{<-/:"          # (what may stand right before inline markup)
_MAY_FOLLOW = "'\")]}>-/:.,;!?\\"    # (and right after it)


def _plain(text: str) -> str:
    """Markdown plain text (with ``**bold**``) as reST: markup characters escaped."""
    parts = re.split(r"\*\*(.+?)\*\*", text)
    out = []
    for i, part in enumerate(parts):
        escaped = _RST_SPECIAL.sub(r"\\\1", part)
        out.append(f"**{escaped}**" if i % 2 else escaped)
    return "".join(out)


def _names_function(namespace: str, name: str) -> bool:
    try:
        module = importlib.import_module(namespace)
    except ImportError:
        return False
    return _is_function(getattr(module, name, None))


def md_inline(text: str, namespace: str | None = None) -> str:
    """One line of Markdown (code spans, bold, plain text) as reST. A code span that is
    a bare name becomes a link to ``namespace.name`` where a namespace is given."""
    pieces = re.split(r"`([^`]+)`", text)
    out = []
    for i, piece in enumerate(pieces):
        if i % 2 == 0:
            out.append(_plain(piece))
            continue
        if namespace and _IDENT.fullmatch(piece) and _names_function(namespace, piece):
            rst = f":func:`~{namespace}.{piece}`"
        else:
            rst = f"``{piece}``"
        # reST wants whitespace or certain punctuation around inline markup; "\ " is a
        # boundary that prints nothing
        before = out[-1][-1:] if out else ""
        if before and not before.isspace() and before not in _MAY_PRECEDE:
            out.append("\\ ")
        after = pieces[i + 1][:1] if i + 1 < len(pieces) else ""
        if after and not after.isspace() and after not in _MAY_FOLLOW:
            rst += "\\ "
        out.append(rst)
    return "".join(out)


def _table(rows: list[str], namespace: str | None) -> list[str]:
    cells = [[c.strip() for c in row.strip().strip("|").split("|")] for row in rows
             if not re.fullmatch(r"\|?[\s|:-]+\|?", row.strip())]
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in cells:
        for j, cell in enumerate(row):
            text = md_inline(cell, namespace) if j else md_inline(cell)
            lines.append(f"   {'*' if j == 0 else ' '} - {text}" if text else
                         f"   {'*' if j == 0 else ' '} -")
    return lines + [""]


def markdown_to_rst(markdown: str, link_until: str | None = None) -> str:
    """The Markdown ``docs/surface.py`` writes (headings, tables, bullets, paragraphs) as
    reST, its top heading dropped (the page has its own). Names in a section headed by a
    ``fad`` namespace link to that namespace's reference, up to the line
    ``link_until``."""
    out: list[str] = []
    lines = markdown.splitlines()
    namespace = None
    linking = True
    i = 0
    while i < len(lines):
        line = lines[i]
        if link_until is not None and line.startswith(link_until):
            linking, namespace = False, None
        match = re.match(r"(#+) (.*)", line)
        if match:
            level, title = len(match.group(1)), match.group(2)
            if level > 1:
                found = re.match(r"`(fad[\w.]*)`", title)
                namespace = found.group(1) if (found and linking) else None
                text = md_inline(title)
                out += ["", text, "-~^"[min(level, 4) - 2] * len(text), ""]
            i += 1
            continue
        if line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(lines[i])
                i += 1
            link = namespace if namespace != "fad.scipy.stats" else None
            out += ["", *_table(rows, link)]
            continue
        if line.startswith("- "):
            out.append("- " + md_inline(line[2:], namespace))
        else:
            out.append(md_inline(line, namespace))
        i += 1
    return "\n".join(out).strip() + "\n"


def surface(gen) -> None:
    write("surface.inc", markdown_to_rst(gen.render(), link_until=gen.OMITTED_MARK))


# -- the derivative conventions: the subgradient table of fad.lax.elementwise ------------

def simple_table_to_list_table(table: str) -> str:
    """A reST simple table as a ``list-table``. The columns are read from the border line;
    a cell that runs into the next column's margin (which the simple-table syntax
    rejects) stays in its own column as long as two spaces separate it from the next
    cell. A row whose first column is empty continues the row above."""
    lines = table.strip("\n").splitlines()
    starts = [m.start() for m in re.finditer(r"=+", lines[0])]
    rows: list[list[str]] = []
    header = 0
    for line in lines[1:]:
        if re.fullmatch(r"[= ]+", line):
            header = header or len(rows)
            continue
        cells = [""] * len(starts)
        for m in re.finditer(r"\S+(?: \S+)*", line):
            column = max(i for i, s in enumerate(starts) if s <= m.start() + 1)
            cells[column] = (cells[column] + " " + m.group()).strip()
        if rows and not cells[0]:
            rows[-1] = [(a + " " + b).strip() for a, b in zip(rows[-1], cells)]
        else:
            rows.append(cells)
    out = [".. list-table::", f"   :header-rows: {header}", ""]
    for row in rows:
        out += [f"   * - {row[0]}"] + [f"     - {cell}" for cell in row[1:]]
    return "\n".join(out) + "\n"


def subgradients() -> None:
    # (the module: the attribute fad.lax.elementwise is the helper of that name)
    doc = inspect.getdoc(importlib.import_module("fad.lax.elementwise"))
    _, found, section = doc.partition("Subgradients\n------------\n")
    borders = [i for i, line in enumerate(section.splitlines())
               if re.fullmatch(r"=+( +=+)+", line)]
    if not found or len(borders) < 3:
        raise RuntimeError("docs/_generate.py: fad/lax/elementwise.py's docstring has no "
                           "'Subgradients' section any more; update docs/derivatives.rst")
    table = "\n".join(section.splitlines()[borders[0]:borders[2] + 1])
    write("subgradients.inc", simple_table_to_list_table(table))


# -- fad.config's options ----------------------------------------------------------------

def config_options() -> None:
    lines = [".. list-table::", "   :header-rows: 1", "   :widths: 25 25 50", "",
             "   * - option", "     - environment variable", "     - when on"]
    for name, (default, text) in config_module.OPTIONS.items():
        lines += [f"   * - ``{name}`` (default ``{default}``)",
                  f"     - ``FAD_{name.upper()}`` (``1`` or ``0``)",
                  f"     - {_plain(text[:1].upper() + text[1:])}."]
    write("config_options.inc", "\n".join(lines) + "\n")


# -- the benchmark workloads, read from benchmarks/run.py without running it --------------

def benchmarks() -> None:
    tree = ast.parse((ROOT / "benchmarks" / "run.py").read_text(encoding="utf-8"))
    docs = {node.name: ast.get_docstring(node) or "" for node in tree.body
            if isinstance(node, ast.FunctionDef)}
    table = next(node.value for node in tree.body if isinstance(node, ast.Assign)
                 and any(getattr(t, "id", None) == "BENCHMARKS" for t in node.targets))
    lines = []
    for key, value in zip(table.keys, table.values):
        summary = " ".join(docs.get(getattr(value, "id", ""), "").split("\n\n")[0].split())
        lines.append(f"- ``{key.value}``" + (f": {summary}" if summary else ""))
    lines.append("- ``table``: the README's table (``benchmarks/table.py``)")
    write("benchmarks.inc", "\n".join(lines) + "\n")


# -- the API reference: which names each page documents ----------------------------------

def _is_function(value) -> bool:
    return callable(value) and not isinstance(value, (type, types.ModuleType))


# fad's top level, by topic; a public name in none of them is listed under "Other".
TOP_LEVEL = {
    "Differentiation": ["grad", "value_and_grad", "jvp", "vjp", "linearize",
                        "linear_transpose", "jacfwd", "jacrev", "jacobian", "hessian", "hvp",
                        "stop_gradient"],
    "Vectorisation": ["vmap"],
    "Compilation, staging and programs": ["jit", "disable_jit", "disable_staging",
                                          "make_jaxpr", "eval_jaxpr"],
    "Custom derivatives and memory": ["custom_jvp", "custom_vjp", "checkpoint", "remat",
                                      "checkpoint_policies", "saved_residuals"],
    "Types and settings": ["Jaxpr", "ClosedJaxpr", "ShapedArray", "float0", "config"],
}
# Objects whose documentation is a short note rather than their type's docstring.
TOP_LEVEL_DATA = {
    "float0": "The dtype of the tangent of an integer or boolean value (as in JAX): "
              "``grad(f, allow_int=True)`` returns zeros of this dtype for integer "
              "arguments, and ``jvp`` takes them as tangents of integer primals.",
    "config": "fad's global settings, an instance of :class:`fad.core.config.Config`: "
              "``fad.config.update(\"debug_nans\", True)``; see :doc:`debugging`.",
    "checkpoint_policies": "The policies of ``checkpoint(f, policy=...)``: "
                           "``nothing_saveable`` (the default), ``everything_saveable``, "
                           "``dots_saveable`` (also ``checkpoint_dots``) and "
                           "``dots_with_no_batch_dims_saveable``.",
}


def api_top_level() -> None:
    public = [n for n in dir(fad) if not n.startswith("_")
              and not isinstance(getattr(fad, n), types.ModuleType)]
    placed = {n for names in TOP_LEVEL.values() for n in names}
    groups = dict(TOP_LEVEL)
    other = [n for n in public if n not in placed]
    if other:
        groups["Other"] = other
    lines = [".. currentmodule:: fad", ""]
    seen: dict[int, str] = {}
    for title, names in groups.items():
        names = [n for n in names if hasattr(fad, n)]
        if not names:
            continue
        lines += heading(title, "-")
        for n in names:
            value = getattr(fad, n)
            if n in TOP_LEVEL_DATA:
                lines += [f".. data:: {n}", "", f"   {TOP_LEVEL_DATA[n]}", ""]
            elif id(value) in seen:
                alias = seen[id(value)]
                lines += [f".. function:: {n}", "", f"   Another name of :func:`{alias}`.", ""]
            elif isinstance(value, type):
                lines += [f".. autoclass:: {n}", "   :members:", ""]
            else:
                lines += [f".. autofunction:: {n}", ""]
            seen.setdefault(id(value), n)
    write("api_fad.inc", "\n".join(lines))


def _by_module(module, names) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for n in names:
        owner = getattr(getattr(module, n), "__module__", None) or module.__name__
        groups.setdefault(owner, []).append(n)
    return groups


def _first_sentence(obj) -> str:
    """The first sentence of ``obj``'s docstring, as reST (code spans kept whole)."""
    paragraph = " ".join((inspect.getdoc(obj) or "").split("\n\n")[0].split())
    depth, code = 0, False
    for i, ch in enumerate(paragraph):
        if paragraph.startswith("``", i):
            code = not code
        if code:
            continue
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "." and depth <= 0 and (i + 1 == len(paragraph) or paragraph[i + 1] == " "):
            return paragraph[:i + 1]
    return paragraph


def _summary_table(prefix: str, names) -> list[str]:
    """A table of links to ``prefix.name`` with each one's first sentence (Sphinx's
    autosummary cuts a sentence inside a code span, ``... + p[n-1]``, into broken reST)."""
    module = importlib.import_module(prefix)
    lines = [".. list-table::", "   :widths: 25 75", ""]
    for n in names:
        summary = _first_sentence(getattr(module, n))
        lines += [f"   * - :obj:`~{prefix}.{n}`", f"     - {summary}" if summary else "     -"]
    return lines + [""]


def _entries(prefix: str, names) -> list[str]:
    lines = _summary_table(prefix, names)
    for n in names:
        lines += [f".. autofunction:: {prefix}.{n}", ""]
    return lines


def api_numpy(gen) -> None:
    """``fad.numpy``'s functions in the groups the surface page uses."""
    names = gen.public_functions(fnp)
    groups = _by_module(fnp, names)
    order = list(gen.GROUPS)
    lines = [".. currentmodule:: fad.numpy", ""]
    for owner in sorted(groups, key=lambda m: (order.index(m) if m in order else len(order), m)):
        title = gen.GROUPS.get(owner, owner)
        lines += heading(title, "-")
        if owner == "numpy":
            lines += ["NumPy's own functions, re-exported unchanged: "
                      + ", ".join(f"``{n}``" for n in groups[owner]) + ".", ""]
            continue
        lines += _entries("fad.numpy", groups[owner])
    write("api_numpy.inc", "\n".join(lines))


LAX_GROUPS = {
    "fad.lax.control_flow": "Control flow",
    "fad.lax.plumbing": "Elementwise and structural basics",
    "fad.lax.elementwise": "Elementwise functions",
    "fad.lax.ufuncs": "NumPy-compatible elementwise kernels",
    "fad.lax.logaddexp": "logaddexp",
    "fad.lax.special_functions": "Special functions",
    "fad.lax.structural": "Shapes, slices and broadcasting",
    "fad.lax.indexing": "Gathers and scatters",
    "fad.lax.reductions": "Reductions and cumulative reductions",
    "fad.lax.dot": "Products",
    "fad.lax.sort": "Sorting",
    "fad.lax.fft": "Fourier transforms",
    "fad.lax.misc": "Miscellaneous",
    "fad.lax.debug": "Debugging",
}


def api_lax() -> None:
    """``fad.lax``'s functions (not its ``*_p`` primitives, nor the rule helpers
    ``fad.extend`` documents), grouped by the module that defines them."""
    import fad.extend
    import fad.lax as lax
    extend = set(fad.extend.__all__)
    names = [n for n in dir(lax) if not n.startswith("_") and not n.endswith("_p")
             and n not in extend and _is_function(getattr(lax, n))]
    groups: dict[str, list[str]] = {}
    for owner, members in _by_module(lax, names).items():
        key = next((m for m in LAX_GROUPS if owner == m or owner.startswith(m + ".")), owner)
        groups.setdefault(key, []).extend(members)
    order = list(LAX_GROUPS)
    lines = [".. currentmodule:: fad.lax", ""]
    for key in sorted(groups, key=lambda m: (order.index(m) if m in order else len(order), m)):
        lines += heading(LAX_GROUPS.get(key, key), "-")
        lines += _entries("fad.lax", sorted(groups[key]))
    write("api_lax.inc", "\n".join(lines))


# Modules whose reference is a table of their functions and classes, then each one.
MODULES = ("fad.numpy.linalg", "fad.numpy.fft", "fad.scipy.special", "fad.scipy.linalg",
           "fad.nn", "fad.random", "fad.ops", "fad.tree_util", "fad.debug", "fad.graph",
           "fad.extend", "fad.test_util") + OPTIONAL_MODULES


def module_names(module) -> list[str]:
    """The public functions and classes of ``module`` (its ``__all__``, else the names it
    defines), leaving out data such as rule tables (the pages describe those)."""
    names = getattr(module, "__all__", None) or [
        n for n in dir(module) if not n.startswith("_")
        and getattr(getattr(module, n), "__module__", None) == module.__name__]
    return [n for n in names if callable(getattr(module, n))
            and not isinstance(getattr(module, n), types.ModuleType)
            and getattr(getattr(module, n), "__module__", "").startswith("fad")]


def api_modules() -> None:
    """``module_<name>.inc``: the module's docstring and table, then an entry per function
    or class; for an optional module that does not import, a line saying so."""
    for name in MODULES:
        stem = name.replace(".", "_")
        if not importable(name):
            write(f"module_{stem}.inc", f"``{name}`` is not part of this version of fad.\n")
            continue
        module = importlib.import_module(name)
        names = module_names(module)
        lines = [f".. automodule:: {name}", ""]
        lines += _summary_table(name, names)
        for n in names:
            if isinstance(getattr(module, n), type):
                lines += [f".. autoclass:: {name}.{n}", "   :members:", "   :show-inheritance:",
                          ""]
            else:
                lines += [f".. autofunction:: {name}.{n}", ""]
        write(f"module_{stem}.inc", "\n".join(lines))


def api_scipy_stats() -> None:
    import fad.scipy.stats as stats
    lines = []
    for dist in sorted(n for n in dir(stats) if not n.startswith("_")
                       and isinstance(getattr(stats, n), types.ModuleType)):
        lines += heading(f"fad.scipy.stats.{dist}", "~")
        lines += [f".. automodule:: fad.scipy.stats.{dist}", "   :members:", ""]
    write("api_scipy_stats.inc", "\n".join(lines))


def errors_table() -> None:
    """An overview of ``fad.errors``: each class, its builtin bases, its first line."""
    import fad.errors as errors
    lines = [".. list-table::", "   :header-rows: 1", "   :widths: 30 20 50", "",
             "   * - class", "     - also a", "     - raised for"]
    for name in errors.__all__:
        cls = getattr(errors, name)
        builtins = sorted({b.__name__ for b in cls.__mro__[1:]
                           if b.__module__ == "builtins" and b not in (Exception,
                                                                       BaseException, object)})
        first = " ".join((inspect.getdoc(cls) or "").split("\n\n")[0].split())
        lines += [f"   * - :class:`~fad.errors.{name}`",
                  f"     - {', '.join(f'``{b}``' for b in builtins) or '``Exception``'}",
                  f"     - {first}"]
    write("errors_table.inc", "\n".join(lines) + "\n")


def main() -> None:
    gen = load_surface()
    how_it_works()
    surface(gen)
    subgradients()
    config_options()
    benchmarks()
    errors_table()
    api_top_level()
    api_numpy(gen)
    api_lax()
    api_scipy_stats()
    api_modules()


if __name__ == "__main__":
    main()
