"""Every input has a named bound (igngen/limits.py), and crossing it is a located exit 65
or 2, never a crash, a hang or an out-of-memory death: run as the CLI, the way a user
or the initramfs would meet it."""

from __future__ import annotations

import base64
import json
import os
import resource
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from igngen import limits

REPO = Path(__file__).resolve().parent.parent
OVF = REPO / "examples/basic/ovf-env.xml"
# Far above what igngen needs (≈ 100 MiB) and far below what an unbounded gunzip of the
# bomb below would take.
ADDRESS_SPACE = 1024 * 1024 * 1024


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def igngen(*args: str, limited: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "igngen", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
        preexec_fn=_limited if limited else None,
    )


def _one_line_error(proc: subprocess.CompletedProcess[str], code: int, needle: str) -> None:
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines and needle in lines[-1], proc.stderr


def _gzip_zeros(size: int) -> bytes:
    gz = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"\0" * (1 << 20)
    out = [gz.compress(chunk) for _ in range(size // len(chunk))]
    return b"".join(out) + gz.flush()


def test_a_gzip_bomb_in_a_merge_reference_is_refused_within_memory(tmp_path: Path) -> None:
    bomb = _gzip_zeros(2 * ADDRESS_SPACE)  # 2 GiB of zeros in ≈ 2 MiB
    custom = {
        "ignition": {
            "version": "3.3.0",
            "config": {
                "merge": [
                    {
                        "source": "data:;base64," + base64.b64encode(bomb).decode(),
                        "compression": "gzip",
                    }
                ]
            },
        }
    }
    path = tmp_path / "custom.ign"
    path.write_text(json.dumps(custom))
    proc = igngen("render", "--ovf", str(OVF), "--customdata", str(path), limited=True)
    _one_line_error(proc, 65, "")
    assert str(limits.MAX_DECOMPRESSED // limits.MIB) in proc.stderr or "MiB" in proc.stderr


def test_a_gzip_bomb_as_the_custom_data_itself_is_refused_within_memory(tmp_path: Path) -> None:
    path = tmp_path / "custom.gz"
    path.write_bytes(_gzip_zeros(2 * ADDRESS_SPACE))
    proc = igngen("render", "--ovf", str(OVF), "--customdata", str(path), limited=True)
    _one_line_error(proc, 65, "")
    assert "custom.gz" in proc.stderr


@pytest.mark.parametrize("kind", ["fifo", "chardev", "directory"])
@pytest.mark.parametrize("option", ["--customdata", "--imds", "--config", "--ovf"])
def test_non_regular_inputs_are_refused_at_once(tmp_path: Path, kind: str, option: str) -> None:
    if kind == "fifo":
        target = tmp_path / "fifo"
        os.mkfifo(target)
    elif kind == "chardev":
        target = Path("/dev/zero")
    else:
        target = tmp_path
    args = ["render", "--ovf", str(OVF)]
    if option == "--ovf":
        args = ["render"]
    proc = igngen(*args, option, str(target))
    assert proc.returncode in (65, 66), proc.stderr
    assert "not a regular file" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested deeper than"),
        ('{"ignition":{"version":"3.3.0"},"x":' + "9" * 5000 + "}", "integer longer than"),
        (
            '{"ignition":{"version":"3.3.0"},"storage":{"files":[{"path":"/etc/\\ud800",'
            '"contents":{"source":"data:,x"}}]}}',
            "lone surrogate",
        ),
    ],
    ids=["deep", "huge-int", "surrogate"],
)
@pytest.mark.parametrize("command", ["validate", "merge", "render"])
def test_hostile_json_is_a_located_error_in_every_command(
    tmp_path: Path, text: str, needle: str, command: str
) -> None:
    path = tmp_path / "hostile.ign"
    path.write_text(text)
    if command == "validate":
        proc = igngen("validate", str(path))
    elif command == "merge":
        proc = igngen("merge", str(path), str(path))
    else:
        proc = igngen("render", "--ovf", str(OVF), "--customdata", str(path))
    assert proc.returncode == 65, proc.stderr
    said = proc.stdout + proc.stderr  # validate reports on stdout, the rest on stderr
    assert needle in said and "hostile.ign" in said
    assert "Traceback" not in said


def test_a_billion_laughs_settings_file_is_refused(tmp_path: Path) -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for prev, name in zip("abcdef", "bcdefg", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(lines) + "\n")
    proc = igngen("render", "--ovf", str(OVF), "--config", str(path), limited=True)
    _one_line_error(proc, 2, f"more than {limits.MAX_YAML_NODES} nodes")


@pytest.mark.parametrize(
    ("setting", "value"),
    [("bcrypt_cost", 31), ("bcrypt_cost", 3), ("sha512_rounds", 999_999_999)],
)
def test_hash_costs_that_take_hours_are_refused(tmp_path: Path, setting: str, value: int) -> None:
    path = tmp_path / "cost.yaml"
    scheme = "sha512crypt" if setting == "sha512_rounds" else "bcrypt"
    path.write_text(f"password:\n  scheme: {scheme}\n  {setting}: {value}\n")
    proc = igngen("render", "--ovf", str(OVF), "--config", str(path))
    _one_line_error(proc, 2, f"password.{setting}: {value} is outside")


def test_an_oversized_input_is_refused_by_its_named_cap(tmp_path: Path) -> None:
    path = tmp_path / "big.xml"
    with path.open("wb") as fh:
        fh.truncate(limits.MAX_OVF_BYTES + 1)
    proc = igngen("render", "--ovf", str(path))
    assert proc.returncode == 65, proc.stderr
    assert "big.xml" in proc.stderr and "Traceback" not in proc.stderr
