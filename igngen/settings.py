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

from igngen.errors import SettingsError, YamlError
from igngen.ignition import spec as _spec
from igngen.limits import BCRYPT_COST_RANGE, MAX_SETTINGS_BYTES, SHA512_ROUNDS_RANGE
from igngen.render.passwords import (
    DEFAULT_BCRYPT_COST,
    DEFAULT_SALT,
    DEFAULT_SCHEME,
    DEFAULT_SHA512_ROUNDS,
    HashSettings,
)
from igngen.yamlsrc import Node

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NamedTuple
else:
    from igngen.records import NamedTuple

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

# Regular expressions as text: compiled (and cached by ``re``) only when a settings file
# sets the key, which most runs never do.
_GROUP_RE = r"[a-z_][a-z0-9_-]*"
# sudo skips sudoers.d files whose names contain '.' or end in '~'.
_SUDOERS_RE = r"[A-Za-z0-9_-]+"
_DROPIN_RE = r"[A-Za-z0-9_.@-]+\.conf"


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
    # ``section.key`` → ``file:line:col`` of every value in the file (Section's errors).
    positions: Mapping[str, str] = MappingProxyType({})

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


def _load_yaml(data: bytes, source: str) -> Node:
    """The settings file through igngen's one YAML reader (yamlsrc: located nodes, bounded
    size and depth, Butane's scalar rules), its errors as settings errors."""
    from igngen import yamlsrc

    try:
        return yamlsrc.parse(data, source=source)
    except YamlError as exc:
        raise SettingsError(exc.message, exc.location) from None


