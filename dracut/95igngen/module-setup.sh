#!/bin/bash
# igngen dracut module: provision from the Azure provisioning media and IMDS
# before Ignition fetches its config (first boot only).
#
# Build-time settings (environment):
#   IGNGEN_PYTHON      the image's Python 3.11+ (default: python3 in PATH)
#   IGNGEN_PYTHONPATH  where that Python finds igngen and its dependencies when they
#                      are not installed for it (e.g. a source checkout)

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
    # -I -S: no user site, no environment, no site-packages: only what was installed above.
    printf '#!%s -IS\nimport sys\nsys.path.insert(0, "%s")\nfrom igngen.cli import main\nsys.exit(main())\n' \
        "$py" "$site" > "$initdir/usr/bin/igngen"
    chmod 0755 "$initdir/usr/bin/igngen"
    inst_multiple mount umount blkid

    local unit
    for unit in "$moddir"/*.service; do
        inst_simple "$unit" "$systemdsystemunitdir/$(basename "$unit")"
    done
    # Drop-ins, laid out as dropins/<unit>.d/<name>.conf. The ignition-.service.d
    # prefix drop-in points every Ignition stage (each re-reads its base configs)
    # at the hand-off directory.
    local conf
    for conf in "$moddir"/dropins/*/*.conf; do
        [ -e "$conf" ] || continue
        inst_simple "$conf" "$systemdsystemunitdir/${conf#"$moddir"/dropins/}"
    done
    # First boot only: ignition-complete.target is queued only when Ignition runs.
    mkdir -p "$initdir/$systemdsystemunitdir/ignition-complete.target.requires"
    ln_r "$systemdsystemunitdir/igngen-provision.service" \
        "$systemdsystemunitdir/ignition-complete.target.requires/igngen-provision.service"
}
