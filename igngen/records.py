"""Typed records at the price of ``collections.namedtuple``: a run-time stand-in for
``typing.NamedTuple`` (and, for generic records, ``typing.Generic`` and ``typing.TypeVar``).

igngen runs once per boot, so its import time is boot time. ``import typing`` costs about
6 ms there, and every class-form ``typing.NamedTuple`` about 0.25 ms more, mostly spent
turning each annotation string (every module uses ``from __future__ import annotations``)
into a ``ForwardRef`` that nothing at run time reads. Modules therefore take typing's names
for mypy and these for the interpreter::

    TYPE_CHECKING = False
    if TYPE_CHECKING:
        from typing import Any, NamedTuple
    else:
        from igngen.records import NamedTuple

mypy treats any name ``TYPE_CHECKING`` in a condition as true (and the ``else`` branch as
unreachable), so it checks every record as a real ``typing.NamedTuple`` and never sees
this module in its place; the interpreter never imports ``typing``.

A record behaves as a ``typing.NamedTuple`` does: fields in annotation order, defaults
(a field without one after a field with one is refused with typing's message), methods,
properties, class methods and the docstring of the class body, ``_replace``, ``_fields``,
``_field_defaults``, ``_asdict``, ``_make``, equality, hashing, unpacking, pickling,
``__module__``/``__qualname__``, and the same repr. Differences, none of which igngen
relies on: ``__annotations__`` holds the annotation strings as written (typing holds
``ForwardRef``s of them); a generic record has no ``Generic`` in its MRO and
``Record[int]`` is ``Record`` itself; descriptors in the body get ``__set_name__`` (as
from Python 3.12 on); ``super()`` works in methods; there is no functional form
``NamedTuple("Name", [...])``.
"""

from __future__ import annotations

from collections import namedtuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Untyped on purpose: mypy's namedtuple support wants literal names and fields.
_namedtuple: Any = namedtuple

# namedtuple's own machinery: a class body defining one of these would break the record.
_RESERVED = frozenset(
    {
        "__new__",
        "__init__",
        "__slots__",
        "__getnewargs__",
        "_fields",
        "_field_defaults",
        "_make",
        "_replace",
        "_asdict",
        "_source",
    }
)
# Set from the class statement below, not copied from the body as they stand.
_HANDLED = frozenset({"__module__", "__annotations__", "__classcell__"})


class _RecordMeta(type):
    """Builds each subclass of ``NamedTuple`` as a namedtuple class instead."""

    def __new__(mcls, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> Any:
        if not bases:  # ``NamedTuple`` itself
            return super().__new__(mcls, name, bases, namespace)
        if any(base is not NamedTuple and base is not Generic for base in bases):
            raise TypeError("can only inherit from a NamedTuple type and Generic")
        annotations: dict[str, Any] = namespace.get("__annotations__", {})
        fields = list(annotations)
        defaults = []
        for field in fields:
            if field in namespace:
                defaults.append(namespace[field])
            elif defaults:
                with_default = [f for f in fields[: fields.index(field)] if f in namespace]
                raise TypeError(
                    f"Non-default namedtuple field {field} cannot follow default"
                    f" field{'s' if len(with_default) > 1 else ''} {', '.join(with_default)}"
                )
        cls = _namedtuple(name, fields, defaults=defaults, module=namespace["__module__"])
        cls.__annotations__ = dict(annotations)
        body = {k: v for k, v in namespace.items() if k not in _HANDLED and k not in annotations}
        for key, value in body.items():
            if key in _RESERVED:
                raise AttributeError("Cannot overwrite NamedTuple attribute " + key)
            setattr(cls, key, value)
        for key, value in body.items():  # as type() does: once the class is complete
            set_name = getattr(type(value), "__set_name__", None)
            if set_name is not None:
                set_name(value, cls, key)
        if "__classcell__" in namespace:  # a method uses super() or __class__
            namespace["__classcell__"].cell_contents = cls
        if Generic in bases:
            cls.__class_getitem__ = classmethod(_same_record)
        return cls


class NamedTuple(metaclass=_RecordMeta):
    """Base of a record: ``class Point(NamedTuple):`` makes ``Point`` a namedtuple class
    whose fields are the annotated names of its body (see the module docstring)."""


class Generic:
    """Stands in for ``typing.Generic`` as a record's second base: ``Generic[T]`` is this
    class, which the record drops."""

    def __class_getitem__(cls, parameters: object) -> type[Generic]:
        return cls


def TypeVar(name: str, *constraints: object, **options: object) -> str:
    """Stands in for ``typing.TypeVar`` where a type variable is needed at run time (as
    the parameter of ``Generic[T]``): only its name, which nothing reads."""
    return name


def _same_record(cls: type, parameters: object) -> type:
    """``Record[int]`` at run time: the record itself (its instances are the same)."""
    return cls
