"""Render every example and prove the result on the real consumers.

Debian's ignition-validate accepts it; the real Ignition binary runs
fetch-offline + files on a scratch root; then the root is inspected: user,
groups, password hash (verified), keys, hostname, sudoers (visudo), sshd
drop-in (sshd -t).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import warnings
from pathlib import Path

import bcrypt
import pytest
from support.consumers import ignition_validate, require, run_ignition

from igngen.azure.ovf import parse as parse_ovf
from igngen.jsonio import canonical_json
from igngen.render.pipeline import RenderInputs, render
from igngen.settings import Settings
from igngen.settings import load as load_settings

EXAMPLES = sorted(
    p.parent for p in (Path(__file__).parent.parent / "examples").glob("*/ovf-env.xml")
)

pytestmark = pytest.mark.consumer


def _inputs(example: Path) -> tuple[RenderInputs, Settings]:
    imds = example / "imds.json"
    templates = example / "templates"
    cfg = example / "igngen.yaml"
    inputs = RenderInputs(
        ovf=(example / "ovf-env.xml").read_bytes(),
        ovf_source=str(example / "ovf-env.xml"),
        imds=imds.read_bytes() if imds.exists() else None,
        template_dirs=(str(templates),) if templates.is_dir() else (),
    )
    return inputs, load_settings(str(cfg)) if cfg.exists() else Settings()


def _verify_hash(password: str, hashed: str) -> bool:
    if hashed.startswith("$2"):
        return bcrypt.checkpw(password.encode(), hashed.encode())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt

    return crypt.crypt(password, hashed) == hashed


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_on_real_ignition(example: Path, tmp_path: Path) -> None:
    inputs, settings = _inputs(example)
    result = render(inputs, settings)
    ovf = parse_ovf(inputs.ovf)
    password = ovf.user_password.reveal() if ovf.user_password else None

    for name, config in (
        ("fragment", result.fragment),
        ("handin", result.handin),
        ("final", result.final),
    ):
        data = canonical_json(config)
        if password:
            assert password.encode() not in data, f"password leaked into the {name}"
        proc = ignition_validate(data, tmp_path)
        assert proc.returncode == 0, (
            f"ignition-validate rejected the {name}: {proc.stdout}{proc.stderr}"
        )

    run = run_ignition(tmp_path / "ign", user_config=canonical_json(result.handin))
    root = run.root
    user = result.model.user_name.value
    passwd = {
        line.split(":")[0]: line.split(":")
        for line in (root / "etc/passwd").read_text().splitlines()
    }
    assert user in passwd, "admin user was not created"
    assert passwd[user][5] == f"/home/{user}"
    groups = {
        line.split(":")[0]: line.split(":")[3].split(",")
        for line in (root / "etc/group").read_text().splitlines()
    }
    for g in settings.groups:
        assert user in groups[g], f"{user} not in group {g}"
    assert user not in groups["sudo"], "admin must not be in the passwordless sudo group"
    shadow = {
        line.split(":")[0]: line.split(":")[1]
        for line in (root / "etc/shadow").read_text().splitlines()
    }
    if password:
        assert _verify_hash(password, shadow[user]), "shadow hash does not verify the OVF password"
    else:
        assert shadow[user] in ("*", "!", "!*"), (
            f"account without password must be locked, got {shadow[user]!r}"
        )

    keys = [k.key.line for k in result.model.ssh_keys.value]
    home = root / "home" / user
    if keys:
        azure_path = home / ".ssh/authorized_keys"
        st = azure_path.stat()
        assert stat.S_IMODE(st.st_mode) == 0o600
        assert st.st_uid == int(passwd[user][2]), "authorized_keys must be owned by the admin"
        assert azure_path.read_text().splitlines() == keys
        assert (home / ".ssh/authorized_keys.d/ignition").read_text().splitlines() == keys

    assert (root / "etc/hostname").read_text() == result.model.host_name.value + "\n"

    sudoers = root / settings.sudoers_path.lstrip("/")
    assert stat.S_IMODE(sudoers.stat().st_mode) == 0o440
    rule = sudoers.read_text()
    assert ("NOPASSWD" in rule) == (password is None)
    visudo = require("visudo")
    proc = subprocess.run([visudo, "-c", "-f", str(sudoers)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    dropin = root / settings.sshd_dropin_path.lstrip("/")
    text = dropin.read_text()
    assert (
        f"PasswordAuthentication {'yes' if result.model.password_authentication.value else 'no'}"
        in text
    )
    _sshd_accepts(dropin, tmp_path)

    waagent = (root / "etc/waagent.conf").read_text()
    assert "Provisioning.Agent=disabled" in waagent and "ResourceDisk.Format=n" in waagent
    assert "OS.EnableFirewall=y" in waagent  # the rest of the image's settings are kept
    kept = (root / "var/lib/waagent/ovf-env.xml").read_bytes()
    assert (root / "var/lib/waagent/ovf-env.xml").stat().st_mode & 0o777 == 0o600
    if password:
        assert password.encode() not in kept and b"REDACTED" in kept

    result_file = json.loads((root / "etc/.ignition-result.json").read_text())
    assert result_file["userConfigProvided"] is True


def _sshd_accepts(dropin: Path, tmp: Path) -> None:
    sshd = require("sshd")
    keydir = tmp / "hostkeys"
    (keydir / "etc/ssh").mkdir(parents=True)
    subprocess.run(["ssh-keygen", "-A", "-f", str(keydir)], check=True, capture_output=True)
    main = tmp / "sshd_config"
    main.write_text(f'Include "{dropin}"\nHostKey {keydir}/etc/ssh/ssh_host_ed25519_key\n')
    os.makedirs("/run/sshd", exist_ok=True)  # sshd -t checks its privilege-separation dir
    proc = subprocess.run([sshd, "-t", "-f", str(main)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([sshd, "-T", "-f", str(main)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
