"""chainrule.pytree: flatten, unflatten, flatten_as and map_leaves on nested dicts, lists,
tuples and None, as JAX's tree utilities treat them."""

from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np
import pytest

import chainrule as cr
from chainrule.pytree import TreeDef, flatten, flatten_as, map_leaves, unflatten

Pair = namedtuple("Pair", "first second")


def test_flatten_walks_depth_first_with_dict_keys_in_insertion_order():
    a = np.zeros(2)
    t = cr.ones(3)
    tree = {"z": [1, (2.0, None)], "a": {"t": t, "arr": a}, "none": None}
    leaves, treedef = flatten(tree)
    assert leaves[:2] == [1, 2.0] and leaves[2] is t and leaves[3] is a
    assert treedef.num_leaves == 4
    assert treedef.paths() == ["['z'][0]", "['z'][1][0]", "['a']['t']", "['a']['arr']"]
    assert repr(treedef) == "TreeDef({'z': [*, (*, None)], 'a': {'t': *, 'arr': *}, 'none': None})"


def test_unflatten_rebuilds_the_same_containers():
    tree = OrderedDict(b=Pair(1, [2, 3]), a=(4,), c=None, d={})
    leaves, treedef = flatten(tree)
    rebuilt = unflatten(treedef, leaves)
    assert rebuilt == tree
    assert type(rebuilt) is OrderedDict and list(rebuilt) == ["b", "a", "c", "d"]
    assert type(rebuilt["b"]) is Pair and type(rebuilt["b"].second) is list
    assert type(rebuilt["a"]) is tuple and rebuilt["c"] is None


def test_a_list_of_numbers_is_a_list_of_leaves_and_a_tensor_is_one_leaf():
    leaves, treedef = flatten([1.0, 2.0])
    assert leaves == [1.0, 2.0] and treedef.num_leaves == 2
    t = cr.zeros(2, 3)
    leaves, treedef = flatten(t)
    assert leaves == [t] and treedef.paths() == [""]
    assert flatten(None) == ([], TreeDef("none"))


def test_treedefs_compare_by_structure():
    assert flatten({"a": [1, 2]})[1] == flatten({"a": [5.0, np.ones(3)]})[1]
    assert flatten({"a": [1, 2]})[1] != flatten({"a": (1, 2)})[1]
    assert flatten([1, [2]])[1] != flatten([1, 2])[1]
    assert hash(flatten({"a": [1, 2]})[1]) == hash(flatten({"a": [3, 4]})[1])


def test_unflatten_refuses_the_wrong_number_of_leaves():
    _, treedef = flatten({"a": [1, 2]})
    with pytest.raises(ValueError, match=r"unflatten: .* holds 2 leaves, got 3"):
        unflatten(treedef, [1, 2, 3])


def test_flatten_as_follows_the_reference_order_even_for_reordered_dict_keys():
    _, treedef = flatten({"w": 1, "b": [2, 3]})
    assert flatten_as(treedef, {"b": ["B0", "B1"], "w": "W"}, "op", "x", "y") == ["W", "B0", "B1"]


@pytest.mark.parametrize(("other", "detail"), [
    ({"w": 1}, r"at the top: expected a dict with keys \['w', 'b'\], got a dict with keys \['w'\]"),
    ({"w": 1, "b": [2]}, r"at \['b'\]: expected a list of length 2, got a list of length 1"),
    ({"w": 1, "b": (2, 3)}, r"at \['b'\]: expected a list of length 2, got a tuple of length 2"),
    ({"w": 1, "b": 5}, r"at \['b'\]: expected a list of length 2, got a leaf"),
])
def test_flatten_as_names_the_first_place_where_structures_differ(other, detail):
    _, treedef = flatten({"w": 1, "b": [2, 3]})
    with pytest.raises(ValueError, match=r"^jvp: the tangents must have the structure of the "
                                         r"primals \(" + detail + r"\)$"):
        flatten_as(treedef, other, "jvp", "the tangents", "the primals")


def test_map_leaves_keeps_structure_and_none():
    assert map_leaves(lambda x: x * 10, {"a": (1, [2]), "b": None}) == {"a": (10, [20]), "b": None}
