"""``fad.graph``: jaxprs as Graphviz DOT text, and their layout.

The DOT text is checked with a small parser of the DOT grammar ``fad.graph`` writes
(statements, attribute lists, nested subgraphs): it must parse, every node id must be
quoted and declared once, every edge must join declared nodes. Laying out needs Graphviz:
the one test that runs it is skipped without it; the ways ``render`` finds Graphviz are
tested with stand-ins for the package and the program.
"""
from __future__ import annotations

import importlib.util
import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
import fad.graph as graph
import fad.numpy as fnp
from fad import lax

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "graph_picture.py"
COLORS = graph.PASS_COLORS


def f3(x1, x2, x3):
    return 3 * (x1 ** 2 + x2 * x3)


# -- a parser of the DOT that fad.graph writes ----------------------------------------------

_TOKEN = re.compile(r'\s*(?:("(?:[^"\\]|\\.)*")|(->|[{}\[\];=,])|([A-Za-z_][A-Za-z_0-9]*))')


def _tokens(text):
    out, pos, text = [], 0, text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        assert m and m.end() > pos, f"not DOT at {text[pos:pos + 40]!r}"
        out.append(m.group(1) or m.group(2) or m.group(3))
        pos = m.end()
    return out


def _unquote(token):
    assert token.startswith('"'), f"unquoted id {token!r}"
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), token[1:-1])


class Graph:
    """The parse: ``nodes`` {id: attrs}, ``edges`` [(src, dst, attrs)], ``clusters``
    {id: (attrs, parent cluster or None)}, and the cluster each node is declared in."""

    def __init__(self, text):
        self.nodes, self.edges, self.clusters, self.where = {}, [], {}, {}
        self.toks, self.i = _tokens(text), 0
        self.expect("digraph")
        self.graph_name = _unquote(self.next())
        self.block(None)
        assert self.i == len(self.toks), "text after the graph"

    def next(self):
        self.i += 1
        return self.toks[self.i - 1]

    def expect(self, tok):
        got = self.next()
        assert got == tok, f"expected {tok!r}, got {got!r}"

    def attrs(self):
        out = {}
        self.expect("[")
        while self.toks[self.i] != "]":
            key = self.next()
            self.expect("=")
            out[key] = _unquote(self.next())
            if self.toks[self.i] == ",":
                self.i += 1
        self.i += 1
        return out

    def block(self, cluster):
        self.expect("{")
        attrs = {}
        while self.toks[self.i] != "}":
            tok = self.next()
            if tok == "subgraph":
                name = _unquote(self.next())
                assert name.startswith("cluster_") and name not in self.clusters
                self.clusters[name] = (None, cluster)
                self.clusters[name] = (self.block(name), cluster)
            elif tok in ("graph", "node", "edge"):
                self.attrs()
            elif self.toks[self.i] == "=":
                self.i += 1
                attrs[tok] = _unquote(self.next())
            elif self.toks[self.i] == "->":
                self.i += 1
                dst = _unquote(self.next())
                self.edges.append((_unquote(tok), dst, self.attrs()))
            else:
                node = _unquote(tok)
                assert node not in self.nodes, f"node {node} declared twice"
                self.nodes[node] = self.attrs()
                self.where[node] = cluster
            if self.toks[self.i] == ";":
                self.i += 1
        self.i += 1
        return attrs

    def in_cluster(self, node, cluster):
        c = self.where[node]
        while c is not None and c != cluster:
            c = self.clusters[c][1]
        return c == cluster

    def labels(self, kind):
        return [a["label"] for n, a in self.nodes.items() if n.startswith(kind)]


def parse(text):
    """Parse ``text`` and check what every picture must satisfy."""
    g = Graph(text)
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)   # (braces in labels do not count)
    assert bare.count("{") == bare.count("}") == 1 + len(g.clusters)
    for src, dst, _ in g.edges:
        assert src in g.nodes and dst in g.nodes, f"edge {src} -> {dst}: undeclared node"
    for node in g.nodes:
        assert re.fullmatch(r"(in|out|eq|lit|const)\d+", node)
    return g


