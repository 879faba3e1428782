"""The provisioning model: what igngen will provision, and where each value came from."""

from __future__ import annotations

from igngen.render.rules import SshPublicKey
from igngen.secret import Secret

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Generic, NamedTuple, TypeVar
else:
    from igngen.records import Generic, NamedTuple, TypeVar

T = TypeVar("T")


class Sourced(NamedTuple, Generic[T]):
    """A value and its provenance (``ovf-env.xml:/Environment/...``, ``imds#/compute/...``,
    ``igngen.yaml:3:5``, ``default``)."""

    value: T
    source: str
    note: str = ""


class AuthorizedKey(NamedTuple):
    key: SshPublicKey
    path: str
    source: str


class Provisioning(NamedTuple):
    user_name: Sourced[str]
    host_name: Sourced[str]
    password: Sourced[Secret | None]
    password_authentication: Sourced[bool]
    ssh_keys: Sourced[tuple[AuthorizedKey, ...]]
    custom_data: Sourced[bytes | None]
    vm_id: Sourced[str | None]
    warnings: tuple[str, ...] = ()
    # Where ovf-env.xml named SSH keys only by certificate fingerprint (skipped).
    certificate_keys: tuple[str, ...] = ()

    @property
    def home(self) -> str:
        return f"/home/{self.user_name.value}"

    def explain(self) -> list[tuple[str, str, str]]:
        """(field, shown value, source) rows; the password is masked."""
        pw = self.password.value
        keys = self.ssh_keys.value
        cd = self.custom_data.value
        rows = [
            ("user name", self.user_name.value, self.user_name.source),
            ("host name", self.host_name.value, self.host_name.source),
            ("password", "******** (set)" if pw else "none (account locked)", self.password.source),
            (
                "ssh password authentication",
                "yes" if self.password_authentication.value else "no",
                self.password_authentication.source
                + (
                    f" ({self.password_authentication.note})"
                    if self.password_authentication.note
                    else ""
                ),
            ),
        ]
        if keys:
            for k in keys:
                rows.append(
                    ("ssh key", f"{k.key.key_type} {k.key.fingerprint} -> {k.path}", k.source)
                )
        else:
            rows.append(("ssh keys", "none", self.ssh_keys.source))
        rows.append(
            (
                "custom data",
                f"{len(cd)} bytes" if cd is not None else "none",
                self.custom_data.source,
            )
        )
        rows.append(("vm id", self.vm_id.value or "unknown", self.vm_id.source))
        return rows