class Section:
    """The one typed reader of a delegated section (``imds:``, ``report:``, ``pps:``…).

    Unknown keys are refused; a missing or null key gives the default; a value of the
    wrong type is an error. Every error is ``file:line:col: name.key:
    message``, at the key's value when ``positions`` (``Settings.positions``) knows it,
    else at the file.
    """

    def __init__(
        self,
        name: str,
        values: Mapping[str, Any] | None,
        source: str,
        known: tuple[str, ...],
        positions: Mapping[str, str] | None = None,
        *,
        error: type[SettingsError] = SettingsError,
    ) -> None:
        self.name, self.source, self.known = name, source, known
        self.positions: Mapping[str, str] = positions or {}
        self.error_type = error  # the owner's error type (DiskSettingsError for ``disks``)
        if values is not None and not isinstance(values, Mapping):
            raise error(f"{name}: expected a mapping", self.positions.get(name, source))
        # null (``timeout:`` with nothing after it) means "not set", as a missing key does.
        self.values: Mapping[str, Any] = {k: v for k, v in (values or {}).items() if v is not None}
        for key in values or {}:
            if key not in known:
                raise self.error(key, f"unknown key (known: {', '.join(known)})")

    def __contains__(self, key: str) -> bool:
        return key in self.values

    @property
    def where(self) -> str:
        """The section's own position (``password:``), else the file."""
        return self.positions.get(self.name, self.source)

    def at(self, key: str) -> str:
        return self.positions.get(f"{self.name}.{key}", self.source)

    def error(self, key: str, message: str) -> SettingsError:
        return self.error_type(f"{self.name}.{key}: {message}", self.at(key))

    def seconds(self, key: str, default: float | None) -> float | None:
        """A time budget: an int or a float, finite, 0..MAX_SECONDS (igngen.seconds)."""
        if key not in self.values:
            return default
        from igngen.seconds import check_seconds

        try:
            return check_seconds(self.values[key])
        except ValueError as exc:
            raise self.error(key, str(exc)) from None

    def integer(self, key: str, default: int, lo: int, hi: int) -> int:
        if key not in self.values:
            return default
        value = self.values[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, "expected a whole number")
        if not lo <= value <= hi:
            raise self.error(key, f"{value} is outside {lo}..{hi}")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        if key not in self.values:
            return default
        value = self.values[key]
        if not isinstance(value, bool):
            raise self.error(key, "expected true or false")
        return value

    def string(self, key: str, default: str, *, pattern: str | None = None, what: str = "") -> str:
        """A string; with ``pattern`` (a regular expression), one it matches in full
        (``what`` names the shape)."""
        if key not in self.values:
            return default
        value = self.values[key]
        if not isinstance(value, str):
            raise self.error(key, "expected a string")
        if pattern is not None and not re.fullmatch(pattern, value):
            raise self.error(key, f"{value!r} is not {what}")
        return value

    def strings(
        self, key: str, default: tuple[str, ...], *, pattern: str | None = None,
        what: str = "",
    ) -> tuple[str, ...]:  # fmt: skip
        """A list of strings; with ``pattern``, each one matching it in full."""
        if key not in self.values:
            return default
        value = self.values[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(key, "expected a list of strings")
        for item in value:
            if pattern is not None and not re.fullmatch(pattern, item):
                raise self.error(key, f"{item!r} is not {what}")
        return tuple(value)

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        if key not in self.values:
            return default
        value = self.values[key]
        if value not in choices:
            *rest, last = choices
            raise self.error(key, f"expected {', '.join(rest)} or {last}" if rest else last)
        return str(value)

    def mapping(self, key: str) -> Mapping[str, Any]:
        """A nested mapping (``disks.resource_disk``…), for a nested :class:`Section`."""
        value = self.values.get(key, {})
        if not isinstance(value, Mapping):
            raise self.error(key, "expected a mapping")
        return value

    def nested(self, key: str, known: tuple[str, ...]) -> Section:
        return Section(
            f"{self.name}.{key}",
            self.mapping(key),
            self.source,
            known,
            self.positions,
            error=self.error_type,
        )


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
    if not isinstance(root.value, dict):
        raise SettingsError("config: expected a mapping", root.where)
    positions = _positions(root.value, source)
    plain: dict[str, Any] = root.plain()
    # The top level is a section too, its keys located at their values.
    Section("config", plain, source, _TOP, {f"config.{k}": positions[k] for k in plain})

    def section(name: str, known: tuple[str, ...]) -> Section:
        return Section(name, plain.get(name), source, known, positions)

    user = section("user", ("groups",))
    groups = user.strings("groups", DEFAULT_GROUPS, pattern=_GROUP_RE, what="a group name")

    pw = section("password", ("scheme", "bcrypt_cost", "sha512_rounds", "salt"))
    # Each step up costs boot time (bcrypt doubles per step): refuse, do not clamp.
    try:
        hashing = HashSettings.create(
            scheme=pw.string("scheme", DEFAULT_SCHEME),
            bcrypt_cost=pw.integer("bcrypt_cost", DEFAULT_BCRYPT_COST, *BCRYPT_COST_RANGE),
            sha512_rounds=pw.integer("sha512_rounds", DEFAULT_SHA512_ROUNDS, *SHA512_ROUNDS_RANGE),
            salt=pw.string("salt", DEFAULT_SALT),
        )
    except SettingsError as exc:
        if exc.location in positions.values():
            raise
        raise SettingsError(f"password: {exc.message}", pw.where) from None

    ssh = section("ssh", ("dropin_name", "client_alive_interval"))
    dropin = ssh.string(
        "dropin_name", DEFAULT_SSHD_DROPIN, pattern=_DROPIN_RE, what="a file name ending in .conf"
    )
    interval = ssh.integer("client_alive_interval", DEFAULT_CLIENT_ALIVE_INTERVAL, -(2**31), 2**31)
    if interval < 0:
        raise ssh.error("client_alive_interval", "must not be negative")

    sudo = section("sudo", ("file_name",))
    sudoers = sudo.string(
        "file_name",
        DEFAULT_SUDOERS_FILE,
        pattern=_SUDOERS_RE,
        what="a sudoers.d file name (letters, digits, _ and -; sudo skips names with '.')",
    )

    tpl = section("templates", ("dirs", "disabled"))
    out = section("output", ("spec",))
    spec = out.string("spec", DEFAULT_SPEC)
    if spec not in OUTPUT_SPECS:
        raise out.error("spec", f"{spec!r} not supported; use one of {', '.join(OUTPUT_SPECS)}")

    delegated: dict[str, Mapping[str, Any]] = {}
    for name in DELEGATED_SECTIONS:
        if plain.get(name) is not None:
            if not isinstance(plain[name], dict):
                raise SettingsError(f"{name}: expected a mapping", positions[name])
            delegated[name] = plain[name]

    settings = Settings(
        groups=groups,
        hashing=hashing,
        sshd_dropin=dropin,
        client_alive_interval=interval,
        sudoers_file=sudoers,
        template_dirs=tpl.strings("dirs", ()),
        disabled_templates=tpl.strings("disabled", ()),
        spec=spec,
        spec_given="spec" in out,
        sections=delegated,
        source=source,
        positions=positions,
    )
    _check_delegated(settings, settings.positions)
    return settings


def _positions(items: Mapping[str, Node], source: str, prefix: str = "") -> dict[str, str]:
    """``section.key.sub`` → ``file:line:col`` of every value in the file."""
    out: dict[str, str] = {}
    for key, value in items.items():
        dotted = f"{prefix}{key}"
        out[dotted] = f"{source}:{value.line}:{value.column}"
        if isinstance(value.value, dict):
            out.update(_positions(value.value, source, dotted + "."))
    return out


def _check_delegated(settings: Settings, positions: Mapping[str, str]) -> None:
    """Every delegated section is checked by its owner when the file is read, so that an
    offline ``igngen render`` refuses what ``igngen provision`` would refuse at boot, and
    every error is ``file:line:col: key: message``."""
    from igngen.azure import platform, reporter
    from igngen.boot import pool, sequence
    from igngen.disks.layers import from_settings

    sequence.options_from_settings(settings)
    pool.options_from_settings(settings)
    reporter.options_from_settings("ready", settings.sections, settings.source, positions=positions)
    platform.options(settings.sections, settings.source, positions=positions)
    from_settings(settings)