# -- to_dot ---------------------------------------------------------------------------------

def test_to_dot_shows_primitives_types_inputs_outputs_and_names():
    def f(w, x):
        return fnp.sin(w @ x).sum() * 3.0, w.T
    g = parse(graph.to_dot(f, np.ones((3, 4)), np.ones(4)))
    eqns = " ".join(g.labels("eq"))
    for word in ("dot_general", "sin", "reduce_sum", "transpose", "f64[3]", "f64[4,3]"):
        assert word in eqns
    assert sorted(g.labels("in")) == ["w\nf64[3,4]", "x\nf64[4]"]
    assert sorted(g.labels("out")) == ["out[0]\nf64[]", "out[1]\nf64[4,3]"]
    assert "3.0" in g.labels("lit")
    shapes = {n[:2]: a["shape"] for n, a in g.nodes.items()}
    assert shapes["in"] == "invhouse" and shapes["ou"] == "house" and shapes["li"] == "plaintext"


def test_edges_follow_the_data_and_use_the_printed_names():
    closed = fad.make_jaxpr(f3)(2.0, 3.0, 4.0)
    g = parse(graph.to_dot(closed))
    assert len(g.labels("eq")) == len(closed.eqns) == 4
    label = {n: a["label"].split("\n")[0] for n, a in g.nodes.items()}
    flow = {(label[s], label[d], a.get("label")) for s, d, a in g.edges}
    # { lambda ; a b c. let d = integer_pow[y=2] a; e = mul b c; f = add d e; g = mul 3.0 f }
    assert flow == {("a", "integer_pow", "a"), ("b", "mul", "b"), ("c", "mul", "c"),
                    ("integer_pow", "add", "d"), ("mul", "add", "e"), ("add", "mul", "f"),
                    ("3.0", "mul", None), ("mul", "out", "g")}
    assert "y=2" in " ".join(g.labels("eq"))


def test_pytree_argument_names_constants_and_open_jaxprs():
    table = np.array([1.0, 2.0, 3.0])
    g = parse(graph.to_dot(lambda p, x: p["w"] * x + p["b"] + table, {"w": 1.0, "b": 2.0},
                           0.5))
    assert sorted(a.split("\n")[0] for a in g.labels("in")) == ["p['b']", "p['w']", "x"]
    assert any("const f64[3]" in a for a in g.labels("const"))
    assert all(g.nodes[n]["shape"] == "note" for n in g.nodes if n.startswith("const"))
    closed = fad.make_jaxpr(lambda x: x + table)(1.0)
    assert graph.to_dot(closed.jaxpr).count("const f64[3]") == 1   # (a Jaxpr: no values)


def _cond(x):
    return lax.cond(x > 0, fnp.sin, lambda y: y * 2.0, x)


def _scan(x):
    return lax.scan(lambda c, a: (c + a * x, c * a), 0.0, fnp.arange(3.0) * x)[0]


def _jit(x):
    return fad.jit(lambda y: fnp.cos(y) * y)(x) + 1.0


_sq = fad.custom_jvp(lambda x: x * x)
_sq.defjvp(lambda p, t: (p[0] * p[0], 2.0 * p[0] * t[0]))


@pytest.mark.parametrize("fun, titles", [
    (_cond, ["cond branches[0]", "cond branches[1]"]),
    (_scan, ["scan jaxpr"]),
    (_jit, ["jit jaxpr"]),
    (lambda x: _sq(x) + 1.0, ["custom_jvp_call call_jaxpr"]),
])
def test_sub_jaxprs_are_clusters(fun, titles):
    g = parse(graph.to_dot(fun, 0.7))
    got = sorted(attrs["label"] for attrs, _ in g.clusters.values())
    assert got == titles
    for cluster, (attrs, _) in g.clusters.items():
        owner = re.match(r"cluster_(eq\d+)_", cluster).group(1)
        assert g.nodes[owner]["label"].split("\n")[0] == attrs["label"].split()[0]
        links = [d for s, d, a in g.edges if s == owner and a.get("lhead") == cluster]
        assert len(links) == 1 and g.in_cluster(links[0], cluster)
        assert any(n.startswith("out") for n in g.nodes if g.where[n] == cluster)


