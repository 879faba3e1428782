"""The node kinds of an Ignition field tree (what ``spec`` builds per version).

- ``Scalar(kind)`` with kind ``string``/``integer``/``boolean``;
- ``Obj(fields)``: a JSON object with known fields;
- ``List(item, key, ...)``: a JSON array. ``key`` names how Ignition's merge
  identifies entries (a field name, ``"."`` for the value itself, a callable
  for partitions) or ``None`` for lists Ignition concatenates
  ("IgnoreDuplicates"). ``namespace`` groups lists sharing one key space
  (files/directories/links; kernel argument lists).

``S``/``I``/``B`` are the short constructors the field trees are written with.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    KeyFn = Callable[[Any], Any]  # how a List finds each item's key


class Scalar:
    __slots__ = ("kind", "required")
    has_keyed = False

    def __init__(self, kind: str, *, required: bool = False) -> None:
        self.kind = kind
        self.required = required


class Obj:
    __slots__ = ("_has_keyed", "_required_fields", "fields", "required")

    def __init__(self, fields: Mapping[str, Node], *, required: bool = False) -> None:
        self.fields: dict[str, Node] = dict(fields)
        self.required = required
        # Derived facts, computed on first use (trees are complete by then).
        self._required_fields: tuple[str, ...] | None = None
        self._has_keyed: bool | None = None

    @property
    def required_fields(self) -> tuple[str, ...]:
        if self._required_fields is None:
            self._required_fields = tuple(n for n, f in self.fields.items() if f.required)
        return self._required_fields

    @property
    def has_keyed(self) -> bool:
        """Whether a keyed list occurs anywhere below (duplicate checks descend only there)."""
        if self._has_keyed is None:
            self._has_keyed = any(f.has_keyed for f in self.fields.values())
        return self._has_keyed

    @property
    def namespaced(self) -> bool:
        """Whether some of this object's lists share one key space (Ignition's MergedKeys)."""
        return any(isinstance(f, List) and f.namespace is not None for f in self.fields.values())


class List:
    __slots__ = ("headers", "item", "key", "namespace", "required")

    def __init__(
        self,
        item: Node,
        key: str | KeyFn | None,
        *,
        namespace: str | None = None,
        required: bool = False,
    ) -> None:
        self.item = item
        self.key = key
        self.namespace = namespace
        self.required = required
        # HTTP header lists: a null value deletes the parent's header on merge.
        self.headers = isinstance(item, Obj) and set(item.fields) == {"name", "value"}

    @property
    def has_keyed(self) -> bool:
        return self.key is not None or self.item.has_keyed


Node = Scalar | Obj | List


def S(*, required: bool = False) -> Scalar:
    return Scalar("string", required=required)


def I(*, required: bool = False) -> Scalar:  # noqa: E743 - mirrors S/B
    return Scalar("integer", required=required)


def B() -> Scalar:
    return Scalar("boolean")


def partition_key(entry: Any) -> str:
    """Ignition keys partitions by number when set (non-zero), else by label, else ``""``."""
    if isinstance(entry, dict):
        number = entry.get("number")
        if isinstance(number, int) and not isinstance(number, bool) and number != 0:
            return f"number:{number}"
        label = entry.get("label")
        if label is not None:
            return f"label:{label}"
    return ""
