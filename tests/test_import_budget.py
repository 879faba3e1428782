"""One import budget per command: the igngen and third-party modules each command may load.

Each test runs the command (``igngen.cli.main``) in a fresh interpreter on real inputs
and compares what it added to ``sys.modules`` with that command's allow-list, so a new
import on a command's path fails here and is either justified (the list grows, in the
same commit) or moved off that path. Heavy standard-library modules that no command
needs at start-up (``HEAVY_STDLIB``) are refused too. docs/ARCHITECTURE.md ("Start-up")
lists the heavy modules imported lazily and why. No timings here: those live in
``make bench`` (bench/bench_render.py, bench/bench_provision.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAID/fIThAZnhHRQ+nIfTu6i0CawmgMNmw4fWS2fXdGMEH a@b"

# Runs the command with stdout discarded, then prints every module it added that is not
# the standard library's, and which of the heavy standard-library modules were loaded.
PROBE = r"""
import json, os, sys
before = set(sys.modules)  # the interpreter's and site's own (e.g. an editable finder)
heavy = json.loads(sys.argv[1])
argv = json.loads(sys.argv[2])
from igngen.cli import main
out, sys.stdout = sys.stdout, open(os.devnull, "w")
try:
    code = main(argv)
finally:
    sys.stdout = out