def test_nested_clusters_and_deterministic_text():
    def f(x):
        return fad.jit(lambda y: _cond(y) + _scan(y))(x)
    text = graph.to_dot(f, 0.3)
    assert text == graph.to_dot(f, 0.3)
    g = parse(text)
    parents = {c: p for c, (_, p) in g.clusters.items()}
    jit_cluster = next(c for c, (a, _) in g.clusters.items() if a["label"] == "jit jaxpr")
    assert parents[jit_cluster] is None
    assert sorted(c for c, p in parents.items() if p == jit_cluster) == sorted(
        set(parents) - {jit_cluster})
    assert graph.grad_to_dot(f, 0.3) == graph.grad_to_dot(f, 0.3)


def test_labels_are_escaped():
    def weird(x):
        return x * 2.0
    weird.__name__ = 'we"ird\\name\n{x}'
    g = parse(graph.to_dot(lambda x: fad.jit(weird)(x), 1.0))
    assert any("name=" + repr(weird.__name__) in a for a in g.labels("eq"))


@settings(max_examples=25, deadline=None)
@given(st.text(max_size=30))
def test_quote_round_trips(text):
    quoted = graph._quote(text)
    assert _tokens(quoted) == [quoted]
    assert _unquote(quoted) == re.sub(r"[\x00-\x1f\x7f]", lambda m: "\n" if m.group() == "\n"
                                      else " ", text)


_STEPS = [fnp.sin, fnp.exp, lambda v: v * 2.0, lambda v: fnp.sum(v), lambda v: v + v,
          lambda v: lax.cond(True, fnp.cos, fnp.tanh, v)]


@settings(max_examples=15, deadline=None)
@given(st.lists(st.sampled_from(range(len(_STEPS))), min_size=1, max_size=6),
       st.sampled_from([(), (3,), (2, 2)]))
def test_random_programs_give_well_formed_dot(steps, shape):
    def f(x):
        for s in steps:
            x = _STEPS[s](x)
        return x
    x = np.full(shape, 0.5)
    closed = fad.make_jaxpr(f)(x)
    g = parse(graph.to_dot(f, x))
    top = [n for n in g.nodes if n.startswith("eq") and g.where[n] is None]
    assert len(top) == len(closed.eqns)
    reads = sum(len(e.invars) for e in closed.eqns) + len(closed.jaxpr.outvars)
    assert len([e for e in g.edges if g.where[e[1]] is None]) == reads


# -- the gradient and JVP figures -----------------------------------------------------------

def test_grad_figure_has_two_passes_and_residual_edges():
    g = parse(graph.grad_to_dot(f3, 2.0, 3.0, 4.0, argnums=(0, 1, 2)))
    fwd, bwd = "cluster_forward", "cluster_backward"
    assert g.clusters[fwd][0]["color"] == COLORS["forward"]
    assert g.clusters[bwd][0]["color"] == COLORS["backward"]
    for node, attrs in g.nodes.items():
        side = "forward" if g.in_cluster(node, fwd) else "backward"
        assert g.in_cluster(node, fwd) != g.in_cluster(node, bwd)
        assert attrs["color"] == COLORS[side]
    residual = [(s, d) for s, d, a in g.edges if a["color"] == COLORS["residual"]]
    assert residual and all(g.in_cluster(s, fwd) and g.in_cluster(d, bwd) for s, d in residual)
    assert all(a["style"] == "dashed" for _, _, a in g.edges if a["color"] == COLORS["residual"])
    # the backward pass reads x2, x3 and 2 x1 (d/dx1 of x1^2), and nothing else from before
    sources = sorted(g.nodes[s]["label"].split("\n")[0] for s, _ in residual)
    assert sources == ["mul", "x2", "x3"]
    assert sorted(g.labels("out")) == ["grad x1\nf64[]", "grad x2\nf64[]", "grad x3\nf64[]",
                                       "out\nf64[]"]
    assert "cotangent out\nf64[]" in g.labels("in")


