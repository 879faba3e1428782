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
CLEVIS_FLATCAR = "storage.luks.clevis is not supported by variant flatcar {version}"

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
EMBEDDED_UNKNOWN_VERSION = "embedded Ignition config has unknown version {version!r}; not checked"

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
