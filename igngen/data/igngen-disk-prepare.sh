#!/bin/bash
# igngen-disk-prepare: keep Azure's ephemeral disks usable across redeploys.
#
# Installed by igngen's Ignition fragment and run by oneshot units before the
# matching mount units. Ignition prepares these disks on the first boot only;
# after a redeploy or resize Azure hands out the resource disk again as fresh
# NTFS, and local NVMe disks come back blank, so this re-creates our filesystem
# then. It needs only bash, util-linux, e2fsprogs/xfsprogs (and mdadm for RAID0):
# Flatcar's root has no Python.
#
# Safety rules (a disk is reformatted only when one of these holds):
#   - it carries nothing: no partition table and no filesystem signature, or a
#     partition table whose partitions carry no signature (an interrupted run);
#   - it is the disk Azure provides: one NTFS partition (or a reserved partition
#     followed by an NTFS one, as on disks over 2 TiB) whose root holds nothing
#     but DATALOSS_WARNING_README.txt and "System Volume Information" (names
#     compared case-insensitively; NTFS metadata files such as $MFT ignored).
#     That is what Azure, WALinuxAgent and cloud-init leave on it. When no NTFS
#     driver can mount it read-only to look (Flatcar ships none), the disk is
#     formatted only with --unverifiable-ntfs format and Azure's volume label
#     "Temporary Storage": an image that cannot mount NTFS cannot have written
#     to it (cloud-init and azure-vm-utils decide the same way).
# A disk that already carries our filesystem (matched by label and type) is
# kept as it is. Anything else (user files on the NTFS, another filesystem, a
# partition table we did not write, an NTFS we may not format unseen) is left
# untouched: the reason goes to the journal at error priority and the script
# exits 3, so the unit shows as failed (systemctl --failed) and its mount unit
# does not start, while the rest of the boot goes on.
#
# Usage:
#   igngen-disk-prepare resource --device DEV --fs ext4|xfs --label L
#                       [--swap-mib N --swap-label S] [--unverifiable-ntfs keep|format]
#   igngen-disk-prepare whole    --device DEV --fs ext4|xfs --label L
#   igngen-disk-prepare raid0    --name NAME --fs ext4|xfs --label L DEV...
#   igngen-disk-prepare swapfile --path FILE --size-mib N
#
# Exit status: 0 ready (or no such disk), 1 bad usage or a failed command,
# 3 disk left untouched because it holds something else.

set -euo pipefail
export LC_ALL=C

readonly EX_KEPT=3
readonly LINUX_FS_GUID=0FC63DAF-8483-4772-8E79-3D69D8477DE4
readonly LINUX_SWAP_GUID=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F
# Root entries of a stock Azure resource disk (lower case).
readonly STOCK_NAMES=("dataloss_warning_readme.txt" "system volume information")
readonly AZURE_NTFS_LABEL="Temporary Storage"
STATE_DIR=${IGNGEN_DISK_STATE_DIR:-/run/igngen}

# systemd reads "<N>" prefixes on stderr as syslog priorities.
log() { printf '<%s>igngen-disk-prepare: %s\n' "$1" "$2" >&2; }
info() { log 6 "$1"; }
notice() { log 5 "$1"; }
err() { log 3 "$1"; }
die() { err "$1"; exit 1; }
keep() { err "leaving $1 untouched: $2"; exit "$EX_KEPT"; }

run() {
    local out
    if ! out=$("$@" 2>&1); then
        err "command failed: $* :: ${out//$'\n'/ }"
        exit 1
    fi
}

