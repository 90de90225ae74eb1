"""Pictures of traced programs: a jaxpr as Graphviz DOT text, and as SVG or PNG.

``to_dot`` draws one program: an input node (``invhouse``) per argument leaf, a box per
equation (its primitive, its short parameters, its output types), a small node per
literal and per closed-over constant, an output node (``house``) per result, and an edge
per value read, labelled with the variable's name as ``print(fad.make_jaxpr(f)(...))``
writes it. The bodies of higher-order equations (``cond``'s branches, ``scan``'s body,
``jit``'s program, a ``custom_jvp`` function) are drawn as clusters beside their
equation, linked to it by a dotted edge, recursively.

``grad_to_dot`` draws the classic reverse-mode figure from fad's own split of the
gradient: the JVP of the program (``jvp_jaxpr``), partially evaluated with the tangents
unknown (``partial_eval_jaxpr``) into the forward pass (the primal computation, which
also saves the residuals) and a linear program, transposed (``transpose_jaxpr``) into
the backward pass. The two passes are two clusters in two colours, and dashed residual
edges run from where the forward pass computes a residual to where the backward pass
reads it. ``jvp_to_dot`` draws the same split before transposition: the primal and the
tangent computations.

Making the text needs nothing beyond fad; ``render`` writes it to a ``.dot`` file, or lays
it out as ``.svg``/``.png``/``.pdf`` with Graphviz (the ``graphviz`` Python package, else
the ``dot`` program).

>>> import fad.graph
>>> text = fad.graph.to_dot(lambda x, y: x * y + 1.0, 2.0, 3.0)
>>> text.startswith('digraph "jaxpr" {') and '"mul' in text
True
"""
from __future__ import annotations

import importlib
import inspect
import itertools
import re
import shutil
import subprocess
from pathlib import Path
from typing import Callable

import numpy as np

from fad.api_grad import make_jaxpr
from fad.api_util import argnums_tuple, check_callable, leaf_paths
from fad.core.abstract import get_aval
from fad.core.ir import ClosedJaxpr, Jaxpr, Literal, Var, sub_jaxprs
from fad.interpreters.jaxpr_transforms import jvp_jaxpr, partial_eval_jaxpr, transpose_jaxpr
from fad.tree_util import tree_flatten

__all__ = ["to_dot", "grad_to_dot", "jvp_to_dot", "render", "graphviz_available",
           "PASS_COLORS"]

# The colour of each part of a figure: the nodes, edges and cluster frame of a pass.
PASS_COLORS = {"program": "#404040", "forward": "#1f5fae", "backward": "#c0392b",
               "primal": "#1f5fae", "tangent": "#d35400", "residual": "#7d3c98"}

_NODE_STYLE = {   # by kind of node: inputs and outputs stand out by their shape
    "in": {"shape": "invhouse", "style": "filled", "fillcolor": "#e3eefa"},
    "out": {"shape": "house", "style": "filled", "fillcolor": "#fbe5d0"},
    "eq": {"shape": "box", "style": "rounded,filled", "fillcolor": "#f5f5f5"},
    "lit": {"shape": "plaintext", "fontsize": "8", "height": "0.2", "width": "0.2"},
    "const": {"shape": "note", "fontsize": "8", "height": "0.2"},
}
_HEADER = ['  graph [rankdir="TB", compound="true", fontname="Helvetica", fontsize="11", '
           'nodesep="0.25", ranksep="0.3"];',
           '  node [fontname="Helvetica", fontsize="10", margin="0.08,0.03"];',
           '  edge [fontname="Helvetica", fontsize="8", arrowsize="0.6"];']
_RENDERED_FORMATS = ("svg", "png", "pdf")
_INSTALL_HINT = ("install Graphviz: the Python package with `pip install graphviz` (or "
                 "`pip install fad[graph]`) and the program itself with `apt install "
                 "graphviz` (`brew install graphviz`, `conda install graphviz`); or write "
                 "a .dot file and lay it out elsewhere")


