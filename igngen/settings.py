"""Image settings: the igngen config file (YAML), with named defaults (pure + file read).

Defaults follow what Flatcar's WALinuxAgent does today where igngen replaces it
(ClientAliveInterval 180, a sudoers drop-in for the admin), except where the
issue tracker decided otherwise for safety (drop-ins sort early so they win;
the admin joins ``docker`` but never ``sudo``, whose Flatcar sudoers rule is
passwordless). Unknown keys are refused with their file, line and column: a
typo must not silently fall back to a default.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from igngen.errors import SettingsError
from igngen.ignition import spec as _spec
from igngen.limits import (
    BCRYPT_COST_RANGE,
    MAX_INT_DIGITS,
    MAX_SETTINGS_BYTES,
    MAX_YAML_DEPTH,
    MAX_YAML_NODES,
    SHA512_ROUNDS_RANGE,
)
from igngen.render.passwords import (
    DEFAULT_BCRYPT_COST,
    DEFAULT_SALT,
    DEFAULT_SCHEME,
    DEFAULT_SHA512_ROUNDS,
    HashSettings,
)

DEFAULT_GROUPS = ("docker",)
DEFAULT_SSHD_DROPIN = "10-igngen.conf"  # sorts before Flatcar's 50-/80-/9999999- drop-ins
DEFAULT_CLIENT_ALIVE_INTERVAL = 180  # WALinuxAgent's OS.SshClientAliveInterval
DEFAULT_SUDOERS_FILE = "igngen"
# Both derived from the spec table (igngen.ignition.spec.SPECS): the default is the newest
# stable spec the oldest supported Ignition (2.14) accepts.
DEFAULT_SPEC = _spec.DEFAULT_OUTPUT_SPEC
OUTPUT_SPECS = _spec.OUTPUT_SPECS
# Sections whose keys belong to other modules; they validate their own keys.
DELEGATED_SECTIONS = ("imds", "report", "disks", "provision", "azure", "pps")

_GROUP_RE = re.compile(r"[a-z_][a-z0-9_-]*")
# sudo skips sudoers.d files whose names contain '.' or end in '~'.
_SUDOERS_RE = re.compile(r"[A-Za-z0-9_-]+")
_DROPIN_RE = re.compile(r"[A-Za-z0-9_.@-]+\.conf")


class Settings(NamedTuple):
    groups: tuple[str, ...] = DEFAULT_GROUPS
    hashing: HashSettings = HashSettings()
    sshd_dropin: str = DEFAULT_SSHD_DROPIN
    client_alive_interval: int = DEFAULT_CLIENT_ALIVE_INTERVAL
    sudoers_file: str = DEFAULT_SUDOERS_FILE
    template_dirs: tuple[str, ...] = ()
    disabled_templates: tuple[str, ...] = ()
    spec: str = DEFAULT_SPEC
    # Whether the settings file named output.spec: if not, provision may choose the spec
    # from the Ignition it finds (RenderInputs.target_ignition).
    spec_given: bool = False
    sections: Mapping[str, Mapping[str, Any]] = MappingProxyType({})
    source: str = "defaults"

    @property
    def sshd_dropin_path(self) -> str:
        return f"/etc/ssh/sshd_config.d/{self.sshd_dropin}"

    @property
    def sudoers_path(self) -> str:
        return f"/etc/sudoers.d/{self.sudoers_file}"

    def with_spec(self, spec: str | None) -> Settings:
        if spec is None:
            return self
        check_spec(spec, "--spec")
        return self._replace(spec=spec, spec_given=True)


def check_spec(spec: str, where: str) -> str:
    if spec not in OUTPUT_SPECS:
        raise SettingsError(
            f"output spec {spec!r} not supported; use one of {', '.join(OUTPUT_SPECS)}", where
        )
    return spec


# --- YAML with positions -------------------------------------------------------


class _Value:
    """A parsed YAML value with the position it came from."""

    __slots__ = ("col", "line", "value")

    def __init__(self, value: Any, line: int, col: int) -> None:
        self.value = value
        self.line = line
        self.col = col


MAX_FLOAT_CHARS = 32
_FLOAT_RE = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")


def _convert(node: Any, source: str, budget: list[int], depth: int = 0) -> _Value:
    import yaml

    line, col = node.start_mark.line + 1, node.start_mark.column + 1
    # Aliases are followed, so an alias bomb (billion laughs) would expand without end.
    budget[0] -= 1
    if budget[0] < 0:
        raise SettingsError(
            f"document expands to more than {MAX_YAML_NODES} nodes (alias bomb?)", source
        )
    if depth > MAX_YAML_DEPTH:
        raise SettingsError(f"nested deeper than {MAX_YAML_DEPTH} levels", f"{source}:{line}:{col}")
    if isinstance(node, yaml.MappingNode):
        out: dict[str, _Value] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise SettingsError("keys must be plain strings", f"{source}:{line}:{col}")
            key = key_node.value
            if key in out:
                kl, kc = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                raise SettingsError(f"duplicate key {key!r}", f"{source}:{kl}:{kc}")
            out[key] = _convert(value_node, source, budget, depth + 1)
        return _Value(out, line, col)
    if isinstance(node, yaml.SequenceNode):
        return _Value([_convert(n, source, budget, depth + 1) for n in node.value], line, col)
    # Scalars: resolve with the YAML 1.2 core rules we want, not PyYAML's 1.1 ones
    # (no `no` → False, no sexagesimal or octal surprises).
    text = node.value
    if node.style is None or node.style == "":
        if text in ("true", "True", "TRUE"):
            return _Value(True, line, col)
        if text in ("false", "False", "FALSE"):
            return _Value(False, line, col)
        if text in ("null", "Null", "NULL", "~", ""):
            return _Value(None, line, col)
        if re.fullmatch(rf"[-+]?[0-9]{{1,{MAX_INT_DIGITS}}}", text):
            return _Value(int(text, 10), line, col)
        # YAML 1.2 core floats (``timeout: 2.5``), bounded in length; .inf/.nan stay
        # text, which every number-typed key refuses.
        if len(text) <= MAX_FLOAT_CHARS and _FLOAT_RE.fullmatch(text):
            return _Value(float(text), line, col)
    return _Value(text, line, col)


def _load_yaml(data: bytes, source: str) -> _Value:
    import yaml

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SettingsError(f"not valid UTF-8 at byte {exc.start}", source) from None
    from igngen.yamlsrc import _loader_class

    try:
        # The templates' loader: libyaml when present (it bounds nesting itself).
        loader = _loader_class()(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise SettingsError(f"invalid YAML ({exc.problem})", where) from None
    except yaml.YAMLError as exc:
        raise SettingsError(f"invalid YAML ({type(exc).__name__})", source) from None
    except RecursionError:  # the pure-Python composer, without libyaml
        raise SettingsError(f"nested deeper than {MAX_YAML_DEPTH} levels", source) from None
    if node is None:
        return _Value({}, 1, 1)
    return _convert(node, source, [MAX_YAML_NODES])


def _plain(value: _Value) -> Any:
    if isinstance(value.value, dict):
        return {k: _plain(v) for k, v in value.value.items()}
    if isinstance(value.value, list):
        return [_plain(v) for v in value.value]
    return value.value


class _Section:
    def __init__(self, name: str, value: _Value, source: str, known: tuple[str, ...]) -> None:
        self.name, self.value, self.source = name, value, source
        if not isinstance(value.value, dict):
            raise SettingsError(f"{name}: expected a mapping", self.at(value))
        for key, item in value.value.items():
            if key not in known:
                raise SettingsError(
                    f"{name}.{key}: unknown key (known: {', '.join(known)})", self.at(item)
                )
        self.items: dict[str, _Value] = value.value

    def at(self, value: _Value) -> str:
        return f"{self.source}:{value.line}:{value.col}"

    def get(self, key: str, kind: type, default: Any) -> Any:
        item = self.items.get(key)
        if item is None or item.value is None:
            return default
        if kind is int and (isinstance(item.value, bool) or not isinstance(item.value, int)):
            raise SettingsError(f"{self.name}.{key}: expected a whole number", self.at(item))
        if kind is str and not isinstance(item.value, str):
            raise SettingsError(f"{self.name}.{key}: expected a string", self.at(item))
        if kind is list:
            if not isinstance(item.value, list) or not all(
                isinstance(v.value, str) for v in item.value
            ):
                raise SettingsError(f"{self.name}.{key}: expected a list of strings", self.at(item))
            return tuple(v.value for v in item.value)
        return item.value

    def pattern(self, key: str, regex: re.Pattern[str], default: str, what: str) -> str:
        value: str = self.get(key, str, default)
        if not regex.fullmatch(value):
            raise SettingsError(
                f"{self.name}.{key}: {value!r} is not {what}", self.at(self.items[key])
            )
        return value


_TOP = ("user", "password", "ssh", "sudo", "templates", "output", *DELEGATED_SECTIONS)


# Where the image puts igngen's settings for the boot commands (provision, report).
DEFAULT_PATH = "/etc/igngen/igngen.yaml"


def default_path(explicit: str | None) -> str | None:
    """``--config`` when given, else the image's settings file when it exists."""
    return explicit or (DEFAULT_PATH if os.path.exists(DEFAULT_PATH) else None)


