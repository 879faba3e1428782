"""Every Butane 0.29 variant/version igngen knows: output, sugar, warnings and ``-s``.

Expectations are written by hand from Butane 0.29's documented behaviour and
its ``config/fcos/v1_*`` / ``config/flatcar/v1_*`` / ``base/v0_*`` rules, and
Ignition 2.26's validator warnings (``config/v3_*/types``). Versions whose
target spec igngen's spec table does not know yet (fcos 1.7.0 → 3.6.0,
flatcar 1.2.0-experimental → 3.7.0-experimental) skip with that reason and run
unchanged once the spec is added.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.consumers import ignition_validate

from igngen.butane import versions
from igngen.butane.ignwarn import unit_sections
from igngen.butane.transpile import transpile_bytes
from igngen.errors import ButaneError, CustomDataError
from igngen.ignition import customdata, spec

ALL = [
    ("flatcar", "1.0.0", "3.3.0"),
    ("flatcar", "1.1.0", "3.4.0"),
    ("flatcar", "1.2.0-experimental", "3.7.0-experimental"),
    ("fcos", "1.4.0", "3.3.0"),
    ("fcos", "1.5.0", "3.4.0"),
    ("fcos", "1.6.0", "3.5.0"),
    ("fcos", "1.7.0", "3.6.0"),
]
FCOS = [v for v in ALL if v[0] == "fcos"]


def need(target: str) -> None:
    if target not in spec.VERSIONS:
        pytest.skip(f"Ignition spec {target} is not in igngen.ignition.spec.VERSIONS yet")


def activate(monkeypatch: pytest.MonkeyPatch, variant: str, version: str) -> str:
    """The spec a variant produces; a pending one runs on a stand-in targeting 3.5.0.

    3.6.0 and 3.7.0-experimental add no fields to 3.5.0, so the stand-in checks
    the same sugar and checks; only ``ignition.version`` differs until the real
    spec lands (then the real entry is used and this does nothing).
    """
    key = (variant, version)
    if key in versions.VARIANTS:
        return versions.VARIANTS[key].spec
    monkeypatch.setitem(versions.VARIANTS, key, versions.PENDING[key]._replace(spec="3.5.0"))
    return "3.5.0"


def head(variant: str, version: str) -> str:
    return f"variant: {variant}\nversion: {version}\n"


def run(doc: str, **kw: Any) -> Any:
    return transpile_bytes(doc, source="in.bu", **kw)


def test_table_is_butane_029() -> None:
    table = {
        (v.variant, v.version): v.spec
        for v in (*versions.VARIANTS.values(), *versions.PENDING.values())
    }
    assert table == {(a, b): c for a, b, c in ALL}
    bases = {
        (v.variant, v.version): v.base
        for v in (*versions.VARIANTS.values(), *versions.PENDING.values())
    }
    assert bases[("fcos", "1.6.0")] == "v0_6"
    assert bases[("fcos", "1.7.0")] == "v0_7"
    assert bases[("flatcar", "1.2.0-experimental")] == "v0_8_exp"


@pytest.mark.parametrize(("variant", "version", "target"), ALL)
def test_minimal_document(variant: str, version: str, target: str) -> None:
    doc = head(variant, version)
    if target not in spec.VERSIONS:
        with pytest.raises(ButaneError) as exc:
            run(doc)
        assert str(exc.value).startswith("in.bu:2:10:")
        assert f"produces Ignition spec {target}, which igngen does not support yet" in str(
            exc.value
        )
        need(target)
    result = run(doc)
    assert result.config == {"ignition": {"version": target}}
    assert result.warnings == []
    assert result.variant == f"{variant} {version}"


# --- boot_device ---------------------------------------------------------------

_ROOT_FS = {"device": "/dev/mapper/root", "format": "xfs", "label": "root", "wipeFilesystem": True}


@pytest.mark.parametrize(("variant", "version", "target"), FCOS)
def test_boot_device_tpm2(variant: str, version: str, target: str, tmp_path: Path) -> None:
    need(target)
    result = run(head(variant, version) + "boot_device:\n  luks:\n    tpm2: true\n")
    assert result.config == {
        "ignition": {"version": target},
        "storage": {
            "luks": [
                {
                    "clevis": {"tpm2": True},
                    "device": "/dev/disk/by-partlabel/root",
                    "label": "luks-root",
                    "name": "root",
                    "wipeVolume": True,
                }
            ],
            "filesystems": [_ROOT_FS],
        },
    }
    if target == "3.3.0":
        proc = ignition_validate(json.dumps(result.config), tmp_path)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def _mirror_disk(
    device: str, n: int, first: tuple[str, int, str], second: tuple[str, int, str]
) -> Any:
    return {
        "device": device,
        "wipeTable": True,
        "partitions": [
            {"label": f"{first[0]}-{n}", "sizeMiB": first[1], "typeGuid": first[2]},
            {"label": f"{second[0]}-{n}", "sizeMiB": second[1], "typeGuid": second[2]},
            {"label": f"boot-{n}", "sizeMiB": 384},
            {"label": f"root-{n}"},
        ],
    }


BIOS = ("bios", 1, "21686148-6449-6E6F-744E-656564454649")
ESP = ("esp", 127, "C12A7328-F81F-11D2-BA4B-00A0C93EC93B")
PREP = ("prep", 4, "9E1A2D38-C612-4316-AA26-8B49521E5A8B")
RESERVED = ("reserved", 1, "8DA63339-0007-60C0-C436-083AC8230908")
RAID = [
    {
        "devices": ["/dev/disk/by-partlabel/boot-1", "/dev/disk/by-partlabel/boot-2"],
        "level": "raid1",
        "name": "md-boot",
        "options": ["--metadata=1.0"],
    },
    {
        "devices": ["/dev/disk/by-partlabel/root-1", "/dev/disk/by-partlabel/root-2"],
        "level": "raid1",
        "name": "md-root",
    },
]
BOOT_FS = {"device": "/dev/md/md-boot", "format": "ext4", "label": "boot", "wipeFilesystem": True}


def _esp_fs(n: int) -> Any:
    return {
        "device": f"/dev/disk/by-partlabel/esp-{n}",
        "format": "vfat",
        "label": f"esp-{n}",
        "wipeFilesystem": True,
    }


@pytest.mark.parametrize(("variant", "version", "target"), FCOS)
@pytest.mark.parametrize(
    ("layout", "first", "second", "esp"),
    [
        ("x86_64", BIOS, ESP, True),
        ("aarch64", RESERVED, ESP, True),
        ("ppc64le", PREP, RESERVED, False),
    ],
)
def test_boot_device_mirror(
    variant: str,
    version: str,
    target: str,
    layout: str,
    first: Any,
    second: Any,
    esp: bool,
    tmp_path: Path,
) -> None:
    need(target)
    doc = (
        head(variant, version)
        + f"boot_device:\n  layout: {layout}\n  mirror:\n    devices: [/dev/sda, /dev/sdb]\n"
    )
    result = run(doc)
    assert result.warnings == []
    filesystems = ([_esp_fs(1), _esp_fs(2)] if esp else []) + [
        BOOT_FS,
        {"device": "/dev/md/md-root", "format": "xfs", "label": "root", "wipeFilesystem": True},
    ]
    assert result.config == {
        "ignition": {"version": target},
        "storage": {
            "disks": [
                _mirror_disk("/dev/sda", 1, first, second),
                _mirror_disk("/dev/sdb", 2, first, second),
            ],
            "raid": RAID,
            "filesystems": filesystems,
        },
    }
    if target == "3.3.0":
        proc = ignition_validate(json.dumps(result.config), tmp_path)
        assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(("variant", "version", "target"), FCOS)
def test_boot_device_luks_on_mirror_with_tang_and_user_override(
    variant: str, version: str, target: str
) -> None:
    """The generated config is the merge parent: a user filesystem of the same device wins field by field."""
    need(target)
    doc = head(variant, version) + (
        "boot_device:\n  layout: x86_64\n  luks:\n    tang:\n      - url: https://tang.example\n"
        "        thumbprint: abc\n    threshold: 1\n  mirror:\n    devices: [/dev/sda, /dev/sdb]\n"
        "storage:\n  filesystems:\n    - device: /dev/mapper/root\n      format: ext4\n"
    )
    result = run(doc)
    storage = result.config["storage"]
    assert storage["luks"] == [
        {
            "clevis": {
                "tang": [{"thumbprint": "abc", "url": "https://tang.example"}],
                "threshold": 1,
            },
            "device": "/dev/md/md-root",
            "label": "luks-root",
            "name": "root",
            "wipeVolume": True,
        }
    ]
    assert storage["filesystems"][-1] == {**_ROOT_FS, "format": "ext4"}
    # the user's filesystem (format on line 15) is now the last entry: its location follows it
    assert result.locate("/storage/filesystems/3/format") == "in.bu:15:15"


def test_boot_device_discard_from_1_5_and_not_before() -> None:
    doc = "boot_device:\n  luks:\n    tpm2: true\n    discard: false\n"
    luks = run(head("fcos", "1.5.0") + doc).config["storage"]["luks"][0]
    assert luks["discard"] is False
    with pytest.raises(ButaneError, match="unknown key 'discard'") as exc:
        run(head("fcos", "1.4.0") + doc)
    assert str(exc.value).startswith("in.bu:6:5:")


@pytest.mark.parametrize(
    ("device", "layout", "luks_device"),
    [("/dev/dasda", "s390x-eckd", "/dev/dasda2"), ("/dev/sdb", "s390x-zfcp", "/dev/sdb4")],
)
def test_boot_device_s390x_cex(device: str, layout: str, luks_device: str) -> None:
    doc = (
        head("fcos", "1.6.0")
        + f"boot_device:\n  layout: {layout}\n  luks:\n    device: {device}\n    cex:\n      enabled: true\n"
    )
    luks = run(doc).config["storage"]["luks"]
    assert luks == [
        {
            "cex": {"enabled": True},
            "device": luks_device,
            "label": "luks-root",
            "name": "root",
            "wipeVolume": True,
        }
    ]


BOOT_REFUSED = [
    # (version, boot_device body, location, words)
    ("1.5.0", "  layout: s390x-eckd\n", "4:11", "layout must be one of: aarch64, ppc64le, x86_64"),
    ("1.6.0", "  layout: sparc\n", "4:11", "s390x-eckd, s390x-virt, s390x-zfcp, x86_64"),
    ("1.6.0", "  layout: s390x-eckd\n  luks:\n    tpm2: true\n", "4:11", "device is required"),
    (
        "1.6.0",
        "  layout: s390x-eckd\n  luks:\n    device: /dev/vda\n    tpm2: true\n",
        "4:11",
        "must start with /dev/dasd",
    ),
    (
        "1.6.0",
        "  layout: s390x-virt\n  mirror:\n    devices: [/dev/a, /dev/b]\n",
        "4:11",
        "mirroring not supported",
    ),
    (
        "1.6.0",
        "  luks:\n    cex:\n      enabled: true\n",
        "6:7",
        "cex the targeted architecture must match s390x",
    ),
    (
        "1.6.0",
        "  layout: x86_64\n  luks:\n    cex:\n      enabled: true\n",
        "4:11",
        "must match s390x",
    ),
    (
        "1.6.0",
        "  layout: s390x-virt\n  luks:\n    tpm2: true\n    cex:\n      enabled: true\n",
        "6:5",
        "cannot use cex with clevis",
    ),
    ("1.6.0", "  mirror:\n    devices: [/dev/sda]\n", "5:14", "at least two devices"),
    ("1.6.0", "  mirorr: {}\n", "4:3", "unknown key 'mirorr'"),
    (
        "1.7.0",
        "  mirror:\n    devices: [/dev/sda, /dev/sdb]\n",
        "5:5",
        "layout should be specified",
    ),
    ("1.7.0", "  luks:\n    device: /dev/sda\n", "5:5", "no method specified for luks"),
]


@pytest.mark.parametrize(("version", "body", "where", "words"), BOOT_REFUSED)
def test_boot_device_refused(
    version: str, body: str, where: str, words: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    activate(monkeypatch, "fcos", version)
    with pytest.raises(ButaneError) as exc:
        run(head("fcos", version) + "boot_device:\n" + body)
    assert str(exc.value).startswith(f"in.bu:{where}:"), str(exc.value)
    assert words in str(exc.value)


@pytest.mark.parametrize("version", ["1.4.0", "1.5.0", "1.6.0"])
def test_mirror_without_layout_warns_before_1_7(version: str) -> None:
    doc = head("fcos", version) + "boot_device:\n  mirror:\n    devices: [/dev/sda, /dev/sdb]\n"
    result = run(doc)
    assert result.warnings == [
        "in.bu:5:5: boot_device.layout should be specified when boot_device.mirror is specified"
    ]
    with pytest.raises(ButaneError, match="strict mode"):
        run(doc, strict=True)


# --- grub ----------------------------------------------------------------------


@pytest.mark.parametrize(("variant", "version", "target"), [v for v in FCOS if v[1] != "1.4.0"])
def test_grub_users(variant: str, version: str, target: str) -> None:
    need(target)
    doc = head(variant, version) + (
        "grub:\n  users:\n    - name: root\n      password_hash: grub.pbkdf2.sha512.10000.AA\n"
        "    - name: admin\n      password_hash: grub.pbkdf2.sha512.10000.BB\n"
    )
    result = run(doc, auto_compress=False)
    text = (
        '# Generated by Butane\n\nset superusers="root admin"\n'
        "password_pbkdf2 root grub.pbkdf2.sha512.10000.AA\n"
        "password_pbkdf2 admin grub.pbkdf2.sha512.10000.BB\n"
    )
    from urllib.parse import unquote

    storage = result.config["storage"]
    assert storage["filesystems"] == [
        {"device": "/dev/disk/by-label/boot", "format": "ext4", "path": "/boot"}
    ]
    [file] = storage["files"]
    assert file["path"] == "/boot/grub2/user.cfg"
    [append] = file["append"]
    assert append["compression"] == ""
    assert unquote(append["source"].removeprefix("data:,")) == text
    assert set(file) == {"path", "append"}


def test_grub_user_needs_name() -> None:
    with pytest.raises(ButaneError, match='field "name" is required') as exc:
        run(head("fcos", "1.6.0") + "grub:\n  users:\n    - password_hash: x\n")
    assert str(exc.value).startswith("in.bu:5:7:")


# --- fcos 1.6+ storage checks ---------------------------------------------------


def test_reuse_by_label_warns_from_1_6() -> None:
    body = "storage:\n  disks:\n    - device: /dev/sdb\n      partitions:\n        - label: data\n"
    assert run(head("fcos", "1.5.0") + body).warnings == []
    result = run(head("fcos", "1.6.0") + body)
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith("in.bu:7:11: partitions cannot be reused by label")
    ok = body.replace("/dev/sdb\n", "/dev/sdb\n      wipe_table: true\n")
    assert run(head("fcos", "1.6.0") + ok).warnings == []


def test_mount_unit_outside_etc_var_refused_from_1_6() -> None:
    body = "storage:\n  filesystems:\n    - device: /dev/sdb\n      path: /srv\n      format: ext4\n      with_mount_unit: true\n"
    run(head("fcos", "1.5.0") + body)
    run(head("flatcar", "1.1.0") + body)
    with pytest.raises(ButaneError, match="under /etc or /var") as exc:
        run(head("fcos", "1.6.0") + body)
    assert str(exc.value).startswith("in.bu:6:7:")
    run(head("fcos", "1.6.0") + body.replace("/srv", "/var/srv"))


# --- warnings Butane passes on from Ignition's validator, and -s -----------------

ACTIVE = [v for v in ALL if v[2] in spec.VERSIONS]
UNIT = "systemd:\n  units:\n"
WARNED = [
    # (body, location, message)
    (
        "ignition:\n  proxy:\n    https_proxy: http://proxy:3128\n",
        "5:18",
        "insecure plaintext HTTP proxy specified for HTTPS resources",
    ),
    (
        UNIT
        + "    - name: a.service\n      enabled: true\n      contents: |\n        [Service]\n        ExecStart=/bin/true\n",
        "7:17",
        'unit "a.service" is enabled, but has no install section so enable does nothing',
    ),
    (
        UNIT
        + "    - name: t@.service\n      contents: |\n        [Service]\n        ExecStart=/bin/true\n"
        + "    - name: t@x.service\n      enabled: true\n",
        "9:7",
        'template unit "t@.service" for "t@x.service" doesn\'t have Install section',
    ),
    (
        "storage:\n  links:\n    - path: /etc/l\n      target: /etc/t\n      hard: true\n      group:\n        name: wheel\n",
        "9:15",
        "user/group ignored for hard link",
    ),
    (
        "storage:\n  disks:\n    - device: /dev/sdb\n      wipe_table: true\n      partitions:\n        - number: 1\n"
        "  filesystems:\n    - device: /dev/sdb\n      format: ext4\n",
        "10:15",
        "filesystem overwrites partitioned device",
    ),
    (
        "storage:\n  disks:\n    - device: /dev/sdb\n      wipe_table: true\n"
        "  filesystems:\n    - device: /dev/sdb\n      format: ext4\n",
        "8:15",
        "device matches disk with wipeTable enabled; filesystem will be wiped",
    ),
    (
        "storage:\n  files:\n    - path: /a\n      mode: 644\n",
        "6:13",
        "looks like octal written in decimal",
    ),
    (
        'ignition:\n  config:\n    merge:\n      - inline: \'{"ignition":{"version":"3.0.0"}}\'\n',
        "6:17",
        "embedded Ignition config declares version '3.0.0'",
    ),
]
NOT_WARNED = [
    "ignition:\n  proxy:\n    http_proxy: http://proxy:3128\n    https_proxy: https://proxy:3128\n",
    UNIT
    + "    - name: a.service\n      enabled: true\n      contents: |\n        [Service]\n        ExecStart=/bin/true\n"
    "        [Install]\n        WantedBy=multi-user.target\n",
    UNIT
    + "    - name: a.service\n      enabled: false\n      contents: |\n        [Service]\n        ExecStart=/bin/true\n",
    UNIT
    + '    - name: a.service\n      enabled: true\n      dropins:\n        - name: x.conf\n          contents: "[Service]"\n',
    UNIT
    + "    - name: t@.service\n      contents: |\n        [Service]\n        ExecStart=/bin/true\n        [Install]\n"
    + "        WantedBy=multi-user.target\n    - name: t@x.service\n      enabled: true\n",
    UNIT + "    - name: t@x.service\n      enabled: true\n",
    "storage:\n  links:\n    - path: /etc/l\n      target: /etc/t\n      group:\n        name: wheel\n",
    "storage:\n  disks:\n    - device: /dev/sdb\n      wipe_table: true\n"
    "  filesystems:\n    - device: /dev/sdb\n      format: ext4\n      wipe_filesystem: true\n",
]


@pytest.mark.parametrize(("variant", "version", "target"), ACTIVE)
@pytest.mark.parametrize(("body", "where", "words"), WARNED)
def test_warned_and_strict_fails(
    variant: str, version: str, target: str, body: str, where: str, words: str
) -> None:
    doc = head(variant, version) + body
    result = run(doc)
    assert any(w.startswith(f"in.bu:{where}: ") and words in w for w in result.warnings), (
        result.warnings
    )
    with pytest.raises(ButaneError) as exc:
        run(doc, strict=True)
    assert "strict mode" in str(exc.value)


@pytest.mark.parametrize(("variant", "version", "target"), ACTIVE)
@pytest.mark.parametrize("body", NOT_WARNED)
def test_not_warned(variant: str, version: str, target: str, body: str) -> None:
    result = run(head(variant, version) + body, strict=True)
    assert result.warnings == []


def test_embedded_config_of_the_target_spec_is_validated() -> None:
    doc = head("flatcar", "1.1.0") + (
        'ignition:\n  config:\n    replace:\n      inline: \'{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"x"}]}}\'\n'
    )
    with pytest.raises(ButaneError, match="embedded Ignition config is invalid"):
        run(doc)
    older = doc.replace('"3.4.0"', '"3.3.0"')
    assert run(older).warnings == [
        "in.bu:6:15: embedded Ignition config declares version '3.3.0', not 3.4.0: not validated (Butane skips it too)"
    ]


def test_cli_strict_fails_where_butane_s_fails(tmp_path: Path) -> None:
    doc = head("flatcar", "1.1.0") + "ignition:\n  proxy:\n    https_proxy: http://proxy:3128\n"
    path = tmp_path / "in.bu"
    path.write_text(doc)
    env_cmd = [sys.executable, "-m", "igngen", "butane"]
    ok = subprocess.run([*env_cmd, str(path)], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "insecure plaintext HTTP proxy" in ok.stderr and ":5:18:" in ok.stderr
    strict = subprocess.run([*env_cmd, "-s", str(path)], capture_output=True, text=True, timeout=60)
    assert strict.returncode == 65 and strict.stdout == ""
    assert "strict mode" in strict.stderr and "Traceback" not in strict.stderr


# --- flatcar 1.2.0-experimental (base v0_8_exp) and base v0_7 trees ------------------


def test_flatcar_1_2_exp_clevis_allowed_cex_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    activate(monkeypatch, "flatcar", "1.2.0-experimental")
    doc = (
        head("flatcar", "1.2.0-experimental")
        + "storage:\n  luks:\n    - name: x\n      device: /dev/sdb\n"
    )
    clevis = run(doc + "      clevis:\n        tpm2: true\n").config["storage"]["luks"][0]
    assert clevis["clevis"] == {"tpm2": True}
    with pytest.raises(ButaneError, match="cex is not currently supported on the target platform"):
        run(doc + "      cex:\n        enabled: true\n")


QUADLET_DOC = """\
systemd:
  quadlets:
    - name: web.container
      contents: |
        [Container]
        Image=quay.io/example/web
    - name: db.volume
      rootful: true
      contents_local: db.volume
    - name: sleep@.container
      contents: "[Container]\\nImage=busybox\\n"
    - name: sleep@100.container
    - name: empty.network
