"""``@frozen`` behaves as ``@dataclass(frozen=True)``: each case runs on both."""

import copy
import dataclasses
import pickle
from dataclasses import FrozenInstanceError, dataclass, field
from typing import Any

import pytest

from chalicelib.mapping.document import parse_mapping
from chalicelib.values import frozen


@frozen
class OursPoint:
    """Defaults, a factory, fields left out of comparison, of the hash and of ``__init__``."""

    x: int
    y: int = 0
    tags: tuple[str, ...] = ()
    notes: dict[str, str] = field(default_factory=dict, compare=False)
    label: str = field(init=False, default="point")
    weight: int = field(default=0, hash=False)


@dataclass(frozen=True)
class StdlibPoint:
    """The same, as a frozen dataclass."""

    x: int
    y: int = 0
    tags: tuple[str, ...] = ()
    notes: dict[str, str] = field(default_factory=dict, compare=False)
    label: str = field(init=False, default="point")
    weight: int = field(default=0, hash=False)


OURS: Any = OursPoint
STDLIB: Any = StdlibPoint
BOTH = pytest.mark.parametrize("cls", [OURS, STDLIB], ids=["frozen", "dataclass"])


@BOTH
def test_a_field_cannot_be_set_again(cls):
    point = cls(1, 2)
    with pytest.raises(FrozenInstanceError):
        point.x = 3
    with pytest.raises(FrozenInstanceError):
        point.label = "moved"
    assert point.x == 1


@BOTH
def test_no_attribute_can_be_added_or_deleted(cls):
    point = cls(1)
    with pytest.raises(FrozenInstanceError):
        point.z = 3
    with pytest.raises(FrozenInstanceError):
        del point.x
    assert not hasattr(point, "z")
    assert point.x == 1


@BOTH
def test_equal_values_are_equal_and_hash_alike_whatever_is_left_out_of_comparison(cls):
    one, other = cls(1, 2, ("a",), {"n": "1"}), cls(1, 2, ("a",), {"n": "2"})
    assert one == other
    assert hash(one) == hash(other)
    assert {one: "found"}[other] == "found"
    assert one != cls(1, 3, ("a",))
    assert one != (1, 2, ("a",))


def test_the_hash_is_the_hash_a_frozen_dataclass_has():
    assert hash(OURS(4, 5, ("b",))) == hash(STDLIB(4, 5, ("b",)))


@BOTH
def test_a_field_left_out_of_the_hash_still_counts_for_equality(cls):
    light, heavy = cls(1, weight=1), cls(1, weight=2)
    assert hash(light) == hash(heavy)
    assert light != heavy


@BOTH
def test_a_value_with_an_unhashable_compared_field_cannot_be_hashed(cls):
    with pytest.raises(TypeError, match="unhashable"):
        hash(cls(1, tags=["a"]))  # type: ignore[arg-type]


@BOTH
def test_replace_copy_and_pickle_make_equal_values(cls):
    point = cls(1, 2, ("a",))
    assert dataclasses.replace(point, y=3) == cls(1, 3, ("a",))
    assert copy.copy(point) == point
    assert copy.deepcopy(point) == point
    assert pickle.loads(pickle.dumps(point)) == point  # noqa: S301 (our own bytes)


def test_the_value_reads_as_a_dataclass_and_its_repr_is_the_same():
    ours, theirs = OURS(1, 2), STDLIB(1, 2)
    assert dataclasses.is_dataclass(ours)
    assert [f.name for f in dataclasses.fields(ours)] == ["x", "y", "tags", "notes", "label",
                                                     "weight"]
    assert dataclasses.asdict(ours) == dataclasses.asdict(theirs)
    assert repr(ours) == repr(theirs).replace("StdlibPoint", "OursPoint")


def test_a_compiled_mapping_cannot_be_changed_by_the_code_that_shares_it():
    document = parse_mapping({
        "source": "shop", "connection": "default",
        "rules": [{"name": "contact", "module": "Contacts", "record": {"id": "id"},
                   "fields": {"Email": "email"}}],
    })
    with pytest.raises(FrozenInstanceError):
        document.rules = ()  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        document.rules[0].module = "Leads"  # type: ignore[misc]