def load(path: str) -> Settings:
    """Read settings from a YAML file; raise :class:`SettingsError` with file:line:column."""
    from igngen.readfile import read_file, show_path

    data = read_file(path, "config file", cap=MAX_SETTINGS_BYTES)
    return parse(data, source=show_path(path))


def parse(data: bytes, *, source: str = "igngen.yaml") -> Settings:
    root = _load_yaml(data, source)
    empty = _Value({}, 1, 1)
    top = _Section("config", root, source, _TOP)

    def section(name: str, known: tuple[str, ...]) -> _Section:
        return _Section(name, top.items.get(name, empty), source, known)

    user = section("user", ("groups",))
    groups = user.get("groups", list, DEFAULT_GROUPS)
    for g in groups:
        if not _GROUP_RE.fullmatch(g):
            raise SettingsError(
                f"user.groups: {g!r} is not a group name", user.at(user.items["groups"])
            )

    pw = section("password", ("scheme", "bcrypt_cost", "sha512_rounds", "salt"))
    for key, (lo, hi) in (
        ("bcrypt_cost", BCRYPT_COST_RANGE),
        ("sha512_rounds", SHA512_ROUNDS_RANGE),
    ):
        value = pw.get(key, int, None)
        if value is not None and not lo <= value <= hi:
            # Each step up costs boot time (bcrypt doubles per step): refuse, do not clamp.
            raise SettingsError(
                f"password.{key}: {value} is outside {lo}..{hi}", pw.at(pw.items[key])
            )
    try:
        hashing = HashSettings.create(
            scheme=pw.get("scheme", str, DEFAULT_SCHEME),
            bcrypt_cost=pw.get("bcrypt_cost", int, DEFAULT_BCRYPT_COST),
            sha512_rounds=pw.get("sha512_rounds", int, DEFAULT_SHA512_ROUNDS),
            salt=pw.get("salt", str, DEFAULT_SALT),
        )
    except SettingsError as exc:
        raise SettingsError(f"password: {exc.message}", pw.at(pw.value)) from None

    ssh = section("ssh", ("dropin_name", "client_alive_interval"))
    dropin = ssh.pattern(
        "dropin_name", _DROPIN_RE, DEFAULT_SSHD_DROPIN, "a file name ending in .conf"
    )
    interval = ssh.get("client_alive_interval", int, DEFAULT_CLIENT_ALIVE_INTERVAL)
    if interval < 0:
        raise SettingsError(
            "ssh.client_alive_interval: must not be negative",
            ssh.at(ssh.items["client_alive_interval"]),
        )

    sudo = section("sudo", ("file_name",))
    sudoers = sudo.pattern(
        "file_name",
        _SUDOERS_RE,
        DEFAULT_SUDOERS_FILE,
        "a sudoers.d file name (letters, digits, _ and -; sudo skips names with '.')",
    )

    tpl = section("templates", ("dirs", "disabled"))
    out = section("output", ("spec",))
    spec = out.get("spec", str, DEFAULT_SPEC)
    if spec not in OUTPUT_SPECS:
        raise SettingsError(
            f"output.spec: {spec!r} not supported; use one of {', '.join(OUTPUT_SPECS)}",
            out.at(out.items["spec"]),
        )

    delegated: dict[str, Mapping[str, Any]] = {}
    for name in DELEGATED_SECTIONS:
        if name in top.items:
            value = top.items[name]
            if not isinstance(value.value, dict):
                raise SettingsError(f"{name}: expected a mapping", top.at(value))
            delegated[name] = _plain(value)

    settings = Settings(
        groups=groups,
        hashing=hashing,
        sshd_dropin=dropin,
        client_alive_interval=interval,
        sudoers_file=sudoers,
        template_dirs=tpl.get("dirs", list, ()),
        disabled_templates=tpl.get("disabled", list, ()),
        spec=spec,
        spec_given="spec" in out.items,
        sections=delegated,
        source=source,
    )
    _check_delegated(settings, _positions(top.items, source))
    return settings


