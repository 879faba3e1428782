"""End-to-end boot harness: builds a Debian stand-in OS image, kernel, initramfs and
provisioning media (cached by the hash of their inputs) and boots them under QEMU.

Nothing here is installed on the host: the kernel is unpacked with ``dpkg -x``, dracut
runs from a private copy of ``/usr/lib/dracut``, and the guest's only network peers are
listeners on the host's 127.0.0.1 (QEMU user networking with ``restrict=on``).
"""
