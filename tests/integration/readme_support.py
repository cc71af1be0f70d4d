"""Running the README's code blocks as printed: the parser, what each block is, and the runners.

A fenced block's info string says how it runs: ```python in a fresh interpreter, ```bash with
bash, ```console its `$ ` lines with bash, ```html (the Django template) through Django's
template engine; ```bash install is shown, not run, and may hold only `pip install` lines.
Blocks without an info string (the diagram, the layout tree) are not code.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
DEADLINE_S = 60.0
"""How long one block (or one command of it) may take; each takes seconds when all is well."""

SHOWN_NOT_RUN = "install"
"""The info string's second word that marks a block shown, not run (`pip install` lines only)."""


@dataclass(frozen=True)
class Block:
    """A fenced code block of the README: the line of its opening fence, its info, its text."""

    line: int
    info: str
    text: str

    @property
    def language(self) -> str:
        return self.info.split()[0] if self.info else ""

    @property
    def kind(self) -> str:
        """The language, or "install" for a block shown, not run."""
        words = self.info.split()
        return SHOWN_NOT_RUN if SHOWN_NOT_RUN in words[1:] else self.language

    @property
    def where(self) -> str:
        return f"README.md line {self.line} (```{self.info} block)"


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")


def fenced_blocks(markdown: str) -> list[Block]:
    """Every fenced block, tagged or not, in order."""
    blocks: list[Block] = []
    lines = markdown.splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        index += 1
        if opening is None:
            continue
        fence, info = opening.group(1), opening.group(2).strip()
        start, body = index, []
        while index < len(lines):
            line = lines[index]
            index += 1
            closing = _FENCE.match(line)
            if (
                closing
                and closing.group(1)[0] == fence[0]
                and len(closing.group(1)) >= len(fence)
                and not closing.group(2).strip()
            ):
                break
            body.append(line)
        blocks.append(Block(start, info, "\n".join(body) + "\n"))
    return blocks


def code_blocks(markdown: str) -> list[Block]:
    """The blocks that are code: those with a language tag."""
    return [block for block in fenced_blocks(markdown) if block.info]


def readme_blocks() -> list[Block]:
    return code_blocks(README.read_text(encoding="utf-8"))


# -- what each block is ---------------------------------------------------------------------


def role(block: Block) -> str:
    """Which runner runs the block: the Django and shop-table blocks run together in a
    generated project, the FastAPI app under its TestClient, test functions under pytest,
    any other python, bash or console block as a script."""
    text, kind = block.text, block.kind
    if kind == SHOWN_NOT_RUN:
        return "install"
    if kind == "html" and "{% load inventory_sync %}" in text:
        return "django-template"
    if kind == "console" and "manage.py" in text:
        return "django-commands"
    if kind == "python" and "models.Model" in text:
        return "django-model"
    if kind == "python" and "INVENTORY_SYNC = {" in text:
        return "django-settings"
    if kind == "python" and "shop_product" in text:
        return "shop-table-library"
    if kind == "bash" and "shop_product" in text:
        return "shop-table-worker"
    if kind == "python" and "FastAPI(" in text:
        return "fastapi-app"
    if kind == "python" and re.search(r"^def test_", text, re.MULTILINE):
        return "pytest-tests"
    if kind in ("python", "bash", "console"):
        return "script"
    return "no runner"


def blocks_of(role_name: str) -> list[Block]:
    return [block for block in readme_blocks() if role(block) == role_name]


def the_block(role_name: str) -> Block:
    found = blocks_of(role_name)
    lines = [block.line for block in found]
    assert len(found) == 1, f"expected one {role_name} block in README.md, found lines {lines}"
    return found[0]


def path_comment(block: Block) -> str:
    """The file a block stands for, from its first line: `# shop/models.py` or
    `<!-- shop/templates/shop/product.html -->`."""
    first = block.text.splitlines()[0].strip()
    named = re.fullmatch(r"(?:#|<!--)\s*([\w./-]+\.\w+)\s*(?:-->)?", first)
    assert named is not None, f"{block.where}: its first line names no file: {first!r}"
    return named.group(1)


def printed_expectations(block: Block) -> list[str]:
    """What the block's `print(...)  # expected` lines say they print, in order."""
    return re.findall(r"^\s*print\(.*\)\s+#\s*(.+?)\s*$", block.text, re.MULTILINE)


