"""``einsum`` on ``lax.dot_general``: repeated labels take diagonals, labels used by one
operand only are summed first, then operands are contracted left to right."""
from __future__ import annotations

import operator

import numpy as np

from fad import lax
from fad.numpy import _linalg
from fad.numpy._promote import (accept_traced_sequences_in, any_traced, asarray, cast,
                                promote, shape_of)


def _split_labels(term: str, ndim: int, n_ellipsis: int, where: str):
    """The labels of one term; the dims under ``...`` get labels ``'.0'``, ``'.1'``...
    aligned from the right across operands (NumPy broadcasting)."""
    if term.count("...") > 1 or "." in term.replace("...", ""):
        raise ValueError(f"einsum: invalid ellipsis in subscripts {term!r} of {where}")
    head, _, tail = term.partition("...")
    for ch in head + tail:
        if not ch.isalpha():
            raise ValueError(f"einsum: invalid subscript {ch!r} in {where}; use letters")
    if "..." not in term:
        if ndim is not None and len(term) != ndim:
            raise ValueError(f"einsum: {where} has {ndim} dimensions but the subscripts "
                             f"{term!r} name {len(term)}")
        return list(term)
    k = n_ellipsis if ndim is None else ndim - len(head) - len(tail)
    if k < 0:
        raise ValueError(f"einsum: {where} has too few dimensions for the subscripts {term!r}")
    return list(head) + [f".{n_ellipsis - k + i}" for i in range(k)] + list(tail)


def parse_subscripts(subscripts: str, shapes):
    """``(labels of each input, labels of the output)``."""
    spec = subscripts.replace(" ", "")
    ins, arrow, out = spec.partition("->")
    terms = ins.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: the subscripts {subscripts!r} name {len(terms)} operands "
                         f"but {len(shapes)} were given")
    n_ell = max([len(s) - len(t.replace("...", "")) for t, s in zip(terms, shapes)
                 if "..." in t] or [0])
    inputs = [_split_labels(t, len(s), n_ell, f"operand {i}")
              for i, (t, s) in enumerate(zip(terms, shapes))]
    if arrow:
        output = _split_labels(out, None, n_ell, "the output")
        seen = {lab for labs in inputs for lab in labs}
        for lab in output:
            if lab not in seen:
                raise ValueError(f"einsum: output subscript {lab!r} does not appear in an input")
        if len(set(output)) != len(output):
            raise ValueError(f"einsum: output subscripts {out!r} repeat a label")
    else:
        counts = {}
        for labs in inputs:
            for lab in labs:
                counts[lab] = counts.get(lab, 0) + 1
        output = [f".{i}" for i in range(n_ell)] + sorted(
            lab for lab, c in counts.items() if c == 1 and not lab.startswith("."))
    return inputs, output


def _take_diagonals(x, labels):
    while len(set(labels)) != len(labels):
        lab = next(lab for lab in labels if labels.count(lab) > 1)
        i = labels.index(lab)
        j = labels.index(lab, i + 1)
        if shape_of(x)[i] != shape_of(x)[j]:
            raise ValueError(f"einsum: repeated subscript {lab!r} on axes of different sizes "
                             f"{shape_of(x)[i]} and {shape_of(x)[j]}")
        x = _linalg.diagonal(x, 0, i, j)
        labels = [m for k, m in enumerate(labels) if k not in (i, j)] + [lab]
    return x, labels


def _sum_labels(x, labels, drop):
    axes = tuple(i for i, lab in enumerate(labels) if lab in drop)
    if not axes:
        return x, labels
    return lax.reduce_sum(x, axes), [lab for lab in labels if lab not in drop]


def _label_sizes(operands, inputs):
    sizes = {}
    for x, labels in zip(operands, inputs):
        for lab, d in zip(labels, shape_of(x)):
            if sizes.get(lab, 1) not in (1, d) and d != 1:
                raise ValueError(f"einsum: subscript {lab!r} has sizes {sizes[lab]} and {d} "
                                 "in different operands")
            sizes[lab] = max(sizes.get(lab, 1), d)
    return sizes


def _drop_broadcast_ones(x, labels, sizes):
    axes = tuple(i for i, lab in enumerate(labels) if shape_of(x)[i] == 1 and sizes[lab] > 1)
    if not axes:
        return x, labels
    return lax.squeeze(x, axes), [lab for i, lab in enumerate(labels) if i not in axes]


