"""A corpus of Ignition configs, valid and invalid, across spec versions (test data builder)."""

from __future__ import annotations

import copy
from typing import Any

DATA = "data:,hello"
SHA512 = "sha512-" + "a" * 128
SHA256 = "sha256-" + "b" * 64

VERSIONS = ("3.0.0", "3.1.0", "3.2.0", "3.3.0", "3.4.0-experimental")


def base(version: str) -> dict[str, Any]:
    return {"ignition": {"version": version}}


def valid_configs(version: str) -> list[tuple[str, dict[str, Any]]]:
    v = version
    out: list[tuple[str, dict[str, Any]]] = [
        ("empty", base(v)),
        (
            "file",
            {
                **base(v),
                "storage": {
                    "files": [{"path": "/etc/a", "mode": 420, "contents": {"source": DATA}}]
                },
            },
        ),
        (
            "file-overwrite",
            {
                **base(v),
                "storage": {
                    "files": [{"path": "/etc/a", "overwrite": True, "contents": {"source": DATA}}]
                },
            },
        ),
        (
            "file-b64",
            {
                **base(v),
                "storage": {"files": [{"path": "/a", "contents": {"source": "data:;base64,aGk="}}]},
            },
        ),
        (
            "file-gzip",
            {
                **base(v),
                "storage": {
                    "files": [
                        {
                            "path": "/a",
                            "contents": {
                                "source": "data:;base64,H4sIAAAAAAAA/8pIzckHAAAA//8DAIaMQzEFAAAA",
                                "compression": "gzip",
                            },
                        }
                    ]
                },
            },
        ),
        (
            "file-hash",
            {
                **base(v),
                "storage": {
                    "files": [
                        {
                            "path": "/a",
                            "contents": {"source": DATA, "verification": {"hash": SHA512}},
                        }
                    ]
                },
            },
        ),
        (
            "file-append",
            {
                **base(v),
                "storage": {
                    "files": [{"path": "/a", "append": [{"source": DATA}, {"source": DATA}]}]
                },
            },
        ),
        (
            "file-owner",
            {
                **base(v),
                "storage": {
                    "files": [{"path": "/a", "user": {"id": 0}, "group": {"name": "root"}}]
                },
            },
        ),
        ("dir", {**base(v), "storage": {"directories": [{"path": "/d", "mode": 493}]}}),
        (
            "link",
            {**base(v), "storage": {"links": [{"path": "/l", "target": "/t", "hard": False}]}},
        ),
        (
            "http-source",
            {
                **base(v),
                "storage": {
                    "files": [{"path": "/a", "contents": {"source": "https://example.com/x"}}]
                },
            },
        ),
        (
            "unit",
            {
                **base(v),
                "systemd": {
                    "units": [
                        {
                            "name": "a.service",
                            "enabled": True,
                            "contents": "[Service]\nExecStart=/bin/true\n",
                        }
                    ]
                },
            },
        ),
        ("unit-mask", {**base(v), "systemd": {"units": [{"name": "b.socket", "mask": True}]}}),
        (
            "dropin",
            {
                **base(v),
                "systemd": {
                    "units": [
                        {
                            "name": "c.service",
                            "dropins": [{"name": "x.conf", "contents": "[Unit]\n"}],
                        }
                    ]
                },
            },
        ),
        (
            "user",
            {
                **base(v),
                "passwd": {
                    "users": [
                        {
                            "name": "u",
                            "groups": ["wheel"],
                            "sshAuthorizedKeys": ["k1", "k2"],
                            "passwordHash": "$6$x$y",
                        }
                    ]
                },
            },
        ),
        ("group", {**base(v), "passwd": {"groups": [{"name": "g", "gid": 1234}]}}),
        (
            "disk",
            {
                **base(v),
                "storage": {
                    "disks": [
                        {
                            "device": "/dev/vdb",
                            "wipeTable": True,
                            "partitions": [{"number": 1, "label": "data"}, {"label": "two"}],
                        }
                    ]
                },
            },
        ),
        (
            "fs",
            {
                **base(v),
                "storage": {
                    "filesystems": [
                        {
                            "device": "/dev/vdb1",
                            "format": "ext4",
                            "path": "/var/data",
                            "label": "x",
                            "options": ["-m", "0"],
                        }
                    ]
                },
            },
        ),
        (
            "raid",
            {
                **base(v),
                "storage": {
                    "raid": [{"name": "md0", "level": "raid0", "devices": ["/dev/a", "/dev/b"]}]
                },
            },
        ),
        (
            "merge-ref",
            {
                **base(v),
                "ignition": {"version": v, "config": {"merge": [{"source": "data:,%7B%7D"}]}},
            },
        ),
        ("timeouts", {**base(v), "ignition": {"version": v, "timeouts": {"httpTotal": 10}}}),
        ("unknown-top-key", {**base(v), "bogus": 1}),
        ("mode-max", {**base(v), "storage": {"files": [{"path": "/a", "mode": 4095}]}}),
    ]
    if v >= "3.1.0":
        out += [
            (
                "sha256",
                {
                    **base(v),
                    "storage": {
                        "files": [
                            {
                                "path": "/a",
                                "contents": {"source": DATA, "verification": {"hash": SHA256}},
                            }
                        ]
                    },
                },
            ),
            (
                "headers",
                {
                    **base(v),
                    "storage": {
                        "files": [
                            {
                                "path": "/a",
                                "contents": {
                                    "source": "https://e.com/x",
                                    "httpHeaders": [{"name": "A", "value": "b"}],
                                },
                            }
                        ]
                    },
                },
            ),
            (
                "proxy",
                {
                    **base(v),
                    "ignition": {
                        "version": v,
                        "proxy": {"httpProxy": "http://p:3128", "noProxy": ["a"]},
                    },
                },
            ),
            (
                "mount-options",
                {
                    **base(v),
                    "storage": {
                        "filesystems": [
                            {"device": "/dev/a", "format": "xfs", "mountOptions": ["noatime"]}
                        ]
                    },
                },
            ),
        ]
    if v >= "3.2.0":
        out += [
            (
                "should-exist",
                {**base(v), "passwd": {"users": [{"name": "gone", "shouldExist": False}]}},
            ),
            (
                "luks",
                {
                    **base(v),
                    "storage": {
                        "luks": [{"name": "enc", "device": "/dev/vdc", "keyFile": {"source": DATA}}]
                    },
                },
            ),
            (
                "resize",
                {
                    **base(v),
                    "storage": {
                        "disks": [
                            {"device": "/dev/a", "partitions": [{"number": 1, "resize": True}]}
                        ]
                    },
                },
            ),
            (
                "gs-url",
                {
                    **base(v),
                    "storage": {
                        "files": [{"path": "/a", "contents": {"source": "gs://bucket/obj"}}]
                    },
                },
            ),
        ]
    if v >= "3.3.0":
        out += [
            (
                "kargs",
                {**base(v), "kernelArguments": {"shouldExist": ["a=1"], "shouldNotExist": ["b"]}},
            ),
            (
                "fs-none",
                {**base(v), "storage": {"filesystems": [{"device": "/dev/a", "format": "none"}]}},
            ),
        ]
    return out


