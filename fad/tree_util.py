"""Pytrees: nested containers whose leaves are the values transformations act on.

A *pytree* is a nested structure of containers (tuples, lists, dicts, ``None``,
namedtuples, and any class registered with :func:`register_pytree_node` or
:func:`register_dataclass`); anything else is a *leaf*. Flattening splits a pytree
into its list of leaves and a hashable :class:`PyTreeDef` describing the
containers, so that transformations can work on flat lists and rebuild the
user's structure afterwards.

>>> leaves, treedef = tree_flatten((1, {"b": 2, "a": [3, None]}))
>>> leaves
[1, 3, 2]
>>> treedef
PyTreeDef((*, {'a': [*, None], 'b': *}))
>>> tree_unflatten(treedef, [10, 30, 20])
(10, {'a': [30, None], 'b': 20})

Notes on the representation: a treedef wraps a nested tuple "spec". A leaf is
the spec ``None``; a node is ``(node_type, aux_data, child_specs)``. Plain tuples
make hashing and equality fast, which matters because treedefs key jit's cache.
"""
from __future__ import annotations

import collections
import dataclasses
import functools
from collections.abc import Callable, Hashable, Iterable
from typing import Any, NamedTuple

from fad.errors import PytreeStructureError

__all__ = [
    "PyTreeDef",
    "all_leaves",
    "broadcast_prefix",
    "flatten_up_to",
    "register_dataclass",
    "register_pytree_node",
    "register_pytree_node_class",
    "tree_all",
    "tree_flatten",
    "tree_leaves",
    "tree_map",
    "tree_reduce",
    "tree_structure",
    "tree_transpose",
    "tree_unflatten",
    "treedef_children",
    "treedef_is_leaf",
    "treedef_tuple",
]

_NoneType = type(None)
_LEAF = None  # the spec of a leaf
_NONE_SPEC = (_NoneType, None, ())


class _NodeHandler(NamedTuple):
    flatten: Callable[[Any], tuple[Iterable[Any], Hashable]]
    unflatten: Callable[[Hashable, tuple], Any]
    field_names: tuple[str, ...] | None  # for readable paths/reprs (dataclasses)


# Registered node types, looked up by exact type (subclasses are leaves).
_registry: dict[type, _NodeHandler] = {}
# Tuple subclasses with ``_fields`` seen so far, and tuple subclasses that are not.
_namedtuple_types: set[type] = set()
_plain_tuple_subclasses: set[type] = set()
_BUILTIN_NODES = (tuple, list, dict, _NoneType)


def _is_namedtuple_type(t: type) -> bool:
    if t in _namedtuple_types:
        return True
    if t in _plain_tuple_subclasses or not issubclass(t, tuple):
        return False
    if hasattr(t, "_fields"):
        _namedtuple_types.add(t)
        return True
    _plain_tuple_subclasses.add(t)
    return False


def _sorted_keys(d: dict) -> list:
    try:
        return sorted(d)
    except TypeError:  # keys of mixed, unorderable types: still deterministic
        return sorted(d, key=lambda k: (type(k).__module__, type(k).__qualname__, repr(k)))


# --------------------------------------------------------------------------- flatten

def _flatten(x: Any, leaves: list) -> Any:
    """Fast path (no ``is_leaf``): append x's leaves to ``leaves``, return its spec."""
    t = type(x)
    if t is tuple:
        return (tuple, None, tuple([_flatten(c, leaves) for c in x]))
    if t is list:
        return (list, None, tuple([_flatten(c, leaves) for c in x]))
    if t is dict:
        keys = _sorted_keys(x)
        return (dict, tuple(keys), tuple([_flatten(x[k], leaves) for k in keys]))
    if x is None:
        return _NONE_SPEC
    handler = _registry.get(t)
    if handler is not None:
        children, aux = handler.flatten(x)
        return (t, aux, tuple([_flatten(c, leaves) for c in children]))
    if isinstance(x, tuple) and _is_namedtuple_type(t):
        return (t, None, tuple([_flatten(c, leaves) for c in x]))
    leaves.append(x)
    return _LEAF


