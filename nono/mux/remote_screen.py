"""What a supervisor on another host sends a pane, made safe to draw: a remote host is not
trusted (it may be compromised), so its screen frames are checked in shape and size and every
text in them loses its control characters before any of it reaches this terminal.

A local supervisor is nono's own process, and its frames are drawn as they come (they are hot);
these checks are for remote panes only."""

from __future__ import annotations

import re
from typing import Any

from nono.session.activity import clean_text
from nono.session.protocol import ProtocolError, Screen

MAX_COLS, MAX_ROWS = 1000, 500  # nono run --size's own bounds
# C0, DEL and C1: the characters that would start a sequence of the outer terminal's.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def clean_text_cells(text: object, limit: int) -> str:
    """A run's text with each control character replaced by `?` (one column, as it took)."""
    if not isinstance(text, str):
        raise ProtocolError("garbled SCREEN frame from the host: a run's text is not text")
    return _CONTROL.sub("?", text[:limit])


def clean_runs(runs: object, styles: int, cols: int) -> list[list[Any]]:
    """One row's runs of [text, style index]; a style is an index into the frame's table
    (never a style string of the host's own)."""
    if not isinstance(runs, list):
        raise ProtocolError("garbled SCREEN frame from the host: a row is not a list of runs")
    out = []
    for run in runs:
        if not (isinstance(run, list | tuple) and len(run) == 2 and _int(run[1])
                and 0 <= run[1] < styles):  # fmt: skip
            raise ProtocolError("garbled SCREEN frame from the host: a run is not [text, style]")
        out.append([clean_text_cells(run[0], cols * 2), run[1]])
    return out


def clean_screen(screen: Screen) -> Screen:
    """`screen` with its size, rows, cursor and title checked and cleaned; ProtocolError for a
    frame no nono sends."""
    size = screen.size
    if not (len(size) == 2 and all(_int(n) for n in size)
            and 1 <= size[0] <= MAX_COLS and 1 <= size[1] <= MAX_ROWS):  # fmt: skip
        raise ProtocolError("garbled SCREEN frame from the host: its size is out of bounds")
    cols, rows = size
    if not isinstance(screen.rows, dict) or len(screen.rows) > rows:
        raise ProtocolError("garbled SCREEN frame from the host: too many rows")
    cleaned = {}
    for key, runs in screen.rows.items():
        if not (isinstance(key, str) and key.isdigit() and int(key) < rows):
            raise ProtocolError("garbled SCREEN frame from the host: a row out of the screen")
        cleaned[key] = clean_runs(runs, len(screen.styles), cols)
    cursor = screen.cursor
    if not (len(cursor) == 2 and all(_int(n) and 0 <= n < 10_000 for n in cursor)):
        raise ProtocolError("garbled SCREEN frame from the host: its cursor is out of bounds")
    return screen._replace(rows=cleaned, title=clean_text(screen.title), size=(cols, rows))


def clean_history(response: dict[str, Any]) -> dict[str, Any]:
    """A history request's answer from the host (copy mode's lines), its texts cleaned;
    OSError, as for any failed request, for an answer no nono sends."""
    styles = response.get("styles")
    count = len(styles) if isinstance(styles, list) else 0
    out = dict(response)
    try:
        for part in ("history", "screen"):
            lines = response.get(part)
            if not isinstance(lines, list):
                raise ProtocolError("garbled history answer from the host")
            out[part] = [clean_runs(line, count, MAX_COLS) for line in lines]
    except ProtocolError as exc:
        raise OSError(exc.message) from None
    return out