def install_lines(block: Block) -> list[str]:
    """The lines of a shown-not-run block that are not `pip install ...` (none, if it is fine)."""
    return [
        line
        for line in block.text.splitlines()
        if line.strip() and not re.match(r"pip install \S", line.strip())
    ]


# -- running ----------------------------------------------------------------------------------


def block_environment(**variables: str) -> dict[str, str]:
    """This environment without INVENTORY_SYNC_* or Django's settings, with this venv's
    `python` and `inventory-sync` first on PATH, and the variables given."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("INVENTORY_SYNC_") and key != "DJANGO_SETTINGS_MODULE"
    }
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(variables)
    return env


def kafka_variables(bootstrap: str, topic: str) -> dict[str, str]:
    return {
        "INVENTORY_SYNC_BOOTSTRAP_SERVERS": bootstrap,
        "INVENTORY_SYNC_TOPIC": topic,
        "INVENTORY_SYNC_DLQ_TOPIC": f"{topic}.dlq",
        "INVENTORY_SYNC_GROUP_ID": f"{topic}-group",
    }


def explain(block: Block, what: str, stdout: str, stderr: str) -> str:
    return f"{block.where}: {what}\n--- stdout:\n{stdout[-3000:]}\n--- stderr:\n{stderr[-3000:]}"


def run_python(
    block: Block,
    folder: Path,
    env: Mapping[str, str],
    command: Callable[[Path], list[str]] = lambda script: [str(script)],
) -> str:
    """Write the block to a file in `folder` and run `python COMMAND(file)` (by default the
    file itself; else, say, a driver that imports it) in a fresh interpreter there; its
    stdout. Fails, naming the block, unless it exits 0 without a traceback."""
    script = folder / f"readme_line_{block.line}.py"
    script.write_text(block.text, encoding="utf-8")
    try:
        done = subprocess.run(
            [sys.executable, *command(script)],
            cwd=folder,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=DEADLINE_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        what = f"still running after {DEADLINE_S} s"
        raise AssertionError(explain(block, what, _text(exc.stdout), _text(exc.stderr))) from None
    assert done.returncode == 0, explain(block, f"exit {done.returncode}", done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, explain(block, "a traceback", done.stdout, done.stderr)
    return done.stdout


def _text(output: bytes | str | None) -> str:
    return output.decode(errors="replace") if isinstance(output, bytes) else output or ""


@dataclass
class Command:
    """One command of a shell block, what it printed and how it ended."""

    text: str
    shown_output: list[str] = field(default_factory=list)
    """Lines a console block prints below the command: its output must contain them."""
    stdout: str = ""
    stderr: str = ""
    returncode: int | None = None
    stopped: bool = False
    """Whether it ran until SIGTERM (a worker) rather than ending by itself."""


def shell_commands(block: Block) -> list[Command]:
    """A bash block is one script; a console block is its `$ ` lines (with their `\\`
    continuations), each followed by the output lines it shows."""
    if block.kind == "bash":
        return [Command(block.text)]
    commands: list[Command] = []
    continuing = False
    for line in block.text.splitlines():
        if continuing:
            commands[-1].text += "\n" + line
        elif line.startswith("$ "):
            commands.append(Command(line[2:]))
        elif line.strip():
            assert commands, f"{block.where}: output {line!r} before any `$ ` command"
            commands[-1].shown_output.append(line.strip())
        continuing = line.endswith("\\") and bool(commands)
    return commands


def run_shell(
    block: Block,
    folder: Path,
    env: Mapping[str, str],
    *,
    before: Mapping[str, Callable[[], None]] | None = None,
    until: Mapping[str, Callable[[], bool]] | None = None,
) -> list[Command]:
    """Run the block's commands with bash in `folder`, one after the other, each to exit 0.

    `before[s]` runs before the command that contains s (setting up what it needs). A
    command that contains a key of `until` is a worker that runs until stopped: once
    `until[s]()` holds it gets SIGTERM (its process group, as a service manager sends it),
    and must then exit 0 too.
    """
    commands = shell_commands(block)
    for key in [*(before or {}), *(until or {})]:
        assert any(key in command.text for command in commands), (
            f"{block.where}: no command contains {key!r}"
        )
    for number, command in enumerate(commands):
        for key, setup in (before or {}).items():
            if key in command.text:
                setup()
        condition = next((c for key, c in (until or {}).items() if key in command.text), None)
        _run_command(
            block,
            command,
            output=folder / f"line{block.line}-{number}",
            folder=folder,
            env=env,
            condition=condition,
        )
        for shown in command.shown_output:
            assert shown in command.stdout, explain(
                block, f"`{command.text}` did not print {shown!r}", command.stdout, command.stderr
            )
    return commands


def _run_command(
    block: Block,
    command: Command,
    *,
    output: Path,
    folder: Path,
    env: Mapping[str, str],
    condition: Callable[[], bool] | None,
) -> None:
    out, err = output.with_suffix(".out"), output.with_suffix(".err")
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            ["bash", "-c", command.text],
            cwd=folder,
            env=dict(env),
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
    deadline = time.monotonic() + DEADLINE_S
    try:
        while process.poll() is None and time.monotonic() < deadline:
            if condition is not None and condition():
                command.stopped = True
                os.killpg(process.pid, signal.SIGTERM)
                break
            time.sleep(0.2)
        process.wait(max(deadline - time.monotonic(), 1.0))
    except subprocess.TimeoutExpired:
        pass
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        command.returncode = process.returncode
        command.stdout = out.read_text(errors="replace")
        command.stderr = err.read_text(errors="replace")
    what = f"`{command.text}` exit {command.returncode}"
    if command.stopped:
        what += " after SIGTERM"
    assert command.returncode == 0, explain(block, what, command.stdout, command.stderr)
    did_its_work = condition is None or command.stopped or condition()
    assert did_its_work, explain(
        block, f"{what} before it did what the test waits for", command.stdout, command.stderr
    )
    assert "Traceback" not in command.stderr, explain(
        block, f"`{command.text}`: a traceback", command.stdout, command.stderr
    )


# -- a Django project made of the README's blocks --------------------------------------------

MANAGE_PY = """\
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
from django.core.management import execute_from_command_line

