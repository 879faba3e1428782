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
    # Ignition's disks stage creates storage.raid arrays with mdadm (Flatcar's initrd has
    # it); mdadm's udev rules name the array /dev/md/<name>, which Ignition then waits for.
    # The arrays are not auto-assembled here: that is the real root's job on later boots.
    inst_multiple mdadm
    inst_rules 01-md-raid-creating.rules 63-md-raid-arrays.rules
    inst_simple "$moddir/zz-e2e-default.network" /etc/systemd/network/zz-e2e-default.network
}
