"""Clients act on the supervisor's reason codes, never on its words: the words are for people.

A supervisor here is a stand-in on a real abstract Unix socket that answers with chosen frames, so
the words can differ from what the real one says while the codes stay; the dashboard's Pane is
the real one."""

from __future__ import annotations

import asyncio
import os
import time
import uuid

import pytest

from nono.mux.pane import Pane
from nono.session import registry
from nono.session.protocol import Decoder, Detached, Hello, Reason, Refused, Welcome
from nono.session.registry import RUNNING, Record


def live_record(socket_name: str) -> Record:
    # This test process stands in for the supervisor, so the record counts as alive.
    return Record(id="s1", name="agent", command=("sh",), workdir="/", profile=None,
                  network="none", sandbox={}, created=time.time(), supervisor_pid=os.getpid(),
                  supervisor_start=registry.process_start(os.getpid()), socket=socket_name,
                  status=RUNNING)  # fmt: skip


async def until(condition, what: str, extra=lambda: "") -> None:
    for _ in range(1000):  # a bound on waiting, not a timing assertion
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what} ({extra()})")


def run_against(answer, check) -> None:
    """Serve hellos with `answer(hello, record)` (frames to send, each after the client's next
    frame, and whether to hang up then), and run `check(pane)` on a Pane connected to it."""
    name = f"nono-test-{uuid.uuid4().hex}"
    record = live_record(name)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = Decoder()
        frames: list = []

        async def next_frame():
            while not frames:
                data = await reader.read(65536)
                if not data:
                    return None
                frames.extend(decoder.feed(data))
            return frames.pop(0)

        hello = await next_frame()
        if hello is None:
            return
        chunks, hang_up = answer(Hello.decode(hello), record)
        for i, chunk in enumerate(chunks):
            if i:  # as a real supervisor, answer once the client has spoken (its frame rate)
                await next_frame()
            writer.write(chunk)
            await writer.drain()
        if not hang_up:
            while await next_frame() is not None:
                pass
        writer.close()

    async def main() -> None:
        server = await asyncio.start_unix_server(serve, "\0" + name)
        pane = Pane(record, lambda _pane: None)
        try:
            await pane.connect(80, 24)
            await check(pane)
        finally:
            pane.close()
            server.close()

    asyncio.run(main())


def refuse_interactive(code: Reason, words: str):
    def answer(hello: Hello, record: Record) -> list[bytes]:
        if hello.read_only:
            return [Welcome(record.to_json()).encode()], False
        return [Refused(code, words).encode()], True

    return answer


def test_a_pane_refused_as_attached_elsewhere_watches_whatever_the_words(home):
    async def check(pane: Pane) -> None:
        assert pane.state == "watching" and pane.read_only

    run_against(refuse_interactive(Reason.ATTACHED_ELSEWHERE, "the seat is taken"), check)


def test_a_pane_refused_for_another_reason_does_not_watch_even_if_the_words_match(home):
    async def check(pane: Pane) -> None:
        assert pane.state == "refused"
        assert pane.problem == "session agent is already attached elsewhere"

    words = "session agent is already attached elsewhere"
    run_against(refuse_interactive(Reason.UNSUPPORTED, words), check)


def detach_interactive(code: Reason, words: str):
    def answer(hello: Hello, record: Record) -> list[bytes]:
        welcome = Welcome(record.to_json()).encode()
        if hello.read_only:
            return [welcome], False
        return [welcome, Detached(code, words).encode()], True

    return answer


@pytest.mark.parametrize(
    ("code", "words", "state"),
    [
        # Taken over, in any words: keep showing the session, read-only.
        (Reason.TAKEN_OVER, "someone else has the keyboard now", "watching"),
        # Any other detach, even one whose words say "taken over": the connection is gone.
        (Reason.DETACH_REQUEST, "taken over by another client", "lost"),
    ],
)
def test_a_detached_pane_decides_on_the_code(home, code, words, state):
    async def check(pane: Pane) -> None:
        # Watching means connected again, read-only; lost means no connection left.
        await until(lambda: pane.read_only if state == "watching" else pane.state == "lost",
                    state, lambda: (pane.state, pane.problem))  # fmt: skip
        assert pane.state == state

    run_against(detach_interactive(code, words), check)
