"""igngen.records.NamedTuple behaves as typing.NamedTuple for every shape igngen uses.

Each shape is module source, run twice in a fresh module: once with typing's names, once
with igngen.records' (as igngen's modules get them at run time). The two classes, and
instances made the same way, are then compared attribute by attribute.
"""

from __future__ import annotations

import copy
import inspect
import pickle
import sys
import types
import typing
from collections.abc import Iterator

import pytest

from igngen import records

# (shape name, source, {class name: [(args, kwargs) to construct with]})
Instances = dict[str, list[tuple[tuple[object, ...], dict[str, object]]]]
SHAPES: list[tuple[str, str, Instances]] = [
    (
        "plain",
        """
class Point(NamedTuple):
    x: int
    y: int
""",
        {"Point": [((1, 2), {}), ((), {"y": 4, "x": 3})]},
    ),
    (
        "defaults",
        """
class Opts(NamedTuple):
    name: str
    size: int = 3
    tags: tuple[str, ...] = ()
    extra: Any = None
""",
        {"Opts": [(("a",), {}), (("b", 5), {"tags": ("t",)}), (("c", 1, (), [1]), {})]},
    ),
    (
        "body",
        '''
class Key(NamedTuple):
    """An SSH key, as igngen's records carry docstrings, methods and constants."""

    kind: str
    blob: bytes = b""
    LIMIT: ClassVar[int] = 5  # annotated: a field, as typing makes it too
    SEPARATOR = " "  # not annotated: a plain class attribute

    @property
    def short(self) -> str:
        return self.kind[:3]

    def describe(self, sep: str = SEPARATOR) -> str:
        return f"{self.kind}{sep}{len(self.blob)}"

    @classmethod
    def parse(cls, text: str) -> Key:
        kind, _, blob = text.partition(" ")
        return cls(kind, blob.encode())

    @staticmethod
    def kinds() -> tuple[str, ...]:
        return ("ssh-rsa", "ssh-ed25519")

    def __str__(self) -> str:
        return f"<{self.kind}>"
''',
        {"Key": [(("ssh-rsa",), {}), (("ssh-ed25519", b"xyz"), {"LIMIT": 2})]},
    ),
    (
        "nested",
        """
class Outer:
    class Inner(NamedTuple):
        a: int = 0

    class Other(NamedTuple):
        b: Outer.Inner
""",
        {"Outer.Inner": [((), {}), ((7,), {})], "Outer.Other": [((None,), {})]},
    ),
    (
        "generic",
        '''
T = TypeVar("T")


class Sourced(NamedTuple, Generic[T]):
    """A value and its provenance."""

    value: T
    source: str
    note: str = ""

    def shown(self) -> str:
        return f"{self.value} ({self.source})"
''',
        {"Sourced": [((1, "default"), {}), (("x", "ovf", "n"), {})]},
    ),
    (
        "empty",
        """
class Empty(NamedTuple):
    pass
""",
        {"Empty": [((), {})]},
    ),
    (
        "subclassed",
        """
class Base(NamedTuple):
    a: int
    b: str = "b"


class Sub(Base):
    def twice(self) -> int:
        return 2 * self.a
""",
        {"Base": [((1,), {})], "Sub": [((2, "c"), {})]},
    ),
    (
        "repr-overridden",
        """
class Hidden(NamedTuple):
    secret: str

    def __repr__(self) -> str:
        return "Hidden(****)"
""",
        {"Hidden": [(("pw",), {})]},
    ),
]

PRELUDE = {
    "typing": "from typing import Any, ClassVar, Generic, NamedTuple, TypeVar\n",
    "records": (
        "from typing import Any, ClassVar\n"
        "from igngen.records import Generic, NamedTuple, TypeVar\n"
    ),
}