"""


def test_flatcar_1_2_exp_quadlets_become_files_and_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    activate(monkeypatch, "flatcar", "1.2.0-experimental")
    (tmp_path / "db.volume").write_text("[Volume]\n")
    doc = head("flatcar", "1.2.0-experimental") + QUADLET_DOC
    config = run(doc, files_dir=str(tmp_path), auto_compress=False).config
    assert "quadlets" not in config.get("systemd", {})
    files = {f["path"]: (f["contents"], f.get("mode")) for f in config["storage"]["files"]}
    # Butane v0.29.0 base/v0_8_exp/translate.go (buildQuadletPath, addFileWithContents):
    # users/ unless rootful, mode 0644 when none is set, data URLs with compression set
    # explicitly ("" when not compressed, so no parent's setting applies).
    assert files == {
        "/etc/containers/systemd/users/web.container": (
            {
                "source": "data:,%5BContainer%5D%0AImage%3Dquay.io%2Fexample%2Fweb%0A",
                "compression": "",
            },
            0o644,
        ),
        "/etc/containers/systemd/db.volume": (
            {"source": "data:,%5BVolume%5D%0A", "compression": ""},
            0o644,
        ),
        "/etc/containers/systemd/users/sleep@.container": (
            {"source": "data:,%5BContainer%5D%0AImage%3Dbusybox%0A", "compression": ""},
            0o644,
        ),
        "/etc/containers/systemd/users/empty.network": (
            {"source": "data:,", "compression": ""},
            0o644,
        ),
    }
    assert config["storage"]["links"] == [
        {"path": "/etc/containers/systemd/users/sleep@100.container", "target": "sleep@.container"}
    ]


# Each fact from Butane v0.29.0 (git tag v0.29.0 of coreos/butane); the path names the file.
QUADLET_FACTS = [
    # base/v0_8_exp/translate.go isTemplateInstance: the extension starts at the LAST dot.
    (
        "    - name: a@b.c.container\n",
        "links",
        "/etc/containers/systemd/users/a@b.c.container",
        {"target": "a@.container"},
    ),
    # isTemplateInstance: the base name is everything before the first "@".
    (
        "    - name: x.y@1.pod\n",
        "links",
        "/etc/containers/systemd/users/x.y@1.pod",
        {"target": "x.y@.pod"},
    ),
    # isTemplateInstance: "@" right before the extension is the template itself (a file).
    ("    - name: a@.kube\n", "files", "/etc/containers/systemd/users/a@.kube", {"mode": 0o644}),
    # schema.go Quadlet.Dropins + processQuadlets: "<quadlet path>.d/<dropin name>", a file
    # as addFileWithContents makes it (mode 0644), also for a template instance (a link).
    (
        "    - name: s@1.container\n      rootful: true\n      dropins:\n"
        '        - name: foo.conf\n          contents: "[Service]"\n',
        "files",
        "/etc/containers/systemd/s@1.container.d/foo.conf",
        {"mode": 0o644, "contents": {"source": "data:,%5BService%5D", "compression": ""}},
    ),
    # translate.go readLocalOrInlineContents (util.NotEmpty): an empty string is no source.
    (
        '    - name: e.image\n      contents: ""\n',
        "files",
        "/etc/containers/systemd/users/e.image",
        {"contents": {"source": "data:,", "compression": ""}},
    ),
]


@pytest.mark.parametrize(("quadlet", "kind", "path", "want"), QUADLET_FACTS)
def test_flatcar_1_2_exp_quadlet_facts(
    quadlet: str, kind: str, path: str, want: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    activate(monkeypatch, "flatcar", "1.2.0-experimental")
    doc = head("flatcar", "1.2.0-experimental") + "systemd:\n  quadlets:\n" + quadlet
    storage = run(doc, auto_compress=False).config["storage"]
    entries = [e for e in storage.get(kind, []) if e["path"] == path]
    assert len(entries) == 1, storage
    assert {k: entries[0].get(k) for k in want} == want


@pytest.mark.parametrize(
    ("quadlet", "match"),
    [
        # base/v0_8_exp/validate.go validateQuadletExtension (ErrQuadletBadExtension).
        ("    - name: web.service\n", "must end in .container"),
        ("    - contents: x\n", "must end in .container"),
        # validate.go Quadlet.Validate: the extension is checked first, before contents.
        ("    - name: a@b.service\n      contents: x\n", "must end in .container"),
        # Quadlet.Validate: ErrTemplateInstanceCannotHaveContents, for contents and for
        # contents_local, and it wins over the one-source rule for an instance.
        ("    - name: a@b.container\n      contents: x\n", "template instance"),
        ("    - name: a@b.container\n      contents_local: x\n", "template instance"),
        (
            "    - name: a@b.container\n      contents: x\n      contents_local: y\n",
            "template instance",
        ),
        # validate.go validateNotTooManySources (ErrTooManySystemdSources), quadlet and dropin.
        ("    - name: a.container\n      contents: x\n      contents_local: y\n", "only one of"),
        (
            "    - name: a.container\n      dropins:\n        - name: d.conf\n"
            "          contents: x\n          contents_local: y\n",
            "only one of",
        ),
        # schema.go: rootful is a bool.
        ("    - name: a.container\n      rootful: yes please\n", "true or false"),
        # igngen refuses keys Butane would drop (README, deliberate differences).
        ("    - name: a.container\n      mode: 420\n", "unknown key"),
        (
            "    - name: a.container\n      dropins:\n        - name: d.conf\n"
            "          mode: 420\n",
            "unknown key",
        ),
        # translate_test.go "Duplicate names will lead to file-collision" (ErrNodeExists).
        ("    - name: a.pod\n    - name: a.pod\n", "already declared"),
        # addFileWithContents: a drop-in path already held (two drop-ins of one name).
        (
            "    - name: a.pod\n      dropins:\n        - name: d.conf\n        - name: d.conf\n",
            "already declared",
        ),
        # quadletToSymlink: an instance whose link path is already held.
        ("    - name: a@1.pod\n    - name: a@1.pod\n", "already declared"),
    ],
)
def test_flatcar_1_2_exp_quadlet_errors(
    quadlet: str, match: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    activate(monkeypatch, "flatcar", "1.2.0-experimental")
    doc = head("flatcar", "1.2.0-experimental") + "systemd:\n  quadlets:\n" + quadlet
    with pytest.raises(ButaneError, match=match):
        run(doc)


def test_quadlet_collides_with_user_storage(monkeypatch: pytest.MonkeyPatch) -> None:
    # Butane v0.29.0 base/v0_8_exp/translate_test.go "File collision": a storage.files entry
    # (even without contents) at the quadlet's path is ErrNodeExists.
    activate(monkeypatch, "flatcar", "1.2.0-experimental")
    doc = head("flatcar", "1.2.0-experimental") + (
        "storage:\n  files:\n    - path: /etc/containers/systemd/s.container\n"
        "systemd:\n  quadlets:\n    - name: s.container\n      rootful: true\n"
    )
    with pytest.raises(ButaneError, match="already declared"):
        run(doc)


def test_quadlets_only_where_butane_has_them() -> None:
    doc = head("flatcar", "1.1.0") + "systemd:\n  quadlets:\n    - name: a.container\n"
    with pytest.raises(ButaneError, match="unknown key"):
        run(doc)


def test_quadlet_output_passes_ignition_validate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from igngen.ignition.translate import translate

    activate(monkeypatch, "flatcar", "1.2.0-experimental")
    (tmp_path / "db.volume").write_text("[Volume]\n")
    config = run(head("flatcar", "1.2.0-experimental") + QUADLET_DOC, files_dir=str(tmp_path))
    proc = ignition_validate(json.dumps(translate(config.config, "3.3.0")), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("variant", "version"), [("fcos", "1.7.0"), ("flatcar", "1.2.0-experimental")]
)
def test_tree_ownership_and_modes(
    variant: str, version: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    activate(monkeypatch, variant, version)
    root = tmp_path / "tree"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "f").write_text("x")
    doc = head(variant, version) + (
        "storage:\n  trees:\n    - local: tree\n      path: /opt/t\n      user:\n        name: core\n"
        "      file_mode: 0600\n      dir_mode: 0700\n"
    )
    storage = run(doc, files_dir=str(tmp_path)).config["storage"]
    owner = {"user": {"name": "core"}}
    assert storage["directories"] == [
        {"path": "/opt/t", "mode": 0o700, **owner},
        {"path": "/opt/t/sub", "mode": 0o700, **owner},
    ]
    assert [(f["path"], f["mode"], f["user"]) for f in storage["files"]] == [
        ("/opt/t/sub/f", 0o600, {"name": "core"})
    ]


def test_tree_ownership_is_unknown_before_v0_7(tmp_path: Path) -> None:
    (tmp_path / "tree").mkdir()
    doc = head("fcos", "1.6.0") + "storage:\n  trees:\n    - local: tree\n      file_mode: 0600\n"
    with pytest.raises(ButaneError, match="unknown key 'file_mode'"):
        run(doc, files_dir=str(tmp_path))


# --- unit section reader -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "sections"),
    [
        ("[Unit]\nA=b\n\n[Install]\nWantedBy=x\n", ["Unit", "Install"]),
        ("# [Install]\n; [Install]\n[Service]\n", ["Service"]),
        ("[Service]\nExecStart=/bin/echo \\\n[Install]\n", ["Service"]),
        ("  [Install]  \n", ["Install"]),
        ("[Service\n", None),
    ],
)
def test_unit_sections(text: str, sections: list[str] | None) -> None:
    assert unit_sections(text) == sections


# --- custom data that is Butane YAML ---------------------------------------------------


def test_butane_custom_data_is_translated_with_a_note() -> None:
    doc = (
        head("flatcar", "1.0.0")
        + "passwd:\n  users:\n    - name: core\n      ssh_authorized_keys: [ssh-ed25519 AAAA k]\n"
    )
    got = customdata.classify(doc.encode())
    assert got.kind == customdata.IGNITION and got.version == "3.3.0" and not got.gzipped
    assert got.config == {
        "ignition": {"version": "3.3.0"},
        "passwd": {"users": [{"name": "core", "sshAuthorizedKeys": ["ssh-ed25519 AAAA k"]}]},
    }
    assert json.loads(got.raw) == got.config
    assert "Butane YAML (flatcar 1.0.0)" in got.note and "spec 3.3.0" in got.note


def test_butane_custom_data_gzipped_and_as_json() -> None:
    import gzip

    doc = head("fcos", "1.5.0")
    assert customdata.classify(gzip.compress(doc.encode())).version == "3.4.0"
    as_json = json.dumps({"variant": "flatcar", "version": "1.1.0"}).encode()
    assert customdata.classify(as_json).version == "3.4.0"


def test_butane_custom_data_refused_with_location() -> None:
    doc = head("flatcar", "1.0.0") + "passwd:\n  userz: []\n"
    with pytest.raises(CustomDataError) as exc:
        customdata.classify(doc.encode(), source="customdata")
    assert str(exc.value) == "customdata:4:3: Butane custom data: unknown key 'userz'"
    with pytest.raises(CustomDataError, match="needs a files directory"):
        customdata.classify(
            (head("flatcar", "1.0.0") + "storage:\n  trees:\n    - local: x\n").encode()
        )


def test_butane_custom_data_warnings_are_notes_not_errors() -> None:
    doc = head("flatcar", "1.1.0") + "ignition:\n  proxy:\n    https_proxy: http://p:1\n"
    got = customdata.classify(doc.encode(), source="customdata")
    assert "customdata:5:18: insecure plaintext HTTP proxy" in got.note


def test_butane_in_a_merge_reference_is_not_translated() -> None:
    with pytest.raises(CustomDataError, match="not valid Ignition JSON"):
        customdata.classify(head("flatcar", "1.0.0").encode(), butane=False)