# require TOOL...: all of them on PATH, or stop before anything is changed. Images
# split these across packages (Debian puts sfdisk in "fdisk"), and a tool found
# missing halfway through would leave a disk wiped but not formatted.
require() {
    local absent=() tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || absent+=("$tool")
    done
    ((${#absent[@]} == 0)) ||
        die "missing tools: ${absent[*]} (nothing was changed; the image needs util-linux, fdisk/sfdisk, e2fsprogs or xfsprogs, and mdadm for RAID0)"
}

need_value() { [[ $# -ge 2 && -n $2 ]] || die "option $1 needs a value"; }

check_fs() {
    case $1 in ext4 | xfs) ;; *) die "unsupported filesystem '$1' (ext4 or xfs)" ;; esac
}

settle() {
    # Without udevd (early boot, containers) there is nothing to wait for.
    if command -v udevadm >/dev/null 2>&1 && [[ -d /run/udev/control || -S /run/udev/control ]]; then
        udevadm settle --timeout=30 >/dev/null 2>&1 || true
    fi
}

probe() { # probe DEV FIELD: a low-level blkid value ("" when none)
    blkid -p -o value -s "$2" "$1" 2>/dev/null || true
}

partitions_of() { # the partition device nodes of a disk, in order
    lsblk -lnpo NAME,TYPE "$1" 2>/dev/null | awk '$2 == "part" { print $1 }'
}

mounted() { findmnt -rno TARGET -S "$1" >/dev/null 2>&1; }

has_signature() { # any filesystem, RAID, swap or partition table signature
    [[ -n $(probe "$1" TYPE)$(probe "$1" PTTYPE) ]]
}

is_ours() { # is_ours DEV FS LABEL
    [[ $(probe "$1" TYPE) == "$2" && $(probe "$1" LABEL) == "$3" ]]
}

reread() {
    blockdev --rereadpt "$1" >/dev/null 2>&1 || true
    partx -u "$1" >/dev/null 2>&1 || partx -a "$1" >/dev/null 2>&1 || true
    settle
}

PARTS=()
wait_partitions() { # wait_partitions DISK COUNT: sets PARTS once the partition nodes exist
    local disk=$1 count=$2 i
    for ((i = 0; i < 100; i++)); do
        mapfile -t PARTS < <(partitions_of "$disk")
        if ((${#PARTS[@]} >= count)) && [[ -b ${PARTS[count - 1]} ]]; then
            return 0
        fi
        if ((i == 10)); then partx -a "$disk" >/dev/null 2>&1 || true; fi
        sleep 0.1
    done
    die "partitions of $disk did not appear"
}

make_fs() { # make_fs DEV FS LABEL
    case $2 in
        ext4) run mkfs.ext4 -q -F -L "$3" "$1" ;;
        xfs) run mkfs.xfs -q -f -L "$3" "$1" ;;
    esac
}

# --- NTFS inspection -------------------------------------------------------

NTFS_MNT=""
cleanup() {
    if [[ -n $NTFS_MNT ]]; then
        umount "$NTFS_MNT" >/dev/null 2>&1 || umount -l "$NTFS_MNT" >/dev/null 2>&1 || true
        rmdir "$NTFS_MNT" 2>/dev/null || true
    fi
}
trap cleanup EXIT

is_stock_name() {
    local name=${1,,} stock
    for stock in "${STOCK_NAMES[@]}"; do
        [[ $name == "$stock" ]] && return 0
    done
    # NTFS metadata files; some drivers list them, none holds user data.
    # shellcheck disable=SC2016 # literal names starting with '$'
    case $1 in
        '$MFT' | '$MFTMirr' | '$LogFile' | '$Volume' | '$AttrDef' | '$Bitmap' | '$Boot' | \
            '$BadClus' | '$Secure' | '$UpCase' | '$Extend' | '.' | '..') return 0 ;;
    esac
    return 1
}

# ntfs_verdict PART: sets VERDICT to "stock", "data:<names>" or "unverifiable:<why>".
# It runs in the script's own shell, never in $(...): NTFS_MNT must be visible to the
# EXIT trap, so a script stopped while the NTFS is mounted (a unit timeout's SIGTERM)
# still unmounts it and removes the mount point.
VERDICT=""
ntfs_verdict() {
    local part=$1 type opts="ro,noexec,nosuid,nodev" others=() entry name
    mkdir -p "$STATE_DIR"
    NTFS_MNT=$(mktemp -d "$STATE_DIR/ntfs-check.XXXXXX")
    local mounted_ok=""
    for type in ntfs3 ntfs-3g ntfs; do
        if mount -t "$type" -o "$opts" "$part" "$NTFS_MNT" >/dev/null 2>&1; then
            mounted_ok=$type
            break
        fi
    done
    if [[ -z $mounted_ok ]]; then
        rmdir "$NTFS_MNT" 2>/dev/null || true
        NTFS_MNT=""
        VERDICT="unverifiable:no NTFS driver could mount $part read-only"
        return 0
    fi
    shopt -s nullglob dotglob
    for entry in "$NTFS_MNT"/*; do
        name=${entry##*/}
        is_stock_name "$name" || others+=("$name")
    done
    shopt -u nullglob dotglob
    umount "$NTFS_MNT" >/dev/null 2>&1 || umount -l "$NTFS_MNT" >/dev/null 2>&1 || true
    rmdir "$NTFS_MNT" 2>/dev/null || true
    NTFS_MNT=""
    if ((${#others[@]} == 0)); then
        VERDICT="stock"
    else
        # Names only, a few of them, unprintable characters masked: enough to
        # recognise, and nothing a file name could inject into the journal.
        local shown=("${others[@]:0:5}") i
        for i in "${!shown[@]}"; do
            shown[i]=${shown[i]//[^[:print:]]/?}
            shown[i]=${shown[i]:0:64}
        done
        local IFS=, more=""
        ((${#others[@]} > 5)) && more=",..."
        VERDICT="data:${#others[@]} entries (${shown[*]}$more)"
    fi
}

# --- resource disk -----------------------------------------------------------

partition_resource() { # partition_resource DISK SWAP_MIB SWAP_LABEL LABEL
    local disk=$1 swap_mib=$2 swap_label=$3 label=$4 part
    for part in $(partitions_of "$disk"); do
        run wipefs -a -q "$part"
    done
    run wipefs -a -q "$disk"
    local layout="label: gpt"$'\n'
    if ((swap_mib > 0)); then
        layout+="size=${swap_mib}MiB, type=${LINUX_SWAP_GUID}, name=${swap_label}"$'\n'
    fi
    layout+="type=${LINUX_FS_GUID}, name=${label}"$'\n'
    local out
    if ! out=$(sfdisk -q -W always "$disk" <<<"$layout" 2>&1); then
        die "sfdisk failed on $disk :: ${out//$'\n'/ }"
    fi
    reread "$disk"
}

cmd_resource() {
    local device="" fs="" label="" swap_mib=0 swap_label="igngen-swap" unverifiable="keep"
    while (($#)); do
        case $1 in
            --device) need_value "$@"; device=$2; shift 2 ;;
            --fs) need_value "$@"; fs=$2; shift 2 ;;
            --label) need_value "$@"; label=$2; shift 2 ;;
            --swap-mib) need_value "$@"; swap_mib=$2; shift 2 ;;
            --swap-label) need_value "$@"; swap_label=$2; shift 2 ;;
            --unverifiable-ntfs) need_value "$@"; unverifiable=$2; shift 2 ;;
            *) die "resource: unknown argument '$1'" ;;
        esac
    done
    [[ -n $device && -n $fs && -n $label ]] || die "resource: --device, --fs and --label are required"
    check_fs "$fs"
    [[ $swap_mib =~ ^[0-9]+$ ]] || die "resource: --swap-mib must be a number of MiB"
    [[ $unverifiable == keep || $unverifiable == format ]] || die "resource: --unverifiable-ntfs is keep or format"

    if [[ ! -e $device ]]; then
        info "no resource disk at $device; nothing to do"
        exit 0
    fi
    local tools=(blkid lsblk findmnt wipefs sfdisk partx blockdev "mkfs.$fs")
    ((swap_mib > 0)) && tools+=(mkswap)
    require "${tools[@]}"
    local disk
    disk=$(readlink -f "$device")
    [[ -b $disk ]] || die "$device is not a block device"
    settle

    local parts=() part
    mapfile -t parts < <(partitions_of "$disk")
    for part in "$disk" "${parts[@]}"; do
        if is_ours "$part" "$fs" "$label"; then
            info "$device already carries our $fs filesystem (label $label) on $part; keeping it"
            exit 0
        fi
    done
    for part in "$disk" "${parts[@]}"; do
        mounted "$part" && keep "$device" "$part is mounted"
    done

    local why=""
    local whole_type whole_pt
    whole_type=$(probe "$disk" TYPE)
    whole_pt=$(probe "$disk" PTTYPE)
    if [[ -z $whole_type && -z $whole_pt ]]; then
        why="the disk is blank"
    elif [[ -n $whole_type ]]; then
        keep "$device" "it carries a whole-disk $whole_type filesystem"
    else
        local signed=() types=()
        for part in "${parts[@]}"; do
            if has_signature "$part"; then
                signed+=("$part")
            fi
            types+=("$(probe "$part" TYPE)")
        done
        if ((${#signed[@]} == 0)); then
            why="its $whole_pt partition table holds no filesystem"
        else
            local candidate=""
            if ((${#parts[@]} == 1)) && [[ ${types[0]} == ntfs ]]; then
                candidate=${parts[0]}
            elif ((${#parts[@]} == 2)) && [[ -z ${types[0]} && ${types[1]} == ntfs ]]; then
                candidate=${parts[1]} # Microsoft reserved partition first (disks > 2 TiB)
            fi
            [[ -n $candidate ]] ||
                keep "$device" "it holds ${#parts[@]} partition(s) (${types[*]:-no filesystem}) that igngen did not create"
            ntfs_verdict "$candidate"
            local verdict=$VERDICT
            case $verdict in
                stock) why="it is the NTFS disk Azure provides, with only its stock files" ;;
                data:*) keep "$device" "the NTFS on $candidate holds ${verdict#data:}" ;;
                unverifiable:*)
                    [[ $unverifiable == format ]] ||
                        keep "$device" "${verdict#unverifiable:} to check it for files (disks.resource.format_unverifiable_ntfs is off)"
                    [[ $(probe "$candidate" LABEL) == "$AZURE_NTFS_LABEL" ]] ||
                        keep "$device" "${verdict#unverifiable:} to check it for files, and its label is not Azure's \"$AZURE_NTFS_LABEL\""
                    why="it is Azure's \"$AZURE_NTFS_LABEL\" NTFS, which this image has no driver to read (${verdict#unverifiable:}) and so cannot have written"
                    ;;
            esac
        fi
    fi

    notice "formatting $device ($disk) as $fs, label $label: $why"
    partition_resource "$disk" "$swap_mib" "$swap_label" "$label"
    local want=1
    ((swap_mib > 0)) && want=2
    wait_partitions "$disk" "$want"
    if ((swap_mib > 0)); then
        run mkswap -L "$swap_label" "${PARTS[0]}"
        make_fs "${PARTS[1]}" "$fs" "$label"
    else
        make_fs "${PARTS[0]}" "$fs" "$label"
    fi
    settle
    notice "$device is ready: $fs filesystem labelled $label"
}

# --- a whole disk without partitions (local NVMe) -----------------------------

cmd_whole() {
    local device="" fs="" label=""
    while (($#)); do
        case $1 in
            --device) need_value "$@"; device=$2; shift 2 ;;
            --fs) need_value "$@"; fs=$2; shift 2 ;;
            --label) need_value "$@"; label=$2; shift 2 ;;
            *) die "whole: unknown argument '$1'" ;;
        esac
    done
    [[ -n $device && -n $fs && -n $label ]] || die "whole: --device, --fs and --label are required"
    check_fs "$fs"
    if [[ ! -e $device ]]; then
        info "no disk at $device; nothing to do"
        exit 0
    fi
    require blkid lsblk findmnt "mkfs.$fs"
    local disk
    disk=$(readlink -f "$device")
    [[ -b $disk ]] || die "$device is not a block device"
    settle
    if is_ours "$disk" "$fs" "$label"; then
        info "$device already carries our $fs filesystem (label $label); keeping it"
        exit 0
    fi
    mounted "$disk" && keep "$device" "it is mounted"
    has_signature "$disk" &&
        keep "$device" "it carries $(probe "$disk" TYPE)$(probe "$disk" PTTYPE) that igngen did not create"
    [[ -z $(partitions_of "$disk") ]] || keep "$device" "it has partitions"
    notice "formatting blank $device as $fs, label $label"
    make_fs "$disk" "$fs" "$label"
    settle
}

# --- local NVMe disks striped together -----------------------------------------

cmd_raid0() {
    local name="" fs="" label="" members=()
    while (($#)); do
        case $1 in
            --name) need_value "$@"; name=$2; shift 2 ;;
            --fs) need_value "$@"; fs=$2; shift 2 ;;
            --label) need_value "$@"; label=$2; shift 2 ;;
            --*) die "raid0: unknown option '$1'" ;;
            *) members+=("$1"); shift ;;
        esac
    done
    [[ -n $name && -n $fs && -n $label && ${#members[@]} -gt 0 ]] ||
        die "raid0: --name, --fs, --label and member disks are required"
    check_fs "$fs"
    local md="/dev/md/$name" m disks=() missing=0
    for m in "${members[@]}"; do
        if [[ -e $m ]]; then disks+=("$(readlink -f "$m")"); else missing=$((missing + 1)); fi
    done
    if ((missing == ${#members[@]})); then
        info "no local NVMe disks present; nothing to do"
        exit 0
    fi
    ((missing == 0)) || keep "$md" "$missing of ${#members[@]} member disks are missing"
    require blkid lsblk findmnt mdadm "mkfs.$fs"
    settle
    if [[ ! -e $md ]] && [[ $(probe "${disks[0]}" TYPE) == linux_raid_member ]]; then
        mdadm --assemble "$md" "${disks[@]}" >/dev/null 2>&1 || true
        settle
    fi
    if [[ -e $md ]]; then
        is_ours "$md" "$fs" "$label" && {
            info "$md already carries our $fs filesystem (label $label); keeping it"
            exit 0
        }
        has_signature "$md" && keep "$md" "the array carries $(probe "$md" TYPE) that igngen did not create"
    else
        for m in "${disks[@]}"; do
            mounted "$m" && keep "$m" "it is mounted"
            has_signature "$m" && keep "$m" "it carries $(probe "$m" TYPE)$(probe "$m" PTTYPE) that igngen did not create"
            [[ -z $(partitions_of "$m") ]] || keep "$m" "it has partitions"
        done
        notice "creating RAID0 $md over ${disks[*]}"
        run mdadm --create "$md" --run --level=0 --metadata=1.2 --homehost=any \
            --name="$name" --raid-devices="${#disks[@]}" "${disks[@]}"
        settle
    fi
    notice "formatting $md as $fs, label $label"
    make_fs "$(readlink -f "$md")" "$fs" "$label"
    settle
}

# --- swap file on the mounted resource disk -------------------------------------

cmd_swapfile() {
    local path="" size_mib=""
    while (($#)); do
        case $1 in
            --path) need_value "$@"; path=$2; shift 2 ;;
            --size-mib) need_value "$@"; size_mib=$2; shift 2 ;;
            *) die "swapfile: unknown argument '$1'" ;;
        esac
    done
    [[ -n $path && $size_mib =~ ^[1-9][0-9]*$ ]] || die "swapfile: --path and --size-mib N (>0) are required"
    local dir=${path%/*}
    [[ -d $dir ]] || die "swapfile: directory $dir does not exist (is the resource disk mounted?)"
    require blkid mkswap swapon
    local bytes=$((size_mib * 1024 * 1024))
    if [[ -f $path && ! -L $path ]] && (($(stat -c %s "$path") == bytes)) &&
        [[ $(probe "$path" TYPE) == swap ]]; then
        info "swap file $path ($size_mib MiB) is in place"
        exit 0
    fi
    if [[ -e $path || -L $path ]]; then
        if swapon --show=NAME --noheadings 2>/dev/null | grep -qxF "$path"; then
            run swapoff "$path"
        fi
        notice "replacing $path (wrong size or no swap signature)"
        rm -f -- "$path"
    fi
    local tmp="$path.igngen-new"
    rm -f -- "$tmp"
    (
        umask 077
        # fallocate gives a file without holes at once; dd is the fallback for filesystems without it.
        fallocate -l "$bytes" "$tmp" 2>/dev/null ||
            dd if=/dev/zero of="$tmp" bs=1M count="$size_mib" status=none
    ) || { rm -f -- "$tmp"; die "cannot create $tmp"; }
    chmod 0600 "$tmp"
    run mkswap "$tmp"
    mv -f -- "$tmp" "$path"
    notice "created swap file $path ($size_mib MiB)"
}

main() {
    (($#)) || die "usage: igngen-disk-prepare resource|whole|raid0|swapfile OPTIONS"
    local cmd=$1
    shift
    case $cmd in
        resource) cmd_resource "$@" ;;
        whole) cmd_whole "$@" ;;
        raid0) cmd_raid0 "$@" ;;
        swapfile) cmd_swapfile "$@" ;;
        *) die "unknown command '$cmd'" ;;
    esac
}

main "$@"
