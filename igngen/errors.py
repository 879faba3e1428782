"""Every user-facing failure igngen can report, in one place.

Each error carries a message and a *location*: where in the input the problem is
(an XML element path, a JSON pointer, a YAML file:line:column, a URL, a device).
The CLI prints ``str(error)`` as exactly one line and exits with ``exit_code``.

Messages must never contain secret values (the admin password); callers pass
field names and locations, not the offending secret text.

Exit codes follow sysexits(3) so that units and scripts can tell bad data from
an unreachable service.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar

EX_USAGE = 2  # argparse's own code for bad command lines; kept for consistency
EX_DATAERR = 65
EX_NOINPUT = 66
EX_UNAVAILABLE = 69
EX_SOFTWARE = 70
EX_CANTCREAT = 73
EX_IOERR = 74
EX_TEMPFAIL = 75

_MAX_SHOWN = 200


_USERINFO: Any = None


def strip_userinfo(text: str) -> str:
    """``https://user:secret@host/x`` → ``https://REDACTED@host/x`` wherever a URL appears:
    a merge reference or endpoint may carry credentials, which no log line may show."""
    global _USERINFO
    if "@" not in text or "://" not in text:
        return text
    if _USERINFO is None:
        import re

        # Linear however hostile the text: each "://" starts one scan, which ends at the
        # next "/", "?", "#", "@" or space.
        _USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]{0,30}://)[^/?#@\s]+@")
    result: str = _USERINFO.sub(r"\1REDACTED@", text)
    return result


def _one_line(text: str) -> str:
    """Make text safe to print as a single log line (no newlines, no control chars)."""
    out = []
    for ch in text:
        if ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out)


def shown(value: str) -> str:
    """Quote a (non-secret) user value for an error message, escaped and bounded."""
    text = _one_line(value)
    if len(text) > _MAX_SHOWN:
        text = text[:_MAX_SHOWN] + "..."
    return repr(text)


def internal_reason(exc: BaseException) -> str:
    """One line for a bug: the exception's type and the innermost frame, never its text
    (which might quote input that holds a secret)."""
    tb = exc.__traceback__
    where = ""
    while tb is not None:
        where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    return _one_line(f"internal error: {type(exc).__name__}" + (f" at {where}" if where else ""))


class IgngenError(Exception):
    """Base of all errors igngen reports to a user."""

    exit_code: ClassVar[int] = EX_DATAERR

    def __init__(self, message: str, location: str = "") -> None:
        super().__init__(message, location)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        return _one_line(strip_userinfo(text))


# --- kinds (exit codes) -----------------------------------------------------


class UsageError(IgngenError):
    """The command line or a setting is wrong."""

    exit_code = EX_USAGE


class InputError(IgngenError):
    """Input data is malformed, hostile or inconsistent."""

    exit_code = EX_DATAERR


class MissingInputError(IgngenError):
    """An input file, media or device does not exist or cannot be read."""

    exit_code = EX_NOINPUT


class ServiceError(IgngenError):
    """A remote endpoint (IMDS, Wireserver) could not be used within its budget."""

    exit_code = EX_UNAVAILABLE


class OutputError(IgngenError):
    """A result could not be written."""

    exit_code = EX_CANTCREAT


class StreamError(IgngenError):
    """stdout is closed or full (exit 74, like any I/O error on an open stream)."""

    exit_code = EX_IOERR


# --- settings (the image's config file) -------------------------------------


class SettingsError(UsageError):
    """The igngen config file is malformed or names an unknown key."""


# --- ovf-env.xml --------------------------------------------------------------


class OvfError(InputError):
    """ovf-env.xml is not a well-formed, safe, Azure provisioning document."""


# --- IMDS ------------------------------------------------------------------


class ImdsDataError(InputError):
    """An IMDS instance document is malformed."""


class ImdsUnavailableError(ServiceError):
    """IMDS did not answer usefully within its budget."""


# --- value rules (user names, host names, keys, paths, passwords) ----------


class RuleError(InputError):
    """A value breaks a Linux/Azure rule (user name, host name, SSH key, path)."""


# --- reconciliation -----------------------------------------------------------


class ReconcileError(InputError):
    """OVF and IMDS together do not yield a usable provisioning model."""


# --- templates ----------------------------------------------------------------


class TemplateError(InputError):
    """A Butane template is malformed, or renders to an invalid config."""


# --- YAML sources -------------------------------------------------------------


class LineColumnError(InputError):
    """An error in a YAML text, located ``file:line:column`` (line and column from 1;
    0 when unknown)."""

    def __init__(self, message: str, source: str = "", line: int = 0, column: int = 0) -> None:
        where = source
        if line:
            where = f"{source}:{line}:{column}" if column else f"{source}:{line}"
        super().__init__(message, where)
        self.source = source
        self.line = line
        self.column = column


class YamlError(LineColumnError):
    """A YAML document cannot be read (igngen.yamlsrc); its readers wrap it into their own
    error (ButaneError, SettingsError, TemplateError)."""


class XmlError(LineColumnError):
    """An XML document cannot be read (igngen.azure.xmldoc); its readers wrap it into their
    own error (OvfError, WireserverDataError). ``kind`` is ``size``, ``encoding``,
    ``refused`` (a DOCTYPE or what it could declare), ``malformed`` (expat's verdict) or
    ``bound`` (depth, elements, attributes); ``detail`` names the refused construct or
    gives expat's message, for readers that word the error themselves."""

    def __init__(
        self,
        kind: str,
        message: str,
        source: str = "",
        line: int = 0,
        column: int = 0,
        *,
        detail: str = "",
    ) -> None:
        super().__init__(message, source, line, column)
        self.kind = kind
        self.detail = detail


# --- Butane -------------------------------------------------------------------


class ButaneError(LineColumnError):
    """A Butane document cannot be translated."""


# --- Ignition configs -----------------------------------------------------------


class IgnitionConfigError(InputError):
    """An Ignition config is invalid (location: ``source#/json/pointer``)."""

    def __init__(self, message: str, source: str = "", pointer: str = "") -> None:
        super().__init__(message, f"{source}#{pointer}" if pointer else source)
        self.source = source
        self.pointer = pointer


class CustomDataError(InputError):
    """Custom data / userData is present but cannot be used."""


class CustomDataMissingError(CustomDataError):
    """Azure says custom data was given (IMDS ``hasCustomData``), but none was found."""


class GuestProxyAgentError(InputError):
    """ovf-env.xml asks for the guest proxy agent, which the image lacks (fatal by setting)."""


# --- provisioning media and hand-off ----------------------------------------


class MediaError(MissingInputError):
    """The provisioning media could not be found, mounted or read."""


class HandoffError(OutputError):
    """The hand-off to Ignition could not be written."""


# --- Wireserver / health reporting ---------------------------------------------


class WireserverError(ServiceError):
    """The Wireserver rejected a report or could not be reached within budget."""


class WireserverDataError(InputError):
    """The Wireserver answered with a document igngen cannot parse."""


# --- pre-provisioned VMs (PPS) ------------------------------------------------------


class PpsError(ServiceError):
    """A pre-provisioned VM could not be re-provisioned; ``reason`` is a stable name.

    ``str()`` leads with the name (``pps-timeout: …``) so that the one-line reason in
    KVP and the health report starts with what went wrong, then the detail and where.
    """

    def __init__(self, reason: str, message: str, location: str = "") -> None:
        super().__init__(message, location)
        self.reason = reason

    def __str__(self) -> str:
        where = f" ({self.location})" if self.location else ""
        return _one_line(strip_userinfo(f"{self.reason}: {self.message}{where}"))


# --- KVP --------------------------------------------------------------------------


class KvpError(OutputError):
    """The Hyper-V KVP pool could not be written."""


class WaagentConfError(InputError):
    """The image's waagent.conf has a line or value igngen cannot use (location ``file:line``)."""


class DiskSettingsError(SettingsError):
    """The ``disks`` settings are malformed: ``file:line:col: disks.key: message`` for the
    settings file, ``file:line: …`` for the image's waagent.conf."""
