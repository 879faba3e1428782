"""Azure's XML documents as small element trees, on expat alone (pure: bytes in, tree out).

ovf-env.xml, the goal state and the versions answer never carry a document type, so
a DOCTYPE is refused the moment expat meets it, before its internal subset is read:
no entity, notation or element declaration is ever processed, parameter entities are
never parsed, no foreign DTD is asked for, and an entity reference can then only be one
of XML's five built-ins or a character reference (expat itself refuses any other as
undefined). The declaration handlers refuse too, should a DOCTYPE ever get past the
first one. That is what defusedxml (``forbid_dtd``) did for igngen, without loading
``xml.etree``, ElementPath, ``copy`` and ``weakref`` on every boot (~4 ms).

Bounds (``igngen.limits``): the caller's byte limit, UTF-8 only, nesting depth,
element count and attributes per element. Every failure is an :class:`XmlError` located
``source:line:column``; its readers wrap it into their own error.
"""

from __future__ import annotations

import xml.parsers.expat
from collections.abc import Callable, Iterator

from igngen.errors import XmlError
from igngen.limits import MAX_XML_ATTRIBUTES, MAX_XML_DEPTH, MAX_XML_ELEMENTS

BOM = b"\xef\xbb\xbf"
# Between namespace URI and local name in expat's names. Never part of a name, and expat
# refuses a URI that holds it: "}" as in ElementTree, so the same URIs are refused.
_SEP = "}"
_SHOWN_NAME = 40  # characters of one element name in a bound error's path

# expat handler → the construct it meets, refused. The DOCTYPE one fires first, before
# the internal subset is read; the others each refuse on their own, should a declaration
# or a reference ever reach expat another way (tests/test_xmldoc.py takes them away one
# by one). An external DTD is never read, so an entity it might define is "skipped".
REFUSALS = {
    "StartDoctypeDeclHandler": "DOCTYPE declaration",
    "EntityDeclHandler": "entity declaration",
    "UnparsedEntityDeclHandler": "unparsed entity declaration",
    "NotationDeclHandler": "notation declaration",
    "ExternalEntityRefHandler": "external entity reference",
    "SkippedEntityHandler": "reference to an undeclared entity",
}


class Element:
    """One element. ``ns`` is its namespace URI ("" for none) and ``name`` its local name
    (prefixes are resolved away); ``attrib`` keys are ``{uri}name`` for namespaced
    attributes and ``name`` otherwise (ElementTree's form). ``text`` is the character
    data before the first child element and ``tail`` the data after this element's end
    tag, up to the next sibling (ElementTree's model; comments and processing
    instructions are skipped, their neighbours' text joined). ``start`` and ``end`` are
    expat's byte offsets of the start tag and of the end tag (for ``<a/>``, of the byte
    after it), counted in :func:`without_bom` of the parsed bytes."""

    __slots__ = ("attrib", "children", "end", "name", "ns", "start", "tail", "text")

    def __init__(self, ns: str, name: str, attrib: dict[str, str], start: int) -> None:
        self.ns = ns
        self.name = name
        self.attrib = attrib
        self.text = ""
        self.tail = ""
        self.children: list[Element] = []
        self.start = start
        self.end = start

    def get(self, key: str, default: str = "") -> str:
        return self.attrib.get(key, default)

    def __iter__(self) -> Iterator[Element]:
        return iter(self.children)

    def __len__(self) -> int:
        return len(self.children)

    def iter(self) -> Iterator[Element]:
        """This element and all below it, in document order."""
        todo = [self]
        while todo:
            elem = todo.pop()
            yield elem
            todo.extend(reversed(elem.children))

    def __repr__(self) -> str:
        return f"<Element {{{self.ns}}}{self.name} with {len(self.children)} children>"


def without_bom(data: bytes) -> bytes:
    return data[len(BOM) :] if data.startswith(BOM) else data


def _check(data: bytes, source: str, max_bytes: int) -> bytes:
    if len(data) > max_bytes:
        raise XmlError(
            "size", f"document is {len(data)} bytes, over the {max_bytes}-byte limit", source
        )
    data = without_bom(data)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise XmlError("encoding", "document is UTF-16; only UTF-8 is accepted", source)
    declared = _declared_encoding(data)
    if declared is not None and declared.lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise XmlError(
            "encoding", f"declared encoding {declared!r}; only UTF-8 is accepted", source
        )
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise XmlError("encoding", f"not valid UTF-8 at byte {exc.start}", source) from None
    return data


