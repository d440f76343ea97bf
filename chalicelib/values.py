"""``@frozen``: a frozen dataclass, made at a fraction of ``dataclass(frozen=True)``'s cost.

Every cold start of a function creates the classes of the modules it imports,
and on Python 3.11 ``dataclass(frozen=True)`` compiles six methods for each
class, with one ``exec`` apiece: most of the time it takes. Only ``__init__``
differs in shape from class to class; ``__repr__``, ``__eq__``, ``__hash__``,
``__setattr__`` and ``__delattr__`` differ only by the names of the fields. So
``@frozen`` lets ``dataclass`` compile ``__init__`` alone and installs the other
five as functions shared by every class, which read the names from the class.
The class is an ordinary dataclass (``fields``, ``replace``, ``asdict`` work)
whose instances compare, hash and print as a frozen dataclass's do, and refuse
as they do to change or lose a field once ``__init__`` set it
(``tests/unit/test_frozen_values.py`` holds both to the same cases;
``benchmarks/coldstart.py`` measures the cold start). The price is paid per
instance instead: ``__init__`` sets each field through the shared
``__setattr__``, about 0.6 µs more for five fields, which the worker's time per
message (``benchmarks/overhead.py``) does not show. No I/O.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass, field, fields
from typing import Any, TypeVar, dataclass_transform

T = TypeVar("T")


def _set_once(self: Any, name: str, value: Any) -> None:
    # ``__init__`` sets each of its fields once (in ``__dict__`` from then on);
    # nothing may set one again, nor set a field ``__init__`` does not take, nor
    # add an attribute. (``__post_init__`` sets the others with
    # ``object.__setattr__``, as with a frozen dataclass.)
    if name in self.__dict__ or name not in self._frozen_init_fields:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")
    object.__setattr__(self, name, value)


def _refuse_delete(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _equal(self: Any, other: Any) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    names = self._frozen_compared
    return tuple(getattr(self, n) for n in names) == tuple(getattr(other, n) for n in names)


def _hash(self: Any) -> int:
    return hash(tuple(getattr(self, name) for name in self._frozen_hashed))


def _repr(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._frozen_shown)
    return f"{self.__class__.__qualname__}({shown})"


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def frozen(cls: type[T]) -> type[T]:
    """``@dataclass(frozen=True)``, with all but ``__init__`` shared between classes."""
    made: Any = dataclass(cls, repr=False, eq=False)
    declared = fields(made)
    made._frozen_init_fields = frozenset(f.name for f in declared if f.init)
    made._frozen_compared = tuple(f.name for f in declared if f.compare)
    made._frozen_hashed = tuple(
        f.name for f in declared if (f.compare if f.hash is None else f.hash)
    )
    made._frozen_shown = tuple(f.name for f in declared if f.repr)
    made.__setattr__, made.__delattr__ = _set_once, _refuse_delete
    made.__eq__, made.__hash__, made.__repr__ = _equal, _hash, _repr
    return made  # type: ignore[no-any-return]
