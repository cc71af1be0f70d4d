"""`manage.py inventory_sync ...`: the inventory-sync command line with this project's settings.

Every command and option of `inventory-sync` (run, check, status CODE, dlq show, dlq replay,
topics create, produce, config show, ...) with the same output and exit codes; `run` stops
on SIGTERM or SIGINT as the worker does (finish the batch, commit, exit 0). The settings
reach the command line as the TOML file it reads below the environment, so INVENTORY_SYNC_*
variables and its flags still win. Django's system checks run first.
"""

from __future__ import annotations

import argparse
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from inventory_sync.contrib.django.bridge import run_cli
from inventory_sync.contrib.django.conf import configuration, toml_text

PROG_NAME = "manage.py inventory_sync"
DJANGO_FLAGS = frozenset({"--traceback", "--no-color", "--force-color", "--skip-checks"})
DJANGO_OPTIONS = frozenset({"--settings", "--pythonpath", "--verbosity", "-v"})
"""Django's own options (inventory-sync has none of these names); the rest is the CLI's."""


class Command(BaseCommand):  # type: ignore[misc]  # Django ships no type hints
    help = (
        "inventory-sync's command line with this project's settings: run, check, status CODE, "
        "dlq show, dlq replay, topics create, produce, config show. "
        "See `manage.py inventory_sync --help`."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "cli_args",
            nargs=argparse.REMAINDER,
            metavar="COMMAND [ARGS]...",
            help="what `inventory-sync` takes, for example: run --idle-timeout 5",
        )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> Any:
        """Django parses only its own options; the rest goes to the CLI as it is (from the
        command line and from call_command alike)."""
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parse_args = parser.parse_args

        def parse_django_options_only(args: Any = None, namespace: Any = None) -> Any:
            django_args, cli_args = split_arguments(list(args or []))
            return parse_args([*django_args, "--", *cli_args], namespace)

        parser.parse_args = parse_django_options_only
        return parser

    def print_help(self, prog_name: str, subcommand: str) -> None:
        run_cli(["--help"], f"{Path(prog_name).name} {subcommand}")

    def handle(self, *args: Any, cli_args: list[str], **options: Any) -> None:
        cli_args = cli_args[1:] if cli_args[:1] == ["--"] else cli_args
        if any(arg == "--config" or arg.startswith("--config=") for arg in cli_args):
            raise CommandError(
                "--config: the INVENTORY_SYNC setting takes the place of a settings file",
                returncode=2,
            )
        config = configuration()
        if config.errors():
            raise CommandError(config.errors()[0].message, returncode=2)
        out = getattr(self.stdout, "_out", self.stdout)  # the stream under Django's styling
        err = getattr(self.stderr, "_out", self.stderr)
        with tempfile.TemporaryDirectory(prefix="inventory-sync-django-") as folder:
            settings_file = Path(folder) / "settings.toml"  # the folder is private (0700)
            settings_file.write_text(toml_text(config.values), encoding="utf-8")
            with redirect_stdout(out), redirect_stderr(err):
                code = run_cli(["--config", str(settings_file), *cli_args], PROG_NAME)
        if code:
            raise SystemExit(code)


def split_arguments(args: list[str]) -> tuple[list[str], list[str]]:
    """(Django's options, the CLI's arguments); everything after "--" is the CLI's."""
    django_args: list[str] = []
    cli_args: list[str] = []
    rest = iter(args)
    for arg in rest:
        name = arg.split("=", 1)[0]
        if arg == "--":
            cli_args.extend([arg, *rest])
        elif arg in DJANGO_FLAGS:
            django_args.append(arg)
        elif name in DJANGO_OPTIONS:
            django_args.append(arg)
            if "=" not in arg:
                django_args.append(next(rest, ""))
        else:
            cli_args.append(arg)
    return django_args, cli_args
