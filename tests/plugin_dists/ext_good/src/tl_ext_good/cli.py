"""``tradeloop ext-hello``: a command contributed by a third-party plugin."""

import click


@click.command("ext-hello")
def hello() -> None:
    """Greet from an external plugin."""
    click.echo("hello from tl-ext-good")