# -- public API -----------------------------------------------------------------------------

def to_dot(fun_or_jaxpr, *args, **kwargs) -> str:
    """The DOT text of a program: a ``ClosedJaxpr`` or ``Jaxpr``, or the program
    ``fad.make_jaxpr(fun)(*args, **kwargs)`` traces (keyword arguments are fixed values).

    Node ids are numbered in drawing order, so the same program gives the same text.

    >>> import fad.graph
    >>> print(fad.graph.to_dot(lambda x: x * x, 1.0), end="")   # doctest: +ELLIPSIS
    digraph "jaxpr" {
    ...
      "in0" [label="x\\nf64[]", shape="invhouse", ...];
      "eq1" [label="mul\\nf64[]", shape="box", ...];
      "out2" [label="out\\nf64[]", shape="house", ...];
      "in0" -> "eq1" [label="a", ...];
      "in0" -> "eq1" [label="a", ...];
      "eq1" -> "out2" [label="b", ...];
    }
    """
    if isinstance(fun_or_jaxpr, (ClosedJaxpr, Jaxpr)):
        if args or kwargs:
            raise TypeError("to_dot: a jaxpr is drawn as it is; example arguments are for a "
                            "function, to trace it (pass the function instead)")
        closed, in_names = fun_or_jaxpr, None
    elif callable(fun_or_jaxpr):
        closed, in_names = _trace(fun_or_jaxpr, args, kwargs, "to_dot")
    else:
        raise TypeError(f"to_dot expects a ClosedJaxpr, a Jaxpr or a function (with example "
                        f"arguments), got {type(fun_or_jaxpr).__name__}")
    jaxpr, consts = _parts(closed)
    dot = _Dot()
    outs = len(jaxpr.outvars)
    _draw_jaxpr(dot, jaxpr, 1, PASS_COLORS["program"], in_names, _out_names(outs), consts)
    return dot.text()


def grad_to_dot(fun: Callable, *args, argnums=0) -> str:
    """The DOT text of the gradient of ``fun`` with respect to argument(s) ``argnums``
    at ``args``: the forward pass (``PASS_COLORS["forward"]``) and the backward pass
    (``PASS_COLORS["backward"]``) as two clusters, with dashed edges
    (``PASS_COLORS["residual"]``) carrying the residuals from one to the other.

    The backward pass takes one cotangent per output (``1.0`` for a scalar function,
    whose gradient it then is; any cotangent for the VJP of other functions) and returns
    one gradient per differentiated input leaf.

    >>> import fad.graph
    >>> text = fad.graph.grad_to_dot(lambda x, y: x * y, 2.0, 3.0, argnums=(0, 1))
    >>> "cluster_forward" in text and "cluster_backward" in text and "grad x" in text
    True
    """
    return _split_figure(fun, args, argnums, "grad_to_dot", reverse=True)


def jvp_to_dot(fun: Callable, *args, argnums=None) -> str:
    """The DOT text of forward-mode differentiation of ``fun`` at ``args``: the primal
    computation (``PASS_COLORS["primal"]``) and the tangent computation
    (``PASS_COLORS["tangent"]``) as two clusters; the tangents are linear in the tangent
    inputs, with coefficients (dashed residual edges) from the primal side. Tangents
    enter for argument(s) ``argnums``, or for every float input if ``None``.

    >>> import fad.graph, fad.numpy as fnp
    >>> text = fad.graph.jvp_to_dot(fnp.sin, 1.0)
    >>> "tangent x" in text and '"cos' in text
    True
    """
    return _split_figure(fun, args, argnums, "jvp_to_dot", reverse=False)


