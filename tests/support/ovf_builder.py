"""Build ovf-env.xml documents for tests (own helper; shapes follow Azure's documents)."""

from __future__ import annotations

import base64
from pathlib import Path
from xml.sax.saxutils import escape

KEYS = Path(__file__).resolve().parent.parent / "data" / "keys"
ED25519 = (KEYS / "ed25519.pub").read_text().strip()
RSA3072 = (KEYS / "rsa3072.pub").read_text().strip()


def ovf_xml(
    *,
    user: str | None = "azureuser",
    host: str | None = "testhost",
    password: str | None = None,
    disable_pw: str | None = "true",
    keys: list[tuple[str | None, str | None]] | None = None,
    custom_data: bytes | str | None = None,
    raw_lpcs_extra: str = "",
    platform: str = "<ProvisionGuestAgent>true</ProvisionGuestAgent>",
    prefixed: bool = False,
) -> bytes:
    """keys: list of (path, value). ``custom_data`` bytes are base64-encoded; str is used raw."""
    if keys is None:
        keys = [(f"/home/{user}/.ssh/authorized_keys", ED25519)]
    fields = []

    def el(name: str, text: str | None) -> None:
        if text is not None:
            fields.append(f"<{name}>{escape(text)}</{name}>")

    fields.append("<ConfigurationSetType>LinuxProvisioningConfiguration</ConfigurationSetType>")
    el("HostName", host)
    el("UserName", user)
    el("UserPassword", password)
    el("DisableSshPasswordAuthentication", disable_pw)
    if keys:
        pks = []
        for path, value in keys:
            inner = "<Fingerprint>ABCDEF0123456789ABCDEF0123456789ABCDEF01</Fingerprint>"
            if path is not None:
                inner += f"<Path>{escape(path)}</Path>"
            if value is not None:
                inner += f"<Value>{escape(value)}</Value>"
            pks.append(f"<PublicKey>{inner}</PublicKey>")
        fields.append(f"<SSH><PublicKeys>{''.join(pks)}</PublicKeys></SSH>")
    if custom_data is not None:
        text = (
            base64.b64encode(custom_data).decode()
            if isinstance(custom_data, bytes)
            else custom_data
        )
        fields.append(f"<CustomData>{text}</CustomData>")
    body = "".join(fields) + raw_lpcs_extra
    doc = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" '
        'xmlns:wa="http://schemas.microsoft.com/windowsazure" '
        'xmlns:i="http://www.w3.org/2001/XMLSchema-instance">'
        "<wa:ProvisioningSection><wa:Version>1.0</wa:Version>"
        f'<LinuxProvisioningConfigurationSet xmlns="http://schemas.microsoft.com/windowsazure">{body}'
        "</LinuxProvisioningConfigurationSet></wa:ProvisioningSection>"
        "<wa:PlatformSettingsSection><wa:Version>1.0</wa:Version>"
        f'<PlatformSettings xmlns="http://schemas.microsoft.com/windowsazure">{platform}</PlatformSettings>'
        "</wa:PlatformSettingsSection></Environment>\n"
    )
    if prefixed:
        # Same document, every Azure element with an explicit ns1: prefix.
        import re

        doc = doc.replace(' xmlns="http://schemas.microsoft.com/windowsazure"', "")
        doc = doc.replace("xmlns:wa=", "xmlns:ns1=").replace("wa:", "ns1:")
        doc = re.sub(r"<(/?)(?!ns1:|Environment|\?xml)([A-Za-z]+)", r"<\1ns1:\2", doc)
    return doc.encode()
