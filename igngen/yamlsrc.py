"""YAML → located nodes (pure), for Butane documents, templates and anything a user edits.

Every node keeps ``source:line:column`` so errors point into the user's file.
Scalars resolve the way Butane's YAML library (go-yaml v3) resolves them, not
PyYAML's YAML 1.1 way: ``no``/``yes``/``on``/``off`` stay strings, while an
integer with a leading zero (``0644``) is octal (420), as Butane documents
modes (go-yaml v3 still reads YAML 1.1 octals). Like go-yaml decoding into a
string field, a plain scalar that resolved to a number or boolean keeps its
source text (``Node.raw``), so ``name: 1234`` can still be the string "1234".
Duplicate keys are errors; aliases are followed but the expanded size and depth
are bounded so an alias bomb (or a recursive alias) fails fast.

Nodes also serialise to plain JSON-able data (``dump``/``load_dumped``) so the
bundled templates can be parsed once at build time and loaded at boot without
importing PyYAML at all.
"""

from __future__ import annotations

import re

from igngen.errors import ButaneError, YamlError
from igngen.limits import MAX_INT_DIGITS, MAX_YAML_DEPTH, MAX_YAML_NODES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar

MAX_NODES = MAX_YAML_NODES
MAX_DEPTH = MAX_YAML_DEPTH

# Scalar shapes as text: compiled (and cached by ``re``) only when YAML text is parsed;
# the built-in templates come pre-parsed, so a boot never needs them.
_INT = r"[-+]?(0|[1-9][0-9_]*)"
_OCTAL_LEADING_ZERO = r"[-+]?0[0-7_]+"
_OCTAL = r"[-+]?0[oO][0-7_]+"
_HEXINT = r"[-+]?0[xX][0-9a-fA-F_]+"
_BININT = r"[-+]?0[bB][01_]+"
_SPECIAL_FLOAT = {
    ".inf": float("inf"),
    ".Inf": float("inf"),
    ".INF": float("inf"),
    "+.inf": float("inf"),
    "+.Inf": float("inf"),
    "+.INF": float("inf"),
    "-.inf": float("-inf"),
    "-.Inf": float("-inf"),
    "-.INF": float("-inf"),
    ".nan": float("nan"),
    ".NaN": float("nan"),
    ".NAN": float("nan"),
}
_FLOAT = r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?"
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}
_NULL = {"", "~", "null", "Null", "NULL"}


class Node:
    """A located YAML node. ``value`` is dict[str, Node] | list[Node] | scalar."""

    __slots__ = ("column", "key_marks", "line", "raw", "source", "value")

    def __init__(
        self,
        value: Any,
        source: str,
        line: int,
        column: int,
        key_marks: dict[str, tuple[int, int]] | None = None,
        raw: str | None = None,
    ) -> None:
        self.value = value
        self.raw = raw  # source text of a plain scalar that resolved to a non-string
        self.source = source
        self.line = line
        self.column = column
        self.key_marks = key_marks

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}:{self.column}"

    def key_where(self, key: str) -> str:
        if self.key_marks and key in self.key_marks:
            line, col = self.key_marks[key]
            return f"{self.source}:{line}:{col}"
        return self.where

    def error(self, message: str, key: str | None = None) -> ButaneError:
        """The Butane translator's error at this node (or at ``key``'s key); reading the
        YAML itself raises :class:`YamlError`."""
        if key is not None and self.key_marks and key in self.key_marks:
            line, col = self.key_marks[key]
            return ButaneError(message, self.source, line, col)
        return ButaneError(message, self.source, self.line, self.column)

    @property
    def is_map(self) -> bool:
        return isinstance(self.value, dict)

    @property
    def is_seq(self) -> bool:
        return isinstance(self.value, list)

    def plain(self) -> Any:
        if isinstance(self.value, dict):
            return {k: v.plain() for k, v in self.value.items()}
        if isinstance(self.value, list):
            return [v.plain() for v in self.value]
        return self.value


def resolve_scalar(text: str, plain: bool) -> Any:
    """Resolve a scalar like go-yaml v3: only unquoted scalars get non-string types."""
    if not plain:
        return text
    if text in _NULL:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if len(text) > MAX_INT_DIGITS + 1 and text.lstrip("+-")[:1].isdigit():
        return text  # not a number igngen can use; left as text, so a typed field refuses it
    if re.fullmatch(_INT, text):
        return int(text.replace("_", ""), 10)
    if re.fullmatch(_OCTAL_LEADING_ZERO, text):
        return int(text.replace("_", ""), 8)
    if re.fullmatch(_OCTAL, text) or re.fullmatch(_HEXINT, text) or re.fullmatch(_BININT, text):
        return int(text.replace("_", ""), 0)
    if text in _SPECIAL_FLOAT:
        return _SPECIAL_FLOAT[text]
    if re.fullmatch(_FLOAT, text):  # go-yaml: "09" is not octal, but it is a float
        return float(text)
    return text


_PLAIN_TAG = "!igngen-plain"  # an untagged plain scalar: resolved here, the go-yaml way
_YAML_TAG = "tag:yaml.org,2002:"
_LOADER: Any = None


