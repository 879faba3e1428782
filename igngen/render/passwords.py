"""Password hashing for ``passwordHash`` (pure).

Two schemes:
- ``bcrypt`` (``$2b$``, default): strong and supported by libxcrypt, which
  current Flatcar uses.
- ``sha512crypt`` (``$6$``): for images whose libcrypt predates libxcrypt
  (glibc crypt only knows ``$1$ $5$ $6$``). Implemented here from the published
  SHA-crypt algorithm because Python's ``crypt`` module is deprecated (gone in
  3.13) and absent from minimal initramfs Pythons.

Salts are random by default (``os.urandom``): a salt must never be derived from
the password, or whoever reads the hash next to the values the derivation used
could test a guess with one cheap HMAC instead of one bcrypt. ``salt:
reproducible`` (settings ``password.salt``) derives it from non-secret data only
(user, host, vm id), for reproducible renders in tests and golden files: the
output is then the same bytes for the same input, and the salt is public, which a
salt may be (it only has to differ between VMs and users).
"""

from __future__ import annotations

import os

from igngen.errors import SettingsError
from igngen.limits import BCRYPT_COST_RANGE, SHA512_ROUNDS_RANGE
from igngen.secret import Secret

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from igngen.records import NamedTuple

SCHEMES = ("bcrypt", "sha512crypt")
SALTS = ("random", "reproducible")
DEFAULT_SALT = "random"
DEFAULT_SCHEME = "bcrypt"
# bcrypt cost 11 ≈ 0.1 s here: strong enough for an account password, cheap
# enough for the initramfs where every second delays the first boot.
DEFAULT_BCRYPT_COST = 11
DEFAULT_SHA512_ROUNDS = 5000  # the algorithm's own default; written implicitly
# The ranges (and why) live with every other bound in igngen.limits.

_CRYPT64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_STD64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_BCRYPT64 = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


class HashSettings(NamedTuple):
    scheme: str = DEFAULT_SCHEME
    bcrypt_cost: int = DEFAULT_BCRYPT_COST
    sha512_rounds: int = DEFAULT_SHA512_ROUNDS
    salt: str = DEFAULT_SALT

    @classmethod
    def create(
        cls,
        scheme: str = DEFAULT_SCHEME,
        bcrypt_cost: int = DEFAULT_BCRYPT_COST,
        sha512_rounds: int = DEFAULT_SHA512_ROUNDS,
        salt: str = DEFAULT_SALT,
    ) -> HashSettings:
        """Validated settings (the plain constructor does not check)."""
        settings = cls(scheme, bcrypt_cost, sha512_rounds, salt)
        settings.check()
        return settings

    def check(self) -> None:
        if self.scheme not in SCHEMES:
            raise SettingsError(
                f"unknown hash scheme {self.scheme!r}; use one of {', '.join(SCHEMES)}"
            )
        if self.salt not in SALTS:
            raise SettingsError(f"unknown salt kind {self.salt!r}; use one of {', '.join(SALTS)}")
        lo, hi = BCRYPT_COST_RANGE
        if not lo <= self.bcrypt_cost <= hi:
            raise SettingsError(f"bcrypt cost {self.bcrypt_cost} outside {lo}..{hi}")
        lo, hi = SHA512_ROUNDS_RANGE
        if not lo <= self.sha512_rounds <= hi:
            raise SettingsError(f"sha512crypt rounds {self.sha512_rounds} outside {lo}..{hi}")


def make_salt(kind: str, *context: str, size: int = 16) -> bytes:
    """A random salt, or (``reproducible``) one derived from the non-secret ``context``.

    The password is deliberately not a parameter: no salt can depend on it.
    """
    if kind == "random":
        return os.urandom(size)
    import hashlib  # hashing modules load only when a password is present

    message = "\x00".join(("igngen-salt-v2", *context)).encode("utf-8")
    return hashlib.sha256(message).digest()[:size]


def hash_password(password: Secret, settings: HashSettings, *context: str) -> str:
    """Hash ``password`` per ``settings``; ``context`` (user, host, vm id) feeds only a
    reproducible salt."""
    settings.check()
    salt = make_salt(settings.salt, *context)
    if settings.scheme == "bcrypt":
        return bcrypt_hash(password, salt, settings.bcrypt_cost)
    text_salt = "".join(_CRYPT64[b % 64] for b in salt)
    return sha512_crypt(password.reveal().encode("utf-8"), text_salt, settings.sha512_rounds)


def bcrypt_hash(password: Secret, salt: bytes, cost: int) -> str:
    import base64

    import bcrypt  # imported only when a password is present (costly import)

    encoded = base64.b64encode(salt[:16]).decode("ascii").rstrip("=")
    salt22 = encoded.translate(str.maketrans(_STD64, _BCRYPT64))
    setting = f"$2b${cost:02d}${salt22}".encode("ascii")
    return bcrypt.hashpw(password.reveal().encode("utf-8"), setting).decode("ascii")


def _sha512_groups() -> list[tuple[int, int, int]]:
    """Output byte order of SHA-512 crypt: 21 rotating triples, then byte 63 alone."""
    groups = []
    a, b, c = 0, 21, 42
    for _ in range(21):
        groups.append((a, b, c))
        a, b, c = b + 1, c + 1, a + 1
    return groups


_GROUPS = _sha512_groups()


def _b64_from_24bit(b2: int, b1: int, b0: int, n: int) -> str:
    w = (b2 << 16) | (b1 << 8) | b0
    out = []
    for _ in range(n):
        out.append(_CRYPT64[w & 0x3F])
        w >>= 6
    return "".join(out)


def _repeat(digest: bytes, length: int) -> bytes:
    return (digest * (length // len(digest) + 1))[:length]


def sha512_crypt(key: bytes, salt: str, rounds: int = DEFAULT_SHA512_ROUNDS) -> str:
    """SHA-512 crypt (``$6$``) per the published SHA-crypt specification."""
    import hashlib

    salt_bytes = salt.encode("ascii")[:16]
    sha = hashlib.sha512
    b = sha(key + salt_bytes + key).digest()
    ctx = key + salt_bytes + _repeat(b, len(key))
    n = len(key)
    while n:
        ctx += b if n & 1 else key
        n >>= 1
    a = sha(ctx).digest()
    p = _repeat(sha(key * len(key)).digest(), len(key))
    s = _repeat(sha(salt_bytes * (16 + a[0])).digest(), len(salt_bytes))
    c = a
    for i in range(rounds):
        block = p if i & 1 else c
        if i % 3:
            block += s
        if i % 7:
            block += p
        block += c if i & 1 else p
        c = sha(block).digest()
    encoded = "".join(_b64_from_24bit(c[x], c[y], c[z], 4) for x, y, z in _GROUPS)
    encoded += _b64_from_24bit(0, 0, c[63], 2)
    prefix = "$6$" if rounds == DEFAULT_SHA512_ROUNDS else f"$6$rounds={rounds}$"
    return f"{prefix}{salt_bytes.decode('ascii')}${encoded}"
