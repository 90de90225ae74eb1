import collections
import dataclasses
import pickle
from typing import Any, NamedTuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fad import tree_util as tu
from fad.tree_util import (
    all_leaves,
    broadcast_prefix,
    flatten_up_to,
    register_dataclass,
    register_pytree_node,
    tree_flatten,
    tree_leaves,
    tree_map,
    tree_structure,
    tree_transpose,
    tree_unflatten,
    treedef_is_leaf,
)


class Point(NamedTuple):
    x: Any
    y: Any


Point3 = collections.namedtuple("Point3", ["x", "y", "z"])


class Other(NamedTuple):
    x: Any
    y: Any


class Custom:
    """Registered with register_pytree_node; aux is a name."""

    def __init__(self, name, a, b):
        self.name, self.a, self.b = name, a, b

    def __eq__(self, other):
        return (type(other) is Custom and self.name == other.name
                and self.a == other.a and self.b == other.b)


register_pytree_node(Custom, lambda c: ((c.a, c.b), c.name),
                     lambda name, ch: Custom(name, *ch))


@register_dataclass
@dataclasses.dataclass
class Params:
    w: Any
    b: Any


@register_dataclass(meta_fields=["activation"])
@dataclasses.dataclass(frozen=True)
class Layer:
    w: Any
    activation: str = "relu"

    def __post_init__(self):
        if not isinstance(self.activation, str):
            raise TypeError("activation must be a string")


@register_dataclass(data_fields=["a"], meta_fields=["n"])
@dataclasses.dataclass
class WithInitFalse:
    a: Any
    n: int = dataclasses.field(default=0, init=False)


class TupleSub(tuple):
    pass


class DictSub(dict):
    pass


# ----------------------------------------------------------------- flatten basics

@pytest.mark.parametrize("tree, leaves", [
    (1, [1]),
    ((), []),
    ([], []),
    ({}, []),
    (None, []),
    ((1, 2), [1, 2]),
    ([1, (2, 3)], [1, 2, 3]),
    ({"b": 1, "a": 2}, [2, 1]),
    ({"a": None, "b": [None, 3]}, [3]),
    (Point(1, [2, 3]), [1, 2, 3]),
    (Point3(1, 2, 3), [1, 2, 3]),
    (Custom("c", 1, (2, 3)), [1, 2, 3]),
    (Params(w=1, b=2), [1, 2]),
    (Layer(w=[1, 2]), [1, 2]),
    (collections.OrderedDict([("b", 1), ("a", 2)]), [1, 2]),
    (collections.defaultdict(list, {"b": 1, "a": 2}), [2, 1]),
])
def test_flatten_roundtrip(tree, leaves):
    got, td = tree_flatten(tree)
    assert got == leaves
    assert tree_leaves(tree) == leaves
    assert td.num_leaves == len(leaves)
    assert tree_unflatten(td, got) == tree
    assert td.unflatten(got) == tree
    assert tree_structure(tree) == td
    assert hash(tree_structure(tree)) == hash(td)


def test_leaves_are_unregistered_objects():
    arr = np.arange(3.0)
    tree = (arr, TupleSub((1, 2)), DictSub(a=1), "s", 1.5, np.float64(2.0))
    leaves = tree_leaves(tree)
    assert len(leaves) == 6 and leaves[0] is arr
    assert isinstance(leaves[1], TupleSub) and isinstance(leaves[2], DictSub)
    assert all_leaves(leaves)


def test_none_is_a_node_not_a_leaf():
    leaves, td = tree_flatten(None)
    assert leaves == []
    assert not treedef_is_leaf(td)
    assert td.num_nodes == 1 and td.num_leaves == 0
    assert td.unflatten([]) is None
    assert repr(td) == "PyTreeDef(None)"
    assert treedef_is_leaf(tree_structure(np.zeros(2)))


def test_dict_keys_sorted_and_rebuilt_sorted():
    d = {"c": 3, "a": 1, "b": 2}
    leaves, td = tree_flatten(d)
    assert leaves == [1, 2, 3]
    out = td.unflatten(leaves)
    assert out == d and list(out) == ["a", "b", "c"]
    assert td == tree_structure({"a": 0, "b": 0, "c": 0})
    assert td.node_data == ("a", "b", "c")


def test_dict_with_unorderable_keys_is_deterministic():
    d1 = {1: "x", "a": "y"}
    d2 = {"a": "y", 1: "x"}
    l1, t1 = tree_flatten(d1)
    l2, t2 = tree_flatten(d2)
    assert l1 == l2 and t1 == t2
    assert t1.unflatten(l1) == d1


