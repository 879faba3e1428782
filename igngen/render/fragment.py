"""Provisioning model + settings → template variables → the Ignition fragment (pure).

The variables are the contract with ``butane-templates/`` (documented in
``docs/ARCHITECTURE.md`` and ``butane-templates/README.md``); image authors
rely on their names, so they change only with a note in the README.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from igngen.render.model import Provisioning
from igngen.render.passwords import hash_password
from igngen.settings import Settings


def password_hash(model: Provisioning, settings: Settings) -> str | None:
    secret = model.password.value
    if not secret:
        return None
    return hash_password(
        secret,
        settings.hashing,
        model.user_name.value,
        model.host_name.value,
        model.vm_id.value or "",
    )


def template_variables(
    model: Provisioning,
    settings: Settings,
    *,
    hashed_password: str | None,
    extra: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The variables every template receives; ``extra`` adds whole groups (``disk``, ``report``…)."""
    name = model.user_name.value
    home = model.home
    keys = model.ssh_keys.value
    lines = [k.key.line for k in keys]
    has_password = hashed_password is not None
    variables: dict[str, Any] = {
        "user": {
            "name": name,
            "home": home,
            "groups": list(settings.groups),
            "password_hash": hashed_password,
            "has_password": has_password,
            "ssh_keys": lines,
            "authorized_keys": "".join(f"{line}\n" for line in lines),
            "authorized_keys_path": f"{home}/.ssh/authorized_keys",
        },
        "host": {
            "name": model.host_name.value,
            "hostname_file": f"{model.host_name.value}\n",
        },
        "ssh": {
            "password_authentication": "yes" if model.password_authentication.value else "no",
            "client_alive_interval": settings.client_alive_interval,
            "dropin_path": settings.sshd_dropin_path,
        },
        "sudo": {
            "path": settings.sudoers_path,
            "rule": f"{name} ALL=(ALL) ALL" if has_password else f"{name} ALL=(ALL) NOPASSWD: ALL",
        },
    }
    for group, values in (extra or {}).items():
        if group in variables:
            raise ValueError(f"variable group {group!r} is reserved")
        variables[group] = dict(values)
    return variables


def build_fragment(
    variables: Mapping[str, Any],
    *,
    template_dirs: Sequence[str],
    disabled: Sequence[str],
    spec: str,
) -> dict[str, Any]:
    from igngen.render.templating import render_fragment

    return render_fragment(variables, search_dirs=template_dirs, disabled=disabled, spec=spec)
