"""Every message the Butane translator reports, in one place (the whole vocabulary of failure).

Wording is ours; the cases follow Butane's ``config/common/errors.go`` so that a
document Butane refuses is refused here too, for the same reason.
"""

# document shape
UNKNOWN_KEY = "unknown key {key!r}"
EXPECTED_MAP = "expected a mapping"
EXPECTED_LIST = "expected a list"
EXPECTED_TYPE = "expected {kind}"
MISSING_VARIANT = "missing 'variant' (e.g. 'flatcar')"
MISSING_VERSION = "missing 'version' (e.g. '1.0.0')"
UNKNOWN_VARIANT = "unsupported variant/version {variant} {version} (supported: {supported})"
FCOS_ONLY = "{key!r} is a Fedora CoreOS feature that igngen's Butane does not translate"

# resources, local files and trees
TOO_MANY_SOURCES = "only one of 'source', 'inline' and 'local' may be set"
TOO_MANY_UNIT_SOURCES = "only one of 'contents' and 'contents_local' may be set"
NEEDS_FILES_DIR = "'{key}' reads a local file, which needs a files directory (-d/--files-dir)"
LOCAL_ESCAPES = "local path {path!r} leads outside the files directory"
LOCAL_UNREADABLE = "cannot read local file {path!r}: {reason}"
NOT_UTF8 = "file {path!r} is not UTF-8 text"
TREE_NO_LOCAL = "a tree needs 'local'"
TREE_NOT_DIR = "tree {path!r} is not a directory"
TREE_PATH = "tree 'path' must be absolute"
TREE_FILE_TYPE = "tree entry {path!r} is not a file, directory or symlink"
TREE_CONFLICT = "{path!r} from storage.trees is already declared with contents or as another kind"
INLINE_CONFIG = "embedded Ignition config is invalid: {reason}"

# filesystem nodes (warnings)
DECIMAL_MODE = (
    "mode {mode} looks like octal written in decimal; write it with a leading zero (0{mode})"
)
SPECIAL_MODE_BITS = (
    "mode {mode:o} has setuid/setgid/sticky bits, which Ignition ignores before spec 3.6.0"
)

# mount units
MOUNT_UNIT_FORMAT = "with_mount_unit needs 'format'"
MOUNT_UNIT_PATH = "with_mount_unit needs 'path' unless the format is swap"

# --strict
STRICT = "{warning} (a warning, treated as an error: strict mode)"

# fcos partition layout (warnings)
ROOT_TOO_SMALL = "the root partition should have at least 8 GiB (8192 MiB)"
ROOT_CONSTRAINED = (
    "the root partition fills the free space but an auto-positioned partition follows it,"
    " so it cannot grow"
)
WRONG_PARTITION_NUMBER = (
    "partition label {label!r} is reserved for partition {number} of the boot disk;"
    " a new partition would be created instead"
)

# variants whose target spec igngen does not know yet
PENDING_SPEC = (
    "variant {variant} {version} produces Ignition spec {spec}, which igngen does not support yet"
    " (supported: {supported})"
)
LUKS_REFUSED = "storage.luks.{field}: {reason} (variant {variant} {version})"
QUADLET_EXTENSION = (
    "quadlet {name!r}: the name must end in .container, .volume, .network, .kube, .image,"
    " .build, .pod or .artifact"
)
QUADLET_INSTANCE_CONTENTS = (
    "quadlet {name!r} is a template instance (a link to its template): it cannot have contents"
)
QUADLET_EXISTS = "quadlet path {path!r} is already declared in storage"
TREE_OWNERSHIP = (
    "storage.trees '{key}' (variant {variant} {version}) is not translated by igngen yet"
)

# embedded merge/replace configs (warning, as Butane's ErrUnkownIgnitionVersion)
EMBEDDED_OTHER_SPEC = (
    "embedded Ignition config declares version {version!r}, not {spec}: not validated"
    " (Butane skips it too)"
)

# Ignition's own warnings on the generated config (config/v3_*/types), which Butane reports
NO_INSTALL_SECTION = 'unit "{name}" is enabled, but has no install section so enable does nothing'
TEMPLATE_NO_INSTALL = 'template unit "{template}" for "{name}" doesn\'t have Install section'
INSECURE_PROXY = "insecure plaintext HTTP proxy specified for HTTPS resources"
HARD_LINK_OWNER = "user/group ignored for hard link"
PARTITIONS_OVERWRITTEN = "filesystem overwrites partitioned device"
IMPLICIT_WIPE = "device matches disk with wipeTable enabled; filesystem will be wiped"

# fcos boot_device and grub (config/fcos/v1_*/validate.go)
MIRROR_REQUIRES_LAYOUT = (
    "boot_device.layout should be specified when boot_device.mirror is specified"
)
BOOT_LAYOUT = "layout must be one of: aarch64, ppc64le, x86_64"
BOOT_LAYOUT_S390X = (
    "layout must be one of: aarch64, ppc64le, s390x-eckd, s390x-virt, s390x-zfcp, x86_64"
)
NO_LUKS_BOOT_DEVICE = "device is required for layouts: s390x-eckd, s390x-zfcp"
LUKS_BOOT_DEVICE_NAME = (
    "device name must start with /dev/dasd on s390x-eckd layout or /dev/sd on s390x-zfcp layout"
)
MIRROR_NOT_SUPPORTED = "mirroring not supported on layouts: s390x-eckd, s390x-zfcp, s390x-virt"
CEX_ARCH = "when using cex the targeted architecture must match s390x"
CEX_WITH_CLEVIS = "cannot use cex with clevis"
TOO_FEW_MIRROR_DEVICES = "mirroring requires at least two devices"
NO_LUKS_METHOD = "no method specified for luks"
GRUB_NO_NAME = 'field "name" is required'
GRUB_NO_PASSWORD = 'field "password_hash" is required'
REUSE_BY_LABEL = (
    "partitions cannot be reused by label; number must be specified except on boot disk"
    " (/dev/disk/by-id/coreos-boot-disk) or when wipe_table is true"
)
MOUNTPOINT_FORBIDDEN = "path must be under /etc or /var if with_mount_unit is true"