def test_grad_figure_argnums_pytrees_and_control_flow():
    def loss(params, x):
        return fnp.sum(fnp.tanh(params["w"] * x + params["b"]) ** 2) + _scan(x[0])
    params = {"w": np.ones(3), "b": 0.5}
    g = parse(graph.grad_to_dot(loss, params, np.linspace(0.0, 1.0, 3)))
    assert sorted(g.labels("out"))[:2] == ["grad params['b']\nf64[]",
                                           "grad params['w']\nf64[3]"]
    assert {a["label"] for a, _ in g.clusters.values()} >= {"scan jaxpr", "forward pass",
                                                           "backward pass"}
    g = parse(graph.grad_to_dot(loss, params, np.linspace(0.0, 1.0, 3), argnums=1))
    assert [a for a in g.labels("out") if a.startswith("grad")] == ["grad x\nf64[3]"]


def test_jvp_figure_has_primal_and_tangent_passes():
    g = parse(graph.jvp_to_dot(lambda x, n: fnp.sin(x) * n, 1.0, 2))
    assert g.clusters["cluster_primal"][0]["color"] == COLORS["primal"]
    assert g.clusters["cluster_tangent"][0]["color"] == COLORS["tangent"]
    assert [a for a in g.labels("in") if a.startswith("tangent")] == ["tangent x\nf64[]"]
    assert "tangent out\nf64[]" in g.labels("out")
    assert any(a["color"] == COLORS["residual"] for _, _, a in g.edges)
    cos = [n for n, a in g.nodes.items() if a["label"].startswith("cos")]
    assert cos and all(g.in_cluster(n, "cluster_primal") for n in cos)


def test_bad_input_errors():
    closed = fad.make_jaxpr(f3)(1.0, 2.0, 3.0)
    with pytest.raises(TypeError, match="example arguments"):
        graph.to_dot(closed, 1.0)
    with pytest.raises(TypeError, match="ClosedJaxpr, a Jaxpr or a function"):
        graph.to_dot(3.0)
    with pytest.raises(TypeError, match="argument 1 out of argnums"):
        graph.grad_to_dot(lambda x, n: x * n, 2.0, 3, argnums=(0, 1))
    with pytest.raises(TypeError, match="n has dtype int64"):
        graph.grad_to_dot(lambda n: n * 2.0, 3)
    with pytest.raises(TypeError, match=r"argnums=\(\)"):
        graph.grad_to_dot(f3, 1.0, 2.0, 3.0, argnums=())
    with pytest.raises(ValueError, match="argnums"):
        graph.grad_to_dot(f3, 1.0, 2.0, 3.0, argnums=3)
    with pytest.raises(TypeError, match="no floating-point input"):
        graph.jvp_to_dot(lambda n: n * 2, 3)


# -- render ---------------------------------------------------------------------------------

def test_render_dot_always_works(tmp_path):
    text = graph.to_dot(f3, 1.0, 2.0, 3.0)
    for name, fmt in (("f.dot", None), ("f.gv", None), ("f.txt", "dot")):
        out = graph.render(text, tmp_path / name, format=fmt)
        assert out == tmp_path / name and out.read_text(encoding="utf-8") == text


def test_render_errors(tmp_path):
    with pytest.raises(ValueError, match=r"\.svg"):
        graph.render("digraph {}", tmp_path / "f")
    with pytest.raises(ValueError, match="format='jpeg'"):
        graph.render("digraph {}", tmp_path / "f.svg", format="jpeg")
    with pytest.raises(TypeError, match="DOT text"):
        graph.render(b"digraph {}", tmp_path / "f.dot")


