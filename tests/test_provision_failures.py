"""Every way ``igngen provision`` can end badly still ends with one reason in the state
directory and ``result=error`` in KVP: bad settings, bugs, Ctrl-C, its own deadline,
SIGTERM from systemd; and every time budget it is given is finite and bounded."""

from __future__ import annotations

import configparser
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sim.http import Hang
from sim.imds import imds_server
from support.ovf_builder import ovf_xml

from igngen import cli
from igngen.azure import kvp

REPO = Path(__file__).resolve().parent.parent


def _media(tmp: Path) -> Path:
    d = tmp / "media"
    d.mkdir()
    (d / "ovf-env.xml").write_bytes(ovf_xml())
    return d


def _args(tmp: Path, *extra: str) -> list[str]:
    return [
        "provision",
        "--media",
        str(_media(tmp)),
        "--imds-url",
        "",
        "--handoff-dir",
        str(tmp / "handoff"),
        "--image-dir",
        str(tmp / "no-image"),
        "--state-dir",
        str(tmp / "state"),
        "--kvp-pool",
        str(tmp / "pool"),
        *extra,
    ]


def _recorded(tmp: Path) -> tuple[str, list[str]]:
    reason = (tmp / "state" / "failure-reason").read_text().strip()
    reports = [v for k, v in kvp.decode((tmp / "pool").read_bytes()) if k == kvp.REPORT_KEY]
    return reason, reports


def _assert_recorded(tmp: Path, name: str, needle: str) -> str:
    """The reason file says ``NAME: detail`` and KVP ``reason=NAME|detail=…``, the
    detail holding ``needle``."""
    from igngen.failures import CATALOGUE

    assert name in CATALOGUE
    reason, reports = _recorded(tmp)
    assert reason.startswith(f"{name}: ") and needle in reason, reason
    assert "\n" not in reason
    prefix = f"result=error|reason={name}|detail="
    assert any(r.startswith(prefix) and needle in r for r in reports), reports
    assert not (tmp / "handoff").exists()
    return reason


def test_an_internal_error_is_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import igngen.render.pipeline

    def broken(*args: object, **kwargs: object) -> None:
        raise TypeError("secret text that must not be shown")

    monkeypatch.setattr(igngen.render.pipeline, "render", broken)
    assert cli.main(_args(tmp_path)) == 70
    reason = _assert_recorded(tmp_path, "internal", "internal error: TypeError at ")
    assert "secret text" not in reason
    assert "secret text" not in capsys.readouterr().err


def test_ctrl_c_is_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import igngen.boot.sequence

    def interrupted(opts: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(igngen.boot.sequence, "_read_media", interrupted)
    assert cli.main(_args(tmp_path)) == 130
    _assert_recorded(tmp_path, "interrupted", "SIGINT")


def test_the_own_deadline_interrupts_a_stuck_step_and_says_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import igngen.boot.sequence

    monkeypatch.setattr(igngen.boot.sequence, "deadline", lambda opts: (0.5, "test budget"))
    monkeypatch.setattr(igngen.boot.sequence, "_read_media", lambda opts: time.sleep(60))
    started = time.monotonic()
    assert cli.main(_args(tmp_path)) == 75
    assert time.monotonic() - started < 30  # not the 60 s sleep: interrupted
    reason = _assert_recorded(tmp_path, "timeout", "provisioning did not finish within 0.5 s")
    assert "test budget" in reason
    # the handlers are put back: a later alarm or SIGTERM is not turned into our error
    assert signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, signal.default_int_handler)


def test_a_timeout_is_not_swallowed_by_broad_handlers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import igngen.boot.sequence

    def swallowing(opts: object) -> None:
        for _ in range(600):
            try:
                time.sleep(0.1)
            except Exception:
                continue

    monkeypatch.setattr(igngen.boot.sequence, "deadline", lambda opts: (0.3, ""))
    monkeypatch.setattr(igngen.boot.sequence, "_read_media", swallowing)
    assert cli.main(_args(tmp_path)) == 75
    _assert_recorded(tmp_path, "timeout", "provisioning did not finish")


def test_broken_settings_reach_the_reason_file_and_kvp(tmp_path: Path) -> None:
    config = tmp_path / "igngen.yaml"
    config.write_text("imds:\n  timeout: .nan\n")
    assert cli.main([*_args(tmp_path), "--config", str(config)]) == 2
    _assert_recorded(tmp_path, "settings-invalid", "imds.timeout: expected a")


