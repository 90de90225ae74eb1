"""Sphinx configuration of fad's documentation.

Build the HTML pages (from the repository root; warnings are errors, as in CI)::

    pip install -e '.[docs]'
    python -m sphinx -W --keep-going -b html docs docs/_build/html

then open ``docs/_build/html/index.html``. Every build first runs ``docs/_generate.py``,
which writes ``docs/_generated/`` (printed programs, the graph, the surface tables, the
lists of names the reference documents) from the code as it is. The examples on the
pages are doctests: ``python -m pytest -q tests/test_docs_build.py`` runs them (and this
build, when Sphinx is installed); ``tests/test_doctests.py`` runs the docstrings' own,
each in its module's namespace (which Sphinx's doctest builder does not give them).
"""
from __future__ import annotations

import importlib.util
import pathlib
import sys

DOCS = pathlib.Path(__file__).resolve().parent
ROOT = DOCS.parent
for path in (ROOT, DOCS):          # fad from this checkout; _generate beside this file
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import fad  # noqa: E402

import _generate  # noqa: E402

_generate.main()

project = "fad"
author = "the fad developers"
copyright = "the fad developers"   # noqa: A001 - Sphinx's name for it
version = release = fad.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
]

root_doc = "index"
source_suffix = {".rst": "restructuredtext"}
# _generated/ holds pieces the pages include, not pages; SURFACE.md is the same content
# as the surface page, for readers of the repository.
exclude_patterns = ["_build", "_generated", "README*", "*.md"]
templates_path: list[str] = []
default_role = "literal"           # `x` in a page or docstring is code, as ``x`` is

# -- autodoc: the reference is the docstrings ----------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True   # show `argnums=0`, not a repr of a default object
# (members are listed where wanted: `:members:`, or the generated entries)

# The reference pages hold hundreds of functions: listed in every page's table of contents
# they would triple the build time, and each page's summary table lists them already.
toc_object_entries = False
add_module_names = False           # `grad(fun, ...)`, not `fad.grad(fun, ...)`
add_function_parentheses = False   # links read `sin`, as the text around them names it

# -- HTML ----------------------------------------------------------------------------------
# furo when it is installed (the `docs` extra installs it); Sphinx's own theme otherwise,
# so that a bare `pip install sphinx` builds the same pages.
html_theme = "furo" if importlib.util.find_spec("furo") else "alabaster"
html_title = f"fad {release}"
html_static_path: list[str] = []
html_show_sourcelink = False
