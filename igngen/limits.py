"""Every bound igngen puts on its inputs, in one place (pure, imports nothing).

igngen runs in the initramfs, where running out of memory or time leaves a VM
that never boots and never tells Azure why. So every input has a ceiling, and
each ceiling is named here with the reason for its value. Modules that used to
own a bound re-export it from here; README.md ("Bounds") lists them for users.
"""

from __future__ import annotations

KIB = 1024
MIB = 1024 * KIB

# --- sizes of local and fetched inputs ------------------------------------------

# Azure caps ovf-env.xml far below this (custom data inside it is ≤ 64 KiB base64).
MAX_OVF_BYTES = 512 * KIB
# Files read from the provisioning media: ovf-env.xml ≤ 512 KiB, CustomData.bin ≤ 64 KiB;
# anything bigger is the wrong media.
MAX_MEDIA_FILE_BYTES = 1 * MIB
# A real IMDS instance document is a few KiB; 1 MiB leaves room for many keys and tags.
MAX_IMDS_BYTES = 1 * MIB
# What any data URL or gzip custom data may expand to, counted on the output bytes while
# decompressing (a gzip header's size field is never trusted): big enough for any
# Ignition config a VM can get (Azure's custom data limit is 64 KiB compressed), small
# enough that a bomb cannot exhaust the initramfs' memory.
MAX_DECOMPRESSED = 16 * MIB
# Custom data given as a file or stdin: nothing larger can decompress or parse within
# MAX_DECOMPRESSED anyway.
MAX_CUSTOMDATA_BYTES = MAX_DECOMPRESSED
# Ignition configs given to validate/merge and the image's own base.d configs: the same
# ceiling as custom data, which they are merged with.
MAX_CONFIG_BYTES = MAX_DECOMPRESSED
# Butane documents and their `local:` / `-d` files end up as data URLs in one config.
MAX_BUTANE_BYTES = MAX_DECOMPRESSED
MAX_BUTANE_LOCAL_BYTES = MAX_DECOMPRESSED
# Butane templates and the settings file are hand-written YAML: a few KiB each.
MAX_TEMPLATE_BYTES = 1 * MIB
MAX_SETTINGS_BYTES = 1 * MIB
# waagent.conf is about 5 KiB of KEY=value lines.
MAX_WAAGENT_CONF_BYTES = 1 * MIB
# A dhclient lease file grows by one lease block (≈ 1 KiB) per renewal; networkd's is tiny.
MAX_LEASE_BYTES = 1 * MIB
# A KVP pool holds at most 1024 records of 2560 bytes (the Hyper-V UAPI's limit).
MAX_KVP_POOL_BYTES = 1024 * 2560
# igngen's own state (Ready marker, reports.json) is well under 1 KiB per report kind.
MAX_STATE_BYTES = 1 * MIB

# The detail after a failure's name (``reason=NAME|detail=…``), in UTF-8 bytes: with the
# other fields (result, reason, agent, vm_id, documentation_url, timestamp: about 210
# bytes) the whole report stays within the 512-character health description (cloud-init's
# limit, igngen.azure.wireserver.MAX_DESCRIPTION), so trimming never cuts off the vm_id
# or the timestamp, and within one KVP value, so the host never sees it split.
MAX_FAILURE_DETAIL_BYTES = 256

# --- structure -----------------------------------------------------------------

# JSON nesting: Ignition configs are at most 6 levels deep and IMDS documents 5; 64
# keeps every recursive walk (validate, merge, translate) far from Python's
# recursion limit.
MAX_JSON_DEPTH = 64
# Digits in one JSON integer: Ignition reads numbers into Go's int (19 digits); longer
# ones are never valid, and Python's int() is quadratic on huge digit strings.
MAX_INT_DIGITS = 64
# YAML (templates, Butane, settings): nodes after alias expansion (a billion-laughs
# document is refused after 100 000), and nesting depth.
MAX_YAML_NODES = 100_000
MAX_YAML_DEPTH = 64
# XML (ovf-env.xml, goal state, versions; igngen.azure.xmldoc): Azure's documents nest
# at most 7 levels and hold a few dozen elements (a handful per SSH key), each with at
# most a few attributes. The element count bounds the tree's memory: a 512 KiB document
# of ``<a/>`` would otherwise be 130 000 objects.
MAX_XML_DEPTH = 32
MAX_XML_ELEMENTS = 10_000
MAX_XML_ATTRIBUTES = 32