def render(dot_text: str, path, format: str | None = None) -> Path:
    """Write ``dot_text`` to ``path`` and return the path: as it is for ``.dot``/``.gv``
    (always possible), laid out by Graphviz for ``.svg``, ``.png`` or ``.pdf``. The
    format is ``format`` if given, else the path's suffix.

    Graphviz is the ``graphviz`` Python package if it imports, else the ``dot`` program
    on ``PATH``; with neither, ``RuntimeError`` says how to install them.

    >>> import os, tempfile, fad.graph
    >>> out = fad.graph.render(fad.graph.to_dot(lambda x: x + 1.0, 0.0),
    ...                        os.path.join(tempfile.mkdtemp(), "f.dot"))
    >>> out.read_text().startswith("digraph")
    True
    """
    if not isinstance(dot_text, str):
        raise TypeError(f"render: dot_text must be the DOT text (a str, as to_dot returns), "
                        f"got {type(dot_text).__name__}")
    path = Path(path)
    fmt = (format if format is not None else path.suffix.lstrip(".")).lower()
    if fmt in ("dot", "gv"):
        path.write_text(dot_text, encoding="utf-8")
        return path
    if fmt not in _RENDERED_FORMATS:
        which = f"format={format!r}" if format is not None else f"the path {str(path)!r}"
        raise ValueError(f"render: cannot tell what to write from {which}: name a .dot, .gv, "
                         f"{', '.join('.' + f for f in _RENDERED_FORMATS)} file, or pass "
                         f"format= one of dot, gv, {', '.join(_RENDERED_FORMATS)}")
    path.write_bytes(_layout(dot_text, fmt))
    return path


def graphviz_available() -> bool:
    """Whether ``render`` can lay out SVG/PNG/PDF here: the Graphviz ``dot`` program, which
    the ``graphviz`` Python package also runs, is on ``PATH``.

    >>> import fad.graph
    >>> isinstance(fad.graph.graphviz_available(), bool)
    True
    """
    return shutil.which("dot") is not None


# -- tracing and the two-pass figures -------------------------------------------------------

def _trace(fun, args, kwargs, fname):
    """``(make_jaxpr(fun)(*args, **kwargs), a readable name per input leaf)``."""
    check_callable(fun, fname)
    names = _argument_names(fun, len(args))
    return make_jaxpr(fun)(*args, **kwargs), [p for a, name in zip(args, names)
                                              for p in leaf_paths(a, name)]


def _argument_names(fun, n: int) -> list[str]:
    """The names of ``fun``'s first ``n`` positional parameters, where its signature says."""
    try:
        params = list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):   # (a builtin, a callable object without a signature)
        params = []
    names: list[str] = []
    for p in params:
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
        elif p.kind is p.VAR_POSITIONAL:
            names += [f"{p.name}[{j}]" for j in range(n - len(names))]
        else:
            break
    return (names + [f"argument {i}" for i in range(len(names), n)])[:n]


def _differentiated(fun, args, argnums, fname) -> list[bool]:
    """For each input leaf, whether it gets a tangent: every leaf of the ``argnums``
    arguments (which must be float or complex), or every such leaf if ``argnums`` is
    ``None``."""
    names = _argument_names(fun, len(args))
    nums = None if argnums is None else argnums_tuple(argnums, len(args), fname)[1]
    flags = []
    for i, a in enumerate(args):
        for x, path in zip(tree_flatten(a)[0], leaf_paths(a, names[i])):
            dtype = get_aval(x).dtype
            inexact = np.issubdtype(dtype, np.inexact)
            if nums is not None and i in nums and not inexact:
                raise TypeError(f"{fname}: {path} has dtype {dtype}, which has no tangents; "
                                f"pass a float (2.0 rather than 2, or x.astype(float)), or "
                                f"leave argument {i} out of argnums")
            flags.append(inexact if nums is None else i in nums)
    if not any(flags):
        raise TypeError(f"{fname}: no floating-point input to differentiate (argnums="
                        f"{argnums!r}); pass floats (2.0 rather than 2)")
    return flags


