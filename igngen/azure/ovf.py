"""Parse and redact Azure's ``ovf-env.xml`` (pure: bytes in, values out).

Azure's document mixes prefixes freely (``wa:`` sections with default-namespace
children, or ``ns0:``/``ns1:`` everywhere), so elements are matched by
(namespace URI, local name) only, never by prefix. The parser is strict where
safety matters: no DTDs or entities (defusedxml), UTF-8 only, a size limit,
duplicate elements refused (cloud-init does the same; first-wins would let a
second ``UserName`` hide), booleans must be booleans. Values are returned raw;
the rules on user names, host names and keys are applied later (``rules.py``)
so that errors can name both the value's source and the broken rule.
"""

from __future__ import annotations

import base64
import binascii
import re
import xml.parsers.expat
from collections.abc import Mapping

from igngen.errors import IgngenError, OvfError
from igngen.limits import MAX_OVF_BYTES
from igngen.secret import Secret

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NamedTuple
else:
    from igngen.records import NamedTuple

OVF_NS = "http://schemas.dmtf.org/ovf/environment/1"
WA_NS = "http://schemas.microsoft.com/windowsazure"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

REDACTED = "REDACTED"

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
_XML_DECL = re.compile(rb"^<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


class OvfPublicKey(NamedTuple):
    fingerprint: str | None
    path: str | None
    value: str | None
    location: str


class OvfEnvironment(NamedTuple):
    """What igngen uses from ``ovf-env.xml``; ``locations`` maps field → element path."""

    host_name: str | None
    user_name: str | None
    user_password: Secret | None
    disable_ssh_password_authentication: bool | None
    public_keys: tuple[OvfPublicKey, ...]
    custom_data: bytes | None
    provision_guest_agent: bool | None
    preprovisioned_vm: bool | None
    preprovisioned_vm_type: str | None
    platform_settings: tuple[tuple[str, str], ...]
    source: str
    locations: Mapping[str, str]
    warnings: tuple[str, ...] = ()


def _check_encoding(data: bytes, source: str) -> bytes:
    if len(data) > MAX_OVF_BYTES:
        raise OvfError(
            f"document is {len(data)} bytes, over the {MAX_OVF_BYTES}-byte limit", source
        )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise OvfError("document is UTF-16; only UTF-8 is accepted", source)
    match = _XML_DECL.match(data)
    if match and match.group(1).lower().replace(b"_", b"-") not in (b"utf-8", b"utf8"):
        raise OvfError(
            f"declared encoding {match.group(1).decode()!r}; only UTF-8 is accepted", source
        )
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise OvfError(f"not valid UTF-8 at byte {exc.start}", source) from None
    return data


def _parse_tree(data: bytes, source: str) -> Any:
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise OvfError(
            f"refused: {type(exc).__name__} (DTDs and entities are not allowed)", source
        ) from None
    except ParseError as exc:
        line, col = getattr(exc, "position", (0, 0))
        msg = str(exc).split(":", 1)[0]
        raise OvfError(f"malformed XML ({msg})", f"{source}:{line}:{col + 1}") from None


def _local(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


class _Walker:
    def __init__(self, source: str) -> None:
        self.source = source

    def where(self, path: str) -> str:
        return f"{self.source}:{path}"

    def children(
        self, elem: Any, ns: str, name: str, path: str, *, fold_case: bool = False
    ) -> list[Any]:
        want = name.lower() if fold_case else name
        found = []
        for child in elem:
            if not isinstance(child.tag, str):
                continue  # comments, processing instructions
            cns, local = _local(child.tag)
            if cns == ns and (local.lower() if fold_case else local) == want:
                found.append(child)
        return found

    def one(
        self,
        elem: Any,
        ns: str,
        name: str,
        path: str,
        *,
        required: bool = False,
        fold_case: bool = False,
    ) -> Any:
        found = self.children(elem, ns, name, path, fold_case=fold_case)
        if len(found) > 1:
            raise OvfError(
                f"element appears {len(found)} times; expected once", self.where(f"{path}/{name}")
            )
        if not found:
            if required:
                raise OvfError("required element is missing", self.where(f"{path}/{name}"))
            return None
        return found[0]

    def text(self, elem: Any, path: str, *, strip: bool = True) -> str | None:
        if elem is None:
            return None
        if elem.get(f"{{{XSI_NS}}}nil", "").strip().lower() == "true":
            return None
        if len([c for c in elem if isinstance(c.tag, str)]):
            raise OvfError("expected text, found child elements", self.where(path))
        value = elem.text or ""
        if strip:
            value = value.strip()
        return value if value else None

    def boolean(self, elem: Any, path: str) -> bool | None:
        value = self.text(elem, path)
        if value is None:
            return None
        low = value.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise OvfError("expected true or false", self.where(path))


def parse(data: bytes, *, source: str = "ovf-env.xml") -> OvfEnvironment:
    """Parse ``ovf-env.xml`` bytes into an :class:`OvfEnvironment` or raise :class:`OvfError`."""
    data = _check_encoding(data, source)
    root = _parse_tree(data, source)
    w = _Walker(source)
    ns, local = _local(root.tag)
    if (ns, local) != (OVF_NS, "Environment"):
        raise OvfError(
            f"root element is {local!r} in namespace {ns or 'none'!r}; expected OVF Environment",
            w.where("/"),
        )
    locs: dict[str, str] = {}
    warnings: list[str] = []

    ps_path = "/Environment/ProvisioningSection"
    ps = w.one(root, WA_NS, "ProvisioningSection", "/Environment", required=True)
    lpcs_path = f"{ps_path}/LinuxProvisioningConfigurationSet"
    lpcs = w.one(ps, WA_NS, "LinuxProvisioningConfigurationSet", ps_path, required=True)

    def field_text(name: str, *, strip: bool = True) -> str | None:
        path = f"{lpcs_path}/{name}"
        value = w.text(w.one(lpcs, WA_NS, name, lpcs_path), path, strip=strip)
        locs[name] = w.where(path)
        return value

    host_name = field_text("HostName")
    user_name = field_text("UserName")
    # Passwords are taken verbatim: leading/trailing spaces can be part of one.
    raw_password = field_text("UserPassword", strip=False)
    password = Secret(raw_password) if raw_password else None
    dpa_path = f"{lpcs_path}/DisableSshPasswordAuthentication"
    disable_pw = w.boolean(
        w.one(lpcs, WA_NS, "DisableSshPasswordAuthentication", lpcs_path), dpa_path
    )
    locs["DisableSshPasswordAuthentication"] = w.where(dpa_path)

    keys: list[OvfPublicKey] = []
    ssh_path = f"{lpcs_path}/SSH"
    ssh = w.one(lpcs, WA_NS, "SSH", lpcs_path)
    if ssh is not None:
        pks_path = f"{ssh_path}/PublicKeys"
        pks = w.one(ssh, WA_NS, "PublicKeys", ssh_path)
        if pks is not None:
            for i, pk in enumerate(w.children(pks, WA_NS, "PublicKey", pks_path), start=1):
                pk_path = f"{pks_path}/PublicKey[{i}]"
                fp = w.text(w.one(pk, WA_NS, "Fingerprint", pk_path), f"{pk_path}/Fingerprint")
                kpath = w.text(w.one(pk, WA_NS, "Path", pk_path), f"{pk_path}/Path")
                value = w.text(w.one(pk, WA_NS, "Value", pk_path), f"{pk_path}/Value")
                if value is None and fp is None:
                    raise OvfError("public key has neither Value nor Fingerprint", w.where(pk_path))
                keys.append(OvfPublicKey(fp, kpath, value, w.where(pk_path)))
        if w.one(ssh, WA_NS, "KeyPairs", ssh_path) is not None:
            warnings.append(
                f"{w.where(ssh_path + '/KeyPairs')}: key pairs (private keys from certificates) are not deployed by igngen"
            )
    locs["SSH"] = w.where(ssh_path)

    cd_path = f"{lpcs_path}/CustomData"
    cd_text = w.text(w.one(lpcs, WA_NS, "CustomData", lpcs_path), cd_path, strip=False)
    locs["CustomData"] = w.where(cd_path)
    custom_data = None
    if cd_text is not None:
        compact = "".join(cd_text.split())
        try:
            custom_data = base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError):
            raise OvfError("CustomData is not valid base64", w.where(cd_path)) from None

    # PlatformSettings child names are compared case-insensitively: the anchors
    # disagree on spellings such as PreprovisionedVMType / PreprovisionedVmType.
    settings: dict[str, str] = {}
    pss_path = "/Environment/PlatformSettingsSection/PlatformSettings"
    pss_section = w.one(root, WA_NS, "PlatformSettingsSection", "/Environment")
    pss = None
    if pss_section is not None:
        pss = w.one(pss_section, WA_NS, "PlatformSettings", "/Environment/PlatformSettingsSection")
    if pss is not None:
        seen: set[str] = set()
        for child in pss:
            if not isinstance(child.tag, str):
                continue
            cns, clocal = _local(child.tag)
            if cns != WA_NS:
                continue
            key = clocal.lower()
            if key in seen:
                raise OvfError("element appears more than once", w.where(f"{pss_path}/{clocal}"))
            seen.add(key)
            value = w.text(child, f"{pss_path}/{clocal}")
            if value is not None:
                settings[clocal] = value

    def setting_bool(name: str) -> bool | None:
        for key, value in settings.items():
            if key.lower() == name.lower():
                low = value.strip().lower()
                if low in _TRUE:
                    return True
                if low in _FALSE:
                    return False
                # Platform flags we only report on: a strange value is noted, not fatal
                # (WALinuxAgent accepts any value here too).
                warnings.append(f"{w.where(pss_path + '/' + key)}: not a boolean; ignored")
                return None
        return None

    pps_type = next((v for k, v in settings.items() if k.lower() == "preprovisionedvmtype"), None)
    return OvfEnvironment(
        host_name=host_name,
        user_name=user_name,
        user_password=password,
        disable_ssh_password_authentication=disable_pw,
        public_keys=tuple(keys),
        custom_data=custom_data,
        provision_guest_agent=setting_bool("ProvisionGuestAgent"),
        preprovisioned_vm=setting_bool("PreprovisionedVm"),
        preprovisioned_vm_type=pps_type,
        platform_settings=tuple(sorted(settings.items())),
        source=source,
        locations=locs,
        warnings=tuple(warnings),
    )


def redact(data: bytes, *, source: str = "ovf-env.xml") -> bytes:
    """Return ``data`` with the text of every ``*Password`` element replaced by ``REDACTED``.

    Everything else stays byte-for-byte (prefixes, whitespace, comments), so the
    guest agent reads the same document it would have read from the media. The
    document is first parsed by :func:`parse` rules (safe, well-formed); the
    password spans are then located with expat byte offsets, which is exact
    even for prefixed tags, CDATA and multi-line values (a regex is not).
    """
    data = _check_encoding(data, source)
    _parse_tree(data, source)  # refuses DTDs/entities/malformed input before we touch it
    spans: list[tuple[int, int]] = []
    stack: list[tuple[bool, int]] = []
    texts: list[list[str]] = []  # each password element's text
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")

    def start(name: str, attrs: dict[str, str]) -> None:
        local = name.rsplit(" ", 1)[-1]
        is_secret = local.lower().endswith("password")
        begin = parser.CurrentByteIndex
        # Content starts after this start tag's closing '>' (quotes may hold '>').
        i, quote = begin, b""
        while i < len(data):
            c = data[i : i + 1]
            if quote:
                if c == quote:
                    quote = b""
            elif c in (b'"', b"'"):
                quote = c
            elif c == b">":
                break
            i += 1
        self_closing = data[i - 1 : i] == b"/"
        if is_secret and not self_closing:
            texts.append([])
        stack.append((is_secret and not self_closing, i + 1))

    def end(name: str) -> None:
        secret, content_start = stack.pop()
        if secret:
            spans.append((content_start, parser.CurrentByteIndex))

    def text(chunk: str) -> None:
        if stack and stack[-1][0]:
            texts[-1].append(chunk)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.Parse(data, True)
    out = bytearray()
    last = 0
    for begin, finish in sorted(spans):
        if finish <= begin:
            continue
        out += data[last:begin] + REDACTED.encode()
        last = finish
    out += data[last:]
    return _redact_copies(bytes(out), ["".join(t) for t in texts], source)


def _shape(root: Any) -> list[tuple[str, tuple[str, ...]]]:
    return [(el.tag, tuple(sorted(el.attrib))) for el in root.iter()]


# Azure refuses admin passwords shorter than this; shorter strings are too likely to
# occur in the markup itself to be replaced everywhere.
_MIN_SECRET = 6


def _xml_escape(value: str, *, quotes: bool = False) -> str:
    """The text as an XML writer escapes it (as xml.sax.saxutils.escape does; that module
    imports urllib.request and with it http.client, email and ssl, ~40 modules at boot)."""
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if quotes:
        value = value.replace('"', "&quot;").replace("'", "&apos;")
    return value


def _redact_copies(data: bytes, secrets: list[str], source: str) -> bytes:
    """The password repeated elsewhere (an attribute, a comment, another element), raw or
    XML-escaped, is replaced too: the kept copy holds no form of it anywhere."""
    variants: set[bytes] = set()
    for secret in secrets:
        for value in (secret, secret.strip()):
            if len(value) < _MIN_SECRET:
                continue
            variants.add(value.encode("utf-8"))
            variants.add(_xml_escape(value).encode("utf-8"))
            variants.add(_xml_escape(value, quotes=True).encode("utf-8"))
    changed = data
    for variant in sorted(variants, key=len, reverse=True):
        changed = changed.replace(variant, REDACTED.encode())
    if changed != data:
        try:
            same = _shape(_parse_tree(changed, source)) == _shape(_parse_tree(data, source))
        except IgngenError:
            same = False
        if not same:
            # The password also spells part of the markup: no faithful copy can be kept.
            raise OvfError(
                "the password also appears in the document's markup; no redacted copy is kept",
                source,
            ) from None
    return changed
