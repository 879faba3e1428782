"""The failure catalogue: every error igngen can raise has a name in it, and the name
reaches the reason file, KVP, the health description and ``igngen status`` unchanged."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from pathlib import Path

import pytest

import igngen
from igngen import failures
from igngen.azure import kvp
from igngen.errors import IgngenError
from igngen.limits import MAX_FAILURE_DETAIL_BYTES

REPO = Path(__file__).resolve().parent.parent


def _all_error_types() -> set[type[IgngenError]]:
    for info in pkgutil.walk_packages(igngen.__path__, "igngen."):
        if info.name.endswith("__main__"):
            continue
        importlib.import_module(info.name)
    found: set[type[IgngenError]] = set()
    todo: list[type[IgngenError]] = [IgngenError]
    while todo:
        kind = todo.pop()
        found.add(kind)
        todo.extend(kind.__subclasses__())
    return found


def test_every_error_type_has_a_catalogue_name() -> None:
    kinds = _all_error_types()
    assert len(kinds) > 20  # the walk found the real hierarchy
    unnamed = []
    for kind in kinds:
        try:
            error = kind("message", "where")
        except TypeError:
            error = kind("message")
        name = failures.name_for(error)
        assert name in failures.CATALOGUE, (kind, name)
        # Only the base class itself is "internal": a new error type needs a real name.
        if name == "internal" and kind is not IgngenError:
            unnamed.append(kind.__qualname__)
    assert unnamed == []


@pytest.mark.parametrize(
    ("error", "name"),
    [
        ("MediaError", "media-missing"),
        ("OvfError", "ovf-invalid"),
        ("CustomDataError", "customdata-invalid"),
        ("IgnitionConfigError", "customdata-invalid"),
        ("CustomDataMissingError", "customdata-missing"),
        ("ImdsDataError", "imds-unusable"),
        ("ImdsUnavailableError", "imds-unusable"),
        ("SettingsError", "settings-invalid"),
        ("DiskSettingsError", "settings-invalid"),
        ("RuleError", "provisioning-data-invalid"),
        ("HandoffError", "handoff-failed"),
        ("GuestProxyAgentError", "guest-proxy-agent-unavailable"),
    ],
)
def test_error_names(error: str, name: str) -> None:
    from igngen import errors

    assert failures.name_for(getattr(errors, error)("m", "x")) == name


def test_deadline_and_signals_are_named_apart() -> None:
    from igngen.watchdog import DeadlineError

    assert failures.name_for(DeadlineError("timeout: x")) == "timeout"
    assert failures.name_for(DeadlineError("terminated: x", terminated=True)) == "terminated"
    assert failures.from_error(DeadlineError("timeout: x did not finish")) == (
        "timeout",
        "x did not finish",
    )
    assert failures.from_error(KeyboardInterrupt()) == ("interrupted", "SIGINT")
    bug = failures.from_error(ValueError("hunter2 in the text"))
    assert bug.name == "internal" and "hunter2" not in bug.detail
    assert bug.detail.startswith("internal error: ValueError")


def test_pps_errors_carry_their_catalogue_name() -> None:
    from igngen.errors import PpsError

    names = {n for n in failures.CATALOGUE if n.startswith("pps-")}
    assert {"pps-unsupported-kind", "pps-timeout", "pps-imds-refused"} <= names
    for name in names:
        f = failures.from_error(PpsError(name, "no hand-over", "reprovisiondata"))
        assert f == (name, "no hand-over (reprovisiondata)"), f
        assert failures.parse_line(f.line()) == f
    # A name outside the catalogue never escapes as a reason: the base type's name is used.
    assert failures.from_error(PpsError("pps-made-up", "x")).name == "service-unavailable"
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+)*", name) for name in failures.CATALOGUE)


def test_detail_is_one_bounded_line() -> None:
    long = "é" * 1000 + "\nnext|line"
    f = failures.failure("ovf-invalid", long)
    assert len(f.detail.encode("utf-8")) <= MAX_FAILURE_DETAIL_BYTES
    assert f.detail.endswith("...") and "\n" not in f.detail
    short = failures.failure("ovf-invalid", "a\nb|c http://u:pw@h/x")
    assert short.detail == "a\\nb/c http://REDACTED@h/x"
    with pytest.raises(ValueError, match="not in the catalogue"):
        failures.failure("no-such-name", "x")


def test_reason_lines_round_trip() -> None:
    f = failures.failure("customdata-missing", "imds#/extended/compute/hasCustomData: true")
    assert f.line() == "customdata-missing: imds#/extended/compute/hasCustomData: true"
    assert failures.parse_line(f.line() + "\n") == f
    assert failures.parse_line("timeout") == ("timeout", "")
    # An older igngen's free text, or --description: kept as the detail of "unknown".
    assert failures.parse_line("media: no ovf-env.xml") == ("unknown", "media: no ovf-env.xml")


def test_description_format_is_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setattr(time, "gmtime", lambda *a: time.struct_time((2026, 1, 2, 3, 4, 5, 4, 2, 0)))
    value = kvp.report_value(
        "error",
        reason="ovf-invalid",
        detail="ovf-env.xml:/Environment: malformed XML",
        vm_id="abc",
        documentation_url="https://aka.ms/linuxprovisioningerror",
    )
    assert value == (
        "result=error|reason=ovf-invalid|detail=ovf-env.xml:/Environment: malformed XML"
        f"|agent=igngen/{igngen.__version__}|vm_id=abc"
        "|documentation_url=https://aka.ms/linuxprovisioningerror|timestamp=2026-01-02T03:04:05Z"
    )


def test_the_longest_report_fits_the_health_description_and_one_kvp_record() -> None:
    from igngen.azure.wireserver import MAX_DESCRIPTION, clean_description

    longest = max(failures.CATALOGUE, key=len)
    f = failures.failure(longest, "x" * 10_000)
    value = kvp.report_value(
        "error",
        reason=f.name,
        detail=f.detail,
        vm_id="0f3e1b2a-1111-4c2d-9e8f-000000000001",
        documentation_url="https://aka.ms/linuxprovisioningerror",
    )
    assert len(value) <= MAX_DESCRIPTION
    assert clean_description(value) == value  # nothing trimmed: vm_id and timestamp kept
    assert len(value.encode()) <= kvp.MAX_VALUE_BYTES


def test_every_name_is_documented_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    missing = [name for name in failures.CATALOGUE if f"`{name}`" not in readme]
    assert missing == []


def test_status_shows_the_recorded_reason(tmp_path: Path) -> None:
    from igngen import cli

    state = tmp_path / "state"
    state.mkdir()
    desc = kvp.report_value("error", reason="media-missing", detail="auto: no media")
    (state / "reports.json").write_text(
        json.dumps({"failure": {"at": "t", "state": "NotReady", "description": desc}})
    )
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert cli.main(["status", "--state-dir", str(state), "--vm-id", "v"]) == 0
    assert "    reason: media-missing\n" in buf.getvalue()
    assert failures.reason_of(desc) == "media-missing"
    assert failures.reason_of("result=error|reason=free text|agent=x") == "unknown"
    assert failures.reason_of("Provisioning in progress") is None


@pytest.mark.parametrize(
    ("unit", "name"),
    [
        ("ignition-files.service", "ignition-stage-failed"),
        ("igngen-resource-disk.service", "disk-failed"),
        ("igngen-nvme-raid.service", "disk-failed"),
        ("igngen-provision.service", "unit-failed"),
        ("", "unit-failed"),
    ],
)
def test_failed_units_are_named_by_what_they_do(unit: str, name: str) -> None:
    f = failures.for_unit(unit, "exit code 1")
    assert f.name == name and f.detail.endswith("exit code 1")