def _split_figure(fun, args, argnums, fname, reverse: bool) -> str:
    """The two-pass figure: forward and backward (``reverse``), or primal and tangent."""
    closed, in_names = _trace(fun, args, {}, fname)
    diff = _differentiated(fun, args, argnums, fname)
    n, k, n_out = len(diff), sum(diff), len(closed.out_avals)
    jvp, _ = jvp_jaxpr(closed, diff, instantiate=True)
    primal, linear, _, n_res = partial_eval_jaxpr(
        jvp, [False] * n + [True] * k, instantiate=[False] * n_out + [True] * n_out)
    diff_names = [name for name, d in zip(in_names, diff) if d]
    out_names = _out_names(n_out)
    if reverse:
        second = transpose_jaxpr(linear, [False] * n_res + [True] * k)
        first_pass, second_pass = "forward", "backward"
        second_in = [f"cotangent {o}" for o in out_names]
        second_out = [f"grad {name}" for name in diff_names]
    else:
        second = linear
        first_pass, second_pass = "primal", "tangent"
        second_in = [f"tangent {name}" for name in diff_names]
        second_out = [f"tangent {o}" for o in out_names]

    dot = _Dot(f"{fname[:-len('_to_dot')]} of {getattr(fun, '__name__', 'function')}")
    with dot.cluster("cluster_" + first_pass, f"{first_pass} pass", PASS_COLORS[first_pass], 1):
        jaxpr, consts = _parts(primal)
        sources = _draw_jaxpr(dot, jaxpr, 2, PASS_COLORS[first_pass], in_names,
                              out_names + [None] * n_res, consts)   # (residuals: no node)
    residual = {"color": PASS_COLORS["residual"], "fontcolor": PASS_COLORS["residual"],
                "style": "dashed"}
    jaxpr, consts = _parts(second)
    bound = {}
    for var, source in zip(jaxpr.invars[:n_res], sources[n_out:]):
        if source is not None:   # (a residual is a variable: a literal is never saved)
            dot.alias(var, source[2])   # (named as the forward pass names it)
            bound[var] = (source[0], residual)
    with dot.cluster("cluster_" + second_pass, f"{second_pass} pass",
                     PASS_COLORS[second_pass], 1):
        _draw_jaxpr(dot, jaxpr, 2, PASS_COLORS[second_pass], [None] * n_res + second_in,
                    second_out, consts, bound)
    return dot.text()


def _out_names(n: int) -> list[str]:
    return ["out"] if n == 1 else [f"out[{i}]" for i in range(n)]


def _parts(closed) -> tuple[Jaxpr, list | None]:
    return (closed.jaxpr, closed.consts) if isinstance(closed, ClosedJaxpr) else (closed, None)


# -- drawing a jaxpr ------------------------------------------------------------------------

def _draw_jaxpr(dot, jaxpr: Jaxpr, depth: int, color: str, in_names=None, out_names=None,
                consts=None, bound=None) -> list:
    """Declare the nodes of ``jaxpr`` (at nesting ``depth``) and its edges, in ``color``.

    ``in_names``/``out_names`` label the inputs and outputs (default: the variable's name,
    ``out[i]``); an output named ``None`` gets no node. ``bound`` maps input variables to
    ``(node id, edge attributes)`` drawn elsewhere (the residuals of a backward pass).
    Returns, per output, ``(node id, edge attributes, variable)`` of what computes it
    (``None`` for a literal)."""
    env: dict = {}   # Var -> (the id of the node computing it, attributes of its edges)
    for i, v in enumerate(jaxpr.constvars):
        label = f"{dot.name(v)}\nconst {v.aval.str_short()}"
        if consts is not None and np.ndim(consts[i]) == 0:
            label += f"\n= {_scalar_text(consts[i])}"
        env[v] = (dot.node("const", label, color, depth), {})
    for i, v in enumerate(jaxpr.invars):
        name = dot.name(v)   # (even if labelled otherwise: the names follow ``print``'s)
        if bound and v in bound:
            env[v] = bound[v]
            continue
        if in_names and in_names[i] is not None:
            name = in_names[i]
        env[v] = (dot.node("in", f"{name}\n{v.aval.str_short()}", color, depth), {})
    for eqn in jaxpr.eqns:
        for v in eqn.outvars:   # (named first, as ``print(jaxpr)`` names them)
            dot.name(v)
        types = ", ".join(v.aval.str_short() for v in eqn.outvars)
        label = "\n".join(filter(None, [eqn.primitive.name, _params_text(eqn.params),
                                        types or "()"]))
        node = dot.node("eq", label, color, depth)
        for a in eqn.invars:
            _feed(dot, env, a, node, color, depth)
        for v in eqn.outvars:
            env[v] = (node, {})
        for pname, sub in sub_jaxprs(eqn.params):
            _draw_body(dot, node, f"{eqn.primitive.name} {pname}", sub, depth, color)
    sources = []
    for i, a in enumerate(jaxpr.outvars):
        source = (*env[a], a) if type(a) is Var else None
        sources.append(source)
        name = out_names[i] if out_names else _out_names(len(jaxpr.outvars))[i]
        if name is not None:
            out = dot.node("out", f"{name}\n{a.aval.str_short()}", color, depth)
            _feed(dot, env, a, out, color, depth)
    return sources


