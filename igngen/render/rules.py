"""Rules every provisioning value must satisfy before it reaches a config (pure).

Azure's platform checks some of these at create time, but the values arrive
over a channel we do not control (media, IMDS, test tooling), so igngen checks
them again: a user name becomes a line in /etc/passwd, a host name a line in
/etc/hostname, a key a line in authorized_keys. Each check raises
:class:`RuleError` naming the field's location; messages never quote secrets.
"""

from __future__ import annotations

import base64
import binascii
import posixpath
import re
import struct

from igngen.errors import RuleError, shown

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from igngen.records import NamedTuple

# Names Azure refuses for the admin account, plus system accounts that exist on
# Flatcar/Debian images; provisioning any of them would hijack a system user.
RESERVED_USER_NAMES = frozenset(
    [
        "1",
        "123",
        "a",
        "actuser",
        "adm",
        "admin",
        "admin1",
        "admin2",
        "administrator",
        "aspnet",
        "backup",
        "bin",
        "console",
        "daemon",
        "david",
        "ftp",
        "games",
        "guest",
        "halt",
        "john",
        "lp",
        "mail",
        "messagebus",
        "nobody",
        "operator",
        "owner",
        "polkitd",
        "portage",
        "root",
        "server",
        "shutdown",
        "sql",
        "sshd",
        "support",
        "support_388945a0",
        "sync",
        "sys",
        "systemd-journal",
        "systemd-network",
        "systemd-resolve",
        "systemd-timesync",
        "test",
        "test1",
        "test2",
        "test3",
        "user",
        "user1",
        "user2",
        "user3",
        "user4",
        "user5",
        "www-data",
    ]
)
MAX_USER_NAME = 32  # useradd's limit on Linux (UT_NAMESIZE)
_USER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")

MAX_HOST_NAME = 64  # HOST_NAME_MAX
_LABEL_RE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")

MAX_PASSWORD_BYTES = 72  # bcrypt's input limit; Azure's own maximum is 72 characters

# Key types OpenSSH accepts in authorized_keys that Azure can hand out or import.
SSH_KEY_TYPES = frozenset(
    {
        "ssh-rsa",
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    }
)
MIN_RSA_BITS = 2048  # Azure's minimum for RSA keys
MAX_KEY_LINE = 16 * 1024


def check_user_name(name: str, where: str) -> str:
    if not name:
        raise RuleError("user name is empty", where)
    if len(name) > MAX_USER_NAME:
        raise RuleError(
            f"user name is {len(name)} characters; at most {MAX_USER_NAME} allowed", where
        )
    if not _USER_RE.fullmatch(name):
        raise RuleError(
            f"user name {shown(name)} may only contain letters, digits, '_', '.', '-' "
            "and must start with a letter or '_'",
            where,
        )
    if name.endswith("."):
        raise RuleError(f"user name {shown(name)} must not end with '.'", where)
    if name.lower() in RESERVED_USER_NAMES:
        raise RuleError(f"user name {shown(name)} is reserved", where)
    return name


def check_host_name(name: str, where: str) -> str:
    if not name:
        raise RuleError("host name is empty", where)
    if len(name) > MAX_HOST_NAME:
        raise RuleError(
            f"host name is {len(name)} characters; at most {MAX_HOST_NAME} allowed", where
        )
    labels = name.split(".")
    for label in labels:
        if not _LABEL_RE.fullmatch(label):
            raise RuleError(
                f"host name {shown(name)} is not an RFC 1123 name (labels of letters, digits "
                "and inner '-', 1-63 characters, separated by '.')",
                where,
            )
    if name.replace(".", "").isdigit():
        raise RuleError(f"host name {shown(name)} must not be all digits", where)
    return name


def check_password(password: str, where: str) -> None:
    """Shape checks only; the message never includes the password."""
    encoded = password.encode("utf-8")
    if len(encoded) > MAX_PASSWORD_BYTES:
        raise RuleError(f"password is longer than {MAX_PASSWORD_BYTES} bytes", where)
    if any(c in password for c in "\x00\n\r"):
        raise RuleError("password contains a NUL or newline character", where)