execute_from_command_line(sys.argv)
"""


def django_databases(url: str) -> dict[str, dict[str, str]]:
    """Django's DATABASES for a SQLAlchemy URL (SQLite or PostgreSQL)."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(parsed.database)}}
    return {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": str(parsed.database),
            "USER": parsed.username or "",
            "PASSWORD": parsed.password or "",
            "HOST": parsed.host or "",
            "PORT": str(parsed.port or ""),
        }
    }


@dataclass(frozen=True)
class DjangoProject:
    """A Django project whose settings end with the README's settings block, whose `shop`
    app's models.py is its model block and whose template is its template block (each placed
    where its first line says). With `migrations`, the app has a migrations package (for
    `makemigrations`); without, `migrate --run-syncdb` makes its table."""

    folder: Path
    blocks: tuple[Block, ...]

    @classmethod
    def write(cls, folder: Path, database_url: str, *, migrations: bool) -> DjangoProject:
        settings_block = the_block("django-settings")
        base = (
            'SECRET_KEY = "readme-test"\n'
            f"DATABASES = {django_databases(database_url)!r}\n"
            'TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates",'
            ' "APP_DIRS": True}]\n'
            'DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"\n'
            "USE_TZ = True\n"
        )
        (folder / "settings.py").write_text(
            f"{base}\n# {settings_block.where}\n{settings_block.text}", encoding="utf-8"
        )
        (folder / "manage.py").write_text(MANAGE_PY, encoding="utf-8")
        for package in ("shop", "shop/migrations") if migrations else ("shop",):
            (folder / package).mkdir(parents=True, exist_ok=True)
            (folder / package / "__init__.py").touch()
        placed = (the_block("django-model"), the_block("django-template"))
        for block in placed:
            target = folder / path_comment(block)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.text, encoding="utf-8")
        return cls(folder, (settings_block, *placed))

    def manage(self, env: Mapping[str, str], *args: str) -> str:
        """`python manage.py ARGS` in the project (setup, not a README block); its stdout."""
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=self.folder,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=DEADLINE_S,
            check=False,
        )
        made_of = ", ".join(block.where for block in self.blocks)
        assert done.returncode == 0, (
            f"manage.py {' '.join(args)} in the project made of {made_of}: exit "
            f"{done.returncode}\n--- stdout:\n{done.stdout[-3000:]}\n--- stderr:\n"
            f"{done.stderr[-3000:]}"
        )
        return done.stdout
