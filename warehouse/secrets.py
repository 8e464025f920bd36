"""Credentials that never show themselves in repr, str or logs."""

from __future__ import annotations


class Secret:
    """A string that never shows itself in repr, str or logs."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        """Wrap `value`."""
        self._value = value

    def reveal(self) -> str:
        """The wrapped value, for the one call that needs it (a client, a hash)."""
        return self._value

    def __repr__(self) -> str:
        """Redacted."""
        return "'***'"

    __str__ = __repr__