def _node_children(x: Any) -> tuple[type, Any, Any] | None:
    """``(node_type, aux, children)`` if x is a pytree node, else None (x is a leaf)."""
    t = type(x)
    if t is tuple or t is list:
        return t, None, x
    if t is dict:
        keys = _sorted_keys(x)
        return dict, tuple(keys), [x[k] for k in keys]
    if x is None:
        return _NoneType, None, ()
    handler = _registry.get(t)
    if handler is not None:
        children, aux = handler.flatten(x)
        return t, aux, children
    if isinstance(x, tuple) and _is_namedtuple_type(t):
        return t, None, x
    return None


def _flatten_is_leaf(x: Any, leaves: list, is_leaf: Callable[[Any], bool]) -> Any:
    if is_leaf(x):
        leaves.append(x)
        return _LEAF
    node = _node_children(x)
    if node is None:
        leaves.append(x)
        return _LEAF
    t, aux, children = node
    return (t, aux, tuple([_flatten_is_leaf(c, leaves, is_leaf) for c in children]))


def tree_flatten(tree: Any, is_leaf: Callable[[Any], bool] | None = None
                 ) -> tuple[list, PyTreeDef]:
    """Split ``tree`` into its leaves (left to right, dict keys sorted) and its treedef.

    ``is_leaf(x) -> bool``, if given, is called on every subtree first; when it returns
    True that subtree is a leaf even if it is a container (``None`` included).

    >>> tree_flatten({"b": (1, 2), "a": 3})
    ([3, 1, 2], PyTreeDef({'a': *, 'b': (*, *)}))
    >>> tree_flatten([None, 1], is_leaf=lambda x: x is None)[0]
    [None, 1]
    """
    leaves: list = []
    if is_leaf is None:
        spec = _flatten(tree, leaves)
    else:
        spec = _flatten_is_leaf(tree, leaves, is_leaf)
    return leaves, PyTreeDef._make(spec, len(leaves))


def _collect_leaves(x: Any, leaves: list) -> None:
    t = type(x)
    if t is tuple or t is list:
        for c in x:
            _collect_leaves(c, leaves)
    elif t is dict:
        for k in _sorted_keys(x):
            _collect_leaves(x[k], leaves)
    elif x is None:
        pass
    else:
        handler = _registry.get(t)
        if handler is not None:
            for c in handler.flatten(x)[0]:
                _collect_leaves(c, leaves)
        elif isinstance(x, tuple) and _is_namedtuple_type(t):
            for c in x:
                _collect_leaves(c, leaves)
        else:
            leaves.append(x)


