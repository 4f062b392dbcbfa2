"""A small per-process memory of recent database look-ups, for the request paths that run
thousands of times a second with the same answer (an ingest key, a short link).

Each web process has its own; an entry expires after the number of seconds in the named
setting (0 turns the memory off). Whoever changes the underlying rows clears the memory
of its own process at once (signals); other processes see the change when their entry
expires, which is what the setting's documentation promises.
"""

import time
from typing import Generic, TypeVar

from django.conf import settings

Value = TypeVar("Value")


class ProcessCache(Generic[Value]):
    def __init__(self, seconds_setting: str):
        self.seconds_setting = seconds_setting
        self._entries: dict[str, tuple[float, Value]] = {}

    def get(self, key: str) -> Value | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, key: str, value: Value) -> None:
        seconds = getattr(settings, self.seconds_setting)
        if seconds > 0:
            self._entries[key] = (time.monotonic() + seconds, value)

    def clear(self, **signal_kwargs) -> None:
        """Forget everything (also usable as a signal receiver)."""
        self._entries.clear()
