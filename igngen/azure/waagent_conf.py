"""``waagent.conf``: parse the image's guest-agent config and derive the one igngen ships (pure).

The format is WALinuxAgent's: one ``Key=Value`` per line, ``#`` starts a
comment (also after a value), surrounding double quotes are dropped, switches
are ``y``/``n``. WALinuxAgent silently skips lines it cannot read and falls
back to defaults on bad numbers; igngen instead reports them with
``file:line``, because a typo in ``ResourceDisk.Format`` decides whether a disk
is wiped. A key given twice keeps its last value, as in WALinuxAgent.

:func:`derive_for_igngen` returns the same file with the settings igngen now
owns switched off in the agent (provisioning, resource disk, swap), every other
line kept byte for byte, so the agent keeps its extension handling and
whatever else the image author configured.
"""

from __future__ import annotations

from collections.abc import Mapping

from igngen.errors import WaagentConfError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from igngen.records import NamedTuple

# What igngen takes over from the agent; derive_for_igngen writes these values.
OWNED = (
    ("Provisioning.Agent", "disabled"),
    ("ResourceDisk.Format", "n"),
    ("ResourceDisk.EnableSwap", "n"),
)


class Entry(NamedTuple):
    key: str
    value: str
    line: int  # 1-based line number in the file


class WaagentConf(NamedTuple):
    source: str
    lines: tuple[str, ...]  # the file's lines without line endings
    entries: Mapping[str, Entry]  # key → its last occurrence
    newline: str = "\n"
    final_newline: bool = True

    def at(self, key: str) -> str:
        entry = self.entries.get(key)
        return f"{self.source}:{entry.line}" if entry else self.source

    def get(self, key: str) -> str | None:
        entry = self.entries.get(key)
        return entry.value if entry else None

    def switch(self, key: str) -> bool | None:
        """A ``y``/``n`` value (case-insensitive); None when the key is absent."""
        value = self.get(key)
        if value is None:
            return None
        low = value.lower()
        if low in ("y", "n"):
            return low == "y"
        raise WaagentConfError(f"{key}: expected y or n, got {_shown(value)}", self.at(key))

    def integer(self, key: str) -> int | None:
        value = self.get(key)
        if value is None:
            return None
        text = value.strip()
        if not text.isascii() or not text.lstrip("+-").isdigit():
            raise WaagentConfError(
                f"{key}: expected a whole number, got {_shown(value)}", self.at(key)
            )
        return int(text, 10)


def _shown(value: str) -> str:
    from igngen.errors import shown

    return shown(value)


def _value(raw: str) -> str:
    # WALinuxAgent cuts at the first '#', then strips blanks and double quotes.
    return raw.split("#", 1)[0].strip().strip('" ').strip()


def parse(text: str | bytes, source: str = "waagent.conf") -> WaagentConf:
    """Parse a waagent.conf; raise :class:`WaagentConfError` with ``file:line`` on bad lines."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WaagentConfError(f"not valid UTF-8 at byte {exc.start}", source) from None
    newline = "\r\n" if "\r\n" in text else "\n"
    final_newline = text.endswith("\n") or not text
    lines = tuple(text.splitlines())
    entries: dict[str, Entry] = {}
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if "=" not in stripped:
            raise WaagentConfError(
                f"expected Key=Value, got {_shown(stripped)}", f"{source}:{number}"
            )
        key, raw = stripped.split("=", 1)
        key = key.strip()
        if not key or any(ch.isspace() for ch in key):
            raise WaagentConfError(f"bad key {_shown(key)}", f"{source}:{number}")
        entries[key] = Entry(key, _value(raw), number)
    return WaagentConf(source, lines, entries, newline, final_newline)


def load(path: str) -> WaagentConf:
    from igngen.errors import IgngenError
    from igngen.limits import MAX_WAAGENT_CONF_BYTES
    from igngen.readfile import read_file, show_path

    try:
        data = read_file(path, "waagent.conf", cap=MAX_WAAGENT_CONF_BYTES)
    except IgngenError as exc:
        raise WaagentConfError(exc.message, exc.location) from None
    return parse(data, source=show_path(path))


def derive_for_igngen(conf: WaagentConf) -> str:
    """The ``/etc/waagent.conf`` igngen ships: the agent no longer provisions or touches disks."""
    wanted = dict(OWNED)
    out: list[str] = []
    for number, line in enumerate(conf.lines, start=1):
        stripped = line.strip()
        key = stripped.split("=", 1)[0].strip() if "=" in stripped else ""
        if key in wanted and not stripped.startswith("#"):
            entry = conf.entries[key]
            if entry.line == number:
                out.append(f"{key}={wanted[key]}")
            else:
                # An earlier duplicate: the agent would ignore it; keep it as a comment.
                out.append(f"# {line.strip()}  (superseded; igngen owns {key})")
            continue
        out.append(line)
    missing = [(k, v) for k, v in OWNED if k not in conf.entries]
    if missing:
        if out and out[-1].strip():
            out.append("")
        out.append(
            "# Owned by igngen (provisioning, resource disk and swap are set up at first boot)."
        )
        out.extend(f"{k}={v}" for k, v in missing)
    return conf.newline.join(out) + (conf.newline if conf.final_newline or missing else "")
