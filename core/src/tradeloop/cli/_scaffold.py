"""``tradeloop plugins new``: a complete plugin distribution from the copier template."""

from __future__ import annotations

import keyword
import re
from pathlib import Path

import click

from ._render import stdout

KINDS = ("broker", "data", "strategy", "stage", "guard", "rail")
_TEMPLATE = Path(__file__).resolve().parent.parent / "_templates" / "plugin"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def render_plugin(name: str, kind: str, dest: Path) -> Path:
    """Render the template for ``kind`` into ``dest/tradeloop-plugin-<name>``; returns that path."""
    import copier

    if not _NAME.match(name) or keyword.iskeyword(name):
        raise click.BadParameter(
            f"{name!r}: use lower case letters, digits and underscores, starting with a letter",
            param_hint="NAME",
        )
    target = dest / f"tradeloop-plugin-{name.replace('_', '-')}"
    if target.exists() and any(target.iterdir()):
        raise click.ClickException(f"{target} exists and is not empty")
    copier.run_copy(
        str(_TEMPLATE), target, data={"name": name, "kind": kind},
        defaults=True, quiet=True, unsafe=False, vcs_ref=None,
    )
    return target


@click.command("new")
@click.argument("name")
@click.option("--kind", type=click.Choice(KINDS), required=True, help="What the plugin provides.")
@click.option("--dir", "dest", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Where to create the distribution folder.")
def new(name: str, kind: str, dest: Path) -> None:
    """Create a tradeloop-plugin-NAME distribution with a working example, tests and CI."""
    target = render_plugin(name, kind, dest)
    stdout().print(f"[green]created[/] {target}")
    stdout().print(f"next: pip install -e '{target}[test]' && pytest {target}")
