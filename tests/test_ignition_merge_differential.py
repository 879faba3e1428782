"""Our merge against real Ignition 2.14's merge, pair by pair (differential test).

Each pair (parent, child) goes through Ignition's fetch-offline as the two
``ignition.config.merge`` references of a wrapper user config (the
``support.oracle`` helpers); the config cache Ignition writes is its own
``Merge(parent, child)``. Ours must equal it after both are normalised (empty
{}/[]/null pruned, version and the wrapper's merge list dropped). Where
Ignition refuses the merged result ("merging configs resulted in an invalid
config"), our validator must refuse ``merge(parent, child)`` too.

The hand-written pairs cover every keyed list, the files/directories/links
namespace with type replacement, partitions by number and by label, append
and option concatenation, headers with null values, kernel arguments and
mixed 3.0-3.3 versions; a seeded generator adds random pairs over small key
pools so that keys collide often.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from support.oracle import ignition_merge, normalise, require_ignition, run_many

from igngen.errors import IgnitionConfigError
from igngen.ignition.merge import merge
from igngen.ignition.validate import check

pytestmark = pytest.mark.consumer

HTTPS = "https://example.com/"


def cfg(version: str = "3.3.0", **sections: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"ignition": {"version": version}}
    out.update(sections)
    return out


def files(*entries: dict[str, Any], **others: list[dict[str, Any]]) -> dict[str, Any]:
    return {"files": list(entries), **others}


def src(text: str) -> dict[str, str]:
    return {"source": f"data:,{text}"}


CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "file child sets contents, inherits mode and overwrite",
        cfg(
            storage=files({"path": "/etc/c", "mode": 384, "overwrite": True, "contents": src("a")})
        ),
        cfg(storage=files({"path": "/etc/c", "contents": src("b")})),
    ),
    (
        "overwrite false in the child replaces true",
        cfg(storage=files({"path": "/etc/o", "overwrite": True, "contents": src("a")})),
        cfg(storage=files({"path": "/etc/o", "overwrite": False})),
    ),
    (
        "compression empty string clears gzip",
        cfg(
            storage=files({"path": "/f", "contents": {"source": "data:,x", "compression": "gzip"}})
        ),
        cfg(storage=files({"path": "/f", "contents": {"source": "data:,y", "compression": ""}})),
    ),
    (
        "child directory replaces parent file",
        cfg(storage=files({"path": "/a"}, {"path": "/b", "mode": 420})),
        cfg(storage={"directories": [{"path": "/a", "mode": 493}]}),
    ),
    (
        "child link replaces parent file",
        cfg(storage=files({"path": "/a", "contents": src("x")})),
        cfg(storage={"links": [{"path": "/a", "target": "/etc/x"}]}),
    ),
    (
        "child file replaces parent link",
        cfg(storage={"links": [{"path": "/l", "target": "/t"}, {"path": "/m", "target": "/t"}]}),
        cfg(storage=files({"path": "/l", "contents": src("f")})),
    ),
    (
        "child file replaces parent directory, other dirs kept",
        cfg(storage={"directories": [{"path": "/d"}, {"path": "/e", "mode": 448}]}),
        cfg(storage=files({"path": "/d"})),
    ),
    (
        "child link replaces parent directory",
        cfg(storage={"directories": [{"path": "/d", "mode": 448}]}),
        cfg(storage={"links": [{"path": "/d", "target": "/x", "hard": False}]}),
    ),
    (
        "links merge by path: target changes, hard inherited",
        cfg(storage={"links": [{"path": "/l", "target": "/a", "hard": True}]}),
        cfg(storage={"links": [{"path": "/l", "target": "/b"}]}),
    ),
    (
        "append lists concatenate, duplicates kept",
        cfg(storage=files({"path": "/f", "append": [src("1"), src("2")]})),
        cfg(storage=files({"path": "/f", "append": [src("2"), src("3")]})),
    ),
    (
        "node user/group objects merge field by field",
        cfg(storage=files({"path": "/f", "user": {"id": 500}, "group": {"name": "core"}})),
        cfg(storage=files({"path": "/f", "group": {"id": 10}})),
    ),
    (
        "empty child lists never remove parent entries",
        cfg(
            storage=files({"path": "/f"}, directories=[{"path": "/d"}]),
            passwd={"users": [{"name": "a"}]},
        ),
        cfg(storage={"files": [], "links": [], "directories": []}, passwd={"users": []}),
    ),
    (
        "units by name; enabled false wins; contents inherited",
        cfg(
            systemd={
                "units": [
                    {"name": "a.service", "enabled": True, "contents": "[Unit]\n"},
                    {"name": "b.service", "mask": True},
                ]
            }
        ),
        cfg(
            systemd={
                "units": [
                    {"name": "a.service", "enabled": False},
                    {"name": "c.timer", "enabled": True},
                ]
            }
        ),
    ),
    (
        "dropins by name within a unit",
        cfg(
            systemd={
                "units": [
                    {
                        "name": "a.service",
                        "dropins": [
                            {"name": "10.conf", "contents": "[Service]\n"},
                            {"name": "20.conf"},
                        ],
                    }
                ]
            }
        ),
        cfg(
            systemd={
                "units": [
                    {
                        "name": "a.service",
                        "dropins": [
                            {"name": "20.conf", "contents": "[Unit]\n"},
                            {"name": "30.conf"},
                        ],
                    }
                ]
            }
        ),
    ),
    (
        "users: empty passwordHash wins, groups and keys are unions",
        cfg(
            passwd={
                "users": [
                    {
                        "name": "core",
                        "passwordHash": "$6$x",
                        "groups": ["wheel", "docker"],
                        "sshAuthorizedKeys": ["ssh-ed25519 AAAA a"],
                    }
                ]
            }
        ),
        cfg(
            passwd={
                "users": [
                    {
                        "name": "core",
                        "passwordHash": "",
                        "groups": ["sudo", "wheel"],
                        "sshAuthorizedKeys": ["ssh-ed25519 BBBB b", "ssh-ed25519 AAAA a"],
                    }
                ]
            }
        ),
    ),
    (
        "users: child-only user appended, shell and uid inherited",
        cfg(
            passwd={"users": [{"name": "a", "uid": 1001, "shell": "/bin/sh", "homeDir": "/home/a"}]}
        ),
        cfg(passwd={"users": [{"name": "b"}, {"name": "a", "gecos": "A"}]}),
    ),
    (
        "users and groups shouldExist false (3.2)",
        cfg(
            "3.2.0",
            passwd={"users": [{"name": "a", "uid": 5}], "groups": [{"name": "g", "gid": 7}]},
        ),
        cfg(
            "3.2.0",
            passwd={
                "users": [{"name": "a", "shouldExist": False}],
                "groups": [{"name": "g", "shouldExist": False}],
            },
        ),
    ),
    (
        "passwd groups by name",
        cfg(passwd={"groups": [{"name": "g1", "gid": 1000, "system": True}, {"name": "g2"}]}),
        cfg(
            passwd={
                "groups": [{"name": "g1", "system": False, "passwordHash": "x"}, {"name": "g3"}]
            }
        ),
    ),
    (
        "disks by device, partitions by number",
        cfg(
            storage={
                "disks": [
                    {
                        "device": "/dev/sdb",
                        "wipeTable": True,
                        "partitions": [
                            {"number": 1, "label": "a", "sizeMiB": 10},
                            {"number": 2, "label": "b"},
                        ],
                    }
                ]
            }
        ),
        cfg(
            storage={
                "disks": [
                    {
                        "device": "/dev/sdb",
                        "partitions": [{"number": 2, "sizeMiB": 20}, {"number": 3, "label": "c"}],
                    },
                    {"device": "/dev/sdc"},
                ]
            }
        ),
    ),
    (
        "partitions by label when number is unset",
        cfg(
            storage={
                "disks": [
                    {
                        "device": "/dev/sdb",
                        "partitions": [{"label": "data", "sizeMiB": 100}, {"label": "swap"}],
                    }
                ]
            }
        ),
        cfg(
            storage={
                "disks": [{"device": "/dev/sdb", "partitions": [{"label": "data", "startMiB": 1}]}]
            }
        ),
    ),
    (
        "partition number+label vs label only: both survive (duplicate label)",
        cfg(
            storage={"disks": [{"device": "/dev/sdb", "partitions": [{"number": 3, "label": "x"}]}]}
        ),
        cfg(storage={"disks": [{"device": "/dev/sdb", "partitions": [{"label": "x"}]}]}),
    ),
    (
        "partition shouldExist false and resize (3.2)",
        cfg(
            "3.2.0",
            storage={
                "disks": [
                    {
                        "device": "/dev/sdb",
                        "partitions": [{"number": 1, "label": "a", "resize": True}, {"number": 2}],
                    }
                ]
            },
        ),
        cfg(
            "3.2.0",
            storage={
                "disks": [
                    {
                        "device": "/dev/sdb",
                        "partitions": [
                            {"number": 2, "shouldExist": False},
                            {"number": 1, "resize": False},
                        ],
                    }
                ]
            },
        ),
    ),
    (
        "different device spellings are different disks",
        cfg(storage={"disks": [{"device": "/dev/sdb", "wipeTable": True}]}),
        cfg(storage={"disks": [{"device": "/dev/disk/azure/resource", "wipeTable": False}]}),
    ),
    (
        "filesystems by device; options and mountOptions concatenate; format changes",
        cfg(
            storage={
                "filesystems": [
                    {
                        "device": "/dev/sdb1",
                        "format": "ext4",
                        "path": "/var",
                        "options": ["-E", "x"],
                        "mountOptions": ["noatime"],
                    }
                ]
            }
        ),
        cfg(
            storage={
                "filesystems": [
                    {
                        "device": "/dev/sdb1",
                        "format": "xfs",
                        "options": ["-f"],
                        "mountOptions": ["nodev"],
                        "wipeFilesystem": True,
                    }
                ]
            }
        ),
    ),
    (
        "filesystem format none (3.3), label and uuid inherited",
        cfg(
            storage={
                "filesystems": [
                    {"device": "/dev/sdc1", "format": "ext4", "label": "L", "uuid": "u"}
                ]
            }
        ),
        cfg(
            storage={
                "filesystems": [
                    {"device": "/dev/sdc1", "format": "none"},
                    {"device": "/dev/sdd", "format": "swap"},
                ]
            }
        ),
    ),
    (
        "raid by name; devices keyed by value; options concatenate",
        cfg(
            storage={
                "raid": [
                    {
                        "name": "md0",
                        "level": "raid1",
                        "devices": ["/dev/sda", "/dev/sdb"],
                        "options": ["--a"],
                    }
                ]
            }
        ),
        cfg(
            storage={
                "raid": [
                    {
                        "name": "md0",
                        "level": "raid1",
                        "devices": ["/dev/sdb", "/dev/sdc"],
                        "options": ["--a"],
                        "spares": 1,
                    },
                    {"name": "md1", "level": "raid0", "devices": ["/dev/sdx"]},
                ]
            }
        ),
    ),
    (
        "luks by name; options concatenate; tang by url (3.2)",
        cfg(
            "3.2.0",
            storage={
                "luks": [
                    {
                        "name": "l",
                        "device": "/dev/sdb",
                        "options": ["--a"],
                        "clevis": {
                            "tang": [{"url": "http://t1", "thumbprint": "x"}],
                            "threshold": 1,
                        },
                    }
                ]
            },
        ),
        cfg(
            "3.2.0",
            storage={
                "luks": [
                    {
                        "name": "l",
                        "options": ["--b"],
                        "wipeVolume": True,
                        "device": "/dev/sdb",
                        "clevis": {
                            "tang": [
                                {"url": "http://t1", "thumbprint": "y"},
                                {"url": "http://t2", "thumbprint": "z"},
                            ]
                        },
                    }
                ]
            },
        ),
    ),
    (
        "luks keyFile and label inherited",
        cfg(
            "3.2.0",
            storage={
                "luks": [
                    {
                        "name": "l",
                        "device": "/dev/sdb",
                        "label": "L",
                        "keyFile": {"source": "data:,k", "compression": ""},
                    }
                ]
            },
        ),
        cfg("3.2.0", storage={"luks": [{"name": "l", "device": "/dev/sdb", "uuid": "u"}]}),
    ),
    (
        "kernel arguments: child shouldNotExist removes parent shouldExist",
        cfg(kernelArguments={"shouldExist": ["a", "b", "c"], "shouldNotExist": ["d"]}),
        cfg(kernelArguments={"shouldNotExist": ["b"]}),
    ),
    (
        "kernel arguments: child shouldExist removes parent shouldNotExist, unions kept",
        cfg(kernelArguments={"shouldExist": ["a"], "shouldNotExist": ["x", "y"]}),
        cfg(kernelArguments={"shouldExist": ["y", "a", "z"]}),
    ),
    (
        "http headers: null value deletes, others merge, new appended",
        cfg(
            storage=files(
                {
                    "path": "/h",
                    "contents": {
                        "source": HTTPS + "a",
                        "httpHeaders": [
                            {"name": "A", "value": "1"},
                            {"name": "B", "value": "2"},
                            {"name": "D", "value": "4"},
                        ],
                    },
                }
            )
        ),
        cfg(
            storage=files(
                {
                    "path": "/h",
                    "contents": {
                        "source": HTTPS + "b",
                        "httpHeaders": [
                            {"name": "A", "value": None},
                            {"name": "B", "value": "3"},
                            {"name": "C", "value": "5"},
                        ],
                    },
                }
            )
        ),
    ),
    (
        "http headers: a child-only header without value is appended",
        cfg(
            storage=files(
                {
                    "path": "/h",
                    "contents": {
                        "source": HTTPS + "a",
                        "httpHeaders": [{"name": "A", "value": "1"}],
                    },
                }
            )
        ),
        cfg(
            storage=files(
                {"path": "/h", "contents": {"source": HTTPS + "a", "httpHeaders": [{"name": "N"}]}}
            )
        ),
    ),
    (
        "proxy: child fields win, noProxy is a union",
        cfg(
            "3.1.0",
            ignition={
                "version": "3.1.0",
                "proxy": {"httpProxy": "http://p", "noProxy": ["a", "b"]},
            },
        ),
        cfg(
            "3.1.0",
            ignition={
                "version": "3.1.0",
                "proxy": {"httpsProxy": "http://q", "noProxy": ["b", "c"]},
            },
        ),
    ),
    (
        "timeouts: child wins per field",
        cfg(ignition={"version": "3.3.0", "timeouts": {"httpTotal": 10, "httpResponseHeaders": 5}}),
        cfg(ignition={"version": "3.3.0", "timeouts": {"httpTotal": 20}}),
    ),
    (
        "mixed versions 3.0 parent, 3.3 child",
        cfg("3.0.0", storage=files({"path": "/a", "mode": 420}), passwd={"users": [{"name": "u"}]}),
        cfg(
            "3.3.0",
            storage=files({"path": "/a", "mode": 384}),
            kernelArguments={"shouldExist": ["q"]},
        ),
    ),
    (
        "mixed versions 3.2 parent, 3.1 child",
        cfg(
            "3.2.0",
            storage={
                "filesystems": [{"device": "/dev/a", "format": "ext4", "mountOptions": ["ro"]}]
            },
        ),
        cfg(
            "3.1.0",
            storage={
                "filesystems": [{"device": "/dev/a", "format": "ext4", "mountOptions": ["rw"]}]
            },
        ),
    ),
    (
        "empty child keeps the parent",
        cfg(
            storage=files({"path": "/a", "contents": src("x")}),
            systemd={"units": [{"name": "u.service"}]},
        ),
        cfg("3.0.0"),
    ),
    (
        "empty parent takes the child",
        cfg("3.1.0"),
        cfg(
            storage={"links": [{"path": "/l", "target": "/t"}]},
            passwd={"users": [{"name": "x", "groups": ["a"]}]},
        ),
    ),
    (
        "many kinds at once",
        cfg(
            storage=files(
                {"path": "/1"},
                {"path": "/2"},
                directories=[{"path": "/3"}],
                links=[{"path": "/4", "target": "/1"}],
            ),
            systemd={"units": [{"name": "x.mount", "enabled": True}]},
        ),
        cfg(
            storage=files({"path": "/4"}, {"path": "/3"}, links=[{"path": "/1", "target": "/2"}]),
            systemd={"units": [{"name": "x.mount", "contents": "[Mount]\n"}]},
        ),
    ),
    (
        "file verification and contents inherited separately",
        cfg(
            storage=files(
                {
                    "path": "/v",
                    "contents": {
                        "source": "data:,a",
                        "verification": {"hash": "sha512-" + "0" * 128},
                    },
                }
            )
        ),
        cfg(storage=files({"path": "/v", "contents": {"source": "data:,b"}})),
    ),
]


def _gen_config(rng: random.Random) -> dict[str, Any]:
    # Weighted towards 3.3.0 so that kernel arguments meet on both sides often.
    version = rng.choice(["3.0.0", "3.1.0", "3.2.0", "3.3.0", "3.3.0", "3.3.0"])
    paths = ["/p/a", "/p/b", "/p/c", "/p/d", "/p/e"]
    config: dict[str, Any] = {"ignition": {"version": version}}
    storage: dict[str, Any] = {}
    used: set[str] = set()
    for kind in ("files", "directories", "links"):
        entries = []
        for path in rng.sample(paths, rng.randint(0, 2)):
            if path in used:
                continue
            used.add(path)
            entry: dict[str, Any] = {"path": path}
            if kind == "links":
                entry["target"] = rng.choice(["/t1", "/t2"])
                if rng.random() < 0.3:
                    entry["hard"] = rng.random() < 0.5
            else:
                if rng.random() < 0.5:
                    entry["mode"] = rng.choice([420, 384, 493])
            if kind == "files":
                if rng.random() < 0.5:
                    entry["contents"] = src(rng.choice(["x", "y"]))
                if rng.random() < 0.3:
                    entry["append"] = [src(rng.choice(["1", "2"]))]
                if rng.random() < 0.3 and "contents" in entry:
                    entry["overwrite"] = rng.random() < 0.5
            if rng.random() < 0.2:
                entry["user"] = {"id": rng.choice([0, 500])}
            entries.append(entry)
        if entries:
            storage[kind] = entries
    if rng.random() < 0.4:
        storage["filesystems"] = [
            {
                "device": dev,
                "format": rng.choice(["ext4", "xfs"]),
                "options": [rng.choice(["-a", "-b"])],
            }
            for dev in rng.sample(["/dev/x", "/dev/y"], rng.randint(1, 2))
        ]
    if rng.random() < 0.4:
        storage["disks"] = [
            {
                "device": "/dev/sdz",
                "partitions": [
                    {"number": n, "sizeMiB": rng.choice([1, 2])}
                    for n in rng.sample([1, 2, 3], rng.randint(1, 2))
                ],
            }
        ]
    if rng.random() < 0.3:
        storage["raid"] = [
            {
                "name": name,
                "level": "raid1",
                "devices": rng.sample(["/dev/r1", "/dev/r2", "/dev/r3"], 2),
                "options": [rng.choice(["--x", "--y"])],
            }
            for name in rng.sample(["md0", "md1"], rng.randint(1, 2))
        ]
    if version >= "3.2.0" and rng.random() < 0.5:
        storage["luks"] = [
            {
                "name": name,
                "device": "/dev/l",
                "options": [rng.choice(["--a", "--b"])],
                "clevis": {
                    "tang": [
                        {"url": url, "thumbprint": rng.choice(["t1", "t2"])}
                        for url in rng.sample(["http://t1", "http://t2"], rng.randint(1, 2))
                    ]
                },
            }
            for name in rng.sample(["l0", "l1"], rng.randint(1, 2))
        ]
    if version >= "3.1.0" and rng.random() < 0.5:
        headers = [
            {"name": h, "value": rng.choice([None, "v1", "v2"])}
            for h in rng.sample(["A", "B", "C"], rng.randint(1, 3))
        ]
        for h in headers:
            if h["value"] is None:
                del h["value"]
        storage.setdefault("files", []).append(
            {
                "path": "/p/h",
                "contents": {"source": "https://example.com/h", "httpHeaders": headers},
            }
        )
    if storage:
        config["storage"] = storage
    units = []
    for name in rng.sample(["a.service", "b.service", "c.timer"], rng.randint(0, 2)):
        unit: dict[str, Any] = {"name": name}
        if rng.random() < 0.5:
            unit["enabled"] = rng.random() < 0.5
        if rng.random() < 0.4:
            unit["contents"] = rng.choice(["[Unit]\n", "[Service]\n"])
        if rng.random() < 0.4:
            unit["dropins"] = [
                {"name": d, "contents": "[Unit]\n"}
                for d in rng.sample(["1.conf", "2.conf"], rng.randint(1, 2))
            ]
        units.append(unit)
    if units:
        config["systemd"] = {"units": units}
    users = []
    for name in rng.sample(["core", "u1", "u2"], rng.randint(0, 2)):
        user: dict[str, Any] = {"name": name}
        if rng.random() < 0.5:
            user["sshAuthorizedKeys"] = rng.sample(["k1", "k2", "k3"], rng.randint(1, 2))
        if rng.random() < 0.5:
            user["groups"] = rng.sample(["wheel", "sudo", "docker"], rng.randint(1, 2))
        if rng.random() < 0.3:
            user["passwordHash"] = rng.choice(["", "$6$a"])
        users.append(user)
    if users:
        config["passwd"] = {"users": users}
    if version == "3.3.0" and rng.random() < 0.7:
        args = rng.sample(["a", "b", "c", "d"], rng.randint(1, 3))
        split = rng.randint(0, len(args))
        config["kernelArguments"] = {"shouldExist": args[:split], "shouldNotExist": args[split:]}
    return config


def generated_pairs(
    count: int, seed: int = 20261129
) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    rng = random.Random(seed)
    out: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    while len(out) < count:
        parent, child = _gen_config(rng), _gen_config(rng)
        try:
            check(parent, source="parent")
            check(child, source="child")
        except IgnitionConfigError:
            continue
        out.append((f"generated #{len(out)}", parent, child))
    return out


ALL_PAIRS = CASES + generated_pairs(90)


def test_there_are_enough_pairs() -> None:
    assert len(ALL_PAIRS) >= 40
    for _, parent, child in CASES:
        check(parent, source="parent")
        check(child, source="child")


def test_merge_matches_ignition(tmp_path: Path) -> None:
    require_ignition()
    results = run_many(
        lambda item: ignition_merge(tmp_path / f"pair{item[0]}", item[1][1], item[1][2]),
        list(enumerate(ALL_PAIRS)),
    )
    failures = []
    for (name, parent, child), (theirs, log) in zip(ALL_PAIRS, results, strict=True):
        ours = merge(parent, child)
        if theirs is None:
            if "merging configs resulted in an invalid config" not in log:
                failures.append(f"{name}: Ignition refused an input:\n{log[-600:]}")
                continue
            try:
                check(ours, source="merged")
            except IgnitionConfigError:
                continue
            failures.append(f"{name}: Ignition rejects the merged config, we accept it")
            continue
        if normalise(ours) != normalise(theirs):
            failures.append(f"{name}:\n  ours   {normalise(ours)}\n  theirs {normalise(theirs)}")
    assert not failures, "\n".join(failures)
