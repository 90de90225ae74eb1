"""The documentation in docs/: every example on its pages runs and prints what the page
says (always), and the Sphinx build passes with warnings as errors and documents every
public function (when Sphinx is installed: `pip install -e '.[docs]'`)."""
from __future__ import annotations

import doctest
import importlib.util
import pathlib
import re
import types

import numpy as np
import pytest

import fad
from fad.core.config import OPTIONS

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"
PAGES = sorted(DOCS.glob("*.rst"))


def _generator():
    spec = importlib.util.spec_from_file_location("fad_docs_generate", DOCS / "_generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def restored_config():
    """The pages switch ``fad.config`` options on and off: whatever happens, the tests
    after them see the settings as they were."""
    saved = {name: getattr(fad.config, name) for name in OPTIONS}
    yield
    for name, value in saved.items():
        if getattr(fad.config, name) != value:
            fad.config.update(name, value)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_examples_run(page, restored_config):
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    with np.printoptions(legacy=False), np.errstate(all="ignore"):
        failed, attempted = doctest.testfile(str(page), module_relative=False,
                                             optionflags=flags, encoding="utf-8")
    assert failed == 0, f"{failed} of {attempted} examples on docs/{page.name} failed"


def test_the_guide_has_examples():
    counts = {p.name: doctest.DocTestParser().get_examples(p.read_text(encoding="utf-8"))
              for p in PAGES}
    # (the reference pages show the docstrings' examples; the benchmarks page, commands)
    guide = [n for n in counts if not n.startswith("api") and n != "benchmarks.rst"]
    assert sum(len(counts[n]) for n in guide) > 150
    assert all(counts[n] for n in guide), [n for n in guide if not counts[n]]


def test_markdown_becomes_restructured_text():
    gen = _generator()
    rst = gen.markdown_to_rst(
        "# Title\n\n## `fad.numpy` (2 functions)\n\n**Ufuncs** (2): `sin` `cos`\n\n"
        "- `sin`: Like `numpy.sin`; `x*y` and a_b_ stay literal.\n\n"
        "| namespace | what |\n|---|---|\n| `fad.nn` | activations |\n")
    assert "Title" not in rst                               # the page has its own title
    assert "``fad.numpy`` (2 functions)\n---------------------------" in rst
    assert "**Ufuncs** (2): :func:`~fad.numpy.sin` :func:`~fad.numpy.cos`" in rst
    assert "``numpy.sin``; ``x*y`` and a\\_b\\_ stay literal." in rst
    assert "   * - ``fad.nn``\n     - activations" in rst
    # code glued to a word keeps a reST boundary, which prints as nothing
    assert gen.md_inline("`fad.numpy`'s and a`b`c") == "``fad.numpy``'s and a\\ ``b``\\ c"
    assert gen.md_inline("a_`x`, (`y`)") == "a\\_\\ ``x``, (``y``)"


def test_simple_tables_become_list_tables():
    gen = _generator()
    table = ("=======  ====\n"
             "a        b\n"
             "=======  ====\n"
             "x, y, zz  1\n"          # runs into the margin, as simple tables forbid
             "         2\n"           # a continuation line
             "=======  ====\n")
    assert gen.simple_table_to_list_table(table) == (
        ".. list-table::\n   :header-rows: 1\n\n   * - a\n     - b\n"
        "   * - x, y, zz\n     - 1 2\n")


def _built_ids(html: pathlib.Path) -> set[str]:
    ids: set[str] = set()
    for page in html.glob("*.html"):
        ids.update(re.findall(r'id="([\w.]+)"', page.read_text(encoding="utf-8")))
    return ids


def test_docs_build_without_warnings(tmp_path):
    pytest.importorskip("sphinx")
    from sphinx.cmd.build import build_main

    html, warnings = tmp_path / "html", tmp_path / "warnings.txt"
    status = build_main(["-W", "--keep-going", "-q", "-b", "html", "-w", str(warnings),
                         "-d", str(tmp_path / "doctrees"), str(DOCS), str(html)])
    assert status == 0, "the docs build failed:\n" + warnings.read_text(encoding="utf-8")
    ids = _built_ids(html)
    # every transformation, every fad.numpy function fad defines, every error class
    public = [f"fad.{n}" for n in dir(fad) if not n.startswith("_")
              and not isinstance(getattr(fad, n), types.ModuleType)]
    numpy_fns = [f"fad.numpy.{n}" for n in _generator().load_surface().public_functions(
        fad.numpy) if getattr(getattr(fad.numpy, n), "__module__", "").startswith("fad")]
    errors = [f"fad.errors.{n}" for n in fad.errors.__all__]
    missing = [n for n in public + numpy_fns + errors if n not in ids]
    assert not missing, f"not documented in the reference: {missing}"
    assert "how fad works" in (html / "how_it_works.html").read_text(encoding="utf-8").lower()
