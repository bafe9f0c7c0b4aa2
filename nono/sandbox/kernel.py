"""What this kernel can enforce, and the plan that maps a policy onto it (or refuses)."""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass

import landlockpy
from landlockpy import AccessFS, AccessNet, Scope

from nono.errors import NonoError
from nono.sandbox.policy import Policy

PR_GET_SECCOMP = 21

# What each Landlock ABI added, for `nono setup --check-only` and refusal messages.
ABI_FEATURES = {
    1: "filesystem access control",
    2: "file reparenting (rename/link across directories)",
    3: "file truncation",
    4: "TCP bind/connect rules",
    5: "device ioctl rules",
    6: "scoping of signals and abstract Unix sockets",
    7: "audit logging of denials",
}
MIN_ABI_NET = 4
MIN_ABI_SCOPE = 6


@dataclass(frozen=True)
class Kernel:
    release: str
    landlock_abi: int
    landlock_problem: str | None
    seccomp: bool
    seccomp_problem: str | None
    # Why this user cannot create the private view's namespaces, with how to allow it.
    userns_problem: str | None = None


def _landlock() -> tuple[int, str | None]:
    try:
        abi = landlockpy.abi_version()
    except OSError as exc:
        return 0, f"the Landlock syscalls fail: {exc.strerror or exc}"
    if abi == 0:
        return 0, "Landlock is not available (kernel too old, or not enabled with lsm=landlock)"
    return abi, None


def _seccomp() -> tuple[bool, str | None]:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0:
        err = ctypes.get_errno()
        return False, f"the kernel has no seccomp support ({os.strerror(err)})"
    try:
        import pyseccomp  # noqa: F401  (loads libseccomp)
    except Exception as exc:
        return False, f"libseccomp cannot be loaded ({exc}); install libseccomp2"
    return True, None


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _userns() -> str | None:
    """Settings that forbid the user namespaces the private view is built in (read, not
    tried: `nono setup --check-only` tries)."""
    if _read("/proc/sys/user/max_user_namespaces") == "0":
        return ("user namespaces are disabled (user.max_user_namespaces = 0); enable them: "
                "sudo sysctl -w user.max_user_namespaces=10000")  # fmt: skip
    if os.getuid() == 0:
        return None
    if _read("/proc/sys/kernel/unprivileged_userns_clone") == "0":
        return ("unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone "
                "= 0); enable them: sudo sysctl -w kernel.unprivileged_userns_clone=1")  # fmt: skip
    if _read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1":
        return ("AppArmor restricts unprivileged user namespaces "
                "(kernel.apparmor_restrict_unprivileged_userns = 1, Ubuntu 23.10+); allow them: "
                "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, and put that "
                "line in /etc/sysctl.d/60-nono.conf to keep it")  # fmt: skip
    return None


def probe() -> Kernel:
    abi, ll_problem = _landlock()
    sc, sc_problem = _seccomp()
    return Kernel(os.uname().release, abi, ll_problem, sc, sc_problem, _userns())


@dataclass(frozen=True)
class Plan:
    """How a policy is enforced on a given kernel. Built by `plan()`, which refuses or succeeds."""

    abi: int
    handled_fs: AccessFS
    handled_net: AccessNet
    scoped: Scope
    # seccomp network rules: which socket() calls fail.
    deny_inet: bool  # every AF_INET/AF_INET6 socket
    deny_inet_non_tcp: bool  # AF_INET/AF_INET6 sockets other than plain TCP streams
    deny_other_families: bool  # every family but AF_UNIX, AF_INET, AF_INET6
    notes: tuple[str, ...]
    # A host list: the child's own network namespace (only loopback) and its proxy. seccomp
    # then refuses raw and packet sockets and every family a namespace does not confine.
    private_net: bool = False