def test_ordered_dict_keeps_insertion_order():
    od = collections.OrderedDict([("b", 1), ("a", 2)])
    td = tree_structure(od)
    assert td != tree_structure(collections.OrderedDict([("a", 1), ("b", 2)]))
    out = td.unflatten([5, 6])
    assert type(out) is collections.OrderedDict and list(out.items()) == [("b", 5), ("a", 6)]


def test_defaultdict_keeps_factory():
    out = tree_map(lambda x: x * 2, collections.defaultdict(int, {"a": 1}))
    assert type(out) is collections.defaultdict and out.default_factory is int
    assert out["a"] == 2 and out["missing"] == 0


def test_is_leaf():
    tree = {"a": (1, 2), "b": [None, 3]}
    leaves, td = tree_flatten(tree, is_leaf=lambda x: isinstance(x, tuple))
    assert leaves == [(1, 2), 3]
    assert td.unflatten(leaves) == tree
    leaves, td = tree_flatten(tree, is_leaf=lambda x: x is None)
    assert leaves == [1, 2, None, 3]
    assert tree_leaves(tree, is_leaf=lambda x: x is None) == leaves
    assert tree_leaves(tree, is_leaf=lambda x: isinstance(x, dict)) == [tree]
    assert tree_structure(tree, is_leaf=lambda x: x is None).num_leaves == 4


def test_all_leaves():
    assert all_leaves([1, "a", np.zeros(2)])
    assert not all_leaves([1, (2,)])
    assert not all_leaves([None])
    assert all_leaves([None, (1,)], is_leaf=lambda x: x is None or isinstance(x, tuple))


# ---------------------------------------------------------------- namedtuples

def test_namedtuple_roundtrip_and_type_preserved():
    p = Point(x=1.0, y={"k": 2.0})
    td = tree_structure(p)
    out = td.unflatten([10.0, 20.0])
    assert type(out) is Point and out == Point(10.0, {"k": 20.0})
    assert repr(td) == "PyTreeDef(Point(x=*, y={'k': *}))"


def test_namedtuple_distinct_from_tuple_and_other_namedtuple():
    assert tree_structure(Point(1, 2)) != tree_structure((1, 2))
    assert tree_structure(Point(1, 2)) != tree_structure(Other(1, 2))
    assert tree_structure(Point(1, 2)) == tree_structure(Point("a", "b"))


# -------------------------------------------------------- registered / dataclasses

def test_custom_node_aux_in_treedef():
    assert tree_structure(Custom("a", 1, 2)) != tree_structure(Custom("b", 1, 2))
    td = tree_structure(Custom("a", 1, 2))
    assert repr(td) == "PyTreeDef(CustomNode(Custom['a'], [*, *]))"
    assert tree_map(lambda v: v + 1, Custom("a", 1, 2)) == Custom("a", 2, 3)


def test_dataclass_default_all_data():
    p = Params(w=np.ones(2), b=3.0)
    leaves, td = tree_flatten(p)
    assert leaves[1] == 3.0 and leaves[0] is p.w
    out = td.unflatten([1, 2])
    assert type(out) is Params and out == Params(1, 2)


def test_dataclass_meta_fields_static():
    l1 = Layer(w=1.0, activation="relu")
    l2 = Layer(w=2.0, activation="tanh")
    assert tree_leaves(l1) == [1.0]
    assert tree_structure(l1) != tree_structure(l2)
    assert tree_structure(l1) == tree_structure(Layer(w=5.0))
    out = tree_map(lambda x: x * 3, l2)
    assert out == Layer(w=6.0, activation="tanh")
    with pytest.raises(dataclasses.FrozenInstanceError):
        out.w = 1.0


def test_dataclass_unflatten_skips_post_init():
    # Placeholders (here: an object()) must survive unflattening without validation.
    td = tree_structure(Layer(w=1.0))
    sentinel = object()
    assert td.unflatten([sentinel]).w is sentinel


def test_dataclass_init_false_field_can_be_meta():
    x = WithInitFalse(a=1)
    x.n = 7
    out = tree_map(lambda v: v + 1, x)
    assert out.a == 2 and out.n == 7