class SshPublicKey(NamedTuple):
    """A validated OpenSSH public key: one authorized_keys line without options."""

    key_type: str
    blob: bytes
    comment: str
    bits: int | None

    @property
    def line(self) -> str:
        encoded = base64.b64encode(self.blob).decode("ascii")
        return f"{self.key_type} {encoded} {self.comment}".rstrip()

    @property
    def fingerprint(self) -> str:
        import hashlib

        digest = hashlib.sha256(self.blob).digest()
        return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def _read_string(blob: bytes, offset: int, where: str) -> tuple[bytes, int]:
    if offset + 4 > len(blob):
        raise RuleError("SSH key blob is truncated", where)
    (length,) = struct.unpack(">I", blob[offset : offset + 4])
    end = offset + 4 + length
    if end > len(blob):
        raise RuleError("SSH key blob is truncated", where)
    return blob[offset + 4 : end], end


def _mpint_bits(value: bytes) -> int:
    stripped = value.lstrip(b"\x00")
    return 0 if not stripped else (len(stripped) - 1) * 8 + stripped[0].bit_length()


def parse_ssh_public_key(text: str, where: str) -> SshPublicKey:
    """Parse one OpenSSH public key line; refuse options, newlines and mismatched blobs."""
    if len(text) > MAX_KEY_LINE:
        raise RuleError(f"SSH key is {len(text)} characters; at most {MAX_KEY_LINE}", where)
    line = text.rstrip(" \t\r\n")  # IMDS adds a trailing newline to some keys
    if any(c in line for c in "\r\n\x00"):
        raise RuleError("SSH key contains a line break or NUL: one key per entry", where)
    if any(ord(c) < 0x20 and c != "\t" for c in line):
        raise RuleError("SSH key contains control characters", where)
    parts = line.strip().split(None, 2)
    if not parts:
        raise RuleError("SSH key is empty", where)
    key_type = parts[0]
    if key_type not in SSH_KEY_TYPES:
        if "=" in key_type or "," in key_type or '"' in key_type:
            raise RuleError("SSH key has authorized_keys options; options are not allowed", where)
        raise RuleError(f"unsupported SSH key type {shown(key_type)}", where)
    if len(parts) < 2:
        raise RuleError("SSH key has no key data after its type", where)
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise RuleError("SSH key data is not valid base64", where) from None
    embedded, offset = _read_string(blob, 0, where)
    if embedded != key_type.encode():
        raise RuleError(
            f"SSH key data says {shown(embedded.decode('ascii', 'replace'))} but the line says "
            f"{shown(key_type)}",
            where,
        )
    bits: int | None = None
    if key_type == "ssh-rsa":
        _e, offset = _read_string(blob, offset, where)
        n, offset = _read_string(blob, offset, where)
        bits = _mpint_bits(n)
        if bits < MIN_RSA_BITS:
            raise RuleError(f"RSA key has {bits} bits; at least {MIN_RSA_BITS} required", where)
    elif key_type == "ssh-ed25519":
        pk, offset = _read_string(blob, offset, where)
        if len(pk) != 32:
            raise RuleError("Ed25519 key is not 32 bytes", where)
        bits = 256
    else:
        _curve, offset = _read_string(blob, offset, where)
        _point, offset = _read_string(blob, offset, where)
        if key_type.startswith("sk-"):
            _app, offset = _read_string(blob, offset, where)
    if offset != len(blob):
        raise RuleError("SSH key data has trailing bytes", where)
    comment = parts[2].strip() if len(parts) > 2 else ""
    return SshPublicKey(key_type, blob, comment, bits)


def check_key_path(path: str | None, user: str, where: str) -> str:
    """Return the authorized_keys path for a key; only inside the admin's ~/.ssh."""
    default = f"/home/{user}/.ssh/authorized_keys"
    if path is None:
        return default
    if any(ord(c) < 0x20 or c == "\x7f" for c in path):
        raise RuleError("SSH key path contains control characters", where)
    if not path.startswith("/"):
        raise RuleError(f"SSH key path {shown(path)} is not absolute", where)
    if ".." in path.split("/"):
        raise RuleError(f"SSH key path {shown(path)} contains '..'", where)
    normal = posixpath.normpath(path)
    ssh_dir = f"/home/{user}/.ssh/"
    if (
        not normal.startswith(ssh_dir)
        or normal == ssh_dir.rstrip("/")
        or "/" in normal[len(ssh_dir) :]
    ):
        raise RuleError(f"SSH key path {shown(path)} is not a file in {ssh_dir}", where)
    return normal
