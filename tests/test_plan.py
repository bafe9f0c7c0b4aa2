"""How a policy maps onto kernels of every Landlock ABI: enforce it fully or refuse (pure)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from landlockpy import AccessNet, Scope

from nono.errors import NonoError
from nono.sandbox.kernel import Kernel, plan
from nono.sandbox.policy import NetworkPolicy, Policy


def kernel(abi: int, seccomp: bool = True) -> Kernel:
    problem = None if abi else "Landlock is not available"
    return Kernel("test", abi, problem, seccomp, None if seccomp else "no seccomp")


def policy(*, blocked=False, ports=(), connect=(), isolate=True) -> Policy:
    net = NetworkPolicy(blocked=blocked, open_ports=ports, connect_ports=connect)
    return Policy(grants=(), protected=(), network=net, isolate_ipc=isolate)


def test_no_landlock_is_refused():
    with pytest.raises(NonoError, match="refuses to run unconfined"):
        plan(policy(), kernel(0))


def test_no_seccomp_is_refused():
    with pytest.raises(NonoError, match="no seccomp"):
        plan(policy(), kernel(7, seccomp=False))


@pytest.mark.parametrize("abi", [1, 2, 3, 4, 5])
def test_kernels_without_scopes_refuse_unless_unscoped_is_asked(abi):
    with pytest.raises(NonoError, match="--unscoped"):
        plan(policy(), kernel(abi))
    p = plan(policy(isolate=False), kernel(abi))
    assert p.scoped == Scope.NONE
    assert any("NOT scoped" in note for note in p.notes)


def test_abi_6_and_up_scope_signals_and_abstract_sockets():
    p = plan(policy(), kernel(6))
    assert p.scoped == Scope.SIGNAL | Scope.ABSTRACT_UNIX_SOCKET


@pytest.mark.parametrize("abi", [1, 2, 3])
def test_block_net_before_abi_4_falls_back_to_seccomp_alone(abi):
    p = plan(policy(blocked=True, isolate=False), kernel(abi))
    assert p.handled_net == AccessNet.NONE
    assert p.deny_inet and p.deny_other_families
    assert any("(seccomp)" in note for note in p.notes)


@pytest.mark.parametrize("abi", [1, 2, 3])
def test_single_ports_before_abi_4_are_refused(abi):
    with pytest.raises(NonoError, match="no TCP rules"):
        plan(policy(blocked=True, ports=(8080,), isolate=False), kernel(abi))
    with pytest.raises(NonoError, match="no TCP rules"):
        plan(policy(blocked=True, connect=(443,), isolate=False), kernel(abi))


def test_block_net_on_abi_4_uses_landlock_and_seccomp():
    p = plan(policy(blocked=True, isolate=False), kernel(4))
    assert p.handled_net == AccessNet.BIND_TCP | AccessNet.CONNECT_TCP
    assert p.deny_inet and p.deny_other_families


def test_open_ports_keep_tcp_sockets_but_refuse_other_ip_sockets():
    p = plan(policy(blocked=True, ports=(8080,)), kernel(7))
    assert p.handled_net == AccessNet.BIND_TCP | AccessNet.CONNECT_TCP
    assert not p.deny_inet
    assert p.deny_inet_non_tcp and p.deny_other_families


def test_open_network_handles_no_network_rights():
    p = plan(policy(), kernel(7))
    assert p.handled_net == AccessNet.NONE
    assert not (p.deny_inet or p.deny_inet_non_tcp or p.deny_other_families)


def test_unscoped_is_refused_where_the_kernel_scopes(nono):
    # A run without scoping typed into another session on 6.18: where the kernel can scope,
    # nothing justifies turning it off.
    r = nono("run", "--unscoped", "--", "true")
    assert r.returncode == 1
    assert "--unscoped" in r.stderr and "scope" in r.stderr


def test_unscoped_plan_is_refused_on_a_scoping_kernel():
    with pytest.raises(NonoError, match="unscoped"):
        plan(policy(isolate=False), kernel(6))


def test_unscoped_plan_is_allowed_on_an_older_kernel():
    assert plan(policy(isolate=False), kernel(5)).scoped == Scope.NONE


def test_a_kernel_that_forbids_user_namespaces_is_refused_with_how_to_allow_them():
    k = Kernel("6.8.0", 7, None, True, None,
               userns_problem="AppArmor restricts unprivileged user namespaces (...); allow them: "
               "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0")  # fmt: skip
    with pytest.raises(NonoError, match="private view") as info:
        plan(policy(), k)
    assert "apparmor_restrict_unprivileged_userns=0" in info.value.one_line()


def test_setup_reports_that_the_private_view_works_here(nono):
    import json

    r = nono("setup", "--check-only", "--json")
    report = json.loads(r.stdout)
    assert report["private_view"] is True, report["private_view_problem"]


def test_a_bad_process_limit_in_a_profile_names_file_line_and_key(nono, home):
    profiles = Path(os.environ["XDG_CONFIG_HOME"]) / "nono" / "profiles"
    profiles.mkdir(parents=True)
    (profiles / "tight.yaml").write_text("extends: default\nlimits:\n  processes: lots\n")
    r = nono("run", "--profile", "tight", "--", "true")
    assert r.returncode == 1
    assert "tight.yaml" in r.stderr and ":3" in r.stderr and "processes" in r.stderr
