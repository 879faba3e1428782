"""Health reporting against the loopback Wireserver simulator: protocols, faults, idempotency."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sim.http import Hang, Reply, Reset, free_port_refusing
from sim.wireserver import WireserverSim
from support.corpus import corpus_file

from igngen.azure import dhcp, kvp
from igngen.azure import wireserver as ws
from igngen.azure.wireserver_client import WireserverSettings, send_report
from igngen.errors import WireserverDataError, WireserverError

REPO = Path(__file__).resolve().parent.parent
SLACK = 3.0


def fast(url: str, protocol: str = "auto", budget: float = 5.0) -> WireserverSettings:
    return WireserverSettings(
        url=url,
        protocol=protocol,
        total_timeout=budget,
        connect_timeout=0.5,
        read_timeout=0.5,
        backoff_initial=0.05,
        backoff_max=0.2,
    )


def test_goal_state_protocol_field_by_field() -> None:
    with WireserverSim(json_enabled=False, incarnation=7) as sim:
        done = send_report("failure", "disk <full> & more\nsecond line", fast(sim.url, "goalstate"))
    assert done.protocol == "goalstate" and done.incarnation == "7"
    (r,) = sim.reports
    assert (r.state, r.substatus) == ("NotReady", "ProvisioningFailed")
    assert r.description == "disk <full> & more second line"  # escaped on the wire, one line
    assert (
        r.container_id == sim.container and r.instance_id == sim.instance and r.incarnation == "7"
    )
    assert (
        r.headers["x-ms-version"] == "2012-11-30"
        and r.headers["content-type"] == "text/xml; charset=utf-8"
    )


def test_json_protocol() -> None:
    with WireserverSim() as sim:
        send_report("provisioning", None, fast(sim.url))
        send_report("ready", None, fast(sim.url))
    assert [(r.protocol, r.state, r.substatus) for r in sim.reports] == [
        ("json", "NotReady", "Provisioning"),
        ("json", "Ready", None),
    ]
    assert sim.reports[0].headers["content-type"] == "application/json"


def test_json_404_falls_back_to_goal_state() -> None:
    with WireserverSim(json_enabled=False) as sim:
        done = send_report("ready", None, fast(sim.url))
    assert done.protocol == "goalstate" and sim.reports[0].state == "Ready"
    assert [q.path for q in sim.requests][:2] == [
        "/provisioning/health",
        "/machine/?comp=goalstate",
    ]


@pytest.mark.parametrize("status", [429, 500, 503])
def test_retryable_status_then_success(status: int) -> None:
    with WireserverSim(faults={"json": [Reply(status), Reply(status)]}) as sim:
        done = send_report("ready", None, fast(sim.url))
    assert done.attempts == 3 and len(sim.reports) == 1


def test_other_status_fails_fast() -> None:
    with WireserverSim(faults={"json": [Reply(403, b"no")]}) as sim:
        start = time.monotonic()
        with pytest.raises(WireserverError) as exc:
            send_report("ready", None, fast(sim.url, budget=30))
    assert "HTTP 403" in str(exc.value) and time.monotonic() - start < 5


def test_connection_refused_then_up() -> None:
    # Nothing listens on the port for the first second (connections are refused), then the simulator does.
    import threading

    url = free_port_refusing()
    port = int(url.rsplit(":", 1)[1])
    started: list[WireserverSim] = []

    def start() -> None:
        sim = WireserverSim(port=port)
        sim.__enter__()
        started.append(sim)

    timer = threading.Timer(1.0, start)
    timer.start()
    try:
        done = send_report("ready", None, fast(url, budget=10))
    finally:
        timer.join()
        for sim in started:
            sim.__exit__(None, None, None)
    assert done.attempts >= 2 and len(started[0].reports) == 1


def test_dead_endpoint_gives_up_within_budget() -> None:
    start = time.monotonic()
    with pytest.raises(WireserverError) as exc:
        send_report("ready", None, fast(free_port_refusing(), budget=1.5))
    assert "connection failed" in str(exc.value) and "\n" not in str(exc.value)
    assert time.monotonic() - start < 1.5 + SLACK


def test_slow_responses_are_bounded() -> None:
    with WireserverSim(faults={"json": [Hang(10), Hang(10)]}) as sim:
        start = time.monotonic()
        done = send_report("ready", None, fast(sim.url, budget=8))
    assert done.attempts == 3 and time.monotonic() - start < 8 + SLACK


def test_goal_state_garbage_then_good() -> None:
    with WireserverSim(
        json_enabled=False, faults={"goalstate": [Reply(200, b"<GoalState><oops"), Reset()]}
    ) as sim:
        done = send_report("ready", None, fast(sim.url))
    assert done.protocol == "goalstate" and len(sim.reports) == 1


def test_incarnation_changing_between_get_and_post_refetches() -> None:
    with WireserverSim(json_enabled=False, incarnation=3, bump_on_get=1) as sim:
        done = send_report("ready", None, fast(sim.url))
    assert done.incarnation == "4" and sim.reports[0].incarnation == "4"
    gets = [q for q in sim.requests if q.path == "/machine/?comp=goalstate"]
    assert len(gets) == 2


def test_goal_state_parsing_corpus_and_garbage() -> None:
    goal = ws.parse_goal_state(corpus_file("WALinuxAgent/goal_state.xml").read_bytes())
    assert goal == ws.GoalState(
        "1",
        "c6d5526c-5ac2-4200-b6e2-56f2b70c5ab2",
        "b61f93d0-e1ed-40b2-b067-22c243233448.MachineRole_IN_0",
    )
    with pytest.raises(WireserverDataError):
        ws.parse_goal_state(corpus_file("WALinuxAgent/goal_state_noop.xml").read_bytes())
    for bad in [
        b"",
        b"<x/>",
        b"<GoalState><Incarnation>x</Incarnation></GoalState>",
        b'<!DOCTYPE a [<!ENTITY e "x">]><GoalState/>',
    ]:
        with pytest.raises(WireserverDataError):
            ws.parse_goal_state(bad)


def test_health_xml_matches_the_documented_shape() -> None:
    from defusedxml.ElementTree import fromstring

    doc = fromstring(ws.health_xml(ws.GoalState("2", "c", "i"), "failure", "x" * 600))
    assert doc.findtext("GoalStateIncarnation") == "2"
    assert doc.findtext("Container/RoleInstanceList/Role/Health/State") == "NotReady"
    assert (
        len(doc.findtext("Container/RoleInstanceList/Role/Health/Details/Description") or "") == 512
    )
    ready = fromstring(ws.health_xml(ws.GoalState("2", "c", "i"), "ready"))
    assert ready.find("Container/RoleInstanceList/Role/Health/Details") is None
    assert json.loads(ws.health_json("ready")) == {"state": "Ready"}


def test_dhcp_option_245() -> None:
    assert dhcp.from_networkd(corpus_file("WALinuxAgent/2").read_text()) == "168.63.129.16"
    assert (
        dhcp.from_dhclient(corpus_file("WALinuxAgent/dhcp.leases").read_text()) == "168.63.129.16"
    )
    assert (
        dhcp.from_dhclient(corpus_file("WALinuxAgent/dhcp.leases.multi").read_text(), now=0)
        == "168.63.129.3"
    )
    assert dhcp.from_dhclient("lease { option unknown-245 0:0:0:0; }") is None


def test_dhcp_discover_from_directories(tmp_path: Path) -> None:
    nd = tmp_path / "netif"
    nd.mkdir()
    (nd / "2").write_text("ADDRESS=10.0.0.4\nOPTION_245=0a000001\n")
    assert dhcp.discover(networkd_dir=str(nd), dhclient_dirs=()) == "10.0.0.1"
    assert dhcp.discover(networkd_dir=str(tmp_path / "none"), dhclient_dirs=()) is None


def igngen(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "igngen", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env={**os.environ},
    )


def test_cli_ready_is_idempotent_per_vm(tmp_path: Path) -> None:
    state = tmp_path / "state"
    pool = tmp_path / "pool"
    with WireserverSim(json_enabled=False) as sim:
        common = [
            "--wireserver",
            sim.url,
            "--state-dir",
            str(state),
            "--kvp-pool",
            str(pool),
            "--timeout",
            "10",
        ]
        assert igngen("report", "ready", "--vm-id", "VM-A", *common).returncode == 0
        again = igngen("report", "ready", "--vm-id", "vm-a", *common)
        assert again.returncode == 0 and "already reported" in again.stderr
        assert len(sim.reports) == 1
        assert igngen("report", "ready", "--vm-id", "vm-b", *common).returncode == 0
        assert igngen("report", "ready", "--vm-id", "vm-b", "--force", *common).returncode == 0
    assert len(sim.reports) == 3
    marker = json.loads((state / "reported-ready.json").read_text())
    assert (
        marker["vm_id"] == "vm-b"
        and marker["protocol"] == "goalstate"
        and marker["incarnation"] == "1"
    )
    status = igngen("status", "--state-dir", str(state))
    assert "Ready: reported" in status.stdout and "vm-b" in status.stdout
    assert any(
        k == "PROVISIONING_REPORT" and v.startswith("result=success")
        for k, v in kvp.decode(pool.read_bytes())
    )


def test_cli_failure_reads_the_recorded_reason(tmp_path: Path) -> None:
    reason = tmp_path / "failure-reason"
    reason.write_text("ovf-env.xml:/Environment/.../UserName: user name 'root' is reserved\n")
    with WireserverSim() as sim:
        proc = igngen(
            "report",
            "failure",
            "--description-file",
            str(reason),
            "--wireserver",
            sim.url,
            "--state-dir",
            str(tmp_path / "s"),
            "--kvp-pool",
            "",
            "--timeout",
            "5",
        )
    assert proc.returncode == 0, proc.stderr
    assert sim.reports[0].substatus == "ProvisioningFailed" and "reserved" in (
        sim.reports[0].description or ""
    )


def test_cli_failure_does_not_write_marker_when_unreachable(tmp_path: Path) -> None:
    proc = igngen(
        "report",
        "ready",
        "--wireserver",
        free_port_refusing(),
        "--state-dir",
        str(tmp_path),
        "--kvp-pool",
        "",
        "--timeout",
        "1",
        "--vm-id",
        "x",
    )
    assert proc.returncode == 69 and "Traceback" not in proc.stderr
    assert not (tmp_path / "reported-ready.json").exists()
    status = json.loads(igngen("status", "--state-dir", str(tmp_path), "--json").stdout)
    assert status["ready_marker"] is None and status["reports"][0]["outcome"].startswith("failed")


def test_report_ready_unit_on_real_ignition_and_systemd(tmp_path: Path) -> None:
    import shutil

    from ovf_builder import ovf_xml
    from support.consumers import run_ignition

    from igngen.jsonio import canonical_json
    from igngen.pipeline import RenderInputs, render
    from igngen.settings import parse as parse_settings

    settings = parse_settings(b"report: {command: /bin/true, state_dir: /var/lib/igngen}\n")
    result = render(RenderInputs(ovf=ovf_xml()), settings)
    run = run_ignition(tmp_path / "ign", user_config=canonical_json(result.handin))
    unit = run.root / "etc/systemd/system/igngen-report-ready.service"
    text = unit.read_text()
    assert "ConditionPathExists=!/var/lib/igngen/reported-ready.json" in text
    assert "ExecStart=/bin/true report ready --state-dir /var/lib/igngen" in text
    preset = (run.root / "etc/systemd/system-preset/20-ignition.preset").read_text()
    assert "enable igngen-report-ready.service" in preset
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    proc = subprocess.run(
        [analyze, "verify", "--man=no", str(unit)], capture_output=True, text=True
    )
    problems = [
        ln for ln in proc.stderr.splitlines() if "igngen-report-ready" in ln and "sshd" not in ln
    ]
    assert not problems, proc.stderr
