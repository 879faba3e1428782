#!/bin/bash
# Harness-only: Debian Ignition 2.14 quirks on a Debian stand-in root (see ../README.md).

check() {
    return 255
}

depends() {
    echo ignition
}

install() {
    if ! type -P setfiles >/dev/null; then
        inst_script "$moddir/setfiles-noop.sh" /usr/sbin/setfiles
    fi
    inst_simple "$moddir/ignition-files-debian.conf" \
        "$systemdsystemunitdir/ignition-files.service.d/10-e2e-debian.conf"
    inst_rules "$moddir/66-e2e-azure-disks.rules"
    inst_simple "$moddir/zz-e2e-default.network" /etc/systemd/network/zz-e2e-default.network
}
