"""Every public function and class of fad has a docstring with a runnable example.

The public API is each namespace's ``__all__`` where it has one, else its names without a
leading underscore; of those, the functions and classes defined in fad (NumPy's dtypes
that ``fad.numpy`` re-exports and primitive objects are not functions). Examples of
functions made by factories (``fad.lax.sin``, ``fad.numpy.sin``) are not found by the
module-by-module doctest run of ``tests/test_doctests.py`` (their code belongs to the
factory's module), so this file runs every public example itself too.
"""
import doctest
import importlib
import inspect
import sys

import numpy as np
import pytest

import fad

NAMESPACES = [
    "fad", "fad.numpy", "fad.numpy.linalg", "fad.numpy.fft", "fad.lax", "fad.scipy.linalg",
    "fad.scipy.optimize", "fad.scipy.special", "fad.nn", "fad.random", "fad.ops",
    "fad.tree_util", "fad.flatten_util", "fad.optimizers", "fad.custom_derivatives",
    "fad.debug", "fad.graph", "fad.extend", "fad.errors",
] + [f"fad.scipy.stats.{name}" for name in sorted(vars(fad.scipy.stats))   # its distributions
     if inspect.ismodule(getattr(fad.scipy.stats, name)) and not name.startswith("_")]

# Public names that cannot have an example, with the reason. (Empty: keep it so.)
NO_EXAMPLE: dict[str, str] = {}


def public_objects(namespace: str) -> dict[str, object]:
    """The public functions and classes of ``namespace``, by qualified name."""
    module = importlib.import_module(namespace)
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    out = {}
    for name in names:
        obj = getattr(module, name)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue   # modules, primitives, dtypes, constants
        if not (getattr(obj, "__module__", None) or "").startswith("fad"):
            continue   # NumPy's own names re-exported (fad.numpy.float32...)
        out[f"{namespace}.{name}"] = obj
    return out


def missing_examples(namespace: str) -> list[str]:
    return sorted(name for name, obj in public_objects(namespace).items()
                  if ">>>" not in (obj.__doc__ or "") and name not in NO_EXAMPLE)


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_every_public_function_has_an_example(namespace):
    assert public_objects(namespace), f"{namespace} has no public functions?"
    missing = missing_examples(namespace)
    assert not missing, f"{len(missing)} public names without an example: {missing}"


def test_the_allow_list_names_public_objects():
    everything = {name for ns in NAMESPACES for name in public_objects(ns)}
    assert set(NO_EXAMPLE) <= everything, set(NO_EXAMPLE) - everything


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_the_public_examples_run(namespace):
    """Each public object's example runs with the globals of the module that defines it
    (for a wrapper, the module of the function it wraps)."""
    finder = doctest.DocTestFinder(recurse=False, exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    seen = set()
    with np.printoptions(legacy=False):
        for name, obj in public_objects(namespace).items():
            if id(obj) in seen:   # (an alias: fad.numpy.acos is fad.numpy.arccos)
                continue
            seen.add(id(obj))
            home = sys.modules[inspect.unwrap(obj).__module__]
            for test in finder.find(obj, name, globs=dict(vars(home))):
                runner.run(test)
    failed, attempted = runner.summarize(verbose=False)
    assert failed == 0, f"{failed} of {attempted} examples of {namespace}'s public names failed"
