import json

import pytest
from support.ovf_builder import ED25519, RSA3072, ovf_xml

from igngen.azure.imds import parse_instance
from igngen.azure.ovf import parse
from igngen.errors import ReconcileError, RuleError
from igngen.render.model import Sourced
from igngen.render.reconcile import reconcile


def imds(**os_profile: object) -> bytes:
    compute: dict[str, object] = {"osProfile": os_profile, "vmId": "ABC-1"}
    return json.dumps({"compute": compute}).encode()


def test_ovf_only() -> None:
    m = reconcile(parse(ovf_xml(password="Pw-123456")))
    assert m.user_name.value == "azureuser" and "UserName" in m.user_name.source
    assert m.password.value is not None
    assert m.password_authentication.value is False  # DisableSshPasswordAuthentication=true
    assert [k.key.line for k in m.ssh_keys.value] == [ED25519]
    assert m.vm_id.value is None


def test_imds_wins_for_identity_and_warns_on_disagreement() -> None:
    inst = parse_instance(
        imds(
            adminUsername="imdsuser", computerName="imdshost", disablePasswordAuthentication="false"
        )
    )
    m = reconcile(parse(ovf_xml(user="imdsuser", host="ovfhost")), inst)
    assert (
        m.host_name.value == "imdshost"
        and m.host_name.source == "imds#/compute/osProfile/computerName"
    )
    assert m.password_authentication.value is True
    assert any("host name" in w for w in m.warnings)
    assert m.vm_id.value == "abc-1"


def test_imds_keys_replace_ovf_keys() -> None:
    data = json.loads(imds(adminUsername="azureuser"))
    data["compute"]["publicKeys"] = [
        {"keyData": RSA3072 + "\r\n", "path": "/home/azureuser/.ssh/authorized_keys"}
    ]
    m = reconcile(parse(ovf_xml()), parse_instance(json.dumps(data).encode()))
    assert [k.key.line for k in m.ssh_keys.value] == [RSA3072]
    assert m.ssh_keys.value[0].source == "imds#/compute/publicKeys/0"


def test_password_auth_default_follows_password() -> None:
    assert (
        reconcile(
            parse(ovf_xml(password="Pw-123456", disable_pw=None))
        ).password_authentication.value
        is True
    )
    assert reconcile(parse(ovf_xml(disable_pw=None))).password_authentication.value is False


def test_custom_data_precedence() -> None:
    ovf_doc = parse(ovf_xml(custom_data=b"from-ovf"))
    assert reconcile(ovf_doc).custom_data.value == b"from-ovf"
    data = json.loads(imds())
    data["compute"]["userData"] = "ZnJvbS1pbWRz"  # from-imds
    assert (
        reconcile(ovf_doc, parse_instance(json.dumps(data).encode())).custom_data.value
        == b"from-imds"
    )
    override: Sourced[bytes | None] = Sourced(b"explicit", "cli")
    assert reconcile(ovf_doc, custom_data_override=override).custom_data.value == b"explicit"


def test_duplicate_keys_kept_once_and_odd_paths_warned() -> None:
    m = reconcile(
        parse(
            ovf_xml(
                keys=[
                    ("/home/azureuser/.ssh/authorized_keys", ED25519),
                    ("/home/azureuser/.ssh/other_keys", ED25519),
                ]
            )
        )
    )
    assert len(m.ssh_keys.value) == 1
    assert any("not read by sshd" in w for w in m.warnings)
    assert any("duplicate SSH key" in w for w in m.warnings)


def test_certificate_only_keys_are_skipped_with_warning() -> None:
    m = reconcile(
        parse(ovf_xml(keys=[("/home/azureuser/.ssh/authorized_keys", None)], password="Pw-123456"))
    )
    assert m.ssh_keys.value == ()
    assert any("fingerprint" in w for w in m.warnings)


@pytest.mark.parametrize(
    ("doc", "error", "where"),
    [
        (ovf_xml(user=None), ReconcileError, "UserName"),
        (ovf_xml(host=None), ReconcileError, "HostName"),
        (ovf_xml(user="root"), RuleError, "UserName"),
        (ovf_xml(user="a:b"), RuleError, "UserName"),
        (ovf_xml(host="bad_host"), RuleError, "HostName"),
        (
            ovf_xml(keys=[("/home/azureuser/.ssh/authorized_keys", 'command="x" ' + ED25519)]),
            RuleError,
            "PublicKey[1]/Value",
        ),
        (
            ovf_xml(keys=[("/home/azureuser/../../etc/shadow", ED25519)]),
            RuleError,
            "PublicKey[1]/Path",
        ),
        (ovf_xml(password="x" * 80), RuleError, "UserPassword"),
    ],
)
def test_hostile_values_are_refused_with_location(
    doc: bytes, error: type[Exception], where: str
) -> None:
    with pytest.raises(error) as exc:
        reconcile(parse(doc))
    assert where in str(exc.value)
    assert "x" * 80 not in str(exc.value)


def test_hostile_imds_user_refused() -> None:
    inst = parse_instance(imds(adminUsername="evil\nroot:x:0:0"))
    with pytest.raises(RuleError) as exc:
        reconcile(parse(ovf_xml()), inst)
    assert "imds#/compute/osProfile/adminUsername" in str(exc.value)
