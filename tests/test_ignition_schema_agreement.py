"""Accept/reject agreement: igngen's validators against Debian's ``ignition-validate`` 2.14.

A valid base config per spec (3.0.0 … 3.3.0 and 3.4.0-experimental) is
mutated one rule at a time; every variant goes to ``ignition-validate``, to
``validate`` (JSON Schema + semantic rules, what ``igngen validate`` runs) and
to the fast ``check`` (what ``render`` runs). All three must agree on
accept/reject, with one documented exception: a field newer than the declared
version, which Ignition accepts with an "Unused key" warning (and drops) and
igngen rejects (``newer-field``).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.oracle import ignition_validate, require_validate, run_many

from igngen.errors import IgnitionConfigError
from igngen.ignition import spec
from igngen.ignition.reports import NEWER_FIELD
from igngen.ignition.validate import check, validate

VERSIONS = ("3.0.0", "3.1.0", "3.2.0", "3.3.0", "3.4.0-experimental")
SHA512 = "sha512-" + "ab" * 64
SHA256 = "sha256-" + "cd" * 32


def base(version: str) -> dict[str, Any]:
    config: dict[str, Any] = {
        "ignition": {"version": version},
        "storage": {
            "files": [
                {
                    "path": "/etc/hostname",
                    "mode": 420,
                    "overwrite": True,
                    "contents": {"source": "data:,vm1%0A", "verification": {"hash": SHA512}},
                },
                {"path": "/etc/motd", "append": [{"source": "data:;base64,aGk="}]},
            ],
            "directories": [{"path": "/var/lib/x", "mode": 493, "user": {"name": "core"}}],
            "links": [{"path": "/etc/localtime", "target": "/usr/share/zoneinfo/UTC"}],
            "disks": [
                {
                    "device": "/dev/sdb",
                    "wipeTable": True,
                    "partitions": [{"number": 1, "label": "data", "sizeMiB": 0}],
                }
            ],
            "filesystems": [
                {"device": "/dev/sdb1", "format": "ext4", "path": "/var/data", "label": "data"}
            ],
        },
        "systemd": {
            "units": [
                {
                    "name": "hello.service",
                    "enabled": True,
                    "contents": "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n",
                    "dropins": [{"name": "10-x.conf", "contents": "[Service]\nNice=1\n"}],
                }
            ]
        },
        "passwd": {
            "users": [
                {
                    "name": "azureuser",
                    "groups": ["sudo"],
                    "sshAuthorizedKeys": ["ssh-ed25519 AAAA a"],
                }
            ],
            "groups": [{"name": "ops", "gid": 2000}],
        },
    }
    order = spec.ORDER[version]
    if order >= spec.ORDER["3.1.0"]:
        config["storage"]["files"][0]["contents"]["compression"] = ""
        config["storage"]["filesystems"][0]["mountOptions"] = ["noatime"]
    if order >= spec.ORDER["3.2.0"]:
        config["passwd"]["users"][0]["shouldExist"] = True
    if order >= spec.ORDER["3.3.0"]:
        config["kernelArguments"] = {"shouldExist": ["quiet"], "shouldNotExist": ["splash"]}
    return config


Mutation = Callable[[dict[str, Any]], None]


def _file(c: dict[str, Any]) -> dict[str, Any]:
    return c["storage"]["files"][0]  # type: ignore[no-any-return]


def _set(path: str, value: Any) -> Mutation:
    def apply(c: dict[str, Any]) -> None:
        parts = path.split(".")
        node: Any = c
        for p in parts[:-1]:
            node = node[int(p)] if p.isdigit() else node.setdefault(p, {})
        last = parts[-1]
        if last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value

    return apply


def _add(path: str, entry: Any) -> Mutation:
    def apply(c: dict[str, Any]) -> None:
        node: Any = c
        for p in path.split("."):
            node = (
                node[int(p)]
                if p.isdigit()
                else node.setdefault(p, {} if p != path.split(".")[-1] else [])
            )
        node.append(entry)

    return apply


MUTATIONS: list[tuple[str, Mutation]] = [
    ("unchanged", lambda c: None),
    ("relative path", _set("storage.files.0.path", "etc/x")),
    ("dirty path", _set("storage.files.0.path", "/etc//x")),
    ("dot-dot path", _set("storage.files.0.path", "/etc/../x")),
    ("empty path", _set("storage.files.0.path", "")),
    ("mode too large", _set("storage.files.0.mode", 4096 * 2)),
    ("mode negative", _set("storage.files.0.mode", -1)),
    ("mode setuid (warn only)", _set("storage.files.0.mode", 2541)),
    ("mode as string", _set("storage.files.0.mode", "0644")),
    ("overwrite without source", _set("storage.files.1.overwrite", True)),
    ("overwrite false without source", _set("storage.files.1.overwrite", False)),
    ("compression bogus", _set("storage.files.1.append.0.compression", "bzip2")),
    ("compression gzip", _set("storage.files.1.append.0.compression", "gzip")),
    ("data url with space", _set("storage.files.0.contents.source", "data:,a b")),
    ("data url with hash", _set("storage.files.0.contents.source", "data:,a#b")),
    ("data url with brace", _set("storage.files.0.contents.source", "data:,{}")),
    ("data url with newline", _set("storage.files.0.contents.source", "data:,a\nb")),
    ("data url non-ascii", _set("storage.files.0.contents.source", "data:,é")),
    ("data url bad escape", _set("storage.files.0.contents.source", "data:,%zz")),
    (
        "data url fine punctuation",
        _set("storage.files.0.contents.source", "data:,a!~*'()=/:,;?+@$&"),
    ),
    ("data url bad base64", _set("storage.files.0.contents.source", "data:;base64,a")),
    (
        "data url media type",
        _set("storage.files.0.contents.source", "data:text/plain;charset=utf-8;base64,aGk="),
    ),
    ("data url escaped", _set("storage.files.0.contents.source", "data:,%41%0a")),
    ("data url base64 no padding", _set("storage.files.0.contents.source", "data:;base64,aGk")),
    ("data url no comma", _set("storage.files.0.contents.source", "data:abc")),
    ("data url caret", _set("storage.files.0.contents.source", "data:,a^b")),
    ("data url backslash", _set("storage.files.0.contents.source", "data:,a\\b")),
    ("data url pipe", _set("storage.files.0.contents.source", "data:,a|b")),
    ("data url quote", _set("storage.files.0.contents.source", 'data:,a"b')),
    ("data url tab", _set("storage.files.0.contents.source", "data:,a\tb")),
    ("data url upper-case scheme", _set("storage.files.0.contents.source", "DATA:,abc")),
    ("url with newline", _set("storage.files.0.contents.source", "https://e/a\nb")),
    ("url with space in host", _set("storage.files.0.contents.source", "https://a b/x")),
    ("url with space in path", _set("storage.files.0.contents.source", "https://e/a b")),
    ("url with fragment", _set("storage.files.0.contents.source", "https://e/a#frag")),
    ("url unclosed ipv6 host", _set("storage.files.0.contents.source", "https://[::1/x")),
    ("url ipv6 host with port", _set("storage.files.0.contents.source", "https://[::1]:8080/x")),
    ("url opaque http", _set("storage.files.0.contents.source", "http:opaque")),
    ("url upper-case scheme", _set("storage.files.0.contents.source", "HTTPS://e/x")),
    ("url big port", _set("storage.files.0.contents.source", "https://e:99999/x")),
    ("url non-numeric port", _set("storage.files.0.contents.source", "https://e:abc/x")),
    ("url userinfo", _set("storage.files.0.contents.source", "https://u:p@e:1/x")),
    ("url brace in host", _set("storage.files.0.contents.source", "https://e{x}/y")),
    ("gs url", _set("storage.files.0.contents.source", "gs://bucket/obj")),
    ("arn url", _set("storage.files.0.contents.source", "arn:aws:s3:::bucket/obj")),
    ("ftp url", _set("storage.files.0.contents.source", "ftp://host/x")),
    ("no scheme url", _set("storage.files.0.contents.source", "/just/a/path")),
    ("https url", _set("storage.files.0.contents.source", "https://example.com/x")),
    ("sha256 hash", _set("storage.files.0.contents.verification.hash", SHA256)),
    ("md5 hash", _set("storage.files.0.contents.verification.hash", "md5-" + "0" * 32)),
    ("short hash", _set("storage.files.0.contents.verification.hash", "sha512-abc")),
    ("hash without dash", _set("storage.files.0.contents.verification.hash", "sha512")),
    ("duplicate file path", _add("storage.files", {"path": "/etc/motd"})),
    ("file and directory same path", _add("storage.directories", {"path": "/etc/motd"})),
    ("file and link same path", _add("storage.links", {"path": "/etc/hostname", "target": "/x"})),
    ("file under a link", _add("storage.files", {"path": "/etc/localtime/x"})),
    ("link without target", _add("storage.links", {"path": "/l2"})),
    (
        "hard link to a directory",
        _add("storage.links", {"path": "/l3", "target": "/var/lib/x", "hard": True}),
    ),
    ("user id and name", _set("storage.directories.0.user", {"id": 0, "name": "root"})),
    ("unit contents: no section", _set("systemd.units.0.contents", "foo")),
    ("unit contents: unclosed section", _set("systemd.units.0.contents", "[Unit")),
    ("unit contents: option before section", _set("systemd.units.0.contents", "A=b")),
    ("unit contents: option without =", _set("systemd.units.0.contents", "[Unit]\nfoo")),
    ("unit contents: trailing backslash at end", _set("systemd.units.0.contents", "[Unit]\nA=b\\")),
    ("unit contents: comment first", _set("systemd.units.0.contents", "# c\n[Unit]\nA=b")),
    ("unit contents: empty option name", _set("systemd.units.0.contents", "[Unit]\n=x")),
    ("unit contents: garbage after section", _set("systemd.units.0.contents", "[Unit] x\nA=b")),
    ("unit contents: name line then option", _set("systemd.units.0.contents", "[Unit]\nfoo\nA=b")),
    (
        "unit contents: continued comment",
        _set("systemd.units.0.contents", "[Unit]\n# a \\\nfoo\nA=b"),
    ),
    (
        "unit contents: continued value",
        _set("systemd.units.0.contents", "[Unit]\nA=b \\\n  c\n\nB=d"),
    ),
    ("unit contents: CRLF", _set("systemd.units.0.contents", "[Unit]\r\nA=b\r\n")),
    (
        "unit contents: semicolon comment, spaces",
        _set("systemd.units.0.contents", "[Unit]\n;x\n  \t B = c"),
    ),
    ("unit contents: second section unclosed", _set("systemd.units.0.contents", "[Unit]\nA=b\n[X")),
    ("dropin contents bad", _set("systemd.units.0.dropins.0.contents", "[Service]\\nNice")),
    (
        "partitions overlap",
        _set(
            "storage.disks.0.partitions",
            [
                {"number": 1, "startMiB": 10, "sizeMiB": 10},
                {"number": 2, "startMiB": 15, "sizeMiB": 10},
            ],
        ),
    ),
    (
        "partitions adjacent",
        _set(
            "storage.disks.0.partitions",
            [
                {"number": 1, "startMiB": 10, "sizeMiB": 10},
                {"number": 2, "startMiB": 20, "sizeMiB": 0},
            ],
        ),
    ),
    (
        "partitions start zero",
        _set(
            "storage.disks.0.partitions",
            [
                {"number": 1, "startMiB": 0, "sizeMiB": 10},
                {"number": 2, "startMiB": 0, "sizeMiB": 10},
            ],
        ),
    ),
    (
        "partition fill then overlap",
        _set(
            "storage.disks.0.partitions",
            [
                {"number": 1, "startMiB": 10, "sizeMiB": 0},
                {"number": 2, "startMiB": 10, "sizeMiB": 5},
            ],
        ),
    ),
    (
        "partition zero number with shouldExist false",
        _set("storage.disks.0.partitions", [{"label": "a"}, {"number": 2, "shouldExist": False}]),
    ),
    (
        "partition good guid",
        _set("storage.disks.0.partitions.0.typeGuid", "0FC63DAF-8483-4772-8E79-3D69D8477DE4"),
    ),
    ("s3 url", _set("storage.files.0.contents.source", "s3://bucket/key")),
    ("s3 empty versionId", _set("storage.files.0.contents.source", "s3://bucket/key?versionId=")),
    ("s3 versionId", _set("storage.files.0.contents.source", "s3://bucket/key?versionId=abc")),
    ("arn not s3", _set("storage.files.0.contents.source", "arn:aws:ec2:::bucket/obj")),
    ("arn no object", _set("storage.files.0.contents.source", "arn:aws:s3:::bucket")),
    (
        "arn access point",
        _set(
            "storage.files.0.contents.source",
            "arn:aws:s3:us-west-2:123456789012:accesspoint/test/object/x",
        ),
    ),
    (
        "arn short access point",
        _set(
            "storage.files.0.contents.source", "arn:aws:s3:us-west-2:123456789012:accesspoint/test"
        ),
    ),
    ("tftp url", _set("storage.files.0.contents.source", "tftp://host/x")),
    (
        "luks label too long",
        _set("storage.luks", [{"name": "l", "device": "/dev/sdc", "label": "x" * 48}]),
    ),
    (
        "luks tang https",
        _set(
            "storage.luks",
            [
                {
                    "name": "l",
                    "device": "/dev/sdc",
                    "clevis": {"tang": [{"url": "https://t", "thumbprint": "x"}]},
                }
            ],
        ),
    ),
    (
        "luks tang no thumbprint",
        _set(
            "storage.luks",
            [{"name": "l", "device": "/dev/sdc", "clevis": {"tang": [{"url": "https://t"}]}}],
        ),
    ),
    (
        "luks tang ftp",
        _set(
            "storage.luks",
            [
                {
                    "name": "l",
                    "device": "/dev/sdc",
                    "clevis": {"tang": [{"url": "ftp://t", "thumbprint": "x"}]},
                }
            ],
        ),
    ),
    (
        "luks custom with tpm2",
        _set(
            "storage.luks",
            [
                {
                    "name": "l",
                    "device": "/dev/sdc",
                    "clevis": {"tpm2": True, "custom": {"pin": "sss", "config": "{}"}},
                }
            ],
        ),
    ),
    (
        "luks custom bad pin",
        _set(
            "storage.luks",
            [
                {
                    "name": "l",
                    "device": "/dev/sdc",
                    "clevis": {"custom": {"pin": "foo", "config": "{}"}},
                }
            ],
        ),
    ),
    (
        "luks custom no config",
        _set(
            "storage.luks",
            [{"name": "l", "device": "/dev/sdc", "clevis": {"custom": {"pin": "tpm2"}}}],
        ),
    ),
    (
        "luks custom ok",
        _set(
            "storage.luks",
            [
                {
                    "name": "l",
                    "device": "/dev/sdc",
                    "clevis": {"custom": {"pin": "tang", "config": "{}", "needsNetwork": True}},
                }
            ],
        ),
    ),
    ("luks without device", _set("storage.luks", [{"name": "l"}])),
    (
        "luks keyfile bad url",
        _set(
            "storage.luks", [{"name": "l", "device": "/dev/sdc", "keyFile": {"source": "ftp://x"}}]
        ),
    ),
    (
        "swap label too long",
        _set("storage.filesystems.0", {"device": "/dev/sdd", "format": "swap", "label": "x" * 16}),
    ),
    (
        "vfat label ok",
        _set("storage.filesystems.0", {"device": "/dev/sdd", "format": "vfat", "label": "x" * 11}),
    ),
    (
        "xfs label too long",
        _set("storage.filesystems.0", {"device": "/dev/sdd", "format": "xfs", "label": "x" * 13}),
    ),
    (
        "filesystem label without format",
        _set("storage.filesystems.0", {"device": "/dev/sdd", "label": "x"}),
    ),
    ("filesystem relative path", _set("storage.filesystems.0.path", "var")),
    (
        "raid10 level",
        _set(
            "storage.raid", [{"name": "md0", "level": "raid10", "devices": ["/dev/a"], "spares": 1}]
        ),
    ),
    (
        "raid linear spares",
        _set(
            "storage.raid", [{"name": "md0", "level": "linear", "devices": ["/dev/a"], "spares": 1}]
        ),
    ),
    (
        "raid duplicate device",
        _set("storage.raid", [{"name": "md0", "level": "raid1", "devices": ["/dev/a", "/dev/a"]}]),
    ),
    (
        "tls ca data url",
        _set("ignition.security", {"tls": {"certificateAuthorities": [{"source": "data:,x"}]}}),
    ),
    (
        "tls ca duplicate",
        _set(
            "ignition.security",
            {"tls": {"certificateAuthorities": [{"source": "data:,x"}, {"source": "data:,x"}]}},
        ),
    ),
    (
        "replace with hash",
        _set(
            "ignition.config",
            {"replace": {"source": "data:,%7B%7D", "verification": {"hash": SHA512}}},
        ),
    ),
    ("hash without source", _set("storage.files.1.contents", {"verification": {"hash": SHA512}})),
    ("proxy noProxy duplicate", _set("ignition.proxy", {"noProxy": ["a", "a"]})),
    ("timeouts", _set("ignition.timeouts", {"httpTotal": 5})),
    (
        "user shouldExist false alone",
        _set("passwd.users.0", {"name": "azureuser", "shouldExist": False}),
    ),
    (
        "hard link relative to directory",
        _add("storage.links", {"path": "/var/lib/y", "target": "x", "hard": True}),
    ),
    ("mode zero", _set("storage.files.0.mode", 0)),
    ("mode max", _set("storage.files.0.mode", 4095)),
    ("duplicate unit", _add("systemd.units", {"name": "hello.service"})),
    ("unit bad suffix", _add("systemd.units", {"name": "hello.conf"})),
    ("dropin bad suffix", _set("systemd.units.0.dropins.0.name", "10-x")),
    ("duplicate dropin", _add("systemd.units.0.dropins", {"name": "10-x.conf"})),
    ("duplicate user", _add("passwd.users", {"name": "azureuser"})),
    ("duplicate group", _add("passwd.groups", {"name": "ops"})),
    ("duplicate ssh key", _add("passwd.users.0.sshAuthorizedKeys", "ssh-ed25519 AAAA a")),
    ("duplicate user group", _add("passwd.users.0.groups", "sudo")),
    ("partition without number or label", _add("storage.disks.0.partitions", {"sizeMiB": 5})),
    ("duplicate partition number", _add("storage.disks.0.partitions", {"number": 1})),
    (
        "duplicate partition label",
        _add("storage.disks.0.partitions", {"number": 2, "label": "data"}),
    ),
    ("partition label with colon", _set("storage.disks.0.partitions.0.label", "a:b")),
    ("partition label too long", _set("storage.disks.0.partitions.0.label", "x" * 37)),
    ("partition bad guid", _set("storage.disks.0.partitions.0.guid", "not-a-guid")),
    (
        "partition shouldExist false with label",
        _set("storage.disks.0.partitions.0.shouldExist", False),
    ),
    ("duplicate disk", _add("storage.disks", {"device": "/dev/sdb"})),
    ("relative disk device", _set("storage.disks.0.device", "sdb")),
    ("filesystem format none", _set("storage.filesystems.0.format", "none")),
    ("filesystem format bogus", _set("storage.filesystems.0.format", "ntfs")),
    ("filesystem label too long for ext4", _set("storage.filesystems.0.label", "x" * 17)),
    ("filesystem without format but path", _set("storage.filesystems.0.format", None)),
    ("raid without devices", _set("storage.raid", [{"name": "md0", "level": "raid1"}])),
    (
        "raid bad level",
        _set("storage.raid", [{"name": "md0", "level": "raid7", "devices": ["/dev/a"]}]),
    ),
    (
        "raid spares on raid0",
        _set(
            "storage.raid", [{"name": "md0", "level": "raid0", "devices": ["/dev/a"], "spares": 1}]
        ),
    ),
    (
        "raid fine",
        _set("storage.raid", [{"name": "md0", "level": "raid1", "devices": ["/dev/a", "/dev/b"]}]),
    ),
    ("missing ignition version", _set("ignition", {})),
    ("unknown top-level key (warn)", _set("foo", 1)),
    ("unknown nested key (warn)", _set("storage.files.0.colour", "red")),
    ("string where object", _set("storage", "x")),
    ("number where string", _set("storage.files.0.path", 5)),
    ("null optional field", _set("storage.files.0.mode", None)),
    ("null required field", _set("storage.files.0.path", None)),
    ("merge reference data url", _set("ignition.config", {"merge": [{"source": "data:,%7B%7D"}]})),
    ("merge reference without source", _set("ignition.config", {"merge": [{}]})),
    ("kernelArguments (3.3+)", _set("kernelArguments", {"shouldExist": ["a"]})),
    (
        "kernel argument both ways",
        _set("kernelArguments", {"shouldExist": ["a"], "shouldNotExist": ["a"]}),
    ),
    ("luks (3.2+)", _set("storage.luks", [{"name": "l", "device": "/dev/sdc"}])),
    ("luks name with slash", _set("storage.luks", [{"name": "a/b", "device": "/dev/sdc"}])),
    ("mountOptions (3.1+)", _set("storage.filesystems.0.mountOptions", ["ro"])),
    ("proxy (3.1+)", _set("ignition.proxy", {"httpProxy": "http://p"})),
    (
        "headers on data url",
        _set("storage.files.0.contents.httpHeaders", [{"name": "A", "value": "b"}]),
    ),
    (
        "headers on https",
        _set(
            "storage.files.0.contents",
            {"source": "https://e/x", "httpHeaders": [{"name": "A", "value": "b"}]},
        ),
    ),
    (
        "header with empty name",
        _set(
            "storage.files.0.contents",
            {"source": "https://e/x", "httpHeaders": [{"name": "", "value": "b"}]},
        ),
    ),
    (
        "luks discard (3.4.0)",
        _set("storage.luks", [{"name": "l", "device": "/dev/sdc", "discard": True}]),
    ),
]


def variants() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for version in VERSIONS:
        for name, mutate in MUTATIONS:
            config = copy.deepcopy(base(version))
            mutate(config)
            out.append((f"{version}: {name}", config))
    return out


VARIANTS = variants()


def _fast_accepts(config: dict[str, Any]) -> bool:
    try:
        check(config, source="t")
    except IgnitionConfigError:
        return False
    return True


def test_corpus_is_big_and_mixed() -> None:
    verdicts = [_fast_accepts(c) for _, c in VARIANTS]
    assert len(VARIANTS) >= 100
    assert sum(verdicts) >= 30 and len(verdicts) - sum(verdicts) >= 30


def test_fast_check_agrees_with_jsonschema_path() -> None:
    for name, config in VARIANTS:
        slow = not any(r.severity == "error" for r in validate(config, "t"))
        assert _fast_accepts(config) == slow, name


@pytest.mark.consumer
def test_agrees_with_ignition_validate(tmp_path: Path) -> None:
    require_validate()
    paths = []
    for i, (_, config) in enumerate(VARIANTS):
        path = tmp_path / f"v{i}.ign"
        path.write_text(json.dumps(config, ensure_ascii=False))
        paths.append(path)
    verdicts = run_many(ignition_validate, paths)
    disagreements = []
    for (name, config), (theirs, log) in zip(VARIANTS, verdicts, strict=True):
        reports = validate(config, "t")
        errors = [r for r in reports if r.severity == "error"]
        ours = not errors
        if not ours and all(r.code == NEWER_FIELD for r in errors):
            # The one deliberate difference: Ignition warns "Unused key" and drops the field.
            if not (theirs and "nused key" in log):
                disagreements.append(f"{name}: newer field, Ignition says {theirs}: {log.strip()}")
            continue
        if ours != theirs:
            disagreements.append(
                f"{name}: ignition-validate {'accepts' if theirs else 'rejects'} "
                f"({log.strip()[:200]}), igngen {'accepts' if ours else 'rejects'} {errors[:2]}"
            )
    assert not disagreements, "\n".join(disagreements)


@pytest.mark.parametrize("version", spec.VERSIONS)
def test_generated_schemas_are_valid_json_schema(version: str) -> None:
    import jsonschema

    from igngen.ignition.schema import schema_for

    schema = schema_for(version)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["ignition"]["properties"]["version"] == {"type": "string"}
    kargs = schema["properties"]["kernelArguments"]
    if spec.ORDER[version] < spec.ORDER["3.3.0"]:
        assert kargs == {"not": {}, "x-added-in": "3.3.0"}
    else:
        assert kargs["properties"]["shouldExist"]["items"] == {"type": "string"}