def invalid_configs(version: str) -> list[tuple[str, dict[str, Any]]]:
    v = version
    file = {"path": "/a", "contents": {"source": DATA}}

    def with_file(**over: Any) -> dict[str, Any]:
        f = copy.deepcopy(file)
        f.update(over)
        return {**base(v), "storage": {"files": [f]}}

    out: list[tuple[str, dict[str, Any]]] = [
        ("relative-path", with_file(path="etc/a")),
        ("bad-compression", with_file(contents={"source": DATA, "compression": "xz"})),
        ("overwrite-no-source", with_file(overwrite=True, contents={})),
        ("mode-too-big", with_file(mode=99999)),
        ("mode-string", with_file(mode="0644")),
        ("path-int", with_file(path=5)),
        ("bad-data-url-space", with_file(contents={"source": "data:,a b"})),
        ("bad-data-url-escape", with_file(contents={"source": "data:,%zz"})),
        ("bad-scheme", with_file(contents={"source": "ftp://x/y"})),
        ("bad-hash", with_file(contents={"source": DATA, "verification": {"hash": "sha512-abc"}})),
        (
            "md5-hash",
            with_file(contents={"source": DATA, "verification": {"hash": "md5-" + "a" * 32}}),
        ),
        ("dup-file", {**base(v), "storage": {"files": [file, file]}}),
        (
            "file-dir-clash",
            {**base(v), "storage": {"files": [file], "directories": [{"path": "/a"}]}},
        ),
        (
            "dup-unit",
            {**base(v), "systemd": {"units": [{"name": "a.service"}, {"name": "a.service"}]}},
        ),
        ("bad-unit-suffix", {**base(v), "systemd": {"units": [{"name": "a.bogus"}]}}),
        ("dup-user", {**base(v), "passwd": {"users": [{"name": "u"}, {"name": "u"}]}}),
        (
            "dup-key",
            {**base(v), "passwd": {"users": [{"name": "u", "sshAuthorizedKeys": ["k", "k"]}]}},
        ),
        (
            "partition-nothing",
            {
                **base(v),
                "storage": {"disks": [{"device": "/dev/a", "partitions": [{"sizeMiB": 5}]}]},
            },
        ),
        (
            "dup-partition-label",
            {
                **base(v),
                "storage": {
                    "disks": [{"device": "/dev/a", "partitions": [{"label": "x"}, {"label": "x"}]}]
                },
            },
        ),
        (
            "dup-partition-number",
            {
                **base(v),
                "storage": {
                    "disks": [{"device": "/dev/a", "partitions": [{"number": 1}, {"number": 1}]}]
                },
            },
        ),
        (
            "bad-fs-format",
            {**base(v), "storage": {"filesystems": [{"device": "/dev/a", "format": "ntfs"}]}},
        ),
        (
            "fs-relative-path",
            {
                **base(v),
                "storage": {"filesystems": [{"device": "/dev/a", "format": "ext4", "path": "mnt"}]},
            },
        ),
        ("no-version", {"ignition": {}}),
        ("bad-version", {"ignition": {"version": "3.9.0"}}),
        ("users-not-list", {**base(v), "passwd": {"users": {"name": "u"}}}),
        (
            "enabled-string",
            {**base(v), "systemd": {"units": [{"name": "a.service", "enabled": "yes"}]}},
        ),
        ("unit-no-name", {**base(v), "systemd": {"units": [{"enabled": True}]}}),
    ]
    if v < "3.1.0":
        out.append(
            (
                "sha256-too-early",
                with_file(contents={"source": DATA, "verification": {"hash": SHA256}}),
            )
        )
    if v < "3.2.0":
        out.append(("gs-too-early", with_file(contents={"source": "gs://b/o"})))
    else:
        out.append(
            (
                "dup-luks",
                {
                    **base(v),
                    "storage": {
                        "luks": [
                            {"name": "a", "device": "/dev/a"},
                            {"name": "a", "device": "/dev/b"},
                        ]
                    },
                },
            )
        )
    if v >= "3.3.0":
        out.append(("link-no-target", {**base(v), "storage": {"links": [{"path": "/l"}]}}))
    if v < "3.3.0":
        out.append(
            (
                "fs-none-too-early",
                {**base(v), "storage": {"filesystems": [{"device": "/dev/a", "format": "none"}]}},
            )
        )
    return out
