"""Parse and redact Azure's ``ovf-env.xml`` (pure: bytes in, values out).

Azure's document mixes prefixes freely (``wa:`` sections with default-namespace
children, or ``ns0:``/``ns1:`` everywhere), so elements are matched by
(namespace URI, local name) only, never by prefix. The parser is strict where
safety matters: no DTDs or entities, UTF-8 only, bounded size, depth and element
count (``xmldoc``), duplicate elements refused (cloud-init does the same;
first-wins would let a second ``UserName`` hide), booleans must be booleans.
Values are returned raw; the rules on user names, host names and keys are
applied later (``rules.py``) so that errors can name both the value's source
and the broken rule.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from igngen.azure import xmldoc
from igngen.azure.xmldoc import Element
from igngen.errors import IgngenError, OvfError, XmlError
from igngen.limits import MAX_OVF_BYTES
from igngen.secret import Secret

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from igngen.records import NamedTuple

OVF_NS = "http://schemas.dmtf.org/ovf/environment/1"
WA_NS = "http://schemas.microsoft.com/windowsazure"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

REDACTED = "REDACTED"

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


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


def _parse_tree(data: bytes, source: str) -> Element:
    try:
        return xmldoc.parse(data, source=source, max_bytes=MAX_OVF_BYTES)
    except XmlError as exc:
        raise OvfError(exc.message, exc.location) from None


class _Walker:
    def __init__(self, source: str) -> None:
        self.source = source

    def where(self, path: str) -> str:
        return f"{self.source}:{path}"

    def children(
        self, elem: Element, ns: str, name: str, path: str, *, fold_case: bool = False
    ) -> list[Element]:
        want = name.lower() if fold_case else name
        return [
            child
            for child in elem
            if child.ns == ns and (child.name.lower() if fold_case else child.name) == want
        ]

    def one(
        self,
        elem: Element,
        ns: str,
        name: str,
        path: str,
        *,
        fold_case: bool = False,
    ) -> Element | None:
        found = self.children(elem, ns, name, path, fold_case=fold_case)
        if len(found) > 1:
            raise OvfError(
                f"element appears {len(found)} times; expected once", self.where(f"{path}/{name}")
            )
        return found[0] if found else None

    def required(self, elem: Element, ns: str, name: str, path: str) -> Element:
        found = self.one(elem, ns, name, path)
        if found is None:
            raise OvfError("required element is missing", self.where(f"{path}/{name}"))
        return found

    def text(self, elem: Element | None, path: str, *, strip: bool = True) -> str | None:
        if elem is None:
            return None
        if elem.get(f"{{{XSI_NS}}}nil").strip().lower() == "true":
            return None
        if len(elem):
            raise OvfError("expected text, found child elements", self.where(path))
        value = elem.text
        if strip:
            value = value.strip()
        return value if value else None

    def boolean(self, elem: Element | None, path: str) -> bool | None:
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
    root = _parse_tree(data, source)
    w = _Walker(source)
    ns, local = root.ns, root.name
    if (ns, local) != (OVF_NS, "Environment"):
        raise OvfError(
            f"root element is {local!r} in namespace {ns or 'none'!r}; expected OVF Environment",
            w.where("/"),
        )
    locs: dict[str, str] = {}
    warnings: list[str] = []

    ps_path = "/Environment/ProvisioningSection"
    ps = w.required(root, WA_NS, "ProvisioningSection", "/Environment")
    lpcs_path = f"{ps_path}/LinuxProvisioningConfigurationSet"
    lpcs = w.required(ps, WA_NS, "LinuxProvisioningConfigurationSet", ps_path)

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
            clocal = child.name
            if child.ns != WA_NS:
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
    document is parsed under :func:`parse`'s rules (safe, well-formed, bounded);
    the password spans are located from the expat byte offsets recorded in its
    tree, which is exact even for prefixed tags, CDATA and multi-line values
    (a regex is not).
    """
    root = _parse_tree(data, source)  # refuses DTDs/entities/malformed input before we touch it
    # expat's offsets count from after a byte-order mark, which the copy leaves out.
    body = xmldoc.without_bom(data)
    spans: list[tuple[int, int]] = []
    texts: list[str] = []  # each password element's text
    for elem in root.iter():
        if not elem.name.lower().endswith("password"):
            continue
        # Content starts after the start tag's closing '>' (quotes may hold '>').
        i, quote = elem.start, b""
        while i < len(body):
            c = body[i : i + 1]
            if quote:
                if c == quote:
                    quote = b""
            elif c in (b'"', b"'"):
                quote = c
            elif c == b">":
                break
            i += 1
        if body[i - 1 : i] == b"/":
            continue  # <UserPassword/>: nothing to replace
        spans.append((i + 1, elem.end))
        texts.append(elem.text + "".join(child.tail for child in elem))
    out = bytearray()
    last = 0
    for begin, finish in sorted(spans):
        if finish <= begin or begin < last:
            continue  # empty, or inside a password element already replaced
        out += body[last:begin] + REDACTED.encode()
        last = finish
    out += body[last:]
    return _redact_copies(bytes(out), texts, source)


def _shape(root: Element) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(el.ns, el.name, tuple(sorted(el.attrib))) for el in root.iter()]


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
