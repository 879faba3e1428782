"""igngen.azure.xmldoc: hostile and odd inputs, one table; the tree against ElementTree's."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import pytest
from hypothesis import given
from hypothesis import strategies as st

from igngen.azure import ovf, wireserver, xmldoc
from igngen.errors import OvfError, WireserverDataError, XmlError
from igngen.limits import MAX_XML_ATTRIBUTES, MAX_XML_DEPTH, MAX_XML_ELEMENTS

REPO = Path(__file__).resolve().parent.parent
DOCS = sorted(REPO.glob("examples/*/ovf-env.xml")) + sorted(
    REPO.glob("tests/data/wireserver/*.xml")
)
OVF_NS = "http://schemas.dmtf.org/ovf/environment/1"

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<lolz>&lol4;</lolz>"""


def _nest(depth: int) -> bytes:
    return b"<a>" * depth + b"</a>" * depth


def _attrs(count: int) -> bytes:
    return b"<a " + b" ".join(b"x%d='1'" % i for i in range(count)) + b"/>"


def _elements(count: int) -> bytes:
    return b"<r>" + b"<e/>" * (count - 1) + b"</r>"


# (document, kind, the message, location after "doc")
REFUSED: list[tuple[bytes, str, str, str]] = [
    (BILLION_LAUGHS, "refused", "refused: DOCTYPE declaration", ":2:16"),
    (
        b'<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><r>&xxe;</r>',
        "refused",
        "refused: DOCTYPE declaration (DTDs and entities are not allowed)",
        ":1:13",
    ),
    (
        b'<!DOCTYPE r [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><r/>',
        "refused",
        "DOCTYPE declaration",
        ":1:13",
    ),
    (b'<!DOCTYPE r SYSTEM "http://169.254.169.254/x.dtd"><r/>', "refused", "DOCTYPE", ":1:50"),
    (b"<!DOCTYPE r><r/>", "refused", "DOCTYPE declaration", ":1:12"),
    (b"<!DOCTYPE r [<!ELEMENT r ANY>]><r/>", "refused", "DOCTYPE declaration", ":1:13"),
    (
        b'<!DOCTYPE r [<!NOTATION n SYSTEM "x"><!ENTITY u SYSTEM "y" NDATA n>]><r/>',
        "refused",
        "DOCTYPE declaration",
        ":1:13",
    ),
    # Refused before the internal subset is read: a broken subset is never parsed.
    (b"<!DOCTYPE r [<!ENTITY", "refused", "DOCTYPE declaration", ":1:13"),
    # Without a DTD, expat knows only XML's five entities.
    (b"<r>&xxe;</r>", "malformed", "malformed XML (undefined entity)", ":1:4"),
    (b"<r a='&xxe;'/>", "malformed", "malformed XML (undefined entity)", ":1:1"),
    (b"<r>&#0;</r>", "malformed", "malformed XML (reference to invalid character number)", ":1:4"),
    # Truncated and broken documents.
    (b"", "malformed", "malformed XML (no element found)", ":1:1"),
    (b"<Environment", "malformed", "malformed XML (unclosed token)", ":1:1"),
    (b"<a><b>", "malformed", "malformed XML (no element found)", ":1:7"),
    (b"<a><b></a>", "malformed", "malformed XML (mismatched tag)", ":1:9"),
    (b"<a/><b/>", "malformed", "malformed XML (junk after document element)", ":1:5"),
    (b"<a x='1' x='2'/>", "malformed", "malformed XML (duplicate attribute)", ":1:10"),
    (b"<r>\x01</r>", "malformed", "malformed XML (not well-formed (invalid token))", ":1:4"),
    # Namespaces: an unbound prefix, and a URI holding expat's separator.
    (b"<p:a/>", "malformed", "malformed XML (unbound prefix)", ":1:1"),
    (b"<a xmlns='urn:a}b'/>", "malformed", "malformed XML (syntax error)", ":1:1"),
    (
        b"<a xmlns:p='urn:x' xmlns:q='urn:x' p:k='1' q:k='2'/>",
        "malformed",
        "malformed XML (duplicate attribute)",
        ":1:1",
    ),
    # Encodings: UTF-8 only, declared or not.
    (b'<?xml version="1.0" encoding="iso-8859-1"?><a/>', "encoding", "declared encoding", ""),
    (b"<?xml version='1.0' encoding='UTF-16'?><a/>", "encoding", "'UTF-16'; only UTF-8", ""),
    (b'<?xml version="1.0" encoding="us-ascii"?><a/>', "encoding", "only UTF-8 is accepted", ""),
    # A name no codec knows is refused by name, not looked up (LookupError).
    (b'<?xml version="1.0" encoding="x-no-such"?><a/>', "encoding", "'x-no-such'; only", ""),
    (b"\xff\xfe<\x00a\x00/\x00>\x00", "encoding", "document is UTF-16", ""),
    (b"\xfe\xff\x00<\x00a\x00/\x00>", "encoding", "document is UTF-16", ""),
    ("<a>\u00e9</a>".encode("latin-1"), "encoding", "not valid UTF-8 at byte 3", ""),
    (b"<a>\xed\xa0\x80</a>", "encoding", "not valid UTF-8 at byte 3", ""),  # a surrogate
    # Bounds.
    (
        b"<a>" + b" " * 2000 + b"</a>",
        "size",
        "document is 2007 bytes, over the 1024-byte limit",
        "",
    ),
    (
        _nest(MAX_XML_DEPTH + 1),
        "bound",
        f"elements nested deeper than {MAX_XML_DEPTH} levels at /a/a/a/a/.../a/a/a",
        f":1:{3 * MAX_XML_DEPTH + 1}",
    ),
    (
        _elements(MAX_XML_ELEMENTS + 1),
        "bound",
        f"more than {MAX_XML_ELEMENTS} elements (the next: /r/e)",
        f":1:{4 + 4 * (MAX_XML_ELEMENTS - 1)}",
    ),
    (_attrs(MAX_XML_ATTRIBUTES + 1), "bound", f"more than {MAX_XML_ATTRIBUTES} attributes", ":1:1"),
    (
        b"<" + b"n" * 300 + b">" + _nest(MAX_XML_DEPTH) + b"</" + b"n" * 300 + b">",
        "bound",
        "levels at /" + "n" * 40 + ".../a/a/a/.../a/a/a",
        f":1:{302 + 3 * (MAX_XML_DEPTH - 1) + 1}",
    ),
]


