"""One exception type for problems the user can fix, so shells can print one line and exit 1."""

from __future__ import annotations


class UserError(Exception):
    """A domain error with a message that says what happened and how to fix it."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ModelFileError(UserError):
    """A model file is missing, truncated or not the file we pinned."""


class IndexMismatchError(UserError):
    """The index was built with another embedding model than the one configured."""


class IndexBusyError(UserError):
    """Another process holds the index writer lock."""


class DiskFullError(UserError):
    """A write to the index ran out of space; nothing finished is lost."""


class DamagedIndexError(UserError):
    """The index's parts disagree or cannot be read: named, with the repair to run."""