def _module(shape: str, flavour: str, source: str) -> types.ModuleType:
    """The shape's source run as module ``_records_<shape>`` (the same name for both
    flavours, so that __module__ and reprs compare equal), registered for pickling."""
    module = types.ModuleType(f"_records_{shape.replace('-', '_')}")
    sys.modules[module.__name__] = module
    code = "from __future__ import annotations\n" + PRELUDE[flavour] + source
    exec(compile(code, f"<{shape} {flavour}>", "exec"), module.__dict__)
    return module


def _lookup(module: types.ModuleType, dotted: str) -> type:
    found: object = module
    for part in dotted.split("."):
        found = getattr(found, part)
    assert isinstance(found, type)
    return found


def _annotations(cls: type) -> dict[str, object]:
    """typing keeps ForwardRefs of the annotation strings, records the strings."""
    raw = inspect.get_annotations(cls)
    return {k: getattr(v, "__forward_arg__", v) for k, v in raw.items()}


GENERIC = set(dir(typing.Generic))


def _class_view(cls: type) -> dict[str, object]:
    return {
        "name": cls.__name__,
        "qualname": cls.__qualname__,
        "module": cls.__module__,
        "doc": cls.__doc__,
        "fields": getattr(cls, "_fields", None),
        "defaults": getattr(cls, "_field_defaults", None),
        "match_args": getattr(cls, "__match_args__", None),
        "annotations": _annotations(cls),
        "is_tuple": issubclass(cls, tuple),
        # (less what typing.Generic brings into a generic record's MRO: _is_protocol)
        "public": sorted(n for n in dir(cls) if not n.startswith("__") and n not in GENERIC),
        "field_docs": [getattr(cls, f).__doc__ for f in getattr(cls, "_fields", ())],
    }


def _instance_view(obj: tuple[object, ...]) -> dict[str, object]:
    cls = type(obj)
    view: dict[str, object] = {
        "repr": repr(obj),
        "str": str(obj),
        "tuple": tuple(obj),
        "equal_to_tuple": obj == tuple(obj),
        "hash": hash(obj) if all(isinstance(v, str | int | bytes | tuple) for v in obj) else None,
        "asdict": obj._asdict(),  # type: ignore[attr-defined]
        "made": obj == cls._make(tuple(obj)),  # type: ignore[attr-defined]
        "pickled": pickle.loads(pickle.dumps(obj)) == obj,
        "pickled_type": type(pickle.loads(pickle.dumps(obj))) is cls,
        "deepcopied": copy.deepcopy(obj) == obj,
    }
    fields: tuple[str, ...] = cls._fields  # type: ignore[attr-defined]
    if fields:
        first = fields[0]
        replaced = obj._replace(**{first: "replaced"})  # type: ignore[attr-defined]
        view["replaced"] = (repr(replaced), type(replaced) is cls)
        with pytest.raises(ValueError) as excinfo:
            obj._replace(no_such_field=1)  # type: ignore[attr-defined]
        view["replace_error"] = str(excinfo.value)
        *_, last = obj
        view["unpacked_last"] = last
    for name in ("short", "describe", "kinds", "shown", "twice"):
        if hasattr(obj, name):
            value = getattr(obj, name)
            view[name] = value() if callable(value) else value
    if hasattr(cls, "parse"):
        view["parse"] = repr(cls.parse("ssh-rsa AAAA"))
    return view


def _both(shape: str, source: str) -> Iterator[tuple[str, types.ModuleType]]:
    for flavour in ("typing", "records"):
        yield flavour, _module(shape, flavour, source)


@pytest.mark.parametrize(("shape", "source", "instances"), SHAPES, ids=[s[0] for s in SHAPES])
def test_records_match_typing(shape: str, source: str, instances: Instances) -> None:
    views: dict[str, dict[str, object]] = {}
    for flavour, module in _both(shape, source):
        view: dict[str, object] = {}
        for dotted, calls in instances.items():
            cls = _lookup(module, dotted)
            view[dotted] = _class_view(cls)
            for i, (args, kwargs) in enumerate(calls):
                view[f"{dotted}#{i}"] = _instance_view(cls(*args, **kwargs))
        views[flavour] = view
    for key in views["typing"]:
        assert views["records"][key] == views["typing"][key], key


