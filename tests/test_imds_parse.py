import base64
import json

import pytest
from support.corpus import corpus_file

from igngen.azure.imds import parse_instance
from igngen.errors import ImdsDataError


def doc(**compute: object) -> bytes:
    base: dict[str, object] = {
        "osProfile": {
            "adminUsername": "azureuser",
            "computerName": "vm1",
            "disablePasswordAuthentication": "true",
        }
    }
    base.update(compute)
    return json.dumps({"compute": base}).encode()


def test_composed_corpus_document() -> None:
    inst = parse_instance(
        corpus_file("composed/imds-instance-2023-11-15-extended.example.json").read_bytes()
    )
    assert inst.admin_username == "azureuser"
    assert inst.computer_name == "igngen-test"
    assert inst.disable_password_authentication is True
    assert inst.public_keys is not None and len(inst.public_keys) == 2
    assert inst.vm_id == "5c08b38e-4d57-4c23-ac45-aca61037f084"
    assert inst.resource_disk_size_mib == 76800
    assert inst.pps_type == "None" and inst.has_custom_data is False


@pytest.mark.parametrize(
    "name",
    [
        "WALinuxAgent/valid.json",
        "WALinuxAgent/unicode.json",
        "azure-init/inline/imds.rs__BODY_CONTENTS.json",
        "afterburn/inline/mock_tests.rs__IMDS_BODY_WITH_KEY.json",
    ],
)
def test_corpus_documents_parse_or_fail_cleanly(name: str) -> None:
    data = corpus_file(name).read_bytes()
    try:
        parse_instance(data, source=name)
    except ImdsDataError as exc:
        assert str(exc).startswith(name) and "\n" not in str(exc)


def test_user_data_is_decoded() -> None:
    inst = parse_instance(doc(userData=base64.b64encode(b'{"ignition":{}}').decode()))
    assert inst.user_data == b'{"ignition":{}}'
    assert parse_instance(doc(userData="")).user_data is None


def test_bool_spellings() -> None:
    assert (
        parse_instance(
            doc(osProfile={"disablePasswordAuthentication": False})
        ).disable_password_authentication
        is False
    )
    assert (
        parse_instance(
            doc(osProfile={"disablePasswordAuthentication": "FALSE"})
        ).disable_password_authentication
        is False
    )
    assert parse_instance(doc(osProfile={})).disable_password_authentication is None


@pytest.mark.parametrize(
    ("data", "pointer"),
    [
        (b"{", "imds:1:2"),
        (b"[]", "imds#"),
        (b"{}", "imds#/compute"),
        (doc(osProfile="x"), "imds#/compute/osProfile"),
        (doc(osProfile={"adminUsername": 7}), "imds#/compute/osProfile/adminUsername"),
        (
            doc(osProfile={"disablePasswordAuthentication": "maybe"}),
            "imds#/compute/osProfile/disablePasswordAuthentication",
        ),
        (doc(publicKeys={}), "imds#/compute/publicKeys"),
        (doc(publicKeys=[{"path": "/x"}]), "imds#/compute/publicKeys/0/keyData"),
        (doc(publicKeys=["x"]), "imds#/compute/publicKeys/0"),
        (doc(userData="***"), "imds#/compute/userData"),
        (b"\xff\xfe", "imds"),
        (b" " * (2 * 1024 * 1024), "limit"),
    ],
)
def test_bad_documents_are_located(data: bytes, pointer: str) -> None:
    with pytest.raises(ImdsDataError) as exc:
        parse_instance(data)
    assert pointer in str(exc.value)


@pytest.mark.parametrize(
    "size", ["lots", "-16384", "+5", " 5", "5 ", "\u0661\u0662", "1e3", 5, None, "9" * 40]
)
def test_bad_resource_disk_size_is_ignored_with_a_located_warning(size: object) -> None:
    # IMDS is optional: a bad size must not fail provisioning, and must never declare a
    # disk for wiping (the size decides whether the resource disk is formatted).
    inst = parse_instance(doc(storageProfile={"resourceDisk": {"size": size}}))
    assert inst.resource_disk_size_mib is None
    if size is not None:
        assert any("imds#/compute/storageProfile/resourceDisk/size" in w for w in inst.warnings)


def test_resource_disk_size_zero_means_no_resource_disk() -> None:
    # IMDS sends "0" for VM sizes without a resource disk: a fact, not a bad value.
    inst = parse_instance(doc(storageProfile={"resourceDisk": {"size": "0"}}))
    assert inst.resource_disk_size_mib == 0 and not inst.warnings


def test_resource_disk_size_upper_bound() -> None:
    from igngen.limits import MAX_RESOURCE_DISK_MIB

    ok = parse_instance(doc(storageProfile={"resourceDisk": {"size": str(MAX_RESOURCE_DISK_MIB)}}))
    assert ok.resource_disk_size_mib == MAX_RESOURCE_DISK_MIB
    over = parse_instance(
        doc(storageProfile={"resourceDisk": {"size": str(MAX_RESOURCE_DISK_MIB + 1)}})
    )
    assert over.resource_disk_size_mib is None and over.warnings
