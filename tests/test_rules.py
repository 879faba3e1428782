import base64
import struct

import pytest
from support.ovf_builder import ED25519, KEYS, RSA3072

from igngen.errors import RuleError
from igngen.render.rules import (
    check_host_name,
    check_key_path,
    check_password,
    check_user_name,
    parse_ssh_public_key,
)


@pytest.mark.parametrize("name", ["azureuser", "a_b", "_svc", "Deploy.Bot", "x" * 32, "u-1"])
def test_good_user_names(name: str) -> None:
    assert check_user_name(name, "here") == name


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("", "empty"),
        ("x" * 33, "at most 32"),
        ("root", "reserved"),
        ("Admin", "reserved"),
        ("bad\nname", "may only contain"),
        ("bad:name", "may only contain"),
        ("-rf", "may only contain"),
        ("9lives", "may only contain"),
        ("trailing.", "must not end"),
        ("spa ce", "may only contain"),
        ("ümlaut", "may only contain"),
    ],
)
def test_bad_user_names(name: str, needle: str) -> None:
    with pytest.raises(RuleError) as exc:
        check_user_name(name, "ovf-env.xml:/UserName")
    assert needle in str(exc.value) and str(exc.value).startswith("ovf-env.xml:/UserName")
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize("name", ["web-01", "a", "web-01.internal.example", "x" * 63, "h1"])
def test_good_host_names(name: str) -> None:
    assert check_host_name(name, "here") == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "-lead",
        "trail-",
        "a..b",
        "under_score",
        "semi;colon",
        "new\nline",
        "x" * 64 + ".a",
        "1234",
        "1.2.3.4",
        "a" * 65,
        "sp ace",
        "x.",
        "colon:",
    ],
)
def test_bad_host_names(name: str) -> None:
    with pytest.raises(RuleError):
        check_host_name(name, "here")


def test_keys_parse_for_real() -> None:
    ed = parse_ssh_public_key(ED25519 + "\n", "k")
    assert ed.key_type == "ssh-ed25519" and ed.bits == 256 and ed.line == ED25519
    rsa = parse_ssh_public_key(RSA3072, "k")
    assert rsa.bits == 3072
    ec = parse_ssh_public_key((KEYS / "ecdsa256.pub").read_text(), "k")
    assert ec.key_type == "ecdsa-sha2-nistp256"
    assert ed.fingerprint.startswith("SHA256:")


def _blob(kind: bytes, *parts: bytes) -> str:
    data = b"".join(struct.pack(">I", len(p)) + p for p in (kind, *parts))
    return base64.b64encode(data).decode()


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('command="rm -rf /" ' + ED25519, "options"),
        ("no-pty," + ED25519, "options"),
        (ED25519 + "\nssh-ed25519 AAAA evil", "line break"),
        (ED25519.replace(" ", "\r", 1), "line break"),
        ("ssh-dss AAAAB3NzaC1kc3M= x", "unsupported"),
        ("ssh-ed25519", "no key data"),
        ("ssh-ed25519 !!!notbase64", "base64"),
        ("ssh-rsa " + ED25519.split()[1], "says"),
        ("ssh-ed25519 " + _blob(b"ssh-ed25519", b"short"), "32 bytes"),
        ("ssh-ed25519 " + _blob(b"ssh-ed25519", b"k" * 32, b"extra"), "trailing"),
        ("ssh-ed25519 " + base64.b64encode(b"\x00\x00\x00\xffssh").decode(), "truncated"),
        ((KEYS / "rsa1024.pub").read_text(), "at least 2048"),
        ("", "empty"),
        ("ssh-ed25519 " + "A" * 20000, "at most"),
    ],
)
def test_hostile_keys(text: str, needle: str) -> None:
    with pytest.raises(RuleError) as exc:
        parse_ssh_public_key(text, "imds#/compute/publicKeys/0/keyData")
    assert needle in str(exc.value)
    assert str(exc.value).startswith("imds#/compute/publicKeys/0/keyData")


def test_key_paths() -> None:
    assert check_key_path(None, "u", "w") == "/home/u/.ssh/authorized_keys"
    assert (
        check_key_path("/home/u/.ssh/authorized_keys", "u", "w") == "/home/u/.ssh/authorized_keys"
    )
    assert (
        check_key_path("/home/u/.ssh/authorized_keys2", "u", "w") == "/home/u/.ssh/authorized_keys2"
    )
    for bad in [
        "/home/u/.ssh/../../../etc/shadow",
        "/root/.ssh/authorized_keys",
        "relative/path",
        "/home/other/.ssh/authorized_keys",
        "/home/u/.ssh/",
        "/home/u/.ssh/sub/dir",
        "$HOME/u/.ssh/authorized_keys",
        "/home/u/.ssh/a\nb",
        "/home/u2/.ssh/x",
    ]:
        with pytest.raises(RuleError):
            check_key_path(bad, "u", "w")


def test_password_shape_errors_never_quote_the_password() -> None:
    for bad in ["x" * 73, "pass\nword", "nul\x00l", "é" * 37]:
        with pytest.raises(RuleError) as exc:
            check_password(bad, "ovf:/UserPassword")
        assert bad not in str(exc.value) and bad[:5] not in str(exc.value)
    check_password("Good-Passw0rd", "w")
