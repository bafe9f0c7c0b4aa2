"""A local stand-in for the Anthropic Messages and OpenAI Responses APIs, so the real Claude Code
and Codex CLIs reach their permission prompts, spinners and finished turns without a key.

What the model "says" is decided by the last thing the person typed (the newest user text in the
request), so a test scripts a turn by what it types:
- `run: CMD` answers with a shell tool call running CMD: Claude's Bash, Codex's exec_command
  asking to run outside Codex's own sandbox (with that sandbox on, Codex asks for approval);
- `write: PATH` answers with a call of Claude Code's Write tool making PATH (Claude only);
- `hold: TEXT` holds the answer until `release()` (the agent shows its working spinner), then
  answers TEXT;
- anything else is answered with the text `Done.`
A request whose newest message is a tool's result is answered `Done.`: the turn ends. Requests
the agents make on the side (titles, quota checks, token counts) get a short text answer.
"""

from __future__ import annotations

import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_ids = itertools.count(1)


class FakeAPI:
    """A threaded HTTP server on 127.0.0.1 (an ephemeral port); `url` is its base."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._server.handle_error = lambda request, address: None  # an agent hung up: fine
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeAPI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def release(self) -> None:
        """Let a held (`hold:`) answer go."""
        self._release.set()

    def wait_released(self) -> None:
        self._release.wait(120)
        self._release.clear()


def _handler(api: FakeAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_HEAD(self) -> None:
            self._json({})

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            if path.endswith("/models"):
                self._json({"data": [], "models": []})
            else:
                self._json({})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b"{}"
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {}
            path = self.path.split("?")[0]
            api.requests.append((path, body))
            if path.endswith("/messages/count_tokens"):
                self._json({"input_tokens": 10})
            elif path.endswith("/messages"):
                self._stream(anthropic_events(_answer(api, _anthropic_turn(body)), body))
            elif path.endswith("/responses"):
                self._stream(responses_events(_answer(api, _responses_turn(body))))
            else:
                self._json({})

        def _json(self, obj: object) -> None:
            data = json.dumps(obj).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, events: list[tuple[str, dict[str, Any]]]) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            for name, data in events:
                self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
            self.wfile.flush()
            self.close_connection = True

    return Handler


def _answer(api: FakeAPI, turn: tuple[str, str]) -> tuple[str, str]:
    """("tool", command) or ("text", text) for the newest message of a request."""
    kind, text = turn
    if kind == "user" and text.startswith("run: "):
        return "tool", text[len("run: ") :]
    if kind == "user" and text.startswith("write: "):
        return "write", text[len("write: ") :]
    if kind == "user" and text.startswith("hold: "):
        api.wait_released()
        return "text", text[len("hold: ") :]
    return "text", "Done."


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = [c.get("text", "") for c in content or [] if isinstance(c, dict)]
    return "\n".join(p for p in parts if p)


def _anthropic_turn(body: dict[str, Any]) -> tuple[str, str]:
    messages = body.get("messages") or []
    if not messages or not body.get("tools"):
        return "side", ""
    # (Claude Code may add a system-role message after the person's)
    users = [m for m in messages if m.get("role") == "user"]
    if not users:
        return "side", ""
    content = users[-1].get("content")
    # Claude Code puts reminders before what was typed (the typed text is the last text block
    # that does not start with a tag) and sends a tool's result with the next thing typed.
    blocks = content if isinstance(content, list) else [{"type": "text", "text": content}]
    typed = [b.get("text", "") for b in blocks if b.get("type") == "text"]
    typed = [t.strip() for t in typed if t.strip() and not t.lstrip().startswith("<")]
    if typed:
        return "user", typed[-1]
    if any(b.get("type") == "tool_result" for b in blocks):
        return "tool_result", ""
    return "user", ""


def _responses_turn(body: dict[str, Any]) -> tuple[str, str]:
    items = body.get("input") or []
    if not items or not body.get("tools"):
        return "side", ""
    last = items[-1]
    if last.get("type", "message") != "message":
        return "tool_result", ""
    if last.get("role") != "user":
        return "side", ""
    return "user", _text_of(last.get("content")).strip()


def anthropic_events(answer: tuple[str, str], body: dict[str, Any]) -> list[tuple[str, dict]]:
    kind, value = answer
    model = body.get("model", "claude-sonnet-4-5")
    usage = {"input_tokens": 10, "output_tokens": 1}
    start = {"id": "msg_fake", "type": "message", "role": "assistant", "model": model,
             "content": [], "stop_reason": None, "stop_sequence": None, "usage": usage}  # fmt: skip
    events: list[tuple[str, dict]] = [
        ("message_start", {"type": "message_start", "message": start})
    ]
    if kind == "tool":
        block = {"type": "tool_use", "id": f"toolu_{next(_ids)}", "name": "Bash", "input": {}}
        arguments = json.dumps({"command": value, "description": "Run the command"})
        delta = {"type": "input_json_delta", "partial_json": arguments}
        stop = "tool_use"
    elif kind == "write":
        block = {"type": "tool_use", "id": f"toolu_{next(_ids)}", "name": "Write", "input": {}}
        arguments = json.dumps({"file_path": value, "content": "written by the fake model\n"})
        delta = {"type": "input_json_delta", "partial_json": arguments}
        stop = "tool_use"
    else:
        block = {"type": "text", "text": ""}
        delta = {"type": "text_delta", "text": value}
        stop = "end_turn"
    events += [
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": block},
        ),
        ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": 5},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return events


def responses_events(answer: tuple[str, str]) -> list[tuple[str, dict]]:
    kind, value = answer
    response = {"id": "resp_fake", "object": "response", "status": "in_progress", "output": []}
    if kind == "tool":
        item = {"type": "function_call", "id": "fc_fake1", "call_id": f"call_{next(_ids)}",
                "name": "exec_command", "arguments": json.dumps({"cmd": value,
                "sandbox_permissions": "require_escalated", "justification": "Run the command?"}),
                "status": "completed"}  # fmt: skip
    else:
        item = {"type": "message", "id": "msg_fake1", "role": "assistant", "status": "completed",
                "content": [{"type": "output_text", "text": value, "annotations": []}]}  # fmt: skip
    done = {**response, "status": "completed", "output": [item],
            "usage": {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15,
                      "input_tokens_details": {"cached_tokens": 0},
                      "output_tokens_details": {"reasoning_tokens": 0}}}  # fmt: skip
    events = [
        ("response.created", {"type": "response.created", "response": response}),
        (
            "response.output_item.added",
            {"type": "response.output_item.added", "output_index": 0, "item": item},
        ),
    ]
    if kind == "text":
        events.append(("response.output_text.delta", {"type": "response.output_text.delta",
                       "item_id": "msg_fake1", "output_index": 0, "content_index": 0,
                       "delta": value}))  # fmt: skip
    events += [
        (
            "response.output_item.done",
            {"type": "response.output_item.done", "output_index": 0, "item": item},
        ),
        ("response.completed", {"type": "response.completed", "response": done}),
    ]
    return events
