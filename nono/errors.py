"""The one exception family: errors a person can act on, printed as one line."""

from __future__ import annotations


class NonoError(Exception):
    """A user-facing failure: what went wrong, and what to do about it."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message

    def __str__(self) -> str:
        return self.one_line()


class FileError(NonoError):
    """A file of the user's that cannot be used: names the file, the line and the key."""

    def __init__(
        self,
        file: str,
        message: str,
        *,
        line: int | None = None,
        key: str | None = None,
        hint: str | None = None,
    ) -> None:
        where = f"{file}:{line}" if line else file
        what = f"{key}: {message}" if key else message
        super().__init__(f"{where}: {what}", hint)
        self.file = file
        self.line = line
        self.key = key


class ProfileError(FileError):
    """A profile that cannot be loaded."""
