"""`nono setup`: what this kernel can enforce, and what nono will refuse here."""

from __future__ import annotations

import argparse
import json
import stat
from pathlib import Path

from nono import paths
from nono.sandbox.kernel import ABI_FEATURES, MIN_ABI_NET, MIN_ABI_SCOPE, probe


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check-only", action="store_true", help="only report; create nothing")
    parser.add_argument("--json", action="store_true", help="JSON output")


def execute(args: argparse.Namespace) -> int:
    k = probe()
    refuses = []
    if k.landlock_abi < 1:
        refuses.append(f"every run: {k.landlock_problem}")
    if not k.seccomp:
        refuses.append(f"every run: {k.seccomp_problem}")
    if 0 < k.landlock_abi < MIN_ABI_SCOPE:
        refuses.append("runs without --unscoped (signal/abstract-socket scoping needs ABI 6)")
    from nono.sandbox.view import trial

    view_problem = k.userns_problem or trial()
    if view_problem:
        refuses.append(f"every run: the private view cannot be built: {view_problem}")
    if 0 < k.landlock_abi < MIN_ABI_NET:
        refuses.append(
            "--allow-port/--allow-connect-port (TCP rules need ABI 4); "
            "--block-net still works through seccomp"
        )
    features = [f for abi, f in ABI_FEATURES.items() if abi <= k.landlock_abi]
    report = {
        "kernel": k.release,
        "landlock_abi": k.landlock_abi,
        "landlock_features": features,
        "landlock_problem": k.landlock_problem,
        "seccomp": k.seccomp,
        "seccomp_problem": k.seccomp_problem,
        "private_view": view_problem is None,
        "private_view_problem": view_problem,
        "refuses": refuses,
        "state_dir": str(paths.state_dir()),
        "config_dir": str(paths.config_dir()),
    }
    if not args.check_only:
        paths.ensure_private_dir(paths.state_dir())
        _usable_config_dir(paths.config_dir())
        paths.user_profiles_dir().mkdir(mode=0o700, exist_ok=True)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"kernel      {k.release}")
        if k.landlock_abi:
            print(f"landlock    ABI {k.landlock_abi}")
            for feature in features:
                print(f"              {feature}")
        else:
            print(f"landlock    unavailable: {k.landlock_problem}")
        print("seccomp     " + ("available" if k.seccomp else f"unavailable: {k.seccomp_problem}"))
        print("view        " + ("user, mount, PID and IPC namespaces work" if not view_problem
                                 else f"unavailable: {view_problem}"))  # fmt: skip
        print("nono refuses " + ("nothing on this machine" if not refuses else ""))
        for item in refuses:
            print(f"  - {item}")
        if not args.check_only:
            print(f"state       {report['state_dir']} (0700)")
            mode = stat.S_IMODE(paths.config_dir().stat().st_mode)
            print(f"config      {report['config_dir']} ({mode:04o})")
    return 0 if k.landlock_abi and k.seccomp and not view_problem else 1


def _usable_config_dir(path: Path) -> None:
    """Create the config directory (0700) if needed. Every command reads an existing one that
    only its owner can write (a 755 one included), so setup accepts the same; what others could
    write (profiles that widen the sandbox, config) is refused."""
    paths.ensure_own_dir(path)