@pytest.mark.parametrize(("doc", "kind", "message", "where"), REFUSED)
def test_refused_with_kind_message_and_location(
    doc: bytes, kind: str, message: str, where: str
) -> None:
    max_bytes = 1024 if kind == "size" else 1024 * 1024
    with pytest.raises(XmlError) as err:
        xmldoc.parse(doc, source="doc", max_bytes=max_bytes)
    assert err.value.kind == kind
    assert message in err.value.message
    assert err.value.location == f"doc{where}"
    assert "\n" not in str(err.value) and len(str(err.value)) < 300


@pytest.mark.parametrize(
    "doc",
    [_nest(MAX_XML_DEPTH), _elements(MAX_XML_ELEMENTS), _attrs(MAX_XML_ATTRIBUTES)],
    ids=["depth", "elements", "attributes"],
)
def test_up_to_each_bound_is_accepted(doc: bytes) -> None:
    xmldoc.parse(doc, source="doc", max_bytes=1024 * 1024)


_LAYERED = {
    "laughs": b'<!DOCTYPE r [<!ENTITY a "aa"><!ENTITY b "&a;&a;">]><r>&b;</r>',
    "xxe": b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
    "parameter": b'<!DOCTYPE r [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><r/>',
    "unparsed": b'<!DOCTYPE r [<!NOTATION n SYSTEM "x"><!ENTITY u SYSTEM "y" NDATA n>]><r/>',
    "external-dtd": b'<!DOCTYPE r SYSTEM "file:///etc/x.dtd"><r>&u;</r>',
}


