"""`nono profile list|show|validate`: the profiles a person can use, resolved and checked."""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

from nono.errors import NonoError
from nono.sandbox import profile as profiles

# typing costs start-up time to import; annotations here are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="list built-in and user profiles")
    ls.add_argument("--json", action="store_true")
    show = sub.add_parser("show", help="show a profile with everything it extends merged in")
    show.add_argument("name")
    show.add_argument("--json", action="store_true")
    check = sub.add_parser("validate", help="check a profile file or name; errors name file:line")
    check.add_argument("name")
    check.add_argument("--json", action="store_true")


def execute(args: argparse.Namespace) -> int:
    return {"list": _list, "show": _show, "validate": _validate}[args.action](args)


def _list(args: argparse.Namespace) -> int:
    rows: list[dict[str, Any]] = []
    for name, path in profiles.available().items():
        description, problem = "", None
        try:
            description = profiles.load_file(path).description
            profiles.resolve(str(path))  # what it extends must load too, or no run can use it
        except NonoError as exc:
            problem = exc.one_line()
        origin = "built-in" if profiles.is_builtin(path) else "user"
        rows.append(
            {
                "name": name,
                "origin": origin,
                "file": str(path),
                "description": description,
                "error": problem,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max((len(r["name"]) for r in rows), default=4)
    for r in rows:
        text = r["description"] if not r["error"] else f"BROKEN: {r['error']}"
        print(f"{r['name'].ljust(width)}  {r['origin']:<8}  {text}")
    return 0


def _show(args: argparse.Namespace) -> int:
    resolved = profiles.resolve(args.name)
    data = resolved.to_dict()
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    print(f"{data['name']}: {data['description']}")
    rows = [
        ("file", data["file"]),
        ("extends", " -> ".join(data["chain"])),
        ("groups", ", ".join(["system", "tmp", *data["groups"]])),
    ]
    rows += [(kind, item) for kind, items in data["filesystem"].items() for item in items]
    net = data["network"]
    network = "blocked" if net["block"] else "allowed"
    if net["allow_port"] or net["allow_connect_port"]:
        network += f"; ports {net['allow_port']} connect {net['allow_connect_port']}"
    rows += [("network", network), ("workdir", f"{data['workdir']['access']} (with --allow-cwd)")]
    env = data["env"]
    if env["allow"] is not None:
        rows.append(("env allow", ", ".join(env["allow"])))
    if env["deny"]:
        rows.append(("env deny", ", ".join(env["deny"])))
    if env.get("pass"):
        rows.append(("env pass", ", ".join(env["pass"])))
    rows += [("env set", f"{key}={value}") for key, value in env["set"].items()]
    agent = data["agent"]
    if agent["kind"] or agent["commands"]:
        runs = f" (runs as {', '.join(agent['commands'])})" if agent["commands"] else ""
        rows.append(("agent", f"{agent['kind'] or 'unnamed'}{runs}"))
    rows += [("agent dir", path) for path in agent["state"]]
    if agent["args"]:
        rows.append(("agent arg", shlex.join(agent["args"])))
    rows += [("adopts", f"{beside} -> {inside}") for beside, inside in agent["adopt"].items()]
    # A label as wide as the column (allow_file) widens it: no label runs into its value.
    width = max(10, *(len(label) + 1 for label, _ in rows))
    for label, value in rows:
        print(f"  {label:<{width}}{value}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    target = args.name
    path = Path(target)
    try:
        resolved = profiles.resolve(str(path) if path.exists() else target)
    except NonoError as exc:
        if args.json:
            payload = {"valid": False, "error": exc.message, "hint": exc.hint}
            for attr in ("file", "line", "key"):
                payload[attr] = getattr(exc, attr, None)
            print(json.dumps(payload, indent=2))
            return 1
        raise
    if args.json:
        print(json.dumps({"valid": True, "name": resolved.name, "file": resolved.file}))
    else:
        print(f"{resolved.file}: valid ({' -> '.join(resolved.chain)})")
    return 0