def test_render_without_graphviz_names_both_installs(tmp_path, monkeypatch):
    monkeypatch.setattr(graph, "_graphviz_module", lambda: None)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert not graph.graphviz_available()
    with pytest.raises(RuntimeError) as err:
        graph.render(graph.to_dot(f3, 1.0, 2.0, 3.0), tmp_path / "f.svg")
    assert "pip install graphviz" in str(err.value) and "apt install graphviz" in str(err.value)
    assert not (tmp_path / "f.svg").exists()


def test_render_runs_the_dot_program(tmp_path, monkeypatch):
    # a stand-in `dot` that records its flag and input: the subprocess path, without Graphviz
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "dot"
    fake.write_text(f"#!{sys.executable}\nimport sys\ndata = sys.stdin.read()\n"
                    "sys.stdout.write('<svg flag=\"' + sys.argv[1] + '\">' + str(len(data)) "
                    "+ '</svg>')\n")
    fake.chmod(0o755)
    monkeypatch.setattr(graph, "_graphviz_module", lambda: None)
    monkeypatch.setenv("PATH", str(bin_dir))
    text = graph.to_dot(f3, 1.0, 2.0, 3.0)
    out = graph.render(text, tmp_path / "f.svg")
    assert out.read_text() == f'<svg flag="-Tsvg">{len(text)}</svg>'
    fake.write_text(f"#!{sys.executable}\nimport sys\nsys.stderr.write('syntax error')\n"
                    "sys.exit(1)\n")
    with pytest.raises(RuntimeError, match="syntax error"):
        graph.render(text, tmp_path / "g.png")


def test_render_uses_the_graphviz_package(tmp_path, monkeypatch):
    calls = []

    class Source:
        def __init__(self, text):
            self.text = text

        def pipe(self, format):
            calls.append((self.text, format))
            return b"\x89PNG fake"

    package = types.SimpleNamespace(Source=Source, ExecutableNotFound=RuntimeError)
    monkeypatch.setattr(graph, "_graphviz_module", lambda: package)
    out = graph.render("digraph {}", tmp_path / "f.PNG")
    assert out.read_bytes() == b"\x89PNG fake" and calls == [("digraph {}", "png")]
    # the package without the program it runs: the same advice
    class NotFound(Exception):
        pass

    def missing(self, format):
        raise NotFound("failed to execute PosixPath('dot')")
    monkeypatch.setattr(Source, "pipe", missing)
    package.ExecutableNotFound = NotFound
    with pytest.raises(RuntimeError, match="apt install graphviz"):
        graph.render("digraph {}", tmp_path / "g.svg")


@pytest.mark.skipif(not graph.graphviz_available(), reason="Graphviz (`dot`) not installed")
def test_render_svg_and_png_with_graphviz(tmp_path):
    def f(x):
        return _cond(x) * _jit(x) + _scan(x)

    def weird(x):   # (labels Graphviz must read back: quotes, backslashes, braces)
        return x * 2.0
    weird.__name__ = 'we"ird\\name\n{x}'
    for text in (graph.to_dot(f, 0.5), graph.grad_to_dot(f, 0.5), graph.jvp_to_dot(f, 0.5),
                 graph.to_dot(lambda x: fad.jit(weird)(x), 1.0)):
        svg = graph.render(text, tmp_path / "f.svg").read_text()
        assert "<svg" in svg and "</svg>" in svg and "jit" in svg
        assert graph.render(text, tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"


# -- the example ----------------------------------------------------------------------------

def test_example_writes_the_pictures(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("graph_picture", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    written = example.main(["--out", str(tmp_path / "pictures")])
    printed = capsys.readouterr().out
    names = sorted(p.name for p in written)
    expected = ["function.dot", "graph.dot"]
    if graph.graphviz_available():
        expected = ["function.dot", "function.svg", "graph.dot", "graph.svg"]
    assert names == expected
    for path in written:
        assert path.exists() and f"wrote {path}" in printed
    g = parse((tmp_path / "pictures" / "graph.dot").read_text())
    assert {"cluster_forward", "cluster_backward"} <= set(g.clusters)
