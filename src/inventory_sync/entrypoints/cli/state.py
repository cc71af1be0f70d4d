"""What every command shares: the global options, the settings they give, and the container.

Both are made on first use, so `--help` and usage errors never load settings or adapters.
Tests give the CLI their own container: `CliRunner().invoke(app, args, obj=factory)` where
`factory(settings)` returns a Container whose providers they have overridden.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from inventory_sync.container import Container
    from inventory_sync.settings import Settings

ContainerFactory = Callable[["Settings"], "Container"]


def build_container(settings: Settings) -> Container:
    """The production wiring: adapters chosen by the settings."""
    from inventory_sync.container import Container

    return Container(settings=settings)


@dataclass
class CliState:
    config_file: Path | None
    flags: dict[str, str | None]
    make_container: ContainerFactory = build_container
    loaded_settings: Settings | None = field(default=None, init=False)
    _container: Container | None = field(default=None, init=False)

    def settings(self) -> Settings:
        """Flag, then environment, then config file, then default; configures logging."""
        if self.loaded_settings is None:
            from inventory_sync.entrypoints.logs import configure_logging
            from inventory_sync.settings import Settings

            self.loaded_settings = Settings.load(self.config_file, **self.flags)
            loaded = self.loaded_settings
            configure_logging(loaded.log_level, loaded.log_format, loaded.secret_values())
        return self.loaded_settings

    def container(self) -> Container:
        if self._container is None:
            self._container = self.make_container(self.settings())
        return self._container


def state_of(ctx: typer.Context) -> CliState:
    state = ctx.find_object(CliState)
    assert state is not None, "the app callback sets up the state"
    return state
