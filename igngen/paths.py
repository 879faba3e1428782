"""Every path igngen reads or writes at run time, in one place (pure data).

Each is also an option or a setting, so tests and images point them elsewhere; these
are the defaults on a Flatcar-like system. The initramfs's state lives in /run, which
survives switch-root (so the real root's reporter and KVP flush find it); /var does not.
"""

from __future__ import annotations

import os

# --- in the initramfs (written by `igngen provision`) ------------------------------
INITRD_STATE_DIR = "/run/igngen"  # failure-reason, pps.json
FAILURE_REASON_NAME = "failure-reason"
FAILURE_REASON = f"{INITRD_STATE_DIR}/{FAILURE_REASON_NAME}"
HANDOFF_DIR = f"{INITRD_STATE_DIR}/ignition"  # IGNITION_SYSTEM_CONFIG_DIR (sysdir layout)
MEDIA_MOUNT_BASE = f"{INITRD_STATE_DIR}/media"
INITRD_KVP_POOL = f"{INITRD_STATE_DIR}/kvp_pool_1"  # flushed into the real pool later
INITRD_MARKER = "/etc/initrd-release"  # present only inside an initramfs

# --- Ignition ----------------------------------------------------------------------
IGNITION_BINARY = "/usr/bin/ignition"  # where Ignition's dracut module installs it
IGNITION_IMAGE_DIR = "/usr/lib/ignition"  # the image's own base configs
IGNITION_RUNTIME_DIR = "/run/ignition"  # searched by Ignition >= 2.27 (runtime layout)

# --- the real root -----------------------------------------------------------------
READY_STATE_DIR = "/var/lib/igngen"  # ready.json, reports.json
READY_MARKER_NAME = "ready.json"  # in the state dir: the Ready the Wireserver accepted
KVP_POOL = "/var/lib/hyperv/.kvp_pool_1"  # hv_kvp_daemon's guest-to-host pool
VM_ID_FILE = "/sys/class/dmi/id/product_uuid"
IGNGEN_COMMAND = "/usr/bin/igngen"

# --- templates, searched in this order after --templates and settings' dirs ----------
TEMPLATE_DIRS = ("/run/igngen/templates", "/etc/igngen/templates", "/usr/lib/igngen/templates")

# --- files shipped inside the package (read-only) -----------------------------------
PACKAGE_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
