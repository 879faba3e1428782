"""Pre-provisioned VMs: the kind from the OVF/IMDS, Ready for the pool, the bounded poll,
the hand-over document provisioned like a normal one, and every way the wait can fail
ending in one ``pps-*`` reason (KVP, reason file, then the failure report)."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sim.http import Reply, free_port_refusing
from sim.imds import PpsImds, instance_document
from sim.wireserver import WireserverSim
from support.consumers import run_ignition
from support.ovf_builder import ED25519, RSA3072, ovf_xml

from igngen import __version__, sdnotify, watchdog
from igngen.azure import kvp, ovf, pps
from igngen.errors import PpsError
from igngen.limits import MAX_OVF_BYTES

REPO = Path(__file__).resolve().parent.parent
POOL_USER, REAL_USER = "pooluser", "realuser"
POOL_HOST, REAL_HOST = "poolhost", "realhost"
POOL_CUSTOM = b"#!/bin/sh\necho pool-placeholder\n"
REAL_CUSTOM = json.dumps(
    {
        "ignition": {"version": "3.3.0"},
        "storage": {"files": [{"path": "/etc/from-customer", "contents": {"source": "data:,b"}}]},
    }
).encode()
RUNNING = (
    "<PreprovisionedVm>true</PreprovisionedVm><PreprovisionedVMType>Running</PreprovisionedVMType>"
)
LEGACY = "<PreprovisionedVm>true</PreprovisionedVm>"
SAVABLE = (
    "<PreprovisionedVm>true</PreprovisionedVm><PreprovisionedVMType>Savable</PreprovisionedVMType>"
)
VM_ID = "11111111-2222-3333-4444-555555555555"


def pool_ovf(platform: str = RUNNING) -> bytes:
    return ovf_xml(
        user=POOL_USER,
        host=POOL_HOST,
        keys=[(f"/home/{POOL_USER}/.ssh/authorized_keys", RSA3072)],
        custom_data=POOL_CUSTOM,
        platform=platform,
    )


def real_ovf() -> bytes:
    return ovf_xml(
        user=REAL_USER,
        host=REAL_HOST,
        keys=[(f"/home/{REAL_USER}/.ssh/authorized_keys", ED25519)],
        custom_data=REAL_CUSTOM,
        platform="<PreprovisionedVm>false</PreprovisionedVm>",
    )


def docs(pool_type: str = "Running") -> tuple[dict[str, Any], dict[str, Any]]:
    pool = instance_document(user=POOL_USER, host=POOL_HOST, keys=[RSA3072], vm_id=VM_ID)
    pool["extended"]["compute"]["ppsType"] = pool_type
    pool["compute"]["userData"] = base64.b64encode(POOL_CUSTOM).decode()
    real = instance_document(user=REAL_USER, host=REAL_HOST, keys=[ED25519], vm_id=VM_ID)
    real["compute"]["userData"] = ""  # the customer gave custom data, not userData
    return pool, real


def media(tmp: Path, platform: str = RUNNING) -> Path:
    d = tmp / "media"
    d.mkdir()
    (d / "ovf-env.xml").write_bytes(pool_ovf(platform))
    (d / "CustomData.bin").write_bytes(POOL_CUSTOM)
    return d


def provision(
    tmp: Path, *, imds: str, wireserver: str, platform: str = RUNNING, **extra: str
) -> subprocess.CompletedProcess[str]:
    args = {
        "media": str(media(tmp, platform)),
        "imds_url": imds,
        "imds_timeout": "5",
        "wireserver": wireserver,
        "pps_timeout": "30",
        "handoff_dir": str(tmp / "handoff"),
        "image_dir": str(tmp / "no-image"),
        "kvp_pool": str(tmp / "kvp_pool_1"),
        "state_dir": str(tmp / "state"),
        **extra,
    }
    argv = [a for k, v in args.items() for a in (f"--{k.replace('_', '-')}", v)]
    return subprocess.run(
        [sys.executable, "-m", "igngen", "provision", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"},
    )


def decoded(data: bytes) -> bytes:
    """``data`` and the decoded payload of every base64 data URL in it (hand-off configs
    carry the fragment that way: a plain search would pass without looking)."""
    import re

    out = data
    for match in re.finditer(rb"data:[^,\"]*;base64,([A-Za-z0-9+/=]+)", data):
        out += b"\n" + decoded(base64.b64decode(match.group(1)))
    return out


def everything_written(tmp: Path) -> bytes:
    out = b""
    for root, _, files in os.walk(tmp):
        if Path(root).name == "media":
            continue
        for name in files:
            path = Path(root) / name
            if path.is_file() and not path.is_symlink():
                out += decoded(path.read_bytes())
    return out


def reason(tmp: Path) -> str:
    return (tmp / "state" / "failure-reason").read_text().strip()


def kvp_values(tmp: Path) -> list[tuple[str, str]]:
    return kvp.decode((tmp / "kvp_pool_1").read_bytes())


def check_poll_request(req: Any, imds_url: str) -> None:
    assert req.method == "GET"
    assert req.path == "/metadata/reprovisiondata?api-version=2019-06-01"
    assert req.body == b""
    assert req.headers == {
        "host": imds_url.removeprefix("http://"),
        "metadata": "true",
        "user-agent": "igngen",
        "accept-encoding": "identity",
        "connection": "close",
    }


# --- the kind (pure) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("platform", "imds_type", "kind", "action", "where"),
    [
        ("<ProvisionGuestAgent>true</ProvisionGuestAgent>", None, pps.NONE, pps.PROCEED, "Vm"),
        ("<PreprovisionedVm>false</PreprovisionedVm>", "None", pps.NONE, pps.PROCEED, "Vm"),
        (RUNNING, None, pps.RUNNING, pps.WAIT, "PlatformSettings/PreprovisionedVMType"),
        (LEGACY, None, pps.LEGACY, pps.WAIT, "PlatformSettings/PreprovisionedVm"),
        (LEGACY, "Running", pps.RUNNING, pps.WAIT, "imds#/extended/compute/ppsType"),
        ("", "Running", pps.RUNNING, pps.WAIT, "imds#/extended/compute/ppsType"),
        (SAVABLE, None, pps.SAVABLE, pps.REFUSE, "PlatformSettings/PreprovisionedVMType"),
        (LEGACY, "Savable", pps.SAVABLE, pps.REFUSE, "imds#/extended/compute/ppsType"),
        (
            "<PreprovisionedVm>true</PreprovisionedVm><PreprovisionedVmType>preprovisionedosdisk</PreprovisionedVmType>",
            None,
            pps.OS_DISK,
            pps.REFUSE,
            "PlatformSettings/PreprovisionedVmType",
        ),
        (
            "<PreprovisionedVm>true</PreprovisionedVm><PreprovisionedVMType>Hibernated</PreprovisionedVMType>",
            None,
            "Hibernated",
            pps.REFUSE,
            "PlatformSettings/PreprovisionedVMType",
        ),
        (
            '<PreprovisionedVm>true</PreprovisionedVm><PreprovisionedVMType i:nil="true"/>',
            "None",
            pps.LEGACY,
            pps.WAIT,
            "Vm",
        ),
    ],
)
def test_kind_from_ovf_and_imds(
    platform: str, imds_type: str | None, kind: str, action: str, where: str
) -> None:
    env = ovf.parse(ovf_xml(platform=platform), source="media:ovf-env.xml")
    decision = pps.detect(env, imds_type)
    assert (decision.kind, decision.action) == (kind, action)
    assert decision.source.endswith(where), decision.source


def test_refusal_names_the_kind_first() -> None:
    env = ovf.parse(ovf_xml(platform=SAVABLE), source="m:ovf-env.xml")
    text = str(pps.refusal(pps.detect(env)))
    assert text.startswith("pps-unsupported-kind: Savable: ")
    assert text.endswith(
        "(m:ovf-env.xml:/Environment/PlatformSettingsSection/PlatformSettings/PreprovisionedVMType)"
    )
    odd = ovf.parse(
        ovf_xml(
            platform=LEGACY
            + "<PreprovisionedVMType>x\u2028y"
            + "z" * 300
            + "</PreprovisionedVMType>"
        ),
        source="m",
    )
    line = str(pps.refusal(pps.detect(odd)))
    assert line.startswith("pps-unsupported-kind: 'x") and "\n" not in line and len(line) < 400


def test_malformed_handover_is_a_located_pps_error() -> None:
    with pytest.raises(PpsError) as err:
        pps.parse_reprovisioned(b"<Environment><oops></Environment>")
    assert err.value.reason == "pps-reprovision-data-invalid"
    assert str(err.value).startswith("pps-reprovision-data-invalid: malformed XML (mismatched tag)")
    assert err.value.location == "reprovisiondata:1:22"
    with pytest.raises(PpsError, match=r"DTDs and entities"):
        pps.parse_reprovisioned(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')


# --- the flows (igngen provision against the simulators) -----------------------------------


def test_running_vm_provisions_the_handover_document_only(tmp_path: Path) -> None:
    pool_doc, real_doc = docs()
    imds = PpsImds(pool_doc=pool_doc, real_doc=real_doc, handover=real_ovf(), pool_polls=2)
    with imds, WireserverSim() as ws:
        proc = provision(tmp_path, imds=imds.url, wireserver=ws.url)
        assert proc.returncode == 0, proc.stderr
        # Ready for the pool, exactly once, before the first poll; nothing else yet (the
        # real provisioning's reports are the units' job, after Ignition).
        assert ws.reports() == [("Ready", None)]
        (ready,) = ws.json
        assert ready.method == "POST" and ready.path == "/provisioning/health"
        assert json.loads(ready.body) == {"state": "Ready"}
        assert ready.headers["content-type"] == "application/json"
        assert ready.headers["user-agent"] == f"igngen/{__version__}"
        assert ready.headers["x-ms-guest-agent-name"] == f"igngen/{__version__}"
        polls = imds.reprovision_requests()
        assert len(polls) == 3  # 404, 404, the hand-over
        for req in polls:
            check_poll_request(req, imds.url)
        assert ready.at < polls[0].at
        instance = [r for r in imds.server.requests if r.path.startswith("/metadata/instance")]
        assert len(instance) == 2  # the pool's document, then the assigned VM's
        assert instance[0].at < ready.at and polls[-1].at < instance[1].at
    state = json.loads((tmp_path / "state" / "pps.json").read_text())
    assert state["kind"] == "Running" and state["phase"] == "reprovisioned" and state["polls"] == 3
    events = [v for _, v in kvp_values(tmp_path)]
    assert any(v.startswith("pre-provisioned VM, kind Running") for v in events)
    assert any(v == "re-provisioning data received after 3 polls" for v in events)
    assert any(v.startswith("result=success") for v in events)
    # The customer's VM: user, host, key and custom data of the hand-over document.
    run = run_ignition(tmp_path / "ign", system_dir=tmp_path / "handoff", platform="azure")
    passwd = (run.root / "etc/passwd").read_text()
    assert f"\n{REAL_USER}:" in "\n" + passwd and POOL_USER not in passwd
    assert (run.root / "etc/hostname").read_text() == REAL_HOST + "\n"
    keys = (run.root / f"home/{REAL_USER}/.ssh/authorized_keys").read_text().splitlines()
    assert keys == [ED25519]
    assert (run.root / "etc/from-customer").read_text() == "b"
    kept = (run.root / "var/lib/waagent/ovf-env.xml").read_bytes()
    assert REAL_USER.encode() in kept
    # Nothing of the pool's placeholder anywhere: hand-off, kept OVF, state, KVP, logs.
    written = everything_written(tmp_path)
    assert REAL_USER.encode() in written and REAL_HOST.encode() in written  # it did look
    for placeholder in (POOL_USER, POOL_HOST, RSA3072.split()[1], "pool-placeholder"):
        assert placeholder.encode() not in written, placeholder
        assert placeholder not in proc.stderr + proc.stdout, placeholder
    for encoded in (base64.b64encode(POOL_CUSTOM),):
        assert encoded not in written


def test_legacy_vm_reports_ready_over_the_goal_state_protocol(tmp_path: Path) -> None:
    pool_doc, real_doc = docs(pool_type="None")
    imds = PpsImds(pool_doc=pool_doc, real_doc=real_doc, handover=real_ovf(), pool_polls=1)
    with imds, WireserverSim(json_enabled=False, incarnation=7) as ws:
        proc = provision(tmp_path, imds=imds.url, wireserver=ws.url, platform=LEGACY)
        assert proc.returncode == 0, proc.stderr
        assert ws.reports() == [("Ready", None)]
        (health,) = ws.health
        assert health.path == "/machine?comp=health"
        assert health.headers["content-type"] == "text/xml; charset=utf-8"
        assert health.headers["x-ms-version"] == "2012-11-30"
        assert health.headers["x-ms-agent-name"] == "igngen"
        doc = ws.health_docs()[0]
        assert doc == {
            "incarnation": "7",
            "container_id": "6a1f5c3e-2b7d-4e90-9c18-3d4f5a6b7c8d",
            "instance_id": "c0ffee00d15ea5e5b0a7f00dcafe1234.igngen-sim",
            "state": "Ready",
            "substatus": None,
            "description": None,
            "has_details": False,
        }
        assert len(imds.reprovision_requests()) == 2
    assert json.loads((tmp_path / "state" / "pps.json").read_text())["kind"] == "legacy"
    user_ign = decoded((tmp_path / "handoff" / "user.ign").read_bytes())
    assert REAL_USER.encode() in user_ign and POOL_USER.encode() not in user_ign


def test_savable_is_refused_at_once_with_a_named_reason(tmp_path: Path) -> None:
    pool_doc, real_doc = docs(pool_type="Savable")
    imds = PpsImds(pool_doc=pool_doc, real_doc=real_doc, handover=real_ovf())
    with imds, WireserverSim() as ws:
        started = time.monotonic()
        proc = provision(tmp_path, imds=imds.url, wireserver=ws.url, platform=SAVABLE)
        assert time.monotonic() - started < 30
        assert proc.returncode != 0
        assert ws.reports() == [] and imds.reprovision_requests() == []
        text = reason(tmp_path)
        assert text.startswith("pps-unsupported-kind: Savable: ")
        # The same line on stderr; the recorded one is bounded (MAX_FAILURE_DETAIL_BYTES).
        assert text.removesuffix("...") in proc.stderr.strip().splitlines()[-1]
        assert not (tmp_path / "handoff").exists() or not any((tmp_path / "handoff").iterdir())
        report = [v for k, v in kvp_values(tmp_path) if k == "PROVISIONING_REPORT"]
        assert report and report[-1].startswith(
            "result=error|reason=pps-unsupported-kind|detail=Savable: "
        )
        # The failure unit carries the same line to the Wireserver.
        failed = subprocess.run(
            [
                sys.executable,
                "-m",
                "igngen",
                "report",
                "failure",
                "--wireserver",
                ws.url,
                "--reason-file",
                str(tmp_path / "state" / "failure-reason"),
                "--state-dir",
                str(tmp_path / "report-state"),
                "--kvp-pool",
                "",
                "--vm-id",
                VM_ID,
                "--timeout",
                "10",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO,
        )
        assert failed.returncode == 0, failed.stderr
        assert ws.reports() == [("NotReady", "ProvisioningFailed")]
        description = ws.json_docs()[0]["details"]["description"]
        assert description.startswith("result=error|reason=pps-unsupported-kind|detail=Savable: ")


def test_poll_timeout_is_a_named_failure(tmp_path: Path) -> None:
    pool_doc, real_doc = docs()
    imds = PpsImds(pool_doc=pool_doc, real_doc=real_doc, handover=b"", reprovision=[Reply(404)])
    with imds, WireserverSim() as ws:
        started = time.monotonic()
        proc = provision(tmp_path, imds=imds.url, wireserver=ws.url, pps_timeout="3")
        # It ends by the budget (less a pause that would overrun it), not at the first 404.
        assert 1.5 <= time.monotonic() - started < 30
        assert proc.returncode != 0
        assert ws.reports() == [("Ready", None)]
        polls = len(imds.reprovision_requests())
        assert polls >= 2
    text = reason(tmp_path)
    assert text.startswith(
        f"pps-timeout: no re-provisioning data within 3 s ({polls} polls: HTTP 404 x{polls})"
    )
    assert text.endswith(f"({imds.url}/metadata/reprovisiondata?api-version=2019-06-01)")
    assert json.loads((tmp_path / "state" / "pps.json").read_text())["phase"] == "ready-for-pool"


def test_imds_dead_is_unreachable_not_a_hang(tmp_path: Path) -> None:
    with WireserverSim() as ws:
        started = time.monotonic()
        proc = provision(
            tmp_path,
            imds=free_port_refusing(),
            wireserver=ws.url,
            imds_timeout="1",
            pps_timeout="2",
        )
        assert time.monotonic() - started < 30
        assert ws.reports() == [("Ready", None)]  # the OVF alone says pre-provisioned
    assert proc.returncode != 0
    assert reason(tmp_path).startswith("pps-imds-unreachable: IMDS never answered within 2 s: ")
    assert "connection refused" in reason(tmp_path)


def test_pool_ready_refused_fails_before_any_poll(tmp_path: Path) -> None:
    pool_doc, real_doc = docs()
    imds = PpsImds(pool_doc=pool_doc, real_doc=real_doc, handover=real_ovf())
    with imds, WireserverSim(faults={"json": [Reply(403)]}) as ws:
        proc = provision(tmp_path, imds=imds.url, wireserver=ws.url)
        assert imds.reprovision_requests() == []
    assert proc.returncode != 0
    assert reason(tmp_path).startswith(
        "pps-pool-ready-failed: provisioning health report refused with HTTP 403; not retried"
    )
    del ws


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (
            Reply(200, b"<Environment><oops></Environment>"),
            "pps-reprovision-data-invalid: malformed XML (mismatched tag) (reprovisiondata:1:22)",
        ),
        (
            Reply(200, b"<x>" + b" " * MAX_OVF_BYTES + b"</x>"),
            f"pps-reprovision-data-invalid: answer of {MAX_OVF_BYTES + 7} bytes is over the {MAX_OVF_BYTES}-byte limit",
        ),
        (Reply(400, b"bad api-version"), "pps-imds-refused: HTTP 400 to the re-provisioning poll"),
        (
            Reply(200, ovf_xml(custom_data="%%% not base64")),
            "pps-reprovision-data-invalid: CustomData is not valid base64"
            " (reprovisiondata:/Environment/ProvisioningSection/LinuxProvisioningConfigurationSet/CustomData)",
        ),
    ],
)
def test_garbage_handover_fails_with_a_location(tmp_path: Path, step: Reply, expected: str) -> None:
    pool_doc, real_doc = docs()
    imds = PpsImds(pool_doc=pool_doc, real_doc=real_doc, handover=b"", reprovision=[step])
    with imds, WireserverSim() as ws:
        proc = provision(tmp_path, imds=imds.url, wireserver=ws.url)
        assert ws.reports() == [("Ready", None)]
    assert proc.returncode != 0
    text = reason(tmp_path)
    assert expected in text, text
    assert "\n" not in text and len(text) < 600
    assert not (tmp_path / "handoff").exists() or not any((tmp_path / "handoff").iterdir())


def test_imds_still_pooled_after_the_handover_is_refused(tmp_path: Path) -> None:
    pool_doc, real_doc = docs()
    real_doc["extended"]["compute"]["ppsType"] = "Running"
    imds = PpsImds(pool_doc=pool_doc, real_doc=real_doc, handover=real_ovf(), pool_polls=0)
    with imds, WireserverSim() as ws:
        proc = provision(tmp_path, imds=imds.url, wireserver=ws.url)
        del ws
    assert proc.returncode != 0
    assert reason(tmp_path) == (
        "pps-imds-still-preprovisioned: after the hand-over IMDS still says ppsType 'Running'"
        " (imds#/extended/compute/ppsType)"
    )


def test_a_normal_vm_is_untouched(tmp_path: Path) -> None:
    _, real_doc = docs(pool_type="None")
    imds = PpsImds(pool_doc=real_doc, real_doc=real_doc, handover=b"")
    with imds, WireserverSim() as ws:
        proc = provision(
            tmp_path,
            imds=imds.url,
            wireserver=ws.url,
            platform="<PreprovisionedVm>false</PreprovisionedVm>",
        )
        assert proc.returncode == 0, proc.stderr
        assert ws.reports() == [] and imds.reprovision_requests() == []
    assert not (tmp_path / "state" / "pps.json").exists()


# --- the bounds around the wait ------------------------------------------------------------


def test_pps_settings_and_unknown_keys(tmp_path: Path) -> None:
    from igngen.boot.pool import options_from_settings
    from igngen.errors import SettingsError
    from igngen.settings import load

    conf = tmp_path / "igngen.yaml"
    conf.write_text("pps:\n  timeout: 7200\n  ready_timeout: 60\nreport:\n  wireserver: 10.0.0.9\n")
    opts = options_from_settings(load(str(conf)))
    assert (opts.timeout, opts.ready_timeout, opts.wireserver) == (7200.0, 60.0, "10.0.0.9")
    assert options_from_settings(load(str(conf)), timeout=5.0).timeout == 5.0
    conf.write_text("pps:\n  poll: 1\n")
    with pytest.raises(SettingsError, match=r"pps.poll: unknown key"):
        options_from_settings(load(str(conf)))
    conf.write_text("pps:\n  timeout: -5\n")
    with pytest.raises(
        SettingsError, match=r"pps.timeout: expected a number of seconds that is not negative"
    ):
        options_from_settings(load(str(conf)))


def test_the_watchdog_is_extended_by_the_wait_only() -> None:
    with watchdog.Watchdog(5.0, "provisioning", detail="media 5 s") as dog:
        assert watchdog.extend(100.0, "pre-provisioned wait")
        import signal

        left = signal.getitimer(signal.ITIMER_REAL)[0]
        assert 100.0 < left <= 105.0
        assert dog.detail == "media 5 s + pre-provisioned wait 100 s" and dog.seconds == 105.0
    assert not watchdog.extend(1.0, "x")  # none armed any more
    with (
        pytest.raises(watchdog.DeadlineError, match=r"within 0.3 s \(a 0.2 s\)"),
        watchdog.Watchdog(0.1, "provisioning"),
    ):
        watchdog.extend(0.2, "a")
        time.sleep(2)


def test_sd_notify_extends_the_start_timeout(tmp_path: Path) -> None:
    path = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        sock.settimeout(2)
        assert sdnotify.extend_timeout(65.5, env={"NOTIFY_SOCKET": path})
        assert sock.recv(100) == b"EXTEND_TIMEOUT_USEC=65500000"
    assert not sdnotify.extend_timeout(5, env={})
    assert not sdnotify.extend_timeout(5, env={"NOTIFY_SOCKET": str(tmp_path / "gone")})
    assert not sdnotify.extend_timeout(5, env={"NOTIFY_SOCKET": "relative"})


@pytest.mark.parametrize(
    ("platform", "imds_type", "expected"),
    [
        (
            RUNNING,
            None,
            "pre-provisioned VM  Running\n    from ovf:/Environment/PlatformSettingsSection/PlatformSettings/PreprovisionedVMType\n    igngen provision reports Ready for the pool",
        ),
        (
            LEGACY,
            "Savable",
            "pre-provisioned VM  Savable\n    from imds#/extended/compute/ppsType\n    igngen provision fails with pps-unsupported-kind",
        ),
        (
            "",
            None,
            "pre-provisioned VM  None\n    from ovf:/Environment/PlatformSettingsSection/PlatformSettings/PreprovisionedVm\n    not pre-provisioned",
        ),
    ],
)
def test_explain_shows_the_kind_and_its_source(
    tmp_path: Path, platform: str, imds_type: str | None, expected: str
) -> None:
    (tmp_path / "ovf").write_bytes(ovf_xml(platform=platform))
    args = ["explain", "--ovf", str(tmp_path / "ovf")]
    if imds_type is not None:
        doc = instance_document()
        doc["extended"]["compute"]["ppsType"] = imds_type
        (tmp_path / "imds").write_text(json.dumps(doc))
        args += ["--imds", str(tmp_path / "imds")]
    proc = subprocess.run(
        [sys.executable, "-m", "igngen", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    expected = expected.replace("from ovf:", f"from {tmp_path / 'ovf'}:")
    expected = expected.replace("from imds#", f"from {tmp_path / 'imds'}#")
    assert expected in proc.stdout, proc.stdout