def plan(policy: Policy, kernel: Kernel) -> Plan:
    """Map the policy onto the kernel; raise NonoError if any part cannot be enforced."""
    if kernel.landlock_abi < 1:
        raise NonoError(
            f"cannot sandbox: {kernel.landlock_problem} on kernel {kernel.release}",
            "nono needs Landlock (Linux 5.13+); it refuses to run unconfined",
        )
    if not kernel.seccomp:
        raise NonoError(
            f"cannot sandbox: {kernel.seccomp_problem}", "nono refuses to run unconfined"
        )
    if kernel.userns_problem:
        raise NonoError(
            f"cannot build the sandbox's private view: {kernel.userns_problem}",
            "nono refuses to run without it (it hides host sockets, terminals and processes)",
        )
    abi = kernel.landlock_abi
    notes = [f"filesystem: Landlock ABI {abi}"]

    scoped = Scope.NONE
    if policy.isolate_ipc:
        if abi < MIN_ABI_SCOPE:
            raise NonoError(
                f"cannot isolate signals and abstract sockets: Landlock ABI {abi} lacks scopes "
                f"(needs ABI {MIN_ABI_SCOPE}, Linux 6.12)",
                "pass --unscoped to run without that isolation",
            )
        scoped = Scope.SIGNAL | Scope.ABSTRACT_UNIX_SOCKET
        notes.append("signals and abstract Unix sockets: scoped to the sandbox (Landlock)")
    elif abi >= MIN_ABI_SCOPE:
        raise NonoError(
            f"--unscoped is refused: this kernel scopes signals and abstract sockets "
            f"(Landlock ABI {abi})",
            "drop --unscoped; it exists only for kernels before 6.12",
        )
    else:
        notes.append("signals and abstract Unix sockets: NOT scoped (--unscoped)")

    net = policy.network
    handled_net = AccessNet.NONE
    deny_inet = deny_inet_non_tcp = deny_other = False
    ports = net.open_ports or net.connect_ports
    if net.blocked:
        deny_other = True
        if abi >= MIN_ABI_NET:
            handled_net = AccessNet.BIND_TCP | AccessNet.CONNECT_TCP
        if ports:
            if abi < MIN_ABI_NET:
                raise NonoError(
                    f"cannot open single TCP ports: Landlock ABI {abi} has no TCP rules "
                    f"(needs ABI {MIN_ABI_NET}, Linux 6.7)",
                    "drop --allow-port/--allow-connect-port to block all networking",
                )
            deny_inet_non_tcp = True
            notes.append("TCP: denied except the listed ports (Landlock)")
            notes.append("UDP, raw and other socket families: denied (seccomp)")
        else:
            deny_inet = True
            how = "seccomp and Landlock" if handled_net else "seccomp"
            notes.append(f"all IP sockets and other non-Unix families: denied ({how})")
    elif net.filtered:
        deny_other = True
        if abi >= MIN_ABI_NET:
            handled_net = AccessNet.BIND_TCP | AccessNet.CONNECT_TCP
            notes.append("TCP: connect to the proxy's port only, bind nowhere (Landlock)"
                         + (", except the listed ports, on the sandbox's own loopback"
                            if ports else ""))  # fmt: skip
        else:
            notes.append(f"TCP ports: not limited (Landlock ABI {abi}); the namespace alone "
                         "keeps the child to its proxy")  # fmt: skip
        notes.append("network: a namespace of its own with only loopback; the listed hosts "
                     "only through nono's proxy (no direct TCP, UDP or DNS out)")  # fmt: skip
        notes.append("raw, packet and non-IP socket families: denied (seccomp)")
    else:
        notes.append("network: allowed")

    return Plan(
        abi=abi,
        handled_fs=landlockpy.fs_for_abi(abi),
        handled_net=handled_net,
        scoped=scoped,
        deny_inet=deny_inet,
        deny_inet_non_tcp=deny_inet_non_tcp,
        deny_other_families=deny_other,
        notes=tuple(notes),
        private_net=net.filtered,
    )