@pytest.mark.parametrize(
    ("taken_away", "doc", "construct"),
    [((), name, "DOCTYPE declaration") for name in _LAYERED]
    + [
        (("StartDoctypeDeclHandler",), "laughs", "entity declaration"),
        (("StartDoctypeDeclHandler",), "xxe", "entity declaration"),
        (("StartDoctypeDeclHandler",), "parameter", "entity declaration"),
        (("StartDoctypeDeclHandler",), "unparsed", "notation declaration"),
        (("StartDoctypeDeclHandler",), "external-dtd", "reference to an undeclared entity"),
        (("StartDoctypeDeclHandler", "EntityDeclHandler"), "xxe", "external entity reference"),
        (
            ("StartDoctypeDeclHandler", "EntityDeclHandler", "NotationDeclHandler"),
            "unparsed",
            "unparsed entity declaration",
        ),
    ],
)
def test_each_refusing_handler_refuses_on_its_own(
    monkeypatch: pytest.MonkeyPatch, taken_away: tuple[str, ...], doc: str, construct: str
) -> None:
    """Defence in depth: with the handlers before it taken away, each one still refuses."""
    for handler in taken_away:
        monkeypatch.delitem(xmldoc.REFUSALS, handler)
    with pytest.raises(XmlError) as err:
        xmldoc.parse(_LAYERED[doc], source="doc", max_bytes=4096)
    assert (err.value.kind, err.value.detail) == ("refused", construct)


def test_parameter_entities_are_never_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """With DOCTYPE and entity declarations let through, the external parameter entity is
    still not fetched: expat never asks the (refusing) external-reference handler."""
    for handler in ("StartDoctypeDeclHandler", "EntityDeclHandler"):
        monkeypatch.delitem(xmldoc.REFUSALS, handler)
    assert xmldoc.parse(_LAYERED["parameter"], source="doc", max_bytes=4096).name == "r"


def test_refused_details_name_the_construct() -> None:
    with pytest.raises(XmlError) as err:
        xmldoc.parse(BILLION_LAUGHS, source="doc", max_bytes=4096)
    assert err.value.detail == "DOCTYPE declaration"
    with pytest.raises(XmlError) as err:
        xmldoc.parse(b"<a><b></a>", source="doc", max_bytes=4096)
    assert err.value.detail == "mismatched tag" and (err.value.line, err.value.column) == (1, 9)


def test_text_tail_comments_pis_and_cdata_as_elementtree_reads_them() -> None:
    doc = b"<?pi before?><!--c--><a>t<?pi in?>1<b>x</b>u<!--c-->w<c/><![CDATA[<&>]]>&lt;&#65;</a>"
    root = xmldoc.parse(doc, source="doc", max_bytes=4096)
    assert (root.name, root.text) == ("a", "t1")
    assert [(c.name, c.text, c.tail) for c in root] == [("b", "x", "uw"), ("c", "", "<&><A")]


def test_namespaces_resolved_and_attributes_in_elementtree_form() -> None:
    doc = (
        b"<wa:a xmlns='urn:d' xmlns:wa='urn:w' wa:k='1' k='2' xml:lang='en'>"
        b"<b/><wa:c/><d xmlns=''/><e xmlns:x='urn:d'><x:f/></e></wa:a>"
    )
    root = xmldoc.parse(doc, source="doc", max_bytes=4096)
    assert (root.ns, root.name) == ("urn:w", "a")
    assert root.attrib == {
        "{urn:w}k": "1",
        "k": "2",  # an unprefixed attribute has no namespace, whatever the default
        "{http://www.w3.org/XML/1998/namespace}lang": "en",
    }
    assert root.get("{urn:w}k") == "1" and root.get("absent") == ""
    assert [(e.ns, e.name) for e in root.iter()] == [
        ("urn:w", "a"),
        ("urn:d", "b"),
        ("urn:w", "c"),
        ("", "d"),
        ("urn:d", "e"),
        ("urn:d", "f"),
    ]


def test_bom_is_skipped_and_offsets_count_after_it() -> None:
    body = b"<a><UserPassword>pw</UserPassword><b/></a>"
    root = xmldoc.parse(xmldoc.BOM + body, source="doc", max_bytes=4096)
    assert xmldoc.without_bom(xmldoc.BOM + body) == body
    secret, empty = root.children
    assert body[secret.start :].startswith(b"<UserPassword>")
    assert body[secret.end :].startswith(b"</UserPassword>")
    assert body[empty.start : empty.end] == b"<b/>"