# --- password hashing cost ---------------------------------------------------------

# bcrypt: 4 is the algorithm's minimum; each step doubles the time, and 14 (≈ 1.7 s on a
# busy 2-core builder, 8x the default 11) is the most a first boot should spend on one hash.
BCRYPT_COST_RANGE = (4, 14)
# SHA-512-crypt: 1000 is the algorithm's own floor (smaller values are clamped by libc,
# so the hash would not mean what the setting says); 5000 is its default; 100 000 (20x)
# takes ≈ 0.2 s in igngen's implementation, while the old limit (10^9) took hours.
SHA512_ROUNDS_RANGE = (1000, 100_000)

# --- numbers and time budgets ----------------------------------------------------------

# Seconds for any timeout or wait (command line or settings): finite, not negative,
# and at most a day; no provisioning step may wait longer than that.
MAX_SECONDS = 86_400.0
# An IMDS resource-disk size in MiB: the largest Azure temporary disk is a few TiB, so
# 64 TiB is far above any real value and far below nonsense.
MAX_RESOURCE_DISK_MIB = 64 * MIB

# How long a KVP write waits for another writer's lock: KVP is telemetry, and a lock
# held for ever (a stuck writer) must cost a boot no more than this.
KVP_LOCK_SECONDS = 5.0

# --- boot services the rendered config installs ------------------------------------

# How long an ephemeral disk's prepare service (blank/NTFS check, mkfs, md assembly) may
# run: mkfs of a multi-TiB disk without lazy init takes minutes, not hours.
DISK_PREPARE_SECONDS = 600
# How long the mount waits for its filesystem's device (by label, /dev/md/…). That
# device appears only once the prepare service has made it, so the wait must outlast
# the prepare (systemd's 90 s default would fail the mount of a slowly formatted disk).
DISK_DEVICE_WAIT_SECONDS = DISK_PREPARE_SECONDS + 60
# Local NVMe disks one VM may list (``disks.nvme.disks`` / ``disks.nvme.count``): each is
# one template rendering (``# igngen:each``) and one set of units in the initramfs's
# config. Azure's largest storage-optimised sizes have 10 local NVMe disks today; 64
# leaves room for new sizes and refuses a typo such as ``count: 1000``.
MAX_NVME_DISKS = 64

# --- the provisioning boot as a whole -----------------------------------------------

# `igngen provision` ends by this many seconds whatever its budgets say: Azure gives a
# Linux VM 20 minutes to report Ready, and the boot after igngen (Ignition, the real
# root, the Ready report) needs some of it. igngen-provision.service's TimeoutStartSec
# is this plus PROVISION_BACKSTOP_SECONDS, so igngen's own deadline (which records a
# reason) fires first and systemd's (which can only kill) only if igngen is stuck where
# no signal reaches it (a read in uninterruptible sleep).
MAX_PROVISION_SECONDS = 900.0
PROVISION_BACKSTOP_SECONDS = 30.0
# What the steps without a budget of their own may take together: blkid/mount/umount
# of the media after its wait (each has a 30 s timeout), udevadm settle (15 s), the
# render (one password hash at the highest cost ≈ 2 s), the hand-off and KVP writes.
MEDIA_COMMANDS_SECONDS = 90.0
# `eject` of the provisioning DVD once read (WALinuxAgent and azure-init eject it too):
# a stuck drive costs at most this, and never fails the boot.
MEDIA_EJECT_SECONDS = 10.0
# `ignition -version` (the output spec follows the initramfs's Ignition): a Go binary that
# prints one line; more time or text than this means it is not the Ignition we know.
IGNITION_VERSION_SECONDS = 5.0
IGNITION_VERSION_BYTES = 4096
UDEV_SETTLE_SECONDS = 15.0
PROVISION_WORK_SECONDS = 60.0
