"""Capabilities a confined child never keeps, even as root.

Measured on this kernel (6.18, Landlock ABI 7): a Landlocked root process holding CAP_SYS_ADMIN
(or CAP_PERFMON / CAP_CHECKPOINT_RESTORE) can still read /proc/PID/environ and maps of processes
outside its sandbox. Dropping these from the bounding set before exec closes that, and takes
away the rest of root's kernel-administration powers an agent has no use for.
"""

from __future__ import annotations

import ctypes
import os

PR_CAPBSET_DROP = 24
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4

# linux/capability.h numbers.
DROPPED = {
    "CAP_LINUX_IMMUTABLE": 9,
    "CAP_NET_ADMIN": 12,
    "CAP_NET_RAW": 13,
    "CAP_SYS_MODULE": 16,
    "CAP_SYS_RAWIO": 17,
    "CAP_SYS_PTRACE": 19,
    "CAP_SYS_PACCT": 20,
    "CAP_SYS_ADMIN": 21,
    "CAP_SYS_BOOT": 22,
    "CAP_SYS_TIME": 25,
    "CAP_SYS_TTY_CONFIG": 26,
    "CAP_MKNOD": 27,
    "CAP_AUDIT_CONTROL": 30,
    "CAP_SETFCAP": 31,
    "CAP_MAC_OVERRIDE": 32,
    "CAP_MAC_ADMIN": 33,
    "CAP_SYSLOG": 34,
    "CAP_AUDIT_READ": 37,
    "CAP_PERFMON": 38,
    "CAP_BPF": 39,
    "CAP_CHECKPOINT_RESTORE": 40,
}


def _last_cap() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return int(f.read())
    except OSError:
        return 40


def drop_bounding() -> None:
    """Drop DROPPED from the bounding set (exec then recomputes root's caps without them)."""
    libc = ctypes.CDLL(None, use_errno=True)
    last = _last_cap()
    # Ambient caps would survive exec for non-root; nono's children get none.
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    for number in DROPPED.values():
        if number > last:
            continue
        if libc.prctl(PR_CAPBSET_DROP, number, 0, 0, 0) != 0:
            err = ctypes.get_errno()
            # Without CAP_SETPCAP (any non-root user) the caps were never there to drop.
            if os.geteuid() == 0:
                raise OSError(err, f"cannot drop capability {number}: {os.strerror(err)}")