def _loader_class() -> Any:
    """A safe loader (libyaml when present) that leaves untagged plain scalars unresolved.

    PyYAML's resolver applies YAML 1.1 rules; with it out of the way, an
    explicit tag (``!!str 0644``) can still be told apart from a plain scalar.
    """
    global _LOADER
    if _LOADER is None:
        import yaml

        base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

        class Loader(base):  # type: ignore[valid-type,misc]
            yaml_implicit_resolvers: ClassVar[dict[Any, Any]] = {}

            def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
                if kind is yaml.ScalarNode and implicit[0]:
                    return _PLAIN_TAG
                return super().resolve(kind, value, implicit)

        _LOADER = Loader
    return _LOADER


def parse(text: str | bytes, *, source: str) -> Node:
    """Parse one YAML document into located nodes; raise :class:`YamlError` with line:column."""
    import yaml

    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise YamlError(f"not valid UTF-8 at byte {exc.start}", source) from None
    try:
        loader = _loader_class()(text)
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise YamlError(f"invalid YAML: {exc.problem or exc.context}", source, line, col) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"invalid YAML ({type(exc).__name__})", source) from None
    except RecursionError:  # the pure-Python composer, without libyaml
        raise YamlError(f"nested deeper than {MAX_DEPTH} levels", source) from None
    if root is None:
        return Node({}, source, 1, 1, {})
    budget = [MAX_NODES]
    return _convert(root, source, budget, 0)


def _convert(node: Any, source: str, budget: list[int], depth: int) -> Node:
    import yaml

    budget[0] -= 1
    line, col = node.start_mark.line + 1, node.start_mark.column + 1
    if budget[0] < 0:
        raise YamlError(f"document expands to more than {MAX_NODES} nodes (alias bomb?)", source)
    if depth > MAX_DEPTH:
        raise YamlError(f"nested deeper than {MAX_DEPTH} levels", source, line, col)
    if isinstance(node, yaml.MappingNode):
        items: dict[str, Node] = {}
        marks: dict[str, tuple[int, int]] = {}
        for key_node, value_node in node.value:
            kl, kc = key_node.start_mark.line + 1, key_node.start_mark.column + 1
            if key_node.tag == _YAML_TAG + "merge" or (
                key_node.tag == _PLAIN_TAG and key_node.value == "<<"
            ):
                raise YamlError("YAML merge keys ('<<') are not supported", source, kl, kc)
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlError("mapping keys must be strings", source, kl, kc)
            key = key_node.value
            if key in items:
                raise YamlError(f"duplicate key {key!r}", source, kl, kc)
            items[key] = _convert(value_node, source, budget, depth + 1)
            marks[key] = (kl, kc)
        return Node(items, source, line, col, marks)
    if isinstance(node, yaml.SequenceNode):
        return Node([_convert(n, source, budget, depth + 1) for n in node.value], source, line, col)
    value = _scalar(node.tag, node.value, source, line, col)
    raw = node.value if value is not None and not isinstance(value, str) else None
    return Node(value, source, line, col, None, raw)


_TAG_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (float, int),
    "bool": (bool,),
    "null": (type(None),),
}


def _scalar(tag: str, text: str, source: str, line: int, col: int) -> Any:
    """A scalar's value: untagged plain ones by go-yaml's rules, quoted ones are strings."""
    if tag == _PLAIN_TAG:
        return resolve_scalar(text, True)
    if not tag.startswith(_YAML_TAG):
        raise YamlError(f"unsupported YAML tag {tag!r}", source, line, col)
    kind = tag[len(_YAML_TAG) :]
    if kind in ("str", "timestamp"):
        return text
    if kind == "binary":
        import base64
        import binascii

        try:
            return base64.b64decode("".join(text.split()), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise YamlError(
                "!!binary value is not base64 of UTF-8 text", source, line, col
            ) from None
    wanted = _TAG_TYPES.get(kind)
    value = resolve_scalar(text, True)
    if wanted is None or isinstance(value, bool) is not (bool in wanted):
        raise YamlError(f"cannot read {text!r} as !!{kind}", source, line, col)
    if not isinstance(value, wanted):
        raise YamlError(f"cannot read {text!r} as !!{kind}", source, line, col)
    return value


def dump(node: Node) -> Any:
    """Compact JSON-able form: [line, column, value, key_marks?]."""
    if isinstance(node.value, dict):
        return [
            node.line,
            node.column,
            {k: dump(v) for k, v in node.value.items()},
            {k: list(m) for k, m in (node.key_marks or {}).items()},
        ]
    if isinstance(node.value, list):
        return [node.line, node.column, [dump(v) for v in node.value]]
    if node.raw is not None:
        return [node.line, node.column, node.value, node.raw]
    return [node.line, node.column, node.value]


def load_dumped(data: Any, source: str) -> Node:
    line, column, value = data[0], data[1], data[2]
    if isinstance(value, dict):
        marks = {k: (m[0], m[1]) for k, m in data[3].items()}
        return Node(
            {k: load_dumped(v, source) for k, v in value.items()}, source, line, column, marks
        )
    if isinstance(value, list):
        return Node([load_dumped(v, source) for v in value], source, line, column)
    return Node(value, source, line, column, None, data[3] if len(data) > 3 else None)
