#!/bin/bash
# shellcheck disable=SC2154  # moddir, initdir, systemdsystemunitdir: set by dracut
# igngen dracut module: provision from the Azure provisioning media and IMDS
# before Ignition fetches its config (first boot only).
#
# Build-time settings (environment):
#   IGNGEN_PYTHON      the image's Python 3.11+ (default: python3 in PATH)
#   IGNGEN_PYTHONPATH  where that Python finds igngen and its dependencies when they
#                      are not installed for it (e.g. a source checkout)
#   IGNGEN_WAAGENT_CONF a waagent.conf to install as the initramfs' /etc/waagent.conf
#                      (default: the image's /etc/waagent.conf or
#                      /usr/share/waagent/waagent.conf, whichever exist)

check() {
    require_binaries "${IGNGEN_PYTHON:-python3}" mount umount blkid || return 1
    return 255  # only when asked for: add_dracutmodules+=" igngen "
}

depends() {
    echo systemd ignition
}

installkernel() {
    # The provisioning DVD: UDF (Azure) or iso9660 (Azure Stack) on an IDE/SCSI CD-ROM.
    hostonly='' instmods sr_mod cdrom ata_piix ata_generic libata virtio_scsi hv_storvsc udf isofs crc_itu_t
}

install() {
    local py site=/usr/lib/igngen/site src dest
    py=$(command -v "${IGNGEN_PYTHON:-python3}")
    py=$(readlink -f "$py")
    inst_binary "$py"
    # Only what igngen's boot commands import (modulefinder), not the whole stdlib.
    while IFS=$'\t' read -r src dest; do
        if [[ "$src" == *.so ]]; then
            inst_library "$src" "$dest"
        else
            inst_simple "$src" "$dest"
        fi
    done < <(IGNGEN_PYTHONPATH="${IGNGEN_PYTHONPATH:-}" "$py" "$moddir/igngen-files.py" "$site") \
        || { derror "igngen: cannot list the Python files to install"; return 1; }
    # Byte-compile what was installed and keep only the bytecode: every boot is a
    # first run, and compiling the sources at start costs igngen about as long as it
    # otherwise runs (measured: 0.42 s vs 0.19 s for igngen render). Sourceless
    # .pyc files beside where the .py were are loaded directly; igngen reports
    # errors as one line, so tracebacks without source lines lose nothing.
    local stdlib
    stdlib=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
    "$py" -m compileall -q -b -j 0 -s "$initdir" -p / "$initdir$site" "$initdir$stdlib" >/dev/null \
        || { derror "igngen: cannot byte-compile the installed Python files"; return 1; }
    find "$initdir$site" "$initdir$stdlib" -name '*.py' -type f -exec sh -c \
        'for f; do [ -f "${f}c" ] && rm -f "$f"; done' sh {} +
    # -I -S: no user site, no environment, no site-packages: only what was installed above.
    printf '#!%s -IS\nimport sys\nsys.path.insert(0, "%s")\nfrom igngen.cli import main\nsys.exit(main())\n' \
        "$py" "$site" > "$initdir/usr/bin/igngen"
    chmod 0755 "$initdir/usr/bin/igngen"
    inst_multiple mount umount blkid journalctl
    # eject the provisioning DVD once read (optional: without it igngen skips that step).
    inst_multiple -o eject

    # The image's waagent.conf, so the kept /etc/waagent.conf derives from it (igngen
    # provision looks at these paths; without one it uses Flatcar's shipped values).
    local wa
    if [[ -n "${IGNGEN_WAAGENT_CONF:-}" ]]; then
        inst_simple "$IGNGEN_WAAGENT_CONF" /etc/waagent.conf
    else
        for wa in /etc/waagent.conf /usr/share/waagent/waagent.conf; do
            [ -f "${dracutsysrootdir:-}$wa" ] && inst_simple "$wa"
        done
    fi

    install_units || return 1
    # First boot only: ignition-complete.target is queued only when Ignition runs.
    mkdir -p "$initdir/$systemdsystemunitdir/ignition-complete.target.requires" \
        "$initdir/$systemdsystemunitdir/ignition-complete.target.wants"
    ln_r "$systemdsystemunitdir/igngen-provision.service" \
        "$systemdsystemunitdir/ignition-complete.target.requires/igngen-provision.service"
    ln_r "$systemdsystemunitdir/igngen-report-provisioning.service" \
        "$systemdsystemunitdir/ignition-complete.target.wants/igngen-report-provisioning.service"
}

# One layout, installed by glob so a new unit needs no edit here: units (*.service,
# *.target, *.timer) at the top of the module, drop-ins under dropins/<unit>.d/<name>.conf.
# Anything else that looks like a unit file is a mistake that would otherwise be left out
# silently: the build fails instead.
install_units() {
    local unit conf target stray
    for stray in "$moddir"/*.conf "$moddir"/*.d "$moddir"/dropins/*.conf; do
        [ -e "$stray" ] || continue
        derror "igngen: $stray is outside the module's layout (units at the top, drop-ins in dropins/<unit>.d/)"
        return 1
    done
    for unit in "$moddir"/*.service "$moddir"/*.target "$moddir"/*.timer; do
        [ -e "$unit" ] || continue
        inst_simple "$unit" "$systemdsystemunitdir/$(basename "$unit")"
    done
    for conf in "$moddir"/dropins/*.d/*.conf; do
        [ -e "$conf" ] || continue
        target=${conf%/*}
        inst_simple "$conf" "$systemdsystemunitdir/${target##*/}/${conf##*/}"
    done
}
