"""The built-in templates, rendered with realistic values, checked by the programs that read them.

sshd -t (the drop-in included from a config the way Flatcar's sshd_config does),
visudo -c (sudoers), ignition-validate (every rendered config), and real
Ignition fetch-offline + files on a scratch root (user, keys, hostname, drop-ins
in place with the right owners and modes).
"""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import pytest
from support.consumers import ignition_validate, require, run_ignition
from support.template_vars import KEY, SHA512, contents, realistic

from igngen.render.templating import render_fragment


@pytest.mark.parametrize("password", [False, True])
def test_every_file_is_explicit_and_config_validates(password: bool, tmp_path: Path) -> None:
    fragment = render_fragment(realistic(password=password), system_dirs=())
    for entry in fragment["storage"]["files"]:
        assert {"mode", "overwrite"} <= set(entry) and "compression" in entry["contents"], entry[
            "path"
        ]
    users = fragment["passwd"]["users"]
    assert "sudo" not in users[0]["groups"]
    proc = ignition_validate(json.dumps(fragment), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("password", [False, True])
def test_sshd_accepts_the_dropin(password: bool, tmp_path: Path) -> None:
    sshd = require("sshd")
    fragment = render_fragment(realistic(password=password), system_dirs=())
    data, entry = contents(fragment, "/etc/ssh/sshd_config.d/10-igngen.conf")
    assert entry["mode"] == 0o600
    dropins = tmp_path / "sshd_config.d"
    dropins.mkdir()
    (dropins / "10-igngen.conf").write_bytes(data)
    hostkey = tmp_path / "host_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(hostkey)], check=True)
    config = tmp_path / "sshd_config"
    config.write_text(f'HostKey {hostkey}\nInclude "{dropins}/*.conf"\n')
    proc = subprocess.run([sshd, "-t", "-f", str(config)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    effective = subprocess.run(
        [sshd, "-T", "-f", str(config), "-C", "user=azureuser,host=h,addr=127.0.0.1"],
        capture_output=True,
        text=True,
    )
    assert effective.returncode == 0, effective.stderr
    want = "yes" if password else "no"
    assert f"passwordauthentication {want}" in effective.stdout
    assert f"kbdinteractiveauthentication {want}" in effective.stdout
    assert "clientaliveinterval 180" in effective.stdout
    # the check can fail: a corrupted drop-in is refused
    (dropins / "10-igngen.conf").write_bytes(data + b"NoSuchOption yes\n")
    assert subprocess.run([sshd, "-t", "-f", str(config)], capture_output=True).returncode != 0


@pytest.mark.parametrize("password", [False, True])
def test_visudo_accepts_the_sudoers_dropin(password: bool, tmp_path: Path) -> None:
    visudo = require("visudo")
    fragment = render_fragment(realistic(password=password), system_dirs=())
    data, entry = contents(fragment, "/etc/sudoers.d/igngen")
    assert entry["mode"] == 0o440
    target = tmp_path / "igngen"
    target.write_bytes(data)
    target.chmod(0o440)
    proc = subprocess.run([visudo, "-c", "-f", str(target)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (b"NOPASSWD" in data) is (not password)
    target.chmod(0o640)
    target.write_bytes(data + b"azureuser ALL=(ALL\n")
    assert subprocess.run([visudo, "-c", "-f", str(target)], capture_output=True).returncode != 0


def test_real_ignition_puts_everything_in_place(tmp_path: Path) -> None:
    fragment = render_fragment(realistic(password=True), system_dirs=())
    run = run_ignition(tmp_path / "ign", user_config=json.dumps(fragment).encode())
    root = run.root
    passwd = (root / "etc/passwd").read_text()
    line = next(entry for entry in passwd.splitlines() if entry.startswith("azureuser:"))
    uid = int(line.split(":")[2])
    assert SHA512 in (root / "etc/shadow").read_text()
    assert "azureuser" in next(
        g for g in (root / "etc/group").read_text().splitlines() if g.startswith("docker:")
    )
    keys = root / "home/azureuser/.ssh/authorized_keys"
    assert keys.read_text() == KEY + "\n"
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600 and keys.stat().st_uid == uid
    ssh_dir = root / "home/azureuser/.ssh"
    assert stat.S_IMODE(ssh_dir.stat().st_mode) == 0o700 and ssh_dir.stat().st_uid == uid
    assert (root / "etc/hostname").read_text() == "vm-01\n"
    dropin = root / "etc/ssh/sshd_config.d/10-igngen.conf"
    assert "PasswordAuthentication yes" in dropin.read_text()
    assert stat.S_IMODE(dropin.stat().st_mode) == 0o600
    sudoers = root / "etc/sudoers.d/igngen"
    assert sudoers.read_text().endswith("azureuser ALL=(ALL) ALL\n")
    assert stat.S_IMODE(sudoers.stat().st_mode) == 0o440 and sudoers.stat().st_uid == 0


EXAMPLE = (
    Path(__file__).resolve().parent.parent / "examples" / "image-author-override" / "templates"
)


def test_image_author_override_example(tmp_path: Path) -> None:
    """The example's sshd and sudoers templates win over the built-ins and still pass the tools."""
    sshd, visudo = require("sshd"), require("visudo")
    fragment = render_fragment(realistic(password=False), search_dirs=[EXAMPLE], system_dirs=())
    sshd_data, _ = contents(fragment, "/etc/ssh/sshd_config.d/10-igngen.conf")
    sudo_data, _ = contents(fragment, "/etc/sudoers.d/igngen")
    assert b"AllowUsers azureuser\n" in sshd_data and b"MaxAuthTries 3\n" in sshd_data
    assert b"Defaults:azureuser timestamp_timeout=5, log_output\n" in sudo_data
    assert contents(fragment, "/etc/hostname")[0] == b"vm-01\n"  # built-ins still render
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "10-igngen.conf").write_bytes(sshd_data)
    key = tmp_path / "hk"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    (tmp_path / "sshd_config").write_text(f'HostKey {key}\nInclude "{tmp_path}/d/*.conf"\n')
    proc = subprocess.run(
        [sshd, "-t", "-f", str(tmp_path / "sshd_config")], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    (tmp_path / "sudoers").write_bytes(sudo_data)
    (tmp_path / "sudoers").chmod(0o440)
    proc = subprocess.run(
        [visudo, "-c", "-f", str(tmp_path / "sudoers")], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = ignition_validate(json.dumps(fragment), tmp_path)
    assert proc.returncode == 0, proc.stdout
