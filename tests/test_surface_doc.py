"""docs/SURFACE.md is what docs/surface.py generates from the code now: a new, renamed
or removed public function, or a changed docstring summary, makes it stale (regenerate
with ``python docs/surface.py``)."""
from __future__ import annotations

import importlib.util
import pathlib
import re

import pytest

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"
FIX = "docs/SURFACE.md is stale: regenerate it with `python docs/surface.py`"


def _generator():
    spec = importlib.util.spec_from_file_location("fad_docs_surface", DOCS / "surface.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _split(text, mark):
    head, _, tail = text.partition(mark)
    return head, mark + tail


def test_surface_doc_is_current():
    gen = _generator()
    written = (DOCS / "SURFACE.md").read_text()
    fresh = gen.render()
    provided_now, omitted_now = _split(fresh, gen.OMITTED_MARK)
    provided_doc, omitted_doc = _split(written, gen.OMITTED_MARK)
    # fad's own surface: always compared
    assert provided_doc == provided_now, FIX
    # what NumPy/SciPy have and fad has not depends on their versions: compared when the
    # versions are those the file names
    versions = re.compile(r"Compared with NumPy (\S+) and SciPy (\S+)\.")
    if versions.search(omitted_doc).groups() != versions.search(omitted_now).groups():
        pytest.skip("docs/SURFACE.md was generated against other NumPy/SciPy versions")
    assert omitted_doc == omitted_now, FIX


def test_every_omission_reason_names_a_real_name():
    # a reason for leaving out a name NumPy/SciPy does not have is a stale table line
    gen = _generator()
    stale = []
    for mirror, groups in gen.OMITTED.items():
        module = importlib.import_module(mirror)
        stale += [f"{mirror}.{n}" for names, _ in groups for n in names
                  if not hasattr(module, n)]
    assert not stale, f"docs/surface.py OMITTED names unknown to NumPy/SciPy: {stale}"