def test_register_dataclass_plain_call_and_errors():
    @dataclasses.dataclass
    class A:
        x: Any
        y: Any
    assert register_dataclass(A, data_fields=["x"], meta_fields=["y"]) is A
    assert tree_leaves(A(1, 2)) == [1]
    with pytest.raises(ValueError, match="already registered"):
        register_dataclass(A)

    @dataclasses.dataclass
    class B:
        x: Any
        y: Any
    with pytest.raises(ValueError, match="split the fields"):
        register_dataclass(B, data_fields=["x"], meta_fields=["x", "y"])
    with pytest.raises(ValueError, match="split the fields"):
        register_dataclass(B, data_fields=["x", "nope"], meta_fields=["y"])

    class NotDC:
        pass
    with pytest.raises(TypeError, match="not a dataclass"):
        register_dataclass(NotDC)


def test_register_dataclass_plain_class_with_both_lists():
    class C:
        def __init__(self, a, k):
            self.a, self.k = a, k
    register_dataclass(C, data_fields=["a"], meta_fields=["k"])
    out = tree_map(lambda v: -v, C(1, "key"))
    assert out.a == -1 and out.k == "key"


def test_register_errors():
    with pytest.raises(ValueError, match="built-in"):
        register_pytree_node(tuple, lambda x: (x, None), lambda a, c: tuple(c))
    with pytest.raises(ValueError, match="already registered"):
        register_pytree_node(Custom, lambda x: ((), None), lambda a, c: None)
    with pytest.raises(TypeError):
        register_pytree_node("notaclass", lambda x: ((), None), lambda a, c: None)


def test_register_pytree_node_class():
    @tu.register_pytree_node_class
    class Box:
        def __init__(self, v, tag):
            self.v, self.tag = v, tag

        def tree_flatten(self):
            return (self.v,), self.tag

        @classmethod
        def tree_unflatten(cls, aux, children):
            return cls(children[0], aux)
    out = tree_map(lambda x: x + 1, Box([1, 2], "t"))
    assert isinstance(out, Box) and out.v == [2, 3] and out.tag == "t"


def test_registered_subclass_is_leaf():
    class SubParams(Params):
        pass
    assert tree_leaves(SubParams(1, 2)) == [SubParams(1, 2)]


# ------------------------------------------------------------------- PyTreeDef

def test_treedef_repr():
    assert repr(tree_structure((1, {"a": 2}))) == "PyTreeDef((*, {'a': *}))"
    assert repr(tree_structure((1,))) == "PyTreeDef((*,))"
    assert repr(tree_structure([])) == "PyTreeDef([])"
    assert repr(tree_structure(())) == "PyTreeDef(())"
    assert repr(tree_structure(3)) == "PyTreeDef(*)"
    assert repr(tree_structure([None, 1])) == "PyTreeDef([None, *])"


def test_treedef_counts_and_children():
    td = tree_structure((1, [2, None], {"a": 3}))
    assert td.num_leaves == 3
    assert td.num_nodes == 7  # tuple, 1, list, 2, None, dict, 3
    kids = td.children()
    assert [repr(k) for k in kids] == ["PyTreeDef(*)", "PyTreeDef([*, None])",
                                       "PyTreeDef({'a': *})"]
    assert [k.num_leaves for k in kids] == [1, 1, 1]
    assert kids[1].num_nodes == 3
    assert tree_structure(1).children() == []
    assert td.node_type is tuple and tree_structure(1).node_type is None
    assert tu.treedef_tuple(kids) == td
    assert tu.treedef_children(td) == kids


def test_treedef_hash_eq_as_cache_key():
    cache = {tree_structure((1, {"a": 2})): "hit"}
    assert cache[tree_structure((np.zeros(3), {"a": "x"}))] == "hit"
    assert tree_structure((1, 2)) != tree_structure([1, 2])
    assert tree_structure({"a": 1}) != tree_structure({"b": 1})
    assert tree_structure((1, 2)) != tree_structure((1, (2,)))
    assert tree_structure(None) != tree_structure(1)
    assert tree_structure(()) != tree_structure([])
    assert tree_structure(()) != tree_structure(None)
    assert tree_structure(1) != "PyTreeDef(*)"
    assert len({tree_structure([1]), tree_structure([2]), tree_structure((1,))}) == 2


def test_treedef_unhashable_aux_gives_clear_error():
    class U:
        def __init__(self, v):
            self.v = v
    register_pytree_node(U, lambda u: ((u.v,), ["list", "aux"]), lambda a, c: U(*c))
    td = tree_structure(U(1))
    assert td == tree_structure(U(2))
    with pytest.raises(TypeError, match="must be hashable"):
        hash(td)


def test_treedef_array_aux_equality_does_not_crash():
    class V:
        def __init__(self, v, a):
            self.v, self.a = v, a
    register_pytree_node(V, lambda x: ((x.v,), x.a), lambda a, c: V(c[0], a))
    assert tree_structure(V(1, np.arange(3))) != tree_structure(V(1, np.arange(3)))