def _feed(dot, env, atom, dst: str, color: str, depth: int) -> None:
    """An edge carrying ``atom`` (a variable, or a literal drawn for this use) to ``dst``."""
    if type(atom) is Literal:
        src = dot.node("lit", _literal_text(atom), color, depth)
        dot.edge(src, dst, {"color": color})
        return
    src, attrs = env[atom]
    dot.edge(src, dst, {"label": dot.name(atom), "color": color, "fontcolor": color, **attrs})


def _draw_body(dot, eqn_node: str, title: str, sub, depth: int, color: str) -> None:
    """A sub-jaxpr of the equation ``eqn_node`` as a cluster, linked to it by a dotted edge."""
    cluster = f"cluster_{eqn_node}_{re.sub(r'[^A-Za-z0-9]+', '_', title)}"
    jaxpr, consts = _parts(sub)
    with dot.cluster(cluster, title, color, depth, style="dashed,rounded") as first:
        _draw_jaxpr(dot, jaxpr, depth + 1, color, consts=consts)
    dot.edge(eqn_node, first(), {"style": "dotted", "arrowhead": "odot", "lhead": cluster,
                                 "color": color})


def _params_text(params, width: int = 32) -> str:
    """The short parameters of an equation, ``key=value`` in lines of about ``width``
    characters; programs (drawn as clusters) are left out, long values cut."""
    parts = []
    for key in sorted(params):
        value = params[key]
        if isinstance(value, (ClosedJaxpr, Jaxpr)) or (
                isinstance(value, (tuple, list)) and value
                and any(isinstance(v, (ClosedJaxpr, Jaxpr)) for v in value)):
            continue
        if isinstance(value, np.dtype):
            text = value.name
        elif isinstance(value, np.ndarray):
            text = f"array {value.dtype.name}{list(value.shape)}"
        elif callable(value) and hasattr(value, "__name__"):
            text = value.__name__
        else:
            text = repr(value)
        parts.append(f"{key}={text if len(text) <= 24 else text[:21] + '...'}")
    lines: list[str] = []
    for part in parts:
        if lines and len(lines[-1]) + 1 + len(part) <= width:
            lines[-1] += " " + part
        else:
            lines.append(part)
    return "\n".join(lines)


def _scalar_text(value) -> str:
    value = value.item() if isinstance(value, (np.ndarray, np.generic)) else value
    return repr(value)


def _literal_text(lit: Literal) -> str:
    return (_scalar_text(lit.val) if np.ndim(lit.val) == 0
            else f"const {lit.aval.str_short()}")


# -- DOT text -------------------------------------------------------------------------------

def _quote(text) -> str:
    """``text`` as a DOT quoted string: backslashes and quotes escaped, newlines as ``\\n``
    (centred lines), other control characters as spaces."""
    text = str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + re.sub(r"[\x00-\x1f\x7f]", " ", text) + '"'


def _attrs(attrs: dict) -> str:
    return ", ".join(f"{k}={_quote(v)}" for k, v in attrs.items())