names = set(sys.modules)
print(json.dumps({
    "code": code,
    "loaded": sorted(n for n in names - before if n.split(".")[0] not in sys.stdlib_module_names),
    "heavy": sorted(n for n in heavy if n in names),
}))
"""

# Standard-library modules costing several ms each (or pulling in dozens of others) that
# no command's start-up needs: urllib.request, http.client, email and ssl came in through
# xml.sax.saxutils once and cost `igngen render` and every boot ~40 modules.
HEAVY_STDLIB = [
    "urllib.request",
    "http.client",
    "email",
    "ssl",
    "asyncio",
    "xml.sax",
    "dataclasses",
    "inspect",
    "tempfile",
    "logging",
    "subprocess",
    "shutil",  # argparse's help formatter imports it per option: igngen.cli gives the width
    "lzma",  # through shutil (the hand-off directory has its own remover)
    "encodings.idna",  # a str host to getaddrinfo; igngen.azure.http passes bytes
    # ~6 ms, and igngen alone imported it: its modules take typing's names only under
    # `if TYPE_CHECKING:` and records from igngen.records (docs/ARCHITECTURE.md, Start-up).
    "typing",
    # ElementPath, copy and weakref (~4 ms): igngen.azure.xmldoc reads XML on expat alone.
    "xml.etree",
    # hashlib's sha512, bisect, math: igngen.azure.http jitters its backoff from os.urandom.
    "random",
]
# ...except where a command needs them: jsonschema's own imports (validate cross-checks
# every config against the JSON schema); typing comes only with it. `provision` loads
# subprocess only to run a tool (mounting a media device, `ignition -version`, udevadm):
# its budget here reads directory media with no Ignition binary, so it runs none.
HEAVY_ALLOWED = {
    "validate": {"dataclasses", "inspect", "tempfile", "shutil", "lzma", "typing", "random"},
}

# Loaded by every command: the entry point and the infrastructure under it.
COMMON = {
    "igngen",
    "igngen.cli",
    "igngen.commands",
    "igngen.errors",
    "igngen.limits",
    "igngen.readfile",
    "igngen.records",  # every command's path defines records
}

# command -> (the igngen modules it may load beyond COMMON, third-party top-level packages).
BUDGETS: dict[str, tuple[set[str], set[str]]] = {
    "render": (
        {
            "igngen.azure",
            "igngen.azure.ovf",
            "igngen.azure.platform",
            "igngen.azure.report_settings",
            "igngen.azure.waagent_conf",
            # igngen's own expat reader, in place of defusedxml and xml.etree
            "igngen.azure.xmldoc",
            "igngen.butane",
            "igngen.butane.contents",
            "igngen.butane.fcos",
            "igngen.butane.ignwarn",
            "igngen.butane.messages",
            "igngen.butane.modes",
            "igngen.butane.mount_units",
            "igngen.butane.quadlets",
            "igngen.butane.transpile",
            "igngen.butane.trees",
            "igngen.butane.versions",
            "igngen.butane.walker",
            "igngen.commands.inputs",
            "igngen.commands.render",
            "igngen.disks",
            "igngen.disks.layers",
            "igngen.disks.plan",
            "igngen.disks.variables",
            "igngen.ignition",
            "igngen.ignition.base_fields",
            "igngen.ignition.customdata",
            "igngen.ignition.dataurl",
            "igngen.ignition.device_rules",
            "igngen.ignition.field_rules",
            "igngen.ignition.handin",
            "igngen.ignition.merge",
            "igngen.ignition.merged",
            "igngen.ignition.nodes",
            "igngen.ignition.reports",
            "igngen.ignition.semantics",
            "igngen.ignition.spec",
            "igngen.ignition.structure",
            "igngen.ignition.validate",
            "igngen.jsonio",
            "igngen.log",
            "igngen.paths",
            "igngen.render",
            "igngen.render.combine",  # split from igngen.render.templating (its size)
            "igngen.render.fragment",
            "igngen.render.model",
            "igngen.render.passwords",
            "igngen.render.pipeline",
            "igngen.render.reconcile",
            "igngen.render.rules",
            "igngen.render.templating",
            "igngen.render.variables",
            "igngen.safejson",
            "igngen.secret",
            "igngen.settings",
            "igngen.systemd",
            "igngen.yamlsrc",
        },
        set(),
    ),
    "provision": (
        {
            "igngen.azure",
            "igngen.azure.http",
            "igngen.azure.imds",
            "igngen.azure.imds_client",
            "igngen.azure.kvp",
            "igngen.azure.media",
            "igngen.azure.ovf",
            "igngen.azure.platform",
            "igngen.azure.pps",
            "igngen.azure.report_settings",
            "igngen.azure.urls",
            "igngen.azure.waagent_conf",
            # igngen's own expat reader, in place of defusedxml and xml.etree
            "igngen.azure.xmldoc",
            "igngen.boot",
            "igngen.boot.handoff",
            "igngen.boot.pool",
            "igngen.boot.sequence",
            "igngen.butane",
            "igngen.butane.contents",
            "igngen.butane.fcos",
            "igngen.butane.ignwarn",
            "igngen.butane.messages",
            "igngen.butane.modes",
            "igngen.butane.mount_units",
            "igngen.butane.quadlets",
            "igngen.butane.transpile",
            "igngen.butane.trees",
            "igngen.butane.versions",
            "igngen.butane.walker",
            "igngen.commands.provision",
            "igngen.disks",
            "igngen.disks.layers",
            "igngen.disks.plan",
            "igngen.disks.variables",
            "igngen.failures",
            "igngen.ignition",
            "igngen.ignition.base_fields",
            "igngen.ignition.customdata",
            "igngen.ignition.dataurl",
            "igngen.ignition.device_rules",
            "igngen.ignition.field_rules",
            "igngen.ignition.handin",
            "igngen.ignition.installed",
            "igngen.ignition.merge",
            "igngen.ignition.merged",
            "igngen.ignition.nodes",
            "igngen.ignition.reports",
            "igngen.ignition.semantics",
            "igngen.ignition.spec",
            "igngen.ignition.structure",
            "igngen.ignition.validate",
            "igngen.jsonio",
            "igngen.log",
            "igngen.paths",
            "igngen.render",
            "igngen.render.combine",  # split from igngen.render.templating (its size)
            "igngen.render.fragment",
            "igngen.render.model",
            "igngen.render.passwords",
            "igngen.render.pipeline",
            "igngen.render.reconcile",
            "igngen.render.rules",
            "igngen.render.templating",
            "igngen.render.variables",
            "igngen.safejson",
            "igngen.seconds",
            "igngen.secret",
            "igngen.settings",
            "igngen.systemd",
            "igngen.watchdog",
            "igngen.yamlsrc",
        },
        set(),
    ),
    "report": (
        {
            "igngen.azure",
            "igngen.azure.health",
            "igngen.azure.http",
            "igngen.azure.kvp",
            "igngen.azure.report_settings",  # the report: section, split from reporter
            "igngen.azure.reporter",
            "igngen.azure.urls",
            "igngen.azure.wireserver",
            "igngen.azure.wireserver_client",
            "igngen.commands.report",
            "igngen.ignition",
            "igngen.ignition.base_fields",
            "igngen.ignition.nodes",
            "igngen.ignition.spec",
            "igngen.log",
            "igngen.paths",
            "igngen.render",
            "igngen.render.passwords",
            "igngen.safejson",
            "igngen.seconds",
            "igngen.secret",
            "igngen.settings",
            "igngen.yamlsrc",
        },
        set(),
    ),
    "status": (
        {
            "igngen.azure",
            "igngen.azure.health",
            "igngen.azure.report_settings",  # the report: section, split from reporter
            "igngen.azure.reporter",
            "igngen.commands.status",
            "igngen.failures",
            "igngen.jsonio",
            "igngen.log",
            "igngen.paths",
            "igngen.safejson",
        },
        set(),
    ),
    "validate": (
        {
            "igngen.commands.inputs",
            "igngen.commands.validate",
            "igngen.ignition",
            "igngen.ignition.base_fields",
            "igngen.ignition.dataurl",
            "igngen.ignition.device_rules",
            "igngen.ignition.field_rules",
            "igngen.ignition.merge",
            "igngen.ignition.nodes",
            "igngen.ignition.parse",
            "igngen.ignition.reports",
            "igngen.ignition.schema",
            "igngen.ignition.semantics",
            "igngen.ignition.spec",
            "igngen.ignition.structure",
            "igngen.ignition.validate",
            "igngen.safejson",
            "igngen.systemd",
        },
        {
            "attr",
            "attrs",
            "jsonschema",
            "jsonschema_specifications",
            "referencing",
            "rpds",
            "typing_extensions",
        },
    ),
    "merge": (
        {
            "igngen.commands.inputs",
            "igngen.commands.merge",
            "igngen.ignition",
            "igngen.ignition.base_fields",
            "igngen.ignition.dataurl",
            "igngen.ignition.device_rules",
            "igngen.ignition.field_rules",
            "igngen.ignition.merge",
            "igngen.ignition.merged",
            "igngen.ignition.nodes",
            "igngen.ignition.parse",
            "igngen.ignition.reports",
            "igngen.ignition.semantics",
            "igngen.ignition.spec",
            "igngen.ignition.structure",
            "igngen.ignition.translate",
            "igngen.ignition.validate",
            "igngen.jsonio",
            "igngen.safejson",
            "igngen.systemd",
        },
        set(),
    ),
    "butane": (
        {
            "igngen.butane",
            "igngen.butane.contents",
            "igngen.butane.fcos",
            "igngen.butane.ignwarn",
            "igngen.butane.messages",
            "igngen.butane.modes",
            "igngen.butane.mount_units",
            "igngen.butane.quadlets",
            "igngen.butane.transpile",
            "igngen.butane.trees",
            "igngen.butane.versions",
            "igngen.butane.walker",
            "igngen.commands.butane",
            "igngen.commands.inputs",
            "igngen.ignition",
            "igngen.ignition.base_fields",
            "igngen.ignition.dataurl",
            "igngen.ignition.device_rules",
            "igngen.ignition.field_rules",
            "igngen.ignition.merge",
            "igngen.ignition.nodes",
            "igngen.ignition.reports",
            "igngen.ignition.semantics",
            "igngen.ignition.spec",
            "igngen.ignition.structure",
            "igngen.ignition.validate",
            "igngen.jsonio",
            "igngen.log",
            "igngen.safejson",
            "igngen.systemd",
            "igngen.yamlsrc",
        },
        {"_cython_3_3_1", "cython_runtime", "yaml"},
    ),
    "explain": (
        {
            "igngen.azure",
            "igngen.azure.imds",
            "igngen.azure.ovf",
            "igngen.azure.platform",
            "igngen.azure.pps",
            "igngen.azure.report_settings",
            "igngen.azure.waagent_conf",
            # igngen's own expat reader, in place of defusedxml and xml.etree
            "igngen.azure.xmldoc",
            "igngen.commands.explain",
            "igngen.commands.inputs",
            "igngen.disks",
            "igngen.disks.layers",
            "igngen.disks.plan",
            "igngen.ignition",
            "igngen.ignition.base_fields",
            "igngen.ignition.nodes",
            "igngen.ignition.spec",
            "igngen.log",
            "igngen.paths",
            "igngen.render",
            "igngen.render.fragment",
            "igngen.render.model",
            "igngen.render.passwords",
            "igngen.render.pipeline",
            "igngen.render.reconcile",
            "igngen.render.rules",
            "igngen.render.variables",
            "igngen.safejson",
            "igngen.secret",
            "igngen.settings",
            "igngen.systemd",
            "igngen.yamlsrc",
        },
        set(),
    ),
    "templates": (
        {
            "igngen.commands.inputs",
            "igngen.commands.templates",
            "igngen.ignition",
            "igngen.ignition.base_fields",
            "igngen.ignition.nodes",
            "igngen.ignition.spec",
            "igngen.paths",
            "igngen.render",
            "igngen.render.passwords",
            "igngen.render.templating",
            "igngen.secret",
            "igngen.settings",
            "igngen.yamlsrc",
        },
        set(),
    ),
}


def _python(code: str, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter that imports igngen from this checkout."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def _probe(argv: list[str], cwd: Path) -> dict[str, Any]:
    proc = _python(PROBE, [json.dumps(HEAVY_STDLIB), json.dumps(argv)], cwd)
    result: dict[str, Any] = json.loads(proc.stdout.splitlines()[-1])
    return result


def _within_budget(command: str, argv: list[str], cwd: Path, *, code: int = 0) -> None:
    result = _probe(argv, cwd)
    assert result["code"] == code, result
    mine, third_party = BUDGETS[command]
    loaded = set(result["loaded"])
    # Not vacuous: the command's own module ran, and the common core is really loaded.
    assert f"igngen.commands.{command}" in loaded and loaded >= COMMON
    extra = sorted(
        name
        for name in loaded
        if (
            name not in COMMON | mine
            if name.startswith("igngen")
            else name.split(".")[0] not in third_party
        )
    )
    assert not extra, f"`igngen {command}` loads modules outside its budget: {extra}"
    heavy = set(result["heavy"]) - HEAVY_ALLOWED.get(command, set())
    assert not heavy, f"`igngen {command}` loads heavy standard-library modules: {sorted(heavy)}"


@pytest.fixture
def configs(tmp_path: Path) -> Path:
    (tmp_path / "a.ign").write_text('{"ignition": {"version": "3.3.0"}}')
    (tmp_path / "b.ign").write_text(
        '{"ignition": {"version": "3.3.0"}, "storage": {"files": [{"path": "/etc/x"}]}}'
    )
    (tmp_path / "c.bu").write_text("variant: flatcar\nversion: 1.0.0\n")
    return tmp_path


def test_render_budget(tmp_path: Path) -> None:
    """No password: no bcrypt, no PyYAML (built-in templates are pre-parsed), no
    jsonschema, no HTTP client."""
    _within_budget("render", ["render", "--ovf", str(EXAMPLES / "keys-only/ovf-env.xml")], tmp_path)


def test_provision_budget(tmp_path: Path) -> None:
    """The boot path with a loopback IMDS: media, IMDS over HTTP, render, hand-off."""
    from sim.imds import imds_server, instance_document, ok

    with imds_server([ok(instance_document(keys=[KEY]))]) as srv:
        argv = [
            "provision",
            *("--media", str(EXAMPLES / "keys-only"), "--imds-url", srv.url),
            *("--imds-timeout", "10", "--handoff-dir", str(tmp_path / "handoff")),
            *("--image-dir", str(tmp_path / "no-image"), "--kvp-pool", str(tmp_path / "kvp")),
            *("--state-dir", str(tmp_path / "state")),
        ]
        _within_budget("provision", argv, tmp_path)
    assert any((tmp_path / "handoff").iterdir())  # the whole path ran


def test_report_budget(tmp_path: Path) -> None:
    """Nothing listens: the whole HTTP path runs and fails (exit 69), without the render stack."""
    from sim.http import free_port_refusing

    argv = ["report", "ready", "--wireserver", free_port_refusing()]
    argv += ["--state-dir", str(tmp_path / "state"), "--vm-id", "x", "--kvp-pool", ""]
    argv += ["--timeout", "0.5", "--protocol", "goalstate"]
    _within_budget("report", argv, tmp_path, code=69)


def test_status_budget(tmp_path: Path) -> None:
    _within_budget("status", ["status", "--state-dir", str(tmp_path), "--vm-id", "x"], tmp_path)


def test_validate_budget(configs: Path) -> None:
    _within_budget("validate", ["validate", str(configs / "a.ign")], configs)


def test_merge_budget(configs: Path) -> None:
    _within_budget("merge", ["merge", str(configs / "a.ign"), str(configs / "b.ign")], configs)


def test_butane_budget(configs: Path) -> None:
    _within_budget("butane", ["butane", str(configs / "c.bu")], configs)


def test_explain_budget(tmp_path: Path) -> None:
    _within_budget(
        "explain", ["explain", "--ovf", str(EXAMPLES / "keys-only/ovf-env.xml")], tmp_path
    )


def test_templates_budget(tmp_path: Path) -> None:
    _within_budget("templates", ["templates", "list"], tmp_path)


def test_every_command_has_a_budget() -> None:
    from igngen.cli import COMMANDS

    assert set(BUDGETS) == set(COMMANDS)


def test_no_igngen_module_imports_typing() -> None:
    """Every igngen module, not only those on some command's path, leaves typing to mypy
    (``if TYPE_CHECKING:``; records from igngen.records): a module moving onto a path later
    cannot bring typing back. Third-party packages are imported lazily, so none load here."""
    package = REPO / "igngen"
    names = sorted(
        ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        for path in package.rglob("*.py")
        if path.name != "__main__.py"  # it runs the CLI
    )
    probe = (
        "import importlib, json, sys\n"
        "for name in json.loads(sys.argv[1]):\n"
        "    importlib.import_module(name)\n"
        "    assert 'typing' not in sys.modules, f'{name} imports typing'\n"
    )
    _python(probe, [json.dumps(names)], REPO)
    assert len(names) > 50  # not vacuous