def test_treedef_pickle():
    td = tree_structure((Point(1, 2), {"a": [None, 3]}))
    td2 = pickle.loads(pickle.dumps(td))
    assert td2 == td and hash(td2) == hash(td)


def test_treedef_not_constructible():
    with pytest.raises(TypeError):
        tu.PyTreeDef()


def test_unflatten_wrong_number_of_leaves():
    td = tree_structure((1, [2, 3]))
    with pytest.raises(ValueError, match="expected 3, got 2"):
        td.unflatten([1, 2])
    with pytest.raises(ValueError, match="expected 3, got 4"):
        tree_unflatten(td, [1, 2, 3, 4])
    with pytest.raises(TypeError, match="PyTreeDef"):
        tree_unflatten([1, 2, 3], td)


def test_unflatten_accepts_any_iterable():
    td = tree_structure([0, 0, 0])
    assert td.unflatten(iter(range(3))) == [0, 1, 2]
    assert td.unflatten(np.array([1, 2, 3])) == [1, 2, 3]


# -------------------------------------------------------------------- tree_map

def test_tree_map_single_and_multi():
    tree = {"a": [1, 2], "b": (3, None)}
    assert tree_map(lambda x: x * 10, tree) == {"a": [10, 20], "b": (30, None)}
    other = {"a": [4, 5], "b": (6, None)}
    assert tree_map(lambda x, y: x + y, tree, other) == {"a": [5, 7], "b": (9, None)}
    assert tree_map(lambda x, y, z: x + y + z, 1, 2, 3) == 6


def test_tree_map_second_tree_may_be_deeper():
    out = tree_map(lambda x, y: (x, y), [1, 2], [(3, 4), {"k": 5}])
    assert out == [(1, (3, 4)), (2, {"k": 5})]


def test_tree_map_is_leaf():
    tree = [(1, 2), (3, 4)]
    out = tree_map(lambda t: sum(t), tree, is_leaf=lambda x: isinstance(x, tuple))
    assert out == [3, 7]
    out = tree_map(lambda x: x is None, [None, 1], is_leaf=lambda x: x is None)
    assert out == [True, False]


@pytest.mark.parametrize("a, b, fragment", [
    ((1, 2), [1, 2], "expected a tuple with 2 children, got a list"),
    ((1, 2), (1, 2, 3), "expected a tuple with 2 children, got a tuple with 3"),
    ({"a": 1}, {"b": 1}, "keys"),
    ({"x": (1, 2)}, {"x": (1,)}, "at ['x']"),
    ([1, Point(1, (2, 3))], [1, Point(1, (2,))], "at [1].y"),
    (Params(1, (2, 3)), Params(1, (2,)), "at .b"),
    (None, 1, "expected None"),
    (Custom("a", 1, 2), Custom("b", 1, 2), "auxiliary data"),
])
def test_tree_map_structure_mismatch(a, b, fragment):
    with pytest.raises(ValueError) as info:
        tree_map(lambda x, y: x, a, b)
    msg = str(info.value)
    assert fragment in msg
    assert str(tree_structure(a)) in msg and str(tree_structure(b)) in msg


def test_tree_map_mismatch_names_argument_index():
    with pytest.raises(ValueError, match="argument 2"):
        tree_map(lambda x, y, z: x, (1, 2), (1, 2), [1, 2])


# ------------------------------------------------------ prefixes, transpose

def test_flatten_up_to():
    td = tree_structure((0, {"a": 0, "b": 0}))
    assert flatten_up_to(td, ([1, 2], {"a": (3,), "b": None})) == [[1, 2], (3,), None]
    assert td.flatten_up_to((1, {"a": 2, "b": 3})) == [1, 2, 3]
    with pytest.raises(ValueError, match=r"at \[1\]"):
        flatten_up_to(td, (1, {"a": 2}))


@pytest.mark.parametrize("prefix, full, expected", [
    (0, (np.zeros(2), [1, 2]), [0, 0, 0]),
    (None, (1, 2), [None, None]),
    ((0, None), ([1, 2], {"a": 3, "b": 4}), [0, 0, None, None]),
    ((0, 1), (1, (2, 3)), [0, 1, 1]),
    ({"a": 0, "b": None}, {"a": [1, 2], "b": {"c": 3}}, [0, 0, None]),
    ([0, None], [None, 5], [None]),
    (Point(0, 1), Point([1, 2], 3), [0, 0, 1]),
    ((0, 1), ((), 2), [1]),
    ((), (), []),
])
def test_broadcast_prefix(prefix, full, expected):
    assert broadcast_prefix(prefix, full) == expected