def _same_as_elementtree(doc: bytes) -> None:
    ours = xmldoc.parse(doc, source="doc", max_bytes=1024 * 1024)
    theirs = ElementTree.fromstring(xmldoc.without_bom(doc))

    def tag(e: xmldoc.Element) -> str:
        return f"{{{e.ns}}}{e.name}" if e.ns else e.name

    assert [(tag(e), e.attrib, e.text, e.tail) for e in ours.iter()] == [
        (e.tag, e.attrib, e.text or "", e.tail or "") for e in theirs.iter()
    ]


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_real_documents_give_elementtrees_tree(path: Path) -> None:
    _same_as_elementtree(path.read_bytes())


_NAMES = st.sampled_from(["a", "b", "wa:c", "d:e", "UserPassword"])
_TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Cn")), max_size=8
).map(lambda t: t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
_PIECES = st.sampled_from(["<!--c-->", "<?pi x?>", "<![CDATA[<&]]>", "&amp;", "&#x41;", ""])


@st.composite
def _documents(draw: st.DrawFn, depth: int = 0) -> str:
    name = draw(_NAMES)
    parts = [draw(_TEXT), draw(_PIECES)]
    if depth < 4:
        for _ in range(draw(st.integers(0, 3))):
            parts += [draw(_documents(depth + 1)), draw(_TEXT), draw(_PIECES)]
    attr = draw(st.sampled_from(["", " k='v'", " wa:k='&lt;'", " k='1' d:k='2'"]))
    ns = " xmlns='urn:o' xmlns:wa='urn:w' xmlns:d='urn:d'" if depth == 0 else ""
    return f"<{name}{ns}{attr}>{''.join(parts)}</{name}>"


@given(_documents())
def test_any_document_gives_elementtrees_tree(doc: str) -> None:
    _same_as_elementtree(doc.encode("utf-8"))


# --- the readers' own wording ----------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "message", "where"),
    [
        (
            BILLION_LAUGHS,
            "refused: DOCTYPE declaration (DTDs and entities are not allowed)",
            "media/ovf-env.xml:2:16",
        ),
        (
            _nest(MAX_XML_DEPTH + 1).replace(b"<a>", f"<a xmlns='{OVF_NS}'>".encode(), 1),
            f"elements nested deeper than {MAX_XML_DEPTH} levels at /a/a/a/a/.../a/a/a",
            "media/ovf-env.xml:1:",
        ),
        (
            b"<Environment><oops></Environment>",
            "malformed XML (mismatched tag)",
            "media/ovf-env.xml:1:22",
        ),
    ],
)
def test_ovf_errors(doc: bytes, message: str, where: str) -> None:
    for call in (ovf.parse, ovf.redact):
        with pytest.raises(OvfError) as err:
            call(doc, source="media/ovf-env.xml")
        assert err.value.message == message and err.value.location.startswith(where)


@pytest.mark.parametrize(
    ("doc", "message", "where"),
    [
        (BILLION_LAUGHS, "refused XML construct (DOCTYPE declaration)", "gs"),
        (b"<GoalState><Incarnation>", "not well-formed XML (line 1, column 24)", "gs"),
        (b"<GoalState>\xff</GoalState>", "not well-formed XML (not valid UTF-8 at byte 11)", "gs"),
        (
            b"<?xml version='1.0' encoding='latin-1'?><GoalState/>",
            "not well-formed XML (declared encoding 'latin-1'; only UTF-8 is accepted)",
            "gs",
        ),
        (
            _nest(MAX_XML_DEPTH + 1),
            f"elements nested deeper than {MAX_XML_DEPTH} levels at /a/a/a/a/.../a/a/a",
            f"gs:1:{3 * MAX_XML_DEPTH + 1}",
        ),
    ],
)
def test_wireserver_errors(doc: bytes, message: str, where: str) -> None:
    for call in (wireserver.parse_goal_state, wireserver.parse_versions):
        with pytest.raises(WireserverDataError) as err:
            call(doc, source="gs")
        assert (err.value.message, err.value.location) == (message, where)
