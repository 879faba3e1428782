import base64

import pytest
from support.corpus import corpus_file
from support.ovf_builder import ED25519, ovf_xml

from igngen.azure import ovf
from igngen.errors import OvfError


def test_parses_default_namespace_children() -> None:
    env = ovf.parse(ovf_xml(password="S3cret-Pass!", custom_data=b'{"a":1}'))
    assert env.user_name == "azureuser"
    assert env.host_name == "testhost"
    assert env.user_password is not None and env.user_password.reveal() == "S3cret-Pass!"
    assert env.disable_ssh_password_authentication is True
    assert env.public_keys[0].value == ED25519
    assert env.custom_data == b'{"a":1}'
    assert env.provision_guest_agent is True
    assert env.locations["UserName"].endswith("/LinuxProvisioningConfigurationSet/UserName")


def test_prefix_independent() -> None:
    a = ovf.parse(ovf_xml(password="pw-123456A"))
    b = ovf.parse(ovf_xml(password="pw-123456A", prefixed=True))
    assert b"ns1:UserName" in ovf_xml(prefixed=True)
    assert (a.user_name, a.host_name, a.public_keys[0].value) == (
        b.user_name,
        b.host_name,
        b.public_keys[0].value,
    )


@pytest.mark.parametrize(
    "name",
    [
        "composed/ovf-env.composed-example.xml",
        "cloud-init/inline/test_azure.py__construct_ovf_env__generated.xml",
        "cloud-init/inline/test_azure.py__construct_ovf_env__pps_savable_generated.xml",
        "azure-init/inline/media.rs__test_get_ovf_env_none_missing.xml",
    ],
)
def test_corpus_documents_parse(name: str) -> None:
    env = ovf.parse(corpus_file(name).read_bytes(), source=name)
    assert env.user_name and env.host_name


def test_corpus_pps_savable() -> None:
    env = ovf.parse(
        corpus_file(
            "cloud-init/inline/test_azure.py__construct_ovf_env__pps_savable_generated.xml"
        ).read_bytes()
    )
    assert env.preprovisioned_vm is True
    assert env.preprovisioned_vm_type == "Savable"


def test_walinuxagent_fixture_custom_data_not_base64_is_located() -> None:
    # WALinuxAgent's fixture carries the literal text "CustomData" — not base64.
    with pytest.raises(OvfError) as exc:
        ovf.parse(corpus_file("WALinuxAgent/ovf-env.xml").read_bytes(), source="ovf-env.xml")
    assert "CustomData" in str(exc.value) and "base64" in str(exc.value)


def test_custom_data_with_whitespace_and_newlines() -> None:
    raw = base64.b64encode(b"x" * 200).decode()
    wrapped = "\n".join(raw[i : i + 60] for i in range(0, len(raw), 60))
    env = ovf.parse(ovf_xml(custom_data=f"\n  {wrapped}\n"))
    assert env.custom_data == b"x" * 200


def test_nil_and_empty_elements_are_absent() -> None:
    env = ovf.parse(
        ovf_xml(password="", disable_pw=None, platform='<PreprovisionedVMType i:nil="true"/>')
    )
    assert env.user_password is None
    assert env.disable_ssh_password_authentication is None
    assert env.preprovisioned_vm_type is None


def test_platform_setting_names_case_insensitive() -> None:
    env = ovf.parse(
        ovf_xml(
            platform="<PreprovisionedVm>TRUE</PreprovisionedVm><PreprovisionedVmType>Running</PreprovisionedVmType>"
        )
    )
    assert env.preprovisioned_vm is True and env.preprovisioned_vm_type == "Running"


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE Environment [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1">&xxe;</Environment>"""
BILLION = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1">&lol2;</Environment>"""


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        (XXE, "DTD"),
        (BILLION, "DTD"),
        (b"<Environment", "malformed XML"),
        (b"", "malformed XML"),
        (b"\xff\xfe<\x00", "UTF-16"),
        (b'<?xml version="1.0" encoding="iso-8859-1"?><a/>', "UTF-8"),
        ("<Environment>\u00e9</Environment>".encode("latin-1"), "UTF-8"),
        (b"<x>" + b" " * (600 * 1024) + b"</x>", "limit"),
        (b'<Environment xmlns="urn:other"/>', "expected OVF Environment"),
        (
            b'<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1"/>',
            "ProvisioningSection",
        ),
        (ovf_xml(raw_lpcs_extra="<UserName>second</UserName>"), "appears 2 times"),
        (ovf_xml(disable_pw="maybe"), "true or false"),
        (ovf_xml(custom_data="!!notbase64!!"), "base64"),
        (
            ovf_xml(keys=[("/home/azureuser/.ssh/authorized_keys", None)]).replace(
                b"<Fingerprint>ABCDEF0123456789ABCDEF0123456789ABCDEF01</Fingerprint>", b""
            ),
            "neither Value nor Fingerprint",
        ),
        (
            ovf_xml().replace(b"<UserName>azureuser</UserName>", b"<UserName><b>x</b></UserName>"),
            "expected text",
        ),
    ],
)
def test_hostile_documents_are_refused_with_location(doc: bytes, needle: str) -> None:
    with pytest.raises(OvfError) as exc:
        ovf.parse(doc, source="media/ovf-env.xml")
    text = str(exc.value)
    assert needle in text
    assert text.startswith("media/ovf-env.xml")
    assert "\n" not in text


def test_redact_keeps_everything_but_the_password() -> None:
    doc = ovf_xml(password="Very$ecret-Pa55")
    red = ovf.redact(doc)
    assert b"Very$ecret-Pa55" not in red
    assert red == doc.replace(b"Very$ecret-Pa55", b"REDACTED")
    assert ovf.parse(red).user_name == "azureuser"


def test_redact_prefixed_multiline_and_cdata() -> None:
    doc = ovf_xml(password="line1", prefixed=True).replace(
        b"<ns1:UserPassword>line1</ns1:UserPassword>",
        b'<ns1:UserPassword attr="a>b">multi\nline<![CDATA[ pw> ]]>secret</ns1:UserPassword>',
    )
    red = ovf.redact(doc)
    assert b"secret" not in red and b"multi" not in red and b"pw>" not in red
    assert b'<ns1:UserPassword attr="a>b">REDACTED</ns1:UserPassword>' in red


def test_redact_refuses_entities() -> None:
    with pytest.raises(OvfError):
        ovf.redact(XXE)


def test_password_not_in_repr_or_str() -> None:
    env = ovf.parse(ovf_xml(password="Hidden-Passw0rd"))
    assert "Hidden-Passw0rd" not in repr(env)
    assert "Hidden-Passw0rd" not in str(env)


def test_redact_leaves_no_copy_of_the_password_anywhere() -> None:
    secret = "Rep3ated&<Pass>"
    doc = ovf_xml(password=secret)
    escaped = "Rep3ated&amp;&lt;Pass&gt;"
    assert escaped.encode() in doc
    doc = doc.replace(
        b"</Environment>",
        f'<!-- set to {escaped} by the portal --><Extra note="{escaped}">{escaped}</Extra>'
        "</Environment>".encode(),
    )
    red = ovf.redact(doc)
    assert escaped.encode() not in red and b"Rep3ated" not in red
    assert red.count(b"REDACTED") == 4
    assert ovf.parse(red).user_name == "azureuser"


def test_redact_refuses_when_the_password_spells_markup() -> None:
    doc = ovf_xml(password="Environment")
    with pytest.raises(OvfError, match="no redacted copy"):
        ovf.redact(doc)