def tree_leaves(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> list:
    """The leaves of ``tree``, in flattening order.

    >>> tree_leaves([1, (2, None), {"x": 3}])
    [1, 2, 3]
    """
    leaves: list = []
    if is_leaf is None:
        _collect_leaves(tree, leaves)
    else:
        _flatten_is_leaf(tree, leaves, is_leaf)
    return leaves


def tree_structure(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> PyTreeDef:
    """The treedef of ``tree``.

    >>> tree_structure((1, [2, 3]))
    PyTreeDef((*, [*, *]))
    """
    return tree_flatten(tree, is_leaf)[1]


# ------------------------------------------------------------------------- unflatten

def _build(spec: Any, it: Any) -> Any:
    if spec is None:
        return next(it)
    t, aux, child_specs = spec
    children = [_build(c, it) for c in child_specs]
    if t is tuple:
        return tuple(children)
    if t is list:
        return children
    if t is dict:
        return dict(zip(aux, children))
    if t is _NoneType:
        return None
    handler = _registry.get(t)
    if handler is not None:
        return handler.unflatten(aux, tuple(children))
    return t(*children)  # namedtuple


def tree_unflatten(treedef: PyTreeDef, leaves: Iterable[Any]) -> Any:
    """Rebuild a pytree of structure ``treedef`` from ``leaves``.

    >>> _, td = tree_flatten({"a": 1, "b": (2, 3)})
    >>> tree_unflatten(td, ["x", "y", "z"])
    {'a': 'x', 'b': ('y', 'z')}
    """
    if not isinstance(treedef, PyTreeDef):
        raise TypeError(f"tree_unflatten expects a PyTreeDef as its first argument, "
                        f"got {type(treedef).__name__}")
    return treedef.unflatten(leaves)


# -------------------------------------------------------------------------- PyTreeDef

class PyTreeDef:
    """The container structure of a pytree, without its leaves.

    Hashable and comparable with ``==``; printed with ``*`` for each leaf.

    >>> td = tree_structure((1, {"a": 2}))
    >>> td, td.num_leaves, td.num_nodes
    (PyTreeDef((*, {'a': *})), 2, 4)
    >>> td.unflatten([5, 6])
    (5, {'a': 6})
    >>> td == tree_structure((0, {"a": 0}))
    True
    """

    __slots__ = ("_hash", "_num_leaves", "_num_nodes", "_spec")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("PyTreeDef is not constructed directly; use tree_structure or "
                        "tree_flatten")

    @classmethod
    def _make(cls, spec: Any, num_leaves: int | None = None) -> PyTreeDef:
        self = object.__new__(cls)
        self._spec = spec
        self._num_leaves = num_leaves
        self._num_nodes = None
        self._hash = None
        return self

    @property
    def num_leaves(self) -> int:
        if self._num_leaves is None:
            self._num_leaves = _count_leaves(self._spec)
        return self._num_leaves

    @property
    def num_nodes(self) -> int:
        """Number of nodes, leaves included (``None`` counts as a node)."""
        if self._num_nodes is None:
            self._num_nodes = _count_nodes(self._spec)
        return self._num_nodes

    @property
    def node_type(self) -> type | None:
        """The type of the root container, or ``None`` for a leaf."""
        return None if self._spec is None else self._spec[0]

    @property
    def node_data(self) -> Any:
        """The root's auxiliary data (dict keys, a custom node's aux), None for a leaf."""
        return None if self._spec is None else self._spec[1]

    def children(self) -> list[PyTreeDef]:
        """Treedefs of the root's immediate children (``[]`` for a leaf)."""
        if self._spec is None:
            return []
        return [PyTreeDef._make(c) for c in self._spec[2]]

    def unflatten(self, leaves: Iterable[Any]) -> Any:
        """Build a pytree of this structure from ``leaves``."""
        leaves = list(leaves)
        if len(leaves) != self.num_leaves:
            raise PytreeStructureError(
                f"Too {'few' if len(leaves) < self.num_leaves else 'many'} leaves to "
                f"unflatten {self!r}: expected {self.num_leaves}, got {len(leaves)}")
        return _build(self._spec, iter(leaves))

    def flatten_up_to(self, tree: Any) -> list:
        """The subtrees of ``tree`` at this treedef's leaves (see :func:`flatten_up_to`)."""
        return flatten_up_to(self, tree)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PyTreeDef):
            return NotImplemented
        if self is other or self._spec is other._spec:
            return True
        try:
            return bool(self._spec == other._spec)
        except Exception:  # noqa: BLE001 -- aux whose == is not a plain bool (arrays)
            return False

    def __hash__(self) -> int:
        if self._hash is None:
            try:
                self._hash = hash(self._spec)
            except TypeError as e:
                raise TypeError(f"{self!r} is not hashable: the auxiliary data of a "
                                f"registered pytree node must be hashable ({e})") from None
        return self._hash

    def __repr__(self) -> str:
        return f"PyTreeDef({_spec_str(self._spec)})"

    def __reduce__(self) -> tuple:
        return (PyTreeDef._make, (self._spec, self._num_leaves))


def _count_leaves(spec: Any) -> int:
    if spec is None:
        return 1
    return sum(_count_leaves(c) for c in spec[2])


def _count_nodes(spec: Any) -> int:
    if spec is None:
        return 1
    return 1 + sum(_count_nodes(c) for c in spec[2])


def _spec_str(spec: Any) -> str:
    if spec is None:
        return "*"
    t, aux, children = spec
    parts = [_spec_str(c) for c in children]
    if t is tuple:
        return "(" + parts[0] + ",)" if len(parts) == 1 else "(" + ", ".join(parts) + ")"
    if t is list:
        return "[" + ", ".join(parts) + "]"
    if t is dict:
        return "{" + ", ".join(f"{k!r}: {p}" for k, p in zip(aux, parts)) + "}"
    if t is _NoneType:
        return "None"
    if t not in _registry and _is_namedtuple_type(t):
        return f"{t.__name__}(" + ", ".join(f"{f}={p}" for f, p in zip(t._fields, parts)) + ")"
    return f"CustomNode({t.__name__}[{aux!r}], [{', '.join(parts)}])"


def treedef_is_leaf(treedef: PyTreeDef) -> bool:
    """True if ``treedef`` is a single leaf (``None`` is a node, not a leaf).

    >>> treedef_is_leaf(tree_structure(1.0)), treedef_is_leaf(tree_structure(None))
    (True, False)
    """
    return treedef._spec is None


def treedef_children(treedef: PyTreeDef) -> list[PyTreeDef]:
    """Treedefs of the root's children. ``treedef_children(tree_structure((1, [2])))``.

    >>> import fad.tree_util as tu
    >>> treedef = tu.tree_structure({'a': 1, 'b': (2, 3)})
    >>> tu.treedef_children(treedef)
    [PyTreeDef(*), PyTreeDef((*, *))]
    """
    return treedef.children()


def treedef_tuple(treedefs: Iterable[PyTreeDef]) -> PyTreeDef:
    """The treedef of a tuple whose children have the given treedefs.

    >>> treedef_tuple([tree_structure(1), tree_structure([1, 2])])
    PyTreeDef((*, [*, *]))
    """
    treedefs = list(treedefs)
    spec = (tuple, None, tuple(td._spec for td in treedefs))
    return PyTreeDef._make(spec, sum(td.num_leaves for td in treedefs))


def all_leaves(iterable: Iterable[Any], is_leaf: Callable[[Any], bool] | None = None
               ) -> bool:
    """True if every element of ``iterable`` is a leaf.

    >>> all_leaves([1.0, "a"]), all_leaves([1.0, (2.0,)]), all_leaves([None])
    (True, False, False)
    """
    for x in iterable:
        if is_leaf is not None and is_leaf(x):
            continue
        if _node_children(x) is not None:
            return False
    return True


# ---------------------------------------------------------------------- registration

def register_pytree_node(cls: type, flatten_fn: Callable[[Any], tuple[Iterable, Hashable]],
                         unflatten_fn: Callable[[Hashable, Iterable], Any]) -> None:
    """Make instances of ``cls`` (exactly; not its subclasses) pytree nodes.

    ``flatten_fn(x) -> (children, aux_data)``; ``unflatten_fn(aux_data, children) -> x``.
    ``aux_data`` must be hashable and comparable, since it is part of the treedef.

    >>> class Pair:
    ...     def __init__(self, a, b): self.a, self.b = a, b
    >>> register_pytree_node(Pair, lambda p: ((p.a, p.b), None),
    ...                      lambda aux, ch: Pair(*ch))
    >>> tree_leaves(Pair(1, [2, 3]))
    [1, 2, 3]
    """
    _check_registrable(cls)
    _registry[cls] = _NodeHandler(flatten_fn, unflatten_fn, None)


def _check_registrable(cls: Any) -> None:
    if not isinstance(cls, type):
        raise TypeError(f"only classes can be registered as pytree nodes, got {cls!r}")
    if cls in _BUILTIN_NODES:
        raise ValueError(f"{cls.__name__} is a built-in pytree node and cannot be "
                         f"registered again")
    if cls in _registry:
        raise ValueError(f"{cls.__qualname__} is already registered as a pytree node")


def register_pytree_node_class(cls: type) -> type:
    """Class decorator: register ``cls`` using its ``tree_flatten`` method and its
    ``tree_unflatten(aux_data, children)`` classmethod. Returns ``cls``.

    >>> @register_pytree_node_class
    ... class Box:
    ...     def __init__(self, v): self.v = v
    ...     def tree_flatten(self): return (self.v,), None
    ...     @classmethod
    ...     def tree_unflatten(cls, aux, children): return cls(*children)
    >>> tree_leaves(Box(3))
    [3]
    """
    register_pytree_node(cls, lambda x: x.tree_flatten(), cls.tree_unflatten)
    return cls


def register_dataclass(cls: type | None = None, data_fields: Iterable[str] | None = None,
                       meta_fields: Iterable[str] | None = None) -> Any:
    """Register a dataclass as a pytree node; usable as ``@register_dataclass`` or
    ``@register_dataclass(data_fields=[...], meta_fields=[...])``.

    Data fields are children (traced, differentiated); meta fields are static and go into
    the treedef, so their values must be hashable. By default every field is data. Given
    only one of the two lists, the other is the remaining fields. Unflattening sets the
    fields directly without calling ``__init__``/``__post_init__`` (so validation code
    does not see placeholder leaves); frozen dataclasses work.

    >>> @register_dataclass(meta_fields=["name"])
    ... @dataclasses.dataclass(frozen=True)
    ... class Layer:
    ...     w: Any
    ...     name: str = "dense"
    >>> tree_flatten(Layer(w=1.0))
    ([1.0], PyTreeDef(CustomNode(Layer[('dense',)], [*])))
    """
    if cls is None:
        return lambda c: register_dataclass(c, data_fields, meta_fields)
    _check_registrable(cls)
    data, meta = _dataclass_fields(cls, data_fields, meta_fields)

    def flatten(x: Any) -> tuple[tuple, tuple]:
        return (tuple([getattr(x, n) for n in data]), tuple([getattr(x, n) for n in meta]))

    def unflatten(aux: tuple, children: tuple) -> Any:
        obj = object.__new__(cls)
        for name, value in zip(data, children):
            object.__setattr__(obj, name, value)
        for name, value in zip(meta, aux):
            object.__setattr__(obj, name, value)
        return obj

    _registry[cls] = _NodeHandler(flatten, unflatten, data)
    return cls


def _dataclass_fields(cls: type, data_fields: Iterable[str] | None,
                      meta_fields: Iterable[str] | None) -> tuple[tuple, tuple]:
    data = None if data_fields is None else tuple(data_fields)
    meta = None if meta_fields is None else tuple(meta_fields)
    if not dataclasses.is_dataclass(cls):
        if data is None or meta is None:
            raise TypeError(f"register_dataclass: {cls.__qualname__} is not a dataclass; "
                            f"pass both data_fields and meta_fields for a plain class")
        return data, meta
    names = tuple(f.name for f in dataclasses.fields(cls))
    if data is None and meta is None:
        return names, ()
    if data is None:
        data = tuple(n for n in names if n not in meta)
    if meta is None:
        meta = tuple(n for n in names if n not in data)
    unknown = [n for n in data + meta if n not in names]
    both = sorted(set(data) & set(meta))
    missing = [n for n in names if n not in data and n not in meta]
    if unknown or both or missing:
        raise ValueError(f"register_dataclass({cls.__qualname__}): data_fields {list(data)} "
                         f"and meta_fields {list(meta)} must split the fields {list(names)} "
                         f"exactly (unknown: {unknown}, in both: {both}, missing: {missing})")
    return data, meta


register_pytree_node(
    collections.OrderedDict,
    lambda d: (tuple(d.values()), tuple(d.keys())),
    lambda keys, values: collections.OrderedDict(zip(keys, values)))


def _flatten_defaultdict(d: collections.defaultdict) -> tuple[tuple, tuple]:
    keys = _sorted_keys(d)
    return tuple([d[k] for k in keys]), (d.default_factory, tuple(keys))


register_pytree_node(
    collections.defaultdict, _flatten_defaultdict,
    lambda aux, values: collections.defaultdict(aux[0], zip(aux[1], values)))


# ------------------------------------------------------------------- map, prefixes

def tree_map(f: Callable[..., Any], tree: Any, *rest: Any,
             is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """Apply ``f`` to the leaves of ``tree`` (and the matching leaves of ``rest``).

    Each tree in ``rest`` must have ``tree``'s structure, or have it as a prefix (a leaf
    of ``tree`` then receives the whole corresponding subtree).

    >>> tree_map(lambda x, y: x + y, {"a": 1, "b": (2, 3)}, {"a": 10, "b": (20, 30)})
    {'a': 11, 'b': (22, 33)}
    """
    leaves, treedef = tree_flatten(tree, is_leaf)
    if not rest:
        return treedef.unflatten([f(x) for x in leaves])
    columns = [leaves]
    for i, other in enumerate(rest, start=1):
        other_leaves, other_def = tree_flatten(other, is_leaf)
        if other_def == treedef:  # the common case: identical structure
            columns.append(other_leaves)
            continue
        try:
            columns.append(_flatten_up_to(treedef._spec, other, is_leaf))
        except _Mismatch as e:
            raise PytreeStructureError(
                f"tree_map: argument {i} does not have the structure of argument 0 "
                f"{e.where()}: {e.msg}.\n  argument 0: {treedef}\n"
                f"  argument {i}: {tree_structure(other, is_leaf)}") from None
    return treedef.unflatten([f(*xs) for xs in zip(*columns)])


def tree_reduce(function: Callable[[Any, Any], Any], tree: Any, *initializer: Any,
                is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """Fold ``function`` over the leaves, like ``functools.reduce``.

    >>> tree_reduce(lambda a, b: a + b, [1, (2, 3)], 0)
    6
    """
    return functools.reduce(function, tree_leaves(tree, is_leaf), *initializer)


def tree_all(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> bool:
    """True if every leaf is truthy. ``tree_all([True, (1, None)])`` is True.

    >>> import fad.tree_util as tu
    >>> tu.tree_all({'a': True, 'b': (1, None)}), tu.tree_all([True, 0])
    (True, False)
    """
    return all(tree_leaves(tree, is_leaf))


class _Mismatch(Exception):
    def __init__(self, msg: str) -> None:
        super().__init__(msg)
        self.msg = msg
        self.path: list[str] = []

    def where(self) -> str:
        return "at the root" if not self.path else "at " + "".join(reversed(self.path))


def _aux_equal(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 -- e.g. arrays, whose == is elementwise
        return False


def _describe_spec(spec: Any) -> str:
    t, aux, children = spec
    if t is dict:
        return f"a dict with keys {list(aux)}"
    if t is _NoneType:
        return "None"
    return f"a {t.__name__} with {len(children)} children"


def _describe_value(x: Any) -> str:
    if type(x) is dict:
        return f"a dict with keys {_sorted_keys(x)}"
    if x is None:
        return "None"
    if isinstance(x, (tuple, list)):
        return f"a {type(x).__name__} with {len(x)} children"
    return f"a {type(x).__name__}"


def _path_entry(t: type, aux: Any, i: int) -> str:
    if t is dict:
        return f"[{aux[i]!r}]"
    if t in _registry:
        names = _registry[t].field_names
        return f".{names[i]}" if names else f"<child {i}>"
    if t is not tuple and t is not list:
        return f".{t._fields[i]}"  # namedtuple
    return f"[{i}]"


def _flatten_up_to(spec: Any, x: Any, is_leaf: Callable[[Any], bool] | None,
                   out: list | None = None) -> list:
    if out is None:
        out = []
    if spec is None:
        out.append(x)
        return out
    t, aux, child_specs = spec
    node = None if (is_leaf is not None and is_leaf(x)) else _node_children(x)
    if node is None or node[0] is not t:
        raise _Mismatch(f"expected {_describe_spec(spec)}, got {_describe_value(x)}")
    children = list(node[2])
    if len(children) != len(child_specs):
        raise _Mismatch(f"expected {_describe_spec(spec)}, got {_describe_value(x)}")
    if not _aux_equal(node[1], aux):
        what = "keys" if t is dict else "auxiliary data"
        raise _Mismatch(f"{t.__name__} {what} differ: expected {aux!r}, got {node[1]!r}")
    for i, (c_spec, c) in enumerate(zip(child_specs, children)):
        try:
            _flatten_up_to(c_spec, c, is_leaf, out)
        except _Mismatch as e:
            e.path.append(_path_entry(t, aux, i))
            raise
    return out


def flatten_up_to(prefix_treedef: PyTreeDef, tree: Any) -> list:
    """Flatten ``tree`` only as deep as ``prefix_treedef``: one entry per prefix leaf,
    each the whole subtree of ``tree`` found there. Raises ``ValueError`` if the
    containers of ``tree`` do not match the prefix.

    >>> flatten_up_to(tree_structure((0, 0)), ([1, 2], {"a": 3}))
    [[1, 2], {'a': 3}]
    """
    try:
        return _flatten_up_to(prefix_treedef._spec, tree, None)
    except _Mismatch as e:
        raise PytreeStructureError(f"flatten_up_to: tree does not match the prefix "
                                   f"{prefix_treedef} {e.where()}: {e.msg}") from None


def broadcast_prefix(prefix_tree: Any, full_tree: Any,
                     is_leaf: Callable[[Any], bool] | None = None) -> list:
    """Expand ``prefix_tree`` to one entry per leaf of ``full_tree``.

    ``prefix_tree`` must be a prefix of ``full_tree``'s structure; each of its leaves is
    repeated for every leaf of the matching subtree. ``None`` in the prefix is a leaf that
    covers a whole subtree (as in vmap's ``in_axes``). ``is_leaf`` applies to
    ``full_tree``. Raises ``ValueError`` naming the mismatch when it is not a prefix.

    >>> broadcast_prefix((0, None), ([1, 2], {"a": 3, "b": 4}))
    [0, 0, None, None]
    >>> broadcast_prefix(1, {"x": 1, "y": (2, 3)})
    [1, 1, 1]
    """
    prefix_leaves, prefix_def = tree_flatten(prefix_tree, is_leaf=_is_none)
    try:
        subtrees = _flatten_up_to(prefix_def._spec, full_tree, is_leaf)
    except _Mismatch as e:
        raise PytreeStructureError(
            f"broadcast_prefix: the prefix tree is not a prefix of the full tree "
            f"{e.where()}: {e.msg}.\n  prefix: {prefix_def}\n"
            f"  full tree: {tree_structure(full_tree, is_leaf)}") from None
    result: list = []
    for p, sub in zip(prefix_leaves, subtrees):
        result.extend([p] * len(tree_leaves(sub, is_leaf)))
    return result


def _is_none(x: Any) -> bool:
    return x is None


def tree_transpose(outer_treedef: PyTreeDef, inner_treedef: PyTreeDef | None,
                   pytree_to_transpose: Any) -> Any:
    """Turn an outer tree of inner trees into an inner tree of outer trees.

    ``inner_treedef=None`` infers it from the first inner tree.

    >>> outer, inner = tree_structure([0, 0]), tree_structure((0, 0))
    >>> tree_transpose(outer, inner, [(1, 2), (3, 4)])
    ([1, 3], [2, 4])
    """
    inner_trees = flatten_up_to(outer_treedef, pytree_to_transpose)
    if inner_treedef is None:
        if not inner_trees:
            raise ValueError("tree_transpose: cannot infer inner_treedef from an empty "
                             "outer tree; pass it explicitly")
        inner_treedef = tree_structure(inner_trees[0])
    rows = [flatten_up_to(inner_treedef, t) for t in inner_trees]
    columns = [outer_treedef.unflatten(col) for col in zip(*rows)] if rows else \
        [outer_treedef.unflatten([]) for _ in range(inner_treedef.num_leaves)]
    return inner_treedef.unflatten(columns)