def test_sigterm_from_systemd_is_recorded(tmp_path: Path) -> None:
    with imds_server([Hang(60)] * 5) as srv:
        args = _args(tmp_path)
        args[args.index("--imds-url") + 1] = srv.url
        proc = subprocess.Popen(
            [sys.executable, "-m", "igngen", *args, "--imds-timeout", "60"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            until = time.monotonic() + 30
            while not srv.requests and time.monotonic() < until:
                time.sleep(0.05)
            assert srv.requests, "igngen never asked IMDS"
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 75, err
    assert "Traceback" not in err
    _assert_recorded(tmp_path, "terminated", "provisioning got SIGTERM")


# -- budgets ----------------------------------------------------------------------


def test_default_deadline_fits_the_unit_start_timeout() -> None:
    from igngen.boot.sequence import ProvisionOptions, deadline
    from igngen.limits import MAX_PROVISION_SECONDS, PROVISION_BACKSTOP_SECONDS

    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(REPO / "dracut/95igngen/igngen-provision.service")
    start_timeout = float(unit["Service"]["TimeoutStartSec"])
    assert start_timeout == MAX_PROVISION_SECONDS + PROVISION_BACKSTOP_SECONDS
    seconds, detail = deadline(ProvisionOptions())
    assert seconds < MAX_PROVISION_SECONDS
    assert "media wait 60" in detail and "IMDS 305" in detail
    # budgets that add up to more are capped, never beyond the unit's timeout
    big, detail = deadline(ProvisionOptions(imds_timeout=86_400, media_wait=86_400))
    assert big == MAX_PROVISION_SECONDS and "capped" in detail
    assert deadline(ProvisionOptions(imds_url=""))[0] < seconds  # no IMDS, no IMDS budget


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "1e9", "soon", "0x10", ""])
@pytest.mark.parametrize(
    "command",
    [
        ["provision", "--imds-timeout"],
        ["provision", "--media-wait"],
        ["report", "ready", "--timeout"],
        ["report", "failure", "--timeout"],
    ],
)
def test_bad_time_budgets_are_usage_errors(
    command: list[str], value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main([*command[:-1], f"{command[-1]}={value}"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "seconds" in err and "Traceback" not in err


@pytest.mark.parametrize("value", ["0", "2.5", "86400"])
def test_good_time_budgets_parse(value: str) -> None:
    from igngen.seconds import seconds_argument

    assert seconds_argument(value) == float(value)


@pytest.mark.parametrize(
    ("yaml_value", "ok"),
    [
        ("30", True),
        ("2.5", True),
        (".nan", False),
        (".inf", False),
        ("-3", False),
        ("true", False),
        ("'30'", False),
    ],
)
def test_settings_budgets_take_int_and_float_and_nothing_else(yaml_value: str, ok: bool) -> None:
    import yaml

    from igngen.azure.reporter import options_from_settings as report_options
    from igngen.boot.sequence import options_from_settings as provision_options
    from igngen.errors import SettingsError
    from igngen.settings import Settings

    value = yaml.safe_load(yaml_value)
    cases: list[Callable[[], float | None]] = [
        lambda: provision_options(Settings(sections={"imds": {"timeout": value}})).imds_timeout,
        lambda: (
            provision_options(Settings(sections={"provision": {"media_wait": value}})).media_wait
        ),
        lambda: report_options("ready", {"report": {"timeout": value}}, "s.yaml").timeout,
    ]
    for case in cases:
        if ok:
            assert case() == float(value)
        else:
            with pytest.raises(SettingsError, match="seconds"):
                case()


def test_report_failure_names_a_start_timeout() -> None:
    from igngen.azure.health import failure_text

    text, source = failure_text(
        {
            "MONITOR_UNIT": "igngen-provision.service",
            "MONITOR_SERVICE_RESULT": "timeout",
        },
        description=None,
        reason_file="/nonexistent/failure-reason",
        journal=lambda matches: None,
    )
    assert text.name == "timeout" and source == "systemd"
    assert text.detail.startswith("igngen-provision.service did not finish")


def test_the_watchdog_restores_handlers_and_disarms() -> None:
    from igngen.watchdog import DeadlineError, Watchdog

    before = signal.getsignal(signal.SIGALRM)
    with Watchdog(5, "work"):
        pass
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) == before
    with (
        pytest.raises(DeadlineError, match="timeout: work did not finish within 0 s"),
        Watchdog(0, "work"),
    ):
        time.sleep(5)
