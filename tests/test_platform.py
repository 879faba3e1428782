"""Azure's platform flags: ProvisionGuestAgent, ProvisionGuestProxyAgent, hasCustomData,
certificate-only keys, published_hostname and ejecting the media, from the parse to
the real consumers (Ignition's files stage, systemctl on the written root) and KVP."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sim.imds import imds_server, instance_document, ok
from support.consumers import run_ignition
from support.ovf_builder import ED25519, ovf_xml

from igngen.azure import kvp, platform
from igngen.errors import CustomDataMissingError, GuestProxyAgentError, SettingsError
from igngen.render.pipeline import RenderInputs, decide_platform, render
from igngen.settings import Settings
from igngen.settings import parse as parse_settings

REPO = Path(__file__).resolve().parent.parent
NO_AGENT = "<ProvisionGuestAgent>false</ProvisionGuestAgent>"
PROXY = "<ProvisionGuestAgent>true</ProvisionGuestAgent><ProvisionGuestProxyAgent>true</ProvisionGuestProxyAgent>"
CUSTOM = b'{"ignition": {"version": "3.3.0"}}'


def _imds(*, has_custom_data: bool, user_data: bytes | None = None) -> dict[str, Any]:
    doc = instance_document(user="azureuser", host="testhost", keys=[ED25519], user_data=user_data)
    doc["extended"]["compute"]["hasCustomData"] = has_custom_data
    return doc


def _settings(azure: dict[str, Any] | None = None) -> Settings:
    return Settings(sections={"azure": azure} if azure else {}, source="s.yaml")


def _units(fragment: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {u["name"]: u for u in fragment.get("systemd", {}).get("units", [])}


# --- settings ------------------------------------------------------------------


def test_azure_settings_defaults_and_refusals() -> None:
    opts = platform.options({}, "s.yaml")
    assert opts == platform.AzureOptions()
    assert (opts.customdata_missing, opts.proxy_agent_missing, opts.eject_media) == (
        "fail",
        "warn",
        True,
    )
    loaded = parse_settings(b"azure:\n  customdata_missing: warn\n  eject_media: false\n")
    assert platform.options(loaded.sections, loaded.source).customdata_missing == "warn"
    cases: list[tuple[dict[str, Any], str]] = [
        ({"customdata_missing": "ignore"}, "expected fail or warn"),
        ({"eject_media": "yes"}, "expected true or false"),
        ({"waagent_unit": "waagent"}, "ending in .service"),
        ({"waagent_unit": "a b.service"}, "ending in .service"),
        ({"nope": 1}, "unknown key"),
    ]
    for bad, match in cases:
        with pytest.raises(SettingsError, match=match):
            platform.options({"azure": bad}, "s.yaml")


# --- ProvisionGuestAgent ---------------------------------------------------------


def test_provision_guest_agent_false_masks_the_unit_and_explain_says_why() -> None:
    inputs = RenderInputs(ovf=ovf_xml(platform=NO_AGENT))
    result = render(inputs, Settings())
    assert _units(result.fragment)["waagent.service"] == {"name": "waagent.service", "mask": True}
    assert result.platform is not None and result.platform.guest_agent.value is False
    assert [e.name for e in result.platform.events] == ["guest-agent-disabled"]
    rows = platform.explain_rows(decide_platform(inputs, Settings()))
    assert rows[0] == (
        "guest agent",
        "disabled (waagent.service masked)",
        "ovf-env.xml:/Environment/PlatformSettingsSection/PlatformSettings/ProvisionGuestAgent",
    )
    # The image's own unit name, from the settings.
    other = render(inputs, _settings({"waagent_unit": "walinuxagent.service"}))
    assert set(_units(other.fragment)) >= {"walinuxagent.service"}
    assert "waagent.service" not in _units(other.fragment)


@pytest.mark.parametrize("flag", ["<ProvisionGuestAgent>true</ProvisionGuestAgent>", ""])
def test_the_agent_stays_when_asked_for_or_not_mentioned(flag: str) -> None:
    result = render(RenderInputs(ovf=ovf_xml(platform=flag)), Settings())
    assert "waagent.service" not in _units(result.fragment)
    assert result.platform is not None and result.platform.guest_agent.value is True
    source = result.platform.guest_agent.source
    assert source.endswith("/ProvisionGuestAgent") if flag else source == "default"


def test_real_ignition_masks_the_agent_and_systemctl_sees_it(tmp_path: Path) -> None:
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        pytest.skip("systemctl is not installed")
    result = render(RenderInputs(ovf=ovf_xml(platform=NO_AGENT)), Settings())
    run = run_ignition(tmp_path / "ign", user_config=json.dumps(result.final).encode())
    link = run.root / "etc/systemd/system/waagent.service"
    assert link.is_symlink() and os.readlink(link) == "/dev/null"
    # The stand-in unit the image would ship: systemd reads the written root as masked.
    unit_dir = run.root / "usr/lib/systemd/system"
    unit_dir.mkdir(parents=True, exist_ok=True)
    (unit_dir / "waagent.service").write_text(
        "[Unit]\nDescription=stand-in agent\n[Service]\nExecStart=/bin/true\n"
        "[Install]\nWantedBy=multi-user.target\n"
    )
    proc = subprocess.run(
        [systemctl, f"--root={run.root}", "is-enabled", "waagent.service"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.stdout.strip() == "masked", proc.stdout + proc.stderr


# --- ProvisionGuestProxyAgent ----------------------------------------------------


def test_proxy_agent_request_is_an_event_or_a_failure_by_setting() -> None:
    inputs = RenderInputs(ovf=ovf_xml(platform=PROXY))
    result = render(inputs, Settings())
    assert result.platform is not None
    (event,) = result.platform.events
    assert event.name == "guest-proxy-agent-unavailable"
    assert "has no guest proxy agent" in event.text and event.text in result.warnings
    with pytest.raises(GuestProxyAgentError, match="guest proxy agent") as info:
        render(inputs, _settings({"proxy_agent_missing": "fail"}))
    assert info.value.location.endswith("/PlatformSettings/ProvisionGuestProxyAgent")
    # explain says it would fail, without failing.
    rows = dict(
        (r[0], r[1])
        for r in platform.explain_rows(
            decide_platform(inputs, _settings({"proxy_agent_missing": "fail"}))
        )
    )
    assert rows["guest proxy agent"] == "requested (this image has none: provisioning fails)"


# --- hasCustomData -----------------------------------------------------------------


def test_custom_data_azure_says_exists_but_is_missing() -> None:
    ovf = ovf_xml()
    doc = json.dumps(_imds(has_custom_data=True)).encode()
    with pytest.raises(CustomDataMissingError, match="none was found") as info:
        render(RenderInputs(ovf=ovf, imds=doc), Settings())
    assert info.value.location == "imds#/extended/compute/hasCustomData"
    # An empty CustomData.bin is no custom data either.
    with pytest.raises(CustomDataMissingError):
        render(RenderInputs(ovf=ovf, imds=doc, customdata=b""), Settings())
    warned = render(RenderInputs(ovf=ovf, imds=doc), _settings({"customdata_missing": "warn"}))
    assert warned.platform is not None
    assert [e.name for e in warned.platform.events] == ["customdata-missing"]
    assert any("none was found" in w for w in warned.warnings)
    rows = {
        r[0]: r
        for r in platform.explain_rows(decide_platform(RenderInputs(ovf=ovf, imds=doc), Settings()))
    }
    assert rows["custom data check"] == (
        "custom data check",
        "expected but missing: provisioning fails (customdata-missing)",
        "imds#/extended/compute/hasCustomData",
    )


@pytest.mark.parametrize("where", ["CustomData.bin", "ovf", "userData"])
def test_custom_data_azure_says_exists_and_is_found(where: str) -> None:
    ovf = ovf_xml(custom_data=CUSTOM if where == "ovf" else None)
    doc = _imds(has_custom_data=True, user_data=CUSTOM if where == "userData" else None)
    inputs = RenderInputs(
        ovf=ovf,
        imds=json.dumps(doc).encode(),
        customdata=CUSTOM if where == "CustomData.bin" else None,
    )
    result = render(inputs, Settings())
    assert result.platform is not None and result.platform.events == ()
    assert result.platform.custom_data.value.startswith("expected and found")


def test_custom_data_not_expected_or_not_said() -> None:
    doc = json.dumps(_imds(has_custom_data=False)).encode()
    result = render(RenderInputs(ovf=ovf_xml(), imds=doc), Settings())
    assert result.platform is not None and result.platform.custom_data.value == "none expected"
    alone = render(RenderInputs(ovf=ovf_xml()), Settings())
    assert alone.platform is not None
    assert alone.platform.custom_data.value == "not checked (IMDS did not say)"


# --- provision: failure reason, KVP events, published_hostname, eject ------------------


def _provision(tmp: Path, ovf: bytes, *extra: str, imds_url: str = "", custom: bytes | None = None,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    media = tmp / "media"
    media.mkdir(exist_ok=True)
    (media / "ovf-env.xml").write_bytes(ovf)
    if custom is not None:
        (media / "CustomData.bin").write_bytes(custom)
    return subprocess.run(
        [
            sys.executable, "-m", "igngen", "provision", "--media", str(media),
            "--imds-url", imds_url, "--imds-timeout", "10", "--handoff-dir", str(tmp / "handoff"),
            "--image-dir", str(tmp / "no-image"), "--kvp-pool", str(tmp / "pool"),
            "--state-dir", str(tmp / "state"), *extra,
        ],
        capture_output=True, text=True, timeout=120, cwd=REPO, env={**os.environ, **(env or {})},
    )  # fmt: skip


def _events(tmp: Path) -> dict[str, str]:
    records = kvp.decode((tmp / "pool").read_bytes())
    return {(k.split("|")[1] if "|" in k else k): v for k, v in records}


def test_provision_fails_with_customdata_missing(tmp_path: Path) -> None:
    with imds_server([ok(_imds(has_custom_data=True))]) as srv:
        proc = _provision(tmp_path, ovf_xml(), imds_url=srv.url)
    assert proc.returncode == 65, proc.stderr
    reason = (tmp_path / "state/failure-reason").read_text()
    assert reason.startswith("customdata-missing: imds#/extended/compute/hasCustomData: ")
    report = dict(kvp.decode((tmp_path / "pool").read_bytes()))[kvp.REPORT_KEY]
    assert report.startswith("result=error|reason=customdata-missing|detail=imds#/extended")
    assert not (tmp_path / "handoff").exists()


def test_provision_warns_of_customdata_missing_when_configured(tmp_path: Path) -> None:
    config = tmp_path / "igngen.yaml"
    config.write_text("azure:\n  customdata_missing: warn\n")
    with imds_server([ok(_imds(has_custom_data=True))]) as srv:
        proc = _provision(tmp_path, ovf_xml(), "--config", str(config), imds_url=srv.url)
    assert proc.returncode == 0, proc.stderr
    events = _events(tmp_path)
    assert "none was found" in events["customdata-missing"]
    assert events[kvp.REPORT_KEY].startswith("result=success")


def test_provision_names_proxy_agent_and_certificate_keys_in_kvp(tmp_path: Path) -> None:
    ovf = ovf_xml(
        platform=PROXY,
        keys=[("/home/azureuser/.ssh/authorized_keys", ED25519), ("/home/azureuser/.ssh/x", None)],
    )
    proc = _provision(tmp_path, ovf)
    assert proc.returncode == 0, proc.stderr
    events = _events(tmp_path)
    assert "has no guest proxy agent" in events["guest-proxy-agent-unavailable"]
    cert = events["ssh-key-certificate-only"]
    assert "PublicKey[2]" in cert and "certificate fingerprint" in cert
    config = tmp_path / "fail.yaml"
    config.write_text("azure:\n  proxy_agent_missing: fail\n")
    again = tmp_path / "again"
    again.mkdir()
    proc = _provision(again, ovf, "--config", str(config))
    assert proc.returncode == 65
    assert (
        (again / "state/failure-reason").read_text().startswith("guest-proxy-agent-unavailable: ")
    )


def test_published_hostname_reaches_the_root_next_to_ovf_env(tmp_path: Path) -> None:
    result = render(RenderInputs(ovf=ovf_xml(host="pubhost")), Settings())
    run = run_ignition(tmp_path / "ign", user_config=json.dumps(result.final).encode())
    record = run.root / "var/lib/waagent/published_hostname"
    assert record.read_bytes() == b"pubhost"  # WALinuxAgent's record: the bare name
    assert stat.S_IMODE(record.stat().st_mode) == 0o644
    assert stat.S_IMODE((run.root / "var/lib/waagent").stat().st_mode) == 0o700
    assert (run.root / "var/lib/waagent/ovf-env.xml").exists()


def test_ejectable_devices() -> None:
    from igngen.azure.media import ejectable

    assert ejectable("/dev/sr0") and ejectable("/dev/sr1")
    assert not ejectable("/dev/vdb")  # WALinuxAgent does not eject virtio disks either
    assert not ejectable("/dev/sda")
    assert not ejectable("/run/media")


def _fake_eject(tmp: Path, *, status: int) -> dict[str, str]:
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "eject"
    tool.write_text(
        f'#!/bin/sh\necho "$@" >> {tmp}/ejected\necho "drive says no" >&2\nexit {status}\n'
    )
    tool.chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}"}


@pytest.mark.parametrize("status", [0, 1])
def test_media_is_ejected_once_read_and_a_refusal_never_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    import igngen.boot.sequence as prov
    from igngen.azure.media import MediaContents

    monkeypatch.setenv("PATH", _fake_eject(tmp_path, status=status)["PATH"])
    monkeypatch.setattr(
        prov, "_read_media", lambda opts: MediaContents(ovf_xml(), None, "/dev/sr0")
    )
    opts = prov.ProvisionOptions(
        media="/dev/sr0", imds_url="", handoff_dir=str(tmp_path / "handoff"),
        image_dir=None, kvp_pool=str(tmp_path / "pool"), state_dir=str(tmp_path / "state"),
    )  # fmt: skip
    assert prov.provision(opts, Settings()) == ["user.ign"]
    assert (tmp_path / "ejected").read_text() == "/dev/sr0\n"
    events = _events(tmp_path)
    if status:
        assert events["media-not-ejected"].startswith("/dev/sr0: eject failed: drive says no")
    else:
        assert "media-not-ejected" not in events
    # Turned off: not run at all.
    (tmp_path / "ejected").unlink()
    shutil.rmtree(tmp_path / "handoff")
    prov.provision(opts, _settings({"eject_media": False}))
    assert not (tmp_path / "ejected").exists()


def test_eject_is_bounded_and_a_missing_tool_is_said(tmp_path: Path) -> None:
    from igngen.azure import media

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    sleep = shutil.which("sleep")
    assert sleep is not None
    (bin_dir / "eject").write_text(f"#!/bin/sh\nexec {sleep} 30\n")
    (bin_dir / "eject").chmod(0o755)
    old = os.environ["PATH"]
    try:
        os.environ["PATH"] = str(bin_dir)
        assert media.eject("/dev/sr0", timeout=0.5) == "eject did not finish in 0.5s"
        # Bytes that are not UTF-8 on stderr (a localised message, a label) are shown
        # replaced, never a decode error on the boot path.
        (bin_dir / "eject").write_text("#!/bin/sh\nprintf 'drive \\377\\376 busy' >&2\nexit 1\n")
        assert media.eject("/dev/sr0", timeout=5) == "eject failed: drive \ufffd\ufffd busy"
        os.environ["PATH"] = str(tmp_path / "empty")
        assert media.eject("/dev/sr0", timeout=1) == "eject is not installed"
    finally:
        os.environ["PATH"] = old


def test_deadline_counts_the_eject() -> None:
    from igngen.boot.sequence import ProvisionOptions, deadline
    from igngen.limits import MEDIA_EJECT_SECONDS

    _, detail = deadline(ProvisionOptions())
    assert f"media eject {MEDIA_EJECT_SECONDS:g}" in detail


def test_explain_command_shows_the_platform_decisions(tmp_path: Path) -> None:
    ovf = tmp_path / "ovf-env.xml"
    ovf.write_bytes(ovf_xml(platform=NO_AGENT))
    imds = tmp_path / "imds.json"
    imds.write_text(json.dumps(_imds(has_custom_data=True)))
    proc = subprocess.run(
        [sys.executable, "-m", "igngen", "explain", "--ovf", str(ovf), "--imds", str(imds)],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr  # explain says what would fail, it does not fail
    out = proc.stdout
    assert "guest agent" in out and "disabled (waagent.service masked)" in out
    assert "/PlatformSettings/ProvisionGuestAgent" in out
    assert "expected but missing: provisioning fails (customdata-missing)" in out
    assert f"from {imds}#/extended/compute/hasCustomData" in out
    assert "warning: " in out and "none was found" in out
