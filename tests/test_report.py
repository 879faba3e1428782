"""``igngen report`` / ``igngen status``: idempotent Ready, failure reasons, KVP, state files."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from sim.http import Reply, free_port_refusing
from sim.wireserver import WireserverSim

from igngen.azure import health, kvp, reporter
from igngen.cli import main
from igngen.errors import SettingsError
from igngen.render import variables

VM1 = "0f3e1b2a-1111-4c2d-9e8f-000000000001"
VM2 = "0f3e1b2a-2222-4c2d-9e8f-000000000002"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, Path]:
    vm_file = tmp_path / "product_uuid"
    vm_file.write_text(VM1.upper() + "\n")
    return {
        "state": tmp_path / "state",
        "vm": vm_file,
        "pool": tmp_path / "kvp_pool_1",
        "reason": tmp_path / "failure-reason",
    }


def cli(env: dict[str, Path], sim_url: str, *extra: str, kind: str = "ready") -> int:
    return main(
        [
            "report",
            kind,
            "--wireserver",
            sim_url,
            "--state-dir",
            str(env["state"]),
            "--vm-id-file",
            str(env["vm"]),
            "--kvp-pool",
            str(env["pool"]),
            "--reason-file",
            str(env["reason"]),
            "--timeout",
            "5",
            *extra,
        ]
    )


def test_ready_once_per_vm(env: dict[str, Path]) -> None:
    with WireserverSim(json_enabled=False, incarnation=9) as sim:
        assert cli(env, sim.url) == 0
        assert cli(env, sim.url) == 0  # a reboot: marker found, nothing sent
        assert len(sim.health) == 1 and sim.hits("goalstate") == 1
    marker = json.loads((env["state"] / "ready.json").read_text())
    assert marker["vm_id"] == VM1 and marker["incarnation"] == "9"
    assert marker["protocol"] == "goalstate" and marker["wireserver"] == sim.url


def test_new_vm_id_reports_again(env: dict[str, Path]) -> None:
    with WireserverSim() as sim:
        assert cli(env, sim.url) == 0
        env["vm"].write_text(VM2)
        assert cli(env, sim.url) == 0
        assert cli(env, sim.url) == 0
        assert len(sim.json) == 2
    assert json.loads((env["state"] / "ready.json").read_text())["vm_id"] == VM2


def test_vm_id_flag_overrides_file(env: dict[str, Path]) -> None:
    with WireserverSim() as sim:
        assert cli(env, sim.url) == 0
        assert cli(env, sim.url, "--vm-id", VM2) == 0
        assert len(sim.json) == 2


def test_force_reports_again(env: dict[str, Path]) -> None:
    with WireserverSim() as sim:
        assert cli(env, sim.url) == 0
        assert cli(env, sim.url, "--force") == 0
        assert len(sim.json) == 2


def test_failed_ready_leaves_no_marker_and_is_retried_next_time(
    env: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    with WireserverSim(faults={"json": [Reply(403)]}) as sim:
        assert cli(env, sim.url) == 69
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith("igngen: error: ") and "HTTP 403" in err[-1]
        assert "Traceback" not in "\n".join(err)
        assert not (env["state"] / "ready.json").exists()
        assert cli(env, sim.url) == 0
        assert len(sim.json) == 1
    assert (env["state"] / "ready.json").exists()


def test_unreachable_within_budget_exits_69(env: dict[str, Path]) -> None:
    assert cli(env, free_port_refusing(), "--timeout", "1") == 69
    assert not (env["state"] / "ready.json").exists()
    events = [k for k, _ in kvp.decode(env["pool"].read_bytes())]
    assert any(k.startswith("igngen|report-ready-failed|") for k in events)


def test_failure_uses_provision_reason_file(env: dict[str, Path]) -> None:
    env["reason"].write_text("media-missing: /dev/sr0: no ovf-env.xml on the provisioning media\n")
    with WireserverSim(json_enabled=False) as sim:
        assert cli(env, sim.url, kind="failure") == 0
    (doc,) = sim.health_docs()
    assert doc["state"] == "NotReady" and doc["substatus"] == "ProvisioningFailed"
    desc = doc["description"]
    assert desc.startswith(
        "result=error|reason=media-missing"
        "|detail=/dev/sr0: no ovf-env.xml on the provisioning media|agent=igngen/"
    )
    assert (
        f"vm_id={VM1}" in desc and "documentation_url=https://aka.ms/linuxprovisioningerror" in desc
    )
    assert len(desc) <= 512
    # igngen provision already wrote PROVISIONING_REPORT for its own failure.
    keys = [k for k, _ in kvp.decode(env["pool"].read_bytes())]
    assert kvp.REPORT_KEY not in keys and any(k.startswith("igngen|report-failure|") for k in keys)
    # Failure reports do not create the Ready marker.
    assert not (env["state"] / "ready.json").exists()
    assert "failure" in json.loads((env["state"] / "reports.json").read_text())


def test_failure_description_from_cli_goes_to_kvp_first(env: dict[str, Path]) -> None:
    with WireserverSim() as sim:
        assert cli(env, sim.url, "--description", "ignition-files: disk full", kind="failure") == 0
    (doc,) = sim.json_docs()
    records = dict(kvp.decode(env["pool"].read_bytes()))
    assert records[kvp.REPORT_KEY] == doc["details"]["description"]
    # Free text is kept as the detail of the catalogue's "unknown".
    assert "|reason=unknown|detail=ignition-files: disk full|" in records[kvp.REPORT_KEY]


def test_failure_from_failed_unit_journal(env: dict[str, Path]) -> None:
    opts = reporter.ReportOptions(
        kind="failure",
        wireserver="",
        state_dir=str(env["state"]),
        vm_id=VM1,
        kvp_pool=None,
        reason_file=str(env["reason"]),
        timeout=5,
    )
    monitor = {"MONITOR_UNIT": "ignition-files.service", "MONITOR_INVOCATION_ID": "abc123"}
    asked: list[str] = []

    def journal(matches: list[str]) -> tuple[str, str] | None:
        asked.extend(matches)
        return "", "CRITICAL : Ignition failed: failed to create users/groups: password=hunter2"

    with WireserverSim() as sim:
        outcome = reporter.run(opts._replace(wireserver=sim.url), env=monitor, journal=journal)
    assert outcome.reported and asked == ["_SYSTEMD_INVOCATION_ID=abc123"]
    desc = sim.json_docs()[0]["details"]["description"]
    assert (
        "|reason=ignition-stage-failed|detail=stage files: ignition-files.service: "
        "CRITICAL : Ignition failed" in desc
    )
    assert "hunter2" not in desc

    text, origin = health.failure_text(
        {
            "MONITOR_UNIT": "ignition-disks.service",
            "MONITOR_SERVICE_RESULT": "exit-code",
            "MONITOR_EXIT_STATUS": "1",
        },
        description=opts.description,
        reason_file=opts.reason_file,
        journal=lambda _: None,
    )
    assert (text, origin) == (
        (
            "ignition-stage-failed",
            "stage disks: ignition-disks.service: failed (exit-code, status 1)",
        ),
        "systemd",
    )

    # From emergency.target: no MONITOR_*; the newest error of the provisioning units.
    seen: list[str] = []

    def boot_journal(matches: list[str]) -> tuple[str, str] | None:
        seen.extend(matches)
        return "ignition-files.service", "files: op(1): failed to write"

    text, origin = health.failure_text(
        {}, description=None, reason_file=opts.reason_file, journal=boot_journal
    )
    assert text == (
        "ignition-stage-failed",
        "stage files: ignition-files.service: files: op(1): failed to write",
    )
    assert origin == "journal"
    assert seen == ["-u", "ignition-*.service", "-u", "igngen-provision.service"]
    assert (
        health.failure_text(
            {}, description=None, reason_file=opts.reason_file, journal=lambda _: None
        )[1]
        == "default"
    )


def test_failure_reason_ignores_a_monitored_unit_that_succeeded(env: dict[str, Path]) -> None:
    # emergency.target (after ignition-disks.service failed) started the report unit, and
    # systemd still passed the MONITOR_* of its only OnFailure= source: igngen provision,
    # which had succeeded. The reason is the failed Ignition stage's error, not that.
    opts = reporter.ReportOptions(
        kind="failure", wireserver="", state_dir=str(env["state"]), vm_id=VM1,
        kvp_pool=None, reason_file=str(env["reason"]), timeout=5,
    )  # fmt: skip
    monitor = {
        "MONITOR_UNIT": "igngen-provision.service",
        "MONITOR_SERVICE_RESULT": "success",
        "MONITOR_EXIT_CODE": "exited",
        "MONITOR_EXIT_STATUS": "0",
        "MONITOR_INVOCATION_ID": "feed",
    }
    seen: list[str] = []

    def journal(matches: list[str]) -> tuple[str, str] | None:
        seen.extend(matches)
        if matches == ["_SYSTEMD_INVOCATION_ID=feed"]:
            return None  # the provision run logged no error
        return "ignition-disks.service", "disks failed: failed to wait on raids devs"

    text, origin = health.failure_text(
        monitor, description=None, reason_file=opts.reason_file, journal=journal
    )
    assert (text, origin) == (
        (
            "ignition-stage-failed",
            "stage disks: ignition-disks.service: disks failed: failed to wait on raids devs",
        ),
        "journal",
    )
    assert "_SYSTEMD_INVOCATION_ID=feed" not in seen


def test_provisioning_report(env: dict[str, Path]) -> None:
    with WireserverSim(json_enabled=False) as sim:
        assert cli(env, sim.url, kind="provisioning") == 0
        assert cli(env, sim.url, kind="provisioning") == 0  # not idempotent: each start is news
    docs = sim.health_docs()
    assert [d["substatus"] for d in docs] == ["Provisioning", "Provisioning"]
    assert docs[0]["description"] == f"Provisioning in progress (igngen, vm_id={VM1})"


def test_discovered_wireserver_is_used(env: dict[str, Path]) -> None:
    with WireserverSim() as sim:
        opts = reporter.ReportOptions(
            kind="ready", state_dir=str(env["state"]), vm_id=VM1, kvp_pool=None, timeout=5
        )
        outcome = reporter.run(opts, discover=lambda: (sim.url, "lease 2"))
    assert outcome.reported and len(sim.json) == 1
    assert reporter.resolve_wireserver("auto", discover=lambda: None) == (
        "http://168.63.129.16",
        "default",
    )
    assert reporter.resolve_wireserver("10.0.0.1")[1] == "configured"


def test_status_human_and_json(env: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    with WireserverSim(json_enabled=False, incarnation=4) as sim:
        assert cli(env, sim.url, kind="provisioning") == 0
        assert cli(env, sim.url) == 0
    capsys.readouterr()
    base = ["status", "--state-dir", str(env["state"]), "--vm-id-file", str(env["vm"])]
    assert main([*base, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    entry = data["state_dirs"][str(env["state"])]
    assert data["ready_marker"] == "current" and data["vm_id"] == VM1
    assert entry["ready_marker"]["incarnation"] == "4"
    assert set(entry["reports"]) == {"provisioning", "ready"}
    assert entry["reports"]["ready"]["state"] == "Ready"
    assert main(base) == 0
    out = capsys.readouterr().out
    assert "Ready marker: VM " + VM1 in out and "(current)" in out
    assert "provisioning: NotReady/Provisioning" in out
    assert main([*base, "--vm-id", VM2, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ready_marker"] == "other-vm"


def test_status_with_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--state-dir", str(tmp_path / "none"), "--vm-id", VM1]) == 0
    out = capsys.readouterr().out
    assert "Ready marker: absent" in out and "reports: none recorded" in out


def test_corrupt_marker_means_report(env: dict[str, Path]) -> None:
    env["state"].mkdir()
    (env["state"] / "ready.json").write_text("{not json")
    with WireserverSim() as sim:
        assert cli(env, sim.url) == 0
        assert len(sim.json) == 1


def test_settings_section(tmp_path: Path) -> None:
    opts = reporter.options_from_settings(
        "ready",
        {"report": {"wireserver": "10.0.0.1", "timeout": 30, "kvp_pool": ""}},
        "igngen.yaml",
        timeout=7.0,
    )
    assert opts.wireserver == "10.0.0.1" and opts.timeout == 7.0 and opts.kvp_pool is None
    with pytest.raises(SettingsError, match=r"report\.wirserver: unknown key"):
        reporter.options_from_settings("ready", {"report": {"wirserver": "x"}}, "igngen.yaml")
    with pytest.raises(SettingsError, match=r"report\.timeout: expected a number of seconds"):
        reporter.options_from_settings("ready", {"report": {"timeout": "soon"}}, "igngen.yaml")
    assert variables.report(None) == {
        "enabled": True,
        "command": "/usr/bin/igngen",
        "state_dir": "/var/lib/igngen",
        "wireserver": "auto",
        "marker": "/var/lib/igngen/ready.json",
        "args": "--state-dir /var/lib/igngen --wireserver auto",
    }
    custom = variables.report(
        {"state_dir": "/srv/ig", "wireserver": "10.0.0.1", "protocol": "json", "enabled": False}
    )
    assert custom["args"] == "--state-dir /srv/ig --wireserver 10.0.0.1 --protocol json"
    assert custom["marker"] == "/srv/ig/ready.json" and custom["enabled"] is False
    for bad in ({"command": "igngen"}, {"command": "/usr/bin/igngen --force"}):
        with pytest.raises(SettingsError, match=r"report\.command"):
            variables.report(bad, source="igngen.yaml")
    for bad in ({"state_dir": "/var/lib/%n"}, {"wireserver": "x $(y)"}):
        with pytest.raises(SettingsError):
            variables.report(bad)
    with pytest.raises(SettingsError, match=r"report\.enabled"):
        variables.report({"enabled": "yes"})


@pytest.mark.parametrize(
    "section",
    [
        None,
        {"state_dir": "/srv/ig", "wireserver": "10.0.0.1", "protocol": "goalstate"},
        {"timeout": 30, "kvp_pool": "", "agent_name": "a", "vm_id_file": "/x", "enabled": True},
        {"wirserver": "x"},
        {"timeout": "soon"},
        {"protocol": "soap"},
        {"state_dir": 7},
        {"enabled": "yes"},
    ],
)
def test_report_variables_read_the_section_as_the_reporter_does(section: Any) -> None:
    """render.variables.report reads the section without the reporter: same values, same
    refusals (igngen render refuses what igngen report would)."""
    try:
        opts = reporter.options_from_settings("ready", {"report": section}, "igngen.yaml")
    except SettingsError as exc:
        with pytest.raises(SettingsError) as got:
            variables.report(section, source="igngen.yaml")
        assert str(got.value) == str(exc)
        return
    values = variables.report(section, source="igngen.yaml")
    assert (values["state_dir"], values["wireserver"]) == (opts.state_dir, opts.wireserver)
    assert values["marker"] == os.path.join(opts.state_dir, health.READY_MARKER)
    assert ("--protocol" in values["args"]) == (opts.protocol != "auto")


def test_config_file_unknown_key_is_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = tmp_path / "igngen.yaml"
    conf.write_text("report:\n  protocl: json\n")
    assert main(["report", "ready", "--config", str(conf), "--state-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "report.protocl: unknown key" in err


def test_report_defaults_match_the_wireserver_module() -> None:
    from igngen.azure import wireserver

    for name in ("DEFAULT_WIRESERVER", "DEFAULT_AGENT_NAME", "PROTOCOLS", "DEFAULT_READY_TIMEOUT"):
        assert getattr(reporter, name) == getattr(wireserver, name), name


def test_journal_reader_copes_without_a_journal() -> None:
    # Real journalctl (or none at all): never raises, answers None or an entry.
    found = health.journal_last_error(["-u", "igngen-no-such-unit.service"])
    assert found is None


def test_ready_flushes_initramfs_kvp_records_first(
    env: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    pending = env["state"].parent / "initrd_kvp_pool_1"
    monkeypatch.setattr(kvp, "INITRD_POOL", str(pending))
    kvp.append(pending, "igngen|start", "provisioning started")
    kvp.append(pending, kvp.REPORT_KEY, "result=success|agent=igngen")
    with WireserverSim() as sim:
        assert cli(env, sim.url) == 0
    records = kvp.decode(env["pool"].read_bytes())
    assert records[:2] == [
        ("igngen|start", "provisioning started"),
        (kvp.REPORT_KEY, "result=success|agent=igngen"),
    ]
    assert not pending.exists()


def test_journal_reason_prefers_the_failed_units_own_error() -> None:
    def line(message: str, own: str, unit: str | None = None) -> bytes:
        entry = {"MESSAGE": message, "_SYSTEMD_UNIT": own, "PRIORITY": "3"}
        if unit:
            entry["UNIT"] = unit
        return json.dumps(entry).encode()

    ignition = line(
        "disks: createRaids: op(1): [failed] waiting for devices", "ignition-disks.service"
    )
    systemd = line(
        "Failed to start ignition-disks.service - Ignition (disks).", "init.scope",
        "ignition-disks.service",
    )  # fmt: skip
    assert health.last_error([ignition, systemd]) == (
        "ignition-disks.service",
        "disks: createRaids: op(1): [failed] waiting for devices",
    )
    # Only systemd's word about it: named after the unit, not after init.scope.
    assert health.last_error([b"not json", systemd]) == (
        "ignition-disks.service",
        "Failed to start ignition-disks.service - Ignition (disks).",
    )
    assert health.last_error([]) is None


@pytest.mark.parametrize(
    "content",
    [
        b"[]",
        b'"x"',
        b'{"vm_id": 5}',
        b'{"vm_id": "a", "incarnation": null, "protocol": [], "wireserver": "w", "reported_at": "t"}',
        b"null",
        b"\xff\xfe",
        b"[" * 100_000,
        b'{"ready": ' + b"9" * 5000 + b"}",
        b'{"ready": "\\ud800"}',
    ],
)
def test_corrupt_state_files_are_warnings_never_crashes(tmp_path: Path, content: bytes) -> None:
    import subprocess
    import sys

    state = tmp_path / "state"
    state.mkdir()
    (state / "ready.json").write_bytes(content)
    (state / "reports.json").write_bytes(content)
    for args in (["--json"], []):
        proc = subprocess.run(
            [sys.executable, "-m", "igngen", "status", "--state-dir", str(state), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert health.read_marker(str(state)) is None