def _contract(a, la, b, lb, needed):
    shared = [lab for lab in la if lab in lb]
    batch = [lab for lab in shared if lab in needed]
    contract = [lab for lab in shared if lab not in needed]
    dims = (([la.index(c) for c in contract], [lb.index(c) for c in contract]),
            ([la.index(c) for c in batch], [lb.index(c) for c in batch]))
    dims = tuple(tuple(tuple(d) for d in pair) for pair in dims)
    out = lax.dot_general(a, b, dims)
    labels = batch + [lab for lab in la if lab not in shared] + [lab for lab in lb
                                                                 if lab not in shared]
    return out, labels


_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _sublist_term(sublist, where):
    """One sublist of the interleaved form (ints in [0, 52) and ``...``) as subscripts;
    NumPy's letters: 0-25 are ``A``-``Z``, 26-51 ``a``-``z``."""
    term = []
    for label in sublist:
        if label is Ellipsis:
            term.append("...")
            continue
        try:
            term.append(_LETTERS[operator.index(label)] if label >= 0 else "?")
        except (TypeError, IndexError):
            raise ValueError(f"einsum: subscript {label!r} in {where} is not an integer "
                             "in [0, 52) or Ellipsis") from None
        if term[-1] == "?":
            raise ValueError(f"einsum: subscript {label!r} in {where} is negative")
    return "".join(term)


def interleaved_subscripts(args):
    """``(subscripts, operands)`` of the interleaved form ``einsum(op0, sublist0, op1,
    sublist1, ..., [sublist_out])``."""
    operands, terms = list(args[0::2]), [_sublist_term(s, f"operand {i}")
                                          for i, s in enumerate(args[1::2])]
    spec = ",".join(terms[:len(operands)])
    if len(args) % 2:   # the last entry is the output's sublist
        operands.pop()
        spec = ",".join(terms) + "->" + _sublist_term(args[-1], "the output")
    return spec, operands


def einsum(subscripts, *operands, out=None, dtype=None, order="K", casting="safe",
           optimize=False):
    """Like ``numpy.einsum``: string subscripts (explicit or implicit output, ellipses,
    repeated labels for diagonals, size-1 broadcasting) or the interleaved form
    ``einsum(a, [0, 1], b, [1, 2], [0, 2])``. ``optimize`` is accepted in every form
    NumPy takes and does not change the result; traced operands are contracted left to
    right.

    >>> einsum(np.ones((2, 3)), [0, 1], np.ones(3), [1], [0])
    array([3., 3.])
    """
    if not any_traced((subscripts, *operands)):
        return np.einsum(subscripts, *operands, out=out, dtype=dtype, order=order,
                         casting=casting, optimize=optimize)
    if out is not None:
        raise TypeError("fad.numpy.einsum cannot write into out= (fad arrays are "
                        "immutable); drop out= and use the returned value")
    if not isinstance(subscripts, str):
        subscripts, operands = interleaved_subscripts((subscripts, *operands))
    operands = promote(*[asarray(o) for o in operands])
    if dtype is not None:
        operands = [cast(o, np.dtype(dtype)) for o in operands]
    inputs, output = parse_subscripts(subscripts, [shape_of(o) for o in operands])
    sizes = _label_sizes(operands, inputs)
    prepared = []
    for k, (x, labels) in enumerate(zip(operands, inputs)):
        x, labels = _take_diagonals(x, labels)
        x, labels = _drop_broadcast_ones(x, labels, sizes)
        others = {lab for j, labs in enumerate(inputs) if j != k for lab in labs}
        x, labels = _sum_labels(x, labels, set(labels) - others - set(output))
        prepared.append((x, labels))
    acc, labels = prepared[0]
    for k in range(1, len(prepared)):
        needed = set(output).union(*(set(lb) for _, lb in prepared[k + 1:]))
        acc, labels = _sum_labels(acc, labels, set(labels) - needed - set(prepared[k][1]))
        acc, labels = _contract(acc, labels, *prepared[k], needed)
    acc, labels = _sum_labels(acc, labels, set(labels) - set(output))
    missing = [lab for lab in output if lab not in labels]
    if missing:   # labels whose every operand dim had size 1 and was dropped
        acc = lax.expand_dims(acc, tuple(range(len(missing))))
        labels = missing + labels
    return lax.transpose(acc, tuple(labels.index(lab) for lab in output))


__all__ = ["einsum"]
accept_traced_sequences_in(globals())