def _positions(items: Mapping[str, _Value], source: str, prefix: str = "") -> dict[str, str]:
    """``section.key.sub`` → ``file:line:col`` of every value below the delegated sections."""
    out: dict[str, str] = {}
    for key, value in items.items():
        if not prefix and key not in DELEGATED_SECTIONS:
            continue
        dotted = f"{prefix}{key}"
        out[dotted] = f"{source}:{value.line}:{value.col}"
        if isinstance(value.value, dict):
            out.update(_positions(value.value, source, dotted + "."))
    return out


def _check_delegated(settings: Settings, positions: Mapping[str, str]) -> None:
    """Every delegated section is checked by its owner when the file is read, so that an
    offline ``igngen render`` refuses what ``igngen provision`` would refuse at boot, and
    every error is ``file:line:col: key: message``."""
    from igngen import report
    from igngen.azure import platform
    from igngen.boot import pool, sequence
    from igngen.disks.layers import resolve

    checks = (
        lambda: sequence.options_from_settings(settings),
        lambda: pool.options_from_settings(settings),
        lambda: report.options_from_settings("ready", settings.sections, settings.source),
        lambda: platform.options(settings.sections, settings.source),
        lambda: resolve(settings.sections.get("disks"), settings.source),
    )
    for check in checks:
        try:
            check()
        except SettingsError as exc:
            raise _located(exc, settings.source, positions) from None


def _located(exc: SettingsError, source: str, positions: Mapping[str, str]) -> SettingsError:
    """The owner's error, placed at the line and column of the key it names."""
    message, location = exc.message, exc.location
    dotted = location.removeprefix(f"{source}:") if location != source else ""
    if not dotted:
        dotted, sep, rest = message.partition(": ")
        if not sep:
            return exc
        message = f"{dotted}: {rest}"
    else:
        message = f"{dotted}: {message}"
    key = dotted.split(" ", 1)[0]
    while key and key not in positions:
        key = key.rpartition(".")[0]
    return type(exc)(message, positions[key]) if key else exc  # the owner's error type
