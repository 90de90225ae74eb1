"""fad's modules form layers: no module imports, directly or through others, one that
imports it back, and imports are written at the top of a module, where they show its
place (issue 11, part 5). ``fad.lax`` and ``fad.numpy`` have no import inside a
function at all; anywhere else one needs a comment on its line naming the cycle it
breaks. Packages' ``__init__`` files, which only re-export, are no layer of their own.
(The same walk as ``../shared/checks/import_cycles.py``, kept with the tests.)"""
import ast
from pathlib import Path

FAD = Path(__file__).resolve().parents[1] / "fad"
NO_INNER_IMPORTS = ("fad.lax", "fad.numpy")


def module_files():
    """``{module name: path}`` for every module of the ``fad`` package."""
    out = {}
    for path in FAD.rglob("*.py"):
        parts = list(path.relative_to(FAD.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def imported_modules(module, node, is_package):
    """The names an import statement may refer to as modules: ``from fad.numpy import
    _shape`` imports ``fad.numpy._shape`` (and runs ``fad.numpy``)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    base = module if is_package else module.rpartition(".")[0]
    for _ in range(max(node.level - 1, 0)):
        base = base.rpartition(".")[0]
    if node.level:
        target = f"{base}.{node.module}" if node.module else base
    else:
        target = node.module
    return [f"{target}.{a.name}" for a in node.names] + [target]


def import_graph():
    """(``{module: modules it imports}``, [(module, import node, source lines)] of the
    imports not at the top level of their module), over fad's modules."""
    files = module_files()
    edges, inner = {}, []
    for module, path in files.items():
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        is_package = path.name == "__init__.py"
        targets = set()
        for node in ast.walk(ast.parse(source, str(path))):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            found = {t for t in imported_modules(module, node, is_package)
                     if t in files and t != module}
            targets |= found
            if found and node.col_offset > 0 and not is_package:
                inner.append((module, node, lines[node.lineno - 1:node.end_lineno]))
        if not is_package:
            edges[module] = targets
    layered = set(edges)
    return {m: {t for t in ts if t in layered} for m, ts in edges.items()}, inner


def find_cycle(edges):
    """One cycle of ``edges`` (a list of modules, the first repeated at the end), or
    ``None``: peel off modules that import none of those left; from any module left,
    following imports among those left comes back round."""
    left = set(edges)
    while True:
        leaves = {m for m in left if not edges[m] & left}
        if not leaves:
            break
        left -= leaves
    if not left:
        return None
    path, seen = [min(left)], {}
    while path[-1] not in seen:
        seen[path[-1]] = len(path) - 1
        path.append(min(edges[path[-1]] & left))
    return path[seen[path[-1]]:]


def test_cycle_finder_finds_a_cycle_and_only_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"x": {"a"}, "a": {"b", "z"}, "b": {"a"}, "z": set()}) == ["a", "b", "a"]


def test_fad_modules_import_each_other_without_cycles():
    edges, _ = import_graph()
    assert {"fad.lax.plumbing", "fad.lax.rules", "fad.numpy._promote",
            "fad.core.trace"} <= set(edges)
    assert "fad.lax.plumbing" in edges["fad.lax.elementwise"]   # the walk sees imports
    assert "fad.numpy._shape" in edges["fad.numpy._indexing"]   # (module-qualified ones too)
    cycle = find_cycle(edges)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_imports_are_at_the_top_of_their_module():
    _, inner = import_graph()
    where = [f"{m}:{node.lineno}" for m, node, _ in inner if m.startswith(NO_INNER_IMPORTS)]
    assert not where, f"imports inside functions in fad.lax/fad.numpy: {where}"
    unexplained = [f"{m}:{node.lineno}" for m, node, lines in inner
                   if not any("#" in line and "cycle" in line.partition("#")[2]
                              for line in lines)]
    assert not unexplained, ("imports inside functions without a comment naming the cycle "
                             f"they break: {unexplained}")


def test_the_primitives_every_rule_needs_sit_below_the_rules():
    edges, _ = import_graph()
    assert not {m for m in edges["fad.lax.plumbing"] if m.startswith("fad.lax.")}
    assert not {m for m in edges["fad.numpy._promote"] if m.startswith("fad.numpy.")}
    assert "fad.core.abstract" not in edges["fad.core.trace"]
