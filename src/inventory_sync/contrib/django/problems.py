"""What is wrong with a project's configuration: one line each, for the system check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding: `number` becomes the check id inventory_sync.E<number> (or W<number>)."""

    number: int
    message: str
    obj: Any = None
    warning: bool = False

    @property
    def id(self) -> str:
        return f"inventory_sync.{'W' if self.warning else 'E'}{self.number:03d}"


def setting(key: str, value: Any = ...) -> str:
    """How a message names an entry of the INVENTORY_SYNC dict (and its value, when given)."""
    name = f"INVENTORY_SYNC[{key!r}]"
    return name if value is ... else f"{name} = {value!r}"
