#!/bin/sh
# The stand-in root has no SELinux policy: relabelling is a no-op.
cat >/dev/null
exit 0