def _letters():
    """a, b, ..., z, aa, ab, ...: the names ``print(jaxpr)`` gives variables, in order."""
    for n in itertools.count(1):
        for letters in itertools.product("abcdefghijklmnopqrstuvwxyz", repeat=n):
            yield "".join(letters)


class _Dot:
    """The statements of one DOT graph: node ids numbered in drawing order, variables
    named in the order ``print(jaxpr)`` names them, edges written after every node (so
    that no edge pulls a node into the wrong cluster)."""

    def __init__(self, title: str | None = None):
        self.body: list[str] = []
        self.edges: list[str] = []
        self.nodes: list[str] = []
        self.title = title
        self._names: dict = {}
        self._letters = _letters()

    def name(self, var: Var) -> str:
        name = self._names.get(var)
        if name is None:
            name = self._names[var] = next(self._letters)
        return name

    def alias(self, var: Var, other: Var) -> None:
        self._names[var] = self.name(other)

    def node(self, kind: str, label: str, color: str, depth: int) -> str:
        node_id = f"{kind}{len(self.nodes)}"
        self.nodes.append(node_id)
        attrs = {"label": label, **_NODE_STYLE[kind], "color": color}
        self.body.append(f"{'  ' * depth}{_quote(node_id)} [{_attrs(attrs)}];")
        return node_id

    def edge(self, src: str, dst: str, attrs: dict) -> None:
        self.edges.append(f"  {_quote(src)} -> {_quote(dst)} [{_attrs(attrs)}];")

    def cluster(self, cluster_id: str, label: str, color: str, depth: int,
                style: str = "rounded"):
        """A context manager drawing what is declared within it as the cluster
        ``cluster_id``; it gives a function returning the id of the cluster's first node."""
        return _Cluster(self, cluster_id, label, color, depth, style)

    def text(self) -> str:
        title = ([f"  label={_quote(self.title)};", '  labelloc="t";']
                 if self.title else [])
        return "\n".join(['digraph "jaxpr" {', *_HEADER, *title, *self.body, *self.edges,
                          "}"]) + "\n"


class _Cluster:
    def __init__(self, dot: _Dot, cluster_id, label, color, depth, style):
        self.dot, self.depth, self.start = dot, depth, len(dot.nodes)
        pad = "  " * depth
        attrs = {"label": label, "style": style, "color": color, "fontcolor": color}
        dot.body.append(f"{pad}subgraph {_quote(cluster_id)} {{")
        dot.body.extend(f"{pad}  {k}={_quote(v)};" for k, v in attrs.items())

    def __enter__(self):
        return lambda: self.dot.nodes[self.start]

    def __exit__(self, *exc):
        self.dot.body.append("  " * self.depth + "}")
        return False


# -- laying out -----------------------------------------------------------------------------

def _graphviz_module():
    """The ``graphviz`` Python package, or ``None``: an optional dependency, imported only
    when a picture is laid out (``import fad`` stays as fast without it)."""
    try:
        return importlib.import_module("graphviz")
    except ImportError:
        return None


def _layout(dot_text: str, fmt: str) -> bytes:
    """``dot_text`` laid out by Graphviz as ``fmt`` bytes."""
    package = _graphviz_module()
    if package is not None:
        try:
            return package.Source(dot_text).pipe(format=fmt)
        except package.ExecutableNotFound as e:   # the package without the program
            raise RuntimeError(f"render: the graphviz package cannot find the `dot` "
                               f"program to write .{fmt}; {_INSTALL_HINT}") from e
    program = shutil.which("dot")
    if program is None:
        raise RuntimeError(f"render: writing .{fmt} needs Graphviz, which is not installed "
                           f"here; {_INSTALL_HINT}")
    done = subprocess.run([program, f"-T{fmt}"], input=dot_text.encode("utf-8"),
                          capture_output=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"render: `dot -T{fmt}` failed (exit {done.returncode}): "
                           f"{done.stderr.decode('utf-8', 'replace').strip()}")
    return done.stdout