def test_broadcast_prefix_is_leaf_on_full_tree():
    full = ((1, 2), [3])
    assert broadcast_prefix((0, 1), full, is_leaf=lambda x: isinstance(x, tuple)
                            and len(x) == 2 and x[0] == 1) == [0, 1]


@pytest.mark.parametrize("prefix, full, fragment", [
    ((0, 0), (1, 2, 3), "expected a tuple with 2 children, got a tuple with 3"),
    ((0, 0), [1, 2], "got a list"),
    ([0, (0, 0)], [1, (2,)], "at [1]"),
    ({"a": 0}, {"b": 1}, "keys"),
    ((0, 1), 5, "got a int"),
])
def test_broadcast_prefix_mismatch(prefix, full, fragment):
    with pytest.raises(ValueError) as info:
        broadcast_prefix(prefix, full)
    msg = str(info.value)
    assert "not a prefix" in msg and fragment in msg
    assert "prefix: PyTreeDef" in msg and "full tree: PyTreeDef" in msg


def test_tree_transpose():
    outer = tree_structure([0, 0, 0])
    inner = tree_structure({"a": 0, "b": (0, 0)})
    tree = [{"a": i, "b": (10 * i, 100 * i)} for i in range(3)]
    out = tree_transpose(outer, inner, tree)
    assert out == {"a": [0, 1, 2], "b": ([0, 10, 20], [0, 100, 200])}
    assert tree_transpose(outer, None, tree) == out
    with pytest.raises(ValueError):
        tree_transpose(outer, inner, tree[:2])


def test_tree_reduce_and_all():
    assert tu.tree_reduce(lambda a, b: a + b, {"a": 1, "b": (2, 3)}) == 6
    assert tu.tree_reduce(lambda a, b: a + b, [], 0) == 0
    assert tu.tree_all([True, (1, None)]) and not tu.tree_all([True, 0])


# ------------------------------------------------------------------ hypothesis

_leaf = st.one_of(st.integers(), st.floats(allow_nan=False), st.text(max_size=3))
_key = st.text(alphabet="abcdef", min_size=1, max_size=3)


def _extend(children):
    return st.one_of(
        st.tuples(children, children),
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(_key, children, max_size=4),
        st.builds(Point, children, children),
        st.builds(Params, children, children),
        st.builds(Layer, children, st.sampled_from(["relu", "tanh"])),
        st.builds(Custom, st.sampled_from(["p", "q"]), children, children),
    )


trees = st.recursive(st.one_of(_leaf, st.none()), _extend, max_leaves=25)


@settings(max_examples=300, deadline=None)
@given(trees)
def test_hypothesis_roundtrip(tree):
    leaves, td = tree_flatten(tree)
    assert tree_leaves(tree) == leaves
    assert td.num_leaves == len(leaves)
    assert td.unflatten(leaves) == tree
    # Replacing leaves keeps the structure; the treedef is a stable cache key.
    relabelled = td.unflatten(list(range(len(leaves))))
    leaves2, td2 = tree_flatten(relabelled)
    assert leaves2 == list(range(len(leaves)))
    assert td2 == td and hash(td2) == hash(td)
    assert tree_map(lambda x: x, tree) == tree
    assert broadcast_prefix(7, tree) == [7] * len(leaves)
    assert broadcast_prefix(tree, tree) == leaves
    assert flatten_up_to(td, tree) == leaves
    assert td.num_nodes >= td.num_leaves
    assert sum(c.num_leaves for c in td.children()) == (
        td.num_leaves if not treedef_is_leaf(td) else 0)


class _Pair(tuple):
    """A tuple subclass without _fields: a leaf."""


@settings(max_examples=200, deadline=None)
@given(trees, trees)
def test_hypothesis_structure_equality_matches_flatten(a, b):
    ta, tb = tree_structure(a), tree_structure(b)
    if ta == tb:
        assert hash(ta) == hash(tb)
        pairs = tree_leaves(tree_map(lambda x, y: _Pair((x, y)), a, b))
        assert pairs == list(zip(tree_leaves(a), tree_leaves(b)))
        assert repr(ta) == repr(tb)
    else:
        same_leaf_count = ta.num_leaves == tb.num_leaves
        if same_leaf_count:
            # Rebuilding b's leaves into a's structure must give a's structure, not b's.
            assert tree_structure(ta.unflatten(tree_leaves(b))) == ta


def test_docstring_examples_run():
    import doctest
    result = doctest.testmod(tu, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 20