def _declared_encoding(data: bytes) -> str | None:
    """The encoding the XML declaration names, read by expat from the declaration alone
    (nothing after it is parsed here; a regex compiled at import cost 0.3 ms a boot)."""
    if not data.startswith(b"<?xml"):
        return None
    end = data.find(b"?>")
    found: list[str | None] = [None]

    def declaration(version: str, encoding: str | None, standalone: int) -> None:
        found[0] = encoding

    # Fixed to UTF-8, so that expat reports the name without looking it up (an unknown
    # name would raise LookupError from Python's codec registry).
    parser = xml.parsers.expat.ParserCreate("utf-8")
    parser.XmlDeclHandler = declaration
    # Not a declaration expat accepts: the document's own parse says so, with a location.
    # (try/except, not contextlib.suppress: contextlib is not otherwise on render's path.)
    try:  # noqa: SIM105
        parser.Parse(data[: end + 2] if end >= 0 else data, False)
    except xml.parsers.expat.ExpatError:
        pass
    return found[0]


def _split(name: str) -> tuple[str, str]:
    ns, _, local = name.rpartition(_SEP)
    return ns, local


def _path(stack: list[Element], name: str) -> str:
    names = [e.name for e in stack] + [name]
    if len(names) > 8:
        names = [*names[:4], "...", *names[-3:]]
    shown = (n if len(n) <= _SHOWN_NAME else n[:_SHOWN_NAME] + "..." for n in names)
    return "/" + "/".join(shown)


def parse(data: bytes, *, source: str, max_bytes: int) -> Element:
    """The root element of ``data``, or :class:`XmlError` (size, encoding, refused,
    malformed, bound)."""
    body = _check(data, source, max_bytes)
    # The encoding is fixed rather than read from the declaration: UTF-8 was checked above.
    parser = xml.parsers.expat.ParserCreate("utf-8", _SEP)
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.UseForeignDTD(False)
    parser.buffer_text = True
    stack: list[Element] = []
    texts: list[list[str]] = []  # per open element: its text, then its last child's tail
    roots: list[Element] = []
    count = 0

    def fail(kind: str, message: str, detail: str = "") -> XmlError:
        line, column = parser.CurrentLineNumber, parser.CurrentColumnNumber + 1
        return XmlError(kind, message, source, line, column, detail=detail)

    def refuser(construct: str) -> Callable[..., None]:
        def refuse(*_: object) -> None:
            message = f"refused: {construct} (DTDs and entities are not allowed)"
            raise fail("refused", message, construct)

        return refuse

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal count
        ns, local = _split(name)
        if len(stack) >= MAX_XML_DEPTH:
            raise fail(
                "bound",
                f"elements nested deeper than {MAX_XML_DEPTH} levels at {_path(stack, local)}",
            )
        count += 1
        if count > MAX_XML_ELEMENTS:
            raise fail(
                "bound", f"more than {MAX_XML_ELEMENTS} elements (the next: {_path(stack, local)})"
            )
        if len(attrs) > MAX_XML_ATTRIBUTES:
            raise fail(
                "bound", f"more than {MAX_XML_ATTRIBUTES} attributes on {_path(stack, local)}"
            )
        attrib = {}
        for key, value in attrs.items():
            ans, alocal = _split(key)
            attrib[f"{{{ans}}}{alocal}" if ans else alocal] = value
        elem = Element(ns, local, attrib, parser.CurrentByteIndex)
        if stack:
            parent = stack[-1]
            _flush(parent, texts[-1])
            parent.children.append(elem)
        else:
            roots.append(elem)
        stack.append(elem)
        texts.append([])

    def end(name: str) -> None:
        elem = stack.pop()
        _flush(elem, texts.pop())
        elem.end = parser.CurrentByteIndex

    def data_(chunk: str) -> None:
        if texts:
            texts[-1].append(chunk)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = data_
    for handler, construct in REFUSALS.items():
        setattr(parser, handler, refuser(construct))
    try:
        parser.Parse(body, True)
    except xml.parsers.expat.ExpatError as exc:
        what = xml.parsers.expat.ErrorString(exc.code)
        raise XmlError(
            "malformed", f"malformed XML ({what})", source, exc.lineno, exc.offset + 1, detail=what
        ) from None
    return roots[0]


def _flush(elem: Element, chunks: list[str]) -> None:
    """The data gathered since the element's start or its last child's end: its text
    before any child, else that child's tail."""
    if not chunks:
        return
    text = "".join(chunks)
    chunks.clear()
    if elem.children:
        elem.children[-1].tail += text
    else:
        elem.text += text
