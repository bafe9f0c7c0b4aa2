"""The seccomp filter: syscalls no agent needs, and socket families a blocked network forbids."""

from __future__ import annotations

import errno
import socket

from nono.errors import NonoError
from nono.sandbox.kernel import Plan

# Each refused with EPERM. Tracing other processes, kernel attack surface that sandboxes
# routinely close (io_uring bypasses seccomp's view of syscalls; bpf), the kernel keyring,
# loading kernel code, and mount-namespace tricks.
DENIED_SYSCALLS = (
    "ptrace", "process_vm_readv", "process_vm_writev",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "bpf", "perf_event_open", "userfaultfd",
    "add_key", "request_key", "keyctl",
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
    "open_by_handle_at", "mount", "umount2", "pivot_root", "move_mount", "open_tree",
    "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
    "reboot", "swapon", "swapoff",
)  # fmt: skip

# Argument filters for what a PID namespace does not scope. TIOCSTI types into a terminal's
# input (the person's shell, if the child ever held it); TIOCLINUX reaches the Linux console.
# PRIO_USER and IOPRIO_WHO_USER name every process of a user, inside the sandbox or not.
TIOCSTI = 0x5412
TIOCLINUX = 0x541C
PRIO_USER = 2
IOPRIO_WHO_USER = 3

_INET = (socket.AF_INET, socket.AF_INET6)
_AF_NETLINK = 16
_NETLINK_ROUTE = 0
_SOCK_RAW = 3
_SOCK_PACKET = 10
_IPPROTO_SCTP = 132
_IPPROTO_MPTCP = 262
_SOCK_TYPE_MASK = 0xF


def build_filter(plan: Plan):  # -> pyseccomp.SyscallFilter
    """A filter ready to load in the child (default allow, listed calls refused)."""
    import pyseccomp as sc

    eperm, eacces = sc.ERRNO(errno.EPERM), sc.ERRNO(errno.EACCES)
    try:
        flt = sc.SyscallFilter(sc.ALLOW)
        for name in DENIED_SYSCALLS:
            flt.add_rule(eperm, name)
        for request in (TIOCSTI, TIOCLINUX):
            flt.add_rule(eperm, "ioctl", sc.Arg(1, sc.MASKED_EQ, 0xFFFFFFFF, request))
        flt.add_rule(eperm, "setpriority", sc.Arg(0, sc.EQ, PRIO_USER))
        flt.add_rule(eperm, "ioprio_set", sc.Arg(0, sc.EQ, IOPRIO_WHO_USER))
        if plan.deny_other_families:
            # Families are small integers: refuse 0 and everything from 3 up except AF_INET6
            # (and, in a private network namespace, route netlink: getifaddrs() needs it and
            # it shows only that namespace's loopback). AF_VSOCK and friends are not confined
            # by a network namespace at all.
            netlink = plan.private_net
            for family in (0, *range(3, socket.AF_INET6)):
                flt.add_rule(eacces, "socket", sc.Arg(0, sc.EQ, family))
            for family in range(socket.AF_INET6 + 1, 64):
                if netlink and family == _AF_NETLINK:
                    flt.add_rule(eacces, "socket", sc.Arg(0, sc.EQ, family),
                                 sc.Arg(2, sc.NE, _NETLINK_ROUTE))  # fmt: skip
                else:
                    flt.add_rule(eacces, "socket", sc.Arg(0, sc.EQ, family))
            flt.add_rule(eacces, "socket", sc.Arg(0, sc.GE, 64))
        if plan.private_net:
            # No raw IP or packet sockets (they would need CAP_NET_RAW, which the agent lacks:
            # this holds if that ever changes). Other IP sockets reach only its loopback.
            for family in _INET:
                for kind in (_SOCK_RAW, _SOCK_PACKET):
                    flt.add_rule(eacces, "socket", sc.Arg(0, sc.EQ, family),
                                 sc.Arg(1, sc.MASKED_EQ, _SOCK_TYPE_MASK, kind))  # fmt: skip
        if plan.deny_inet:
            for family in _INET:
                flt.add_rule(eacces, "socket", sc.Arg(0, sc.EQ, family))
        elif plan.deny_inet_non_tcp:
            for family in _INET:
                for kind in range(_SOCK_TYPE_MASK + 1):
                    if kind != socket.SOCK_STREAM:
                        flt.add_rule(
                            eacces,
                            "socket",
                            sc.Arg(0, sc.EQ, family),
                            sc.Arg(1, sc.MASKED_EQ, _SOCK_TYPE_MASK, kind),
                        )
                # Landlock's TCP rules cover TCP only: SCTP and MPTCP streams must not pass.
                for proto in (_IPPROTO_SCTP, _IPPROTO_MPTCP):
                    flt.add_rule(
                        eacces, "socket", sc.Arg(0, sc.EQ, family), sc.Arg(2, sc.EQ, proto)
                    )
    except OSError as exc:
        raise NonoError(
            f"cannot build the seccomp filter: {exc}", "libseccomp may be too old; upgrade it"
        ) from None
    return flt
