"""OVF + IMDS (+ a custom-data override) → one validated :class:`Provisioning` model (pure).

Precedence, per value (documented in README "Where values come from"):

- user name, host name, SSH keys, password-authentication flag: **IMDS first,
  then OVF.** IMDS reflects the VM's current ARM model; the OVF is the same
  data captured at create time. When both are present and differ, IMDS wins
  and a warning names both sources.
- password: **OVF only** (IMDS never carries it).
- SSH password authentication, when neither source says: enabled iff a password
  was given (an account with only a password must stay reachable; one
  without a password gains nothing from it).
- custom data: an explicit override (``--customdata``), then IMDS
  ``userData``, then OVF ``CustomData`` — userData first because that is what
  Ignition's own Azure provider does, so a config written for Flatcar behaves
  the same under igngen.
- vm id: IMDS.
"""

from __future__ import annotations

from igngen.azure.ovf import OvfEnvironment
from igngen.errors import ReconcileError
from igngen.render.model import AuthorizedKey, Provisioning, Sourced
from igngen.render.rules import (
    check_host_name,
    check_key_path,
    check_password,
    check_user_name,
    parse_ssh_public_key,
)
from igngen.secret import Secret

TYPE_CHECKING = False
if TYPE_CHECKING:  # an offline render without an instance document never loads the parser
    from igngen.azure.imds import ImdsInstance


def reconcile(
    ovf: OvfEnvironment,
    imds: ImdsInstance | None = None,
    *,
    custom_data_override: Sourced[bytes | None] | None = None,
) -> Provisioning:
    warnings: list[str] = list(ovf.warnings)
    if imds is not None:
        warnings.extend(imds.warnings)
    pps = ovf.preprovisioned_vm_type or (imds.pps_type if imds else None)
    if ovf.preprovisioned_vm or (pps and pps.lower() != "none"):
        # `igngen provision` never gets here with a pool document (igngen/boot/pool.py swaps
        # it for the hand-over's); a render of one configures the pool's placeholder.
        warnings.append(
            f"pre-provisioned VM (type {pps or 'Running'}): this document describes the "
            "pool's placeholder; igngen provision waits for the re-provisioning data instead"
        )
    oloc = ovf.locations
    isrc = imds.source if imds else "imds"

    def pick(
        imds_value: str | None, imds_ptr: str, ovf_value: str | None, ovf_key: str, what: str
    ) -> Sourced[str] | None:
        if imds_value is not None:
            if ovf_value is not None and ovf_value != imds_value:
                warnings.append(
                    f"{what}: IMDS says {imds_value!r}, ovf-env.xml says {ovf_value!r}; using IMDS"
                )
            return Sourced(imds_value, f"{isrc}#{imds_ptr}")
        if ovf_value is not None:
            return Sourced(ovf_value, oloc.get(ovf_key, ovf.source))
        return None

    user = pick(
        imds.admin_username if imds else None,
        "/compute/osProfile/adminUsername",
        ovf.user_name,
        "UserName",
        "user name",
    )
    if user is None:
        raise ReconcileError(
            "no admin user name in ovf-env.xml (UserName) or IMDS (adminUsername)",
            oloc.get("UserName", ovf.source),
        )
    check_user_name(user.value, user.source)

    host = pick(
        imds.computer_name if imds else None,
        "/compute/osProfile/computerName",
        ovf.host_name,
        "HostName",
        "host name",
    )
    if host is None:
        raise ReconcileError(
            "no host name in ovf-env.xml (HostName) or IMDS (computerName)",
            oloc.get("HostName", ovf.source),
        )
    check_host_name(host.value, host.source)

    pw_loc = oloc.get("UserPassword", ovf.source)
    password: Sourced[Secret | None]
    if ovf.user_password:
        check_password(ovf.user_password.reveal(), pw_loc)
        password = Sourced(ovf.user_password, pw_loc)
    else:
        password = Sourced(None, pw_loc, "not given")

    disable: bool | None = None
    pa_source = ""
    if imds and imds.disable_password_authentication is not None:
        disable = imds.disable_password_authentication
        pa_source = f"{isrc}#/compute/osProfile/disablePasswordAuthentication"
        if (
            ovf.disable_ssh_password_authentication is not None
            and ovf.disable_ssh_password_authentication != disable
        ):
            warnings.append(
                "DisableSshPasswordAuthentication: IMDS and ovf-env.xml disagree; using IMDS"
            )
    elif ovf.disable_ssh_password_authentication is not None:
        disable = ovf.disable_ssh_password_authentication
        pa_source = oloc.get("DisableSshPasswordAuthentication", ovf.source)
    if disable is None:
        pw_auth = Sourced(bool(password.value), "default", "enabled iff a password was given")
    else:
        pw_auth = Sourced(not disable, pa_source)
    if pw_auth.value and not password.value:
        warnings.append("password authentication is enabled but no password was given")

    keys: list[AuthorizedKey] = []
    certificate_keys: list[str] = []
    name = user.value
    if imds and imds.public_keys:
        keys_source = f"{isrc}#/compute/publicKeys"
        for ik in imds.public_keys:
            where = f"{isrc}#{ik.pointer}"
            parsed = parse_ssh_public_key(ik.key_data, f"{where}/keyData")
            path = check_key_path(ik.path, name, f"{where}/path")
            keys.append(AuthorizedKey(parsed, path, where))
    else:
        keys_source = oloc.get("SSH", ovf.source)
        for ok in ovf.public_keys:
            if ok.value is None:
                warnings.append(
                    f"{ok.location}: key given only by certificate fingerprint; "
                    "certificate-based keys are not supported, skipped"
                )
                certificate_keys.append(ok.location)
                continue
            parsed = parse_ssh_public_key(ok.value, f"{ok.location}/Value")
            path = check_key_path(ok.path, name, f"{ok.location}/Path")
            keys.append(AuthorizedKey(parsed, path, ok.location))
    default_path = f"/home/{name}/.ssh/authorized_keys"
    for k in keys:
        if k.path != default_path:
            # sshd (Flatcar's included) reads only ~/.ssh/authorized_keys; a key
            # stored elsewhere would never authenticate, so it goes there too.
            warnings.append(
                f"{k.source}: key path {k.path} is not read by sshd; "
                f"the key is installed in {default_path}"
            )
    seen: set[bytes] = set()
    unique = []
    for k in keys:
        ident = k.key.blob
        if ident in seen:
            warnings.append(f"{k.source}: duplicate SSH key {k.key.fingerprint}, kept once")
            continue
        seen.add(ident)
        unique.append(k)
    if not unique and not password.value:
        warnings.append(
            "neither a password nor an SSH key was given: the admin cannot log in "
            "unless custom data provides a way"
        )

    custom: Sourced[bytes | None]
    if custom_data_override is not None:
        custom = custom_data_override
    elif imds and imds.user_data:
        custom = Sourced(imds.user_data, f"{isrc}#/compute/userData")
    elif ovf.custom_data is not None:
        custom = Sourced(ovf.custom_data, oloc.get("CustomData", ovf.source))
    else:
        custom = Sourced(None, "none given")

    vm_id: Sourced[str | None] = (
        Sourced(imds.vm_id, f"{isrc}#/compute/vmId")
        if imds and imds.vm_id
        else Sourced(None, "unknown")
    )
    return Provisioning(
        user_name=user,
        host_name=host,
        password=password,
        password_authentication=pw_auth,
        ssh_keys=Sourced(tuple(unique), keys_source),
        custom_data=custom,
        vm_id=vm_id,
        warnings=tuple(warnings),
        certificate_keys=tuple(certificate_keys),
    )