def test_construction_errors_match_typing() -> None:
    def make(flavour: str, *args: object, **kwargs: object) -> tuple[object, ...]:
        module = _module("errors", flavour, "class R(NamedTuple):\n    a: int\n    b: int = 2\n")
        made: tuple[object, ...] = module.R(*args, **kwargs)
        return made

    for args, kwargs in [((), {}), ((1, 2, 3), {}), ((1,), {"c": 1}), ((1,), {"a": 1})]:
        errors = []
        for flavour in ("typing", "records"):
            with pytest.raises(TypeError) as excinfo:
                make(flavour, *args, **kwargs)
            errors.append(str(excinfo.value))
        assert errors[0] == errors[1]


@pytest.mark.parametrize(
    "body",
    [
        "    a: int = 1\n    b: int\n",  # a field without a default after one with
        "    a: int = 1\n    c: int = 2\n    b: int\n",  # ...after two ("fields a, c")
        "    a: int\n    def _replace(self) -> None: ...\n",  # namedtuple's own names
        "    a: int\n    __slots__ = ()\n",
        "    _a: int\n",  # namedtuple refuses leading underscores
    ],
)
def test_definition_errors_match_typing(body: str) -> None:
    outcomes: list[tuple[type[Exception] | None, str]] = []
    for flavour in ("typing", "records"):
        try:
            _module("bad", flavour, "class R(NamedTuple):\n" + body)
        except (TypeError, ValueError, AttributeError) as err:
            outcomes.append((type(err), str(err)))
        else:
            outcomes.append((None, ""))
    assert outcomes[0][0] is not None
    assert outcomes[0] == outcomes[1]


def test_only_namedtuple_and_generic_bases() -> None:
    outcomes = []
    for flavour in ("typing", "records"):
        with pytest.raises(TypeError) as excinfo:
            _module("bases", flavour, "class R(NamedTuple, int):\n    a: int\n")
        outcomes.append(str(excinfo.value))
    assert outcomes[0] == outcomes[1]


def test_generic_record_subscripts_at_run_time() -> None:
    """``Sourced[str]`` stays usable in run-time code (the record itself, here)."""
    for _, module in _both(
        "subscript", 'T = TypeVar("T")\nclass S(NamedTuple, Generic[T]):\n    v: T\n'
    ):
        assert module.S[int](1) == module.S(1) == (1,)
    assert records.TypeVar("T") == "T"
    assert records.Generic.__class_getitem__(int) is records.Generic


def test_what_records_add() -> None:
    """Where records go beyond Python 3.11's typing (as 3.12 does): __set_name__ reaches
    the body's descriptors, and super() works in methods."""
    module = _module(
        "beyond",
        "records",
        """
class Named:
    def __set_name__(self, owner: type, name: str) -> None:
        self.where = (owner.__name__, name)


class R(NamedTuple):
    a: int
    tag = Named()

    def size(self) -> int:
        return super().__len__()
""",
    )
    assert module.R.tag.where == ("R", "tag")
    assert module.R(1).size() == 1


def test_igngen_records_are_records() -> None:
    """igngen's own records, built by igngen.records at run time, and typing untouched."""
    from igngen.render.model import Provisioning, Sourced
    from igngen.settings import Settings

    value = Sourced("alice", "default")
    assert value == ("alice", "default", "") and value._replace(note="n").note == "n"
    assert Sourced[str] is Sourced
    assert Provisioning._field_defaults == {"warnings": (), "certificate_keys": ()}
    assert Provisioning.__module__ == "igngen.render.model"
    assert issubclass(Settings, tuple) and Settings.__qualname__ == "Settings"
    assert pickle.loads(pickle.dumps(value)) == value
