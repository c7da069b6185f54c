"""Moral Graph Studio command line, for researchers and facilitators.

Every command reads the same configuration as the app (environment variables, see README) and
works on the same database. Errors are one clean line on stderr and a non-zero exit code.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from services import facilitation, system
from services.errors import USER_ERRORS, one_line
from settings import Settings, load_settings


class CleanErrors(click.Group):
    """A click group that turns known errors into ``Error: <one line>`` and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except USER_ERRORS as exc:
            click.echo(f"Error: {one_line(exc)}", err=True)
            sys.exit(1)


def _settings() -> Settings:
    return load_settings()


@click.group(cls=CleanErrors, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Moral Graph Studio: set up deliberations, invite participants, build and export moral graphs."""


@cli.command("init-db")
def init_db() -> None:
    """Create the database, or upgrade its schema in place to the newest version."""
    settings = _settings()
    engine = system.open_database(settings)
    status = system.describe(settings, engine)
    click.echo(f"Database ready: {status.database} (schema revision {status.schema_revision})")


@cli.group()
def deliberation() -> None:
    """Create and list deliberations."""


@deliberation.command("create")
@click.option("--title", required=True, help="Title shown to participants.")
@click.option(
    "--question", "questions", multiple=True, required=True, help="A question (case); repeat for several."
)
@click.option("--welcome", default="", help="Welcome text shown before the interview.")
@click.option("--consent", default="", help="Consent text participants must accept.")
def deliberation_create(title: str, questions: tuple[str, ...], welcome: str, consent: str) -> None:
    """Create a deliberation and print its id."""
    engine = system.open_database(_settings())
    created = facilitation.create_deliberation(
        engine, title=title, questions=list(questions), welcome_text=welcome, consent_text=consent
    )
    click.echo(created.id)


@deliberation.command("list")
def deliberation_list() -> None:
    """List deliberations: id, status, questions, participants, title (tab-separated)."""
    engine = system.open_database(_settings())
    for d in facilitation.list_deliberations(engine):
        click.echo(f"{d.id}\t{d.status}\t{len(d.questions)}\t{d.participant_count}\t{d.title}")


@cli.command("invite")
@click.argument("deliberation_id", type=int)
@click.option("--count", type=click.IntRange(min=1), default=1, show_default=True, help="How many links.")
@click.option("--base-url", default=None, help="Public address of the app (default: PUBLIC_BASE_URL).")
@click.option("--cohort", default=None, help="Put the invites in this named cohort.")
def invite(deliberation_id: int, count: int, base_url: str | None, cohort: str | None) -> None:
    """Create single-use invite links and print one per line."""
    settings = _settings()
    engine = system.open_database(settings)
    links = facilitation.create_invites(
        engine,
        deliberation_id=deliberation_id,
        count=count,
        base_url=base_url or settings.public_base_url,
        cohort=cohort,
    )
    for link in links:
        click.echo(link.url)


@cli.command("status")
def status() -> None:
    """Show the model endpoint, the database and what it holds."""
    settings = _settings()
    info = system.describe(settings, system.open_database(settings))
    rows = [
        ("model mode", info.model_mode),
        ("model", info.model_name),
        ("endpoint", info.model_endpoint),
        ("embeddings", info.embedding),
        ("database", f"{info.database} ({info.database_backend}, schema {info.schema_revision})"),
        ("deliberations", str(info.deliberations)),
        ("model calls", str(info.model_calls)),
    ]
    for key, value in rows:
        click.echo(f"{key:<14} {value}")


if __name__ == "__main__":
    cli()
