"""Moral Graph Studio command line, for researchers and facilitators.

Every command reads the same configuration as the app (environment variables, see README) and
works on the same database. An error a person can cause or meet (any :class:`errors.StudioError`) is one
line, ``Error: ...``, on stderr with exit code 1; a usage mistake is one such line with exit code 2; anything
else is a bug and keeps its traceback.

Each command imports the services it needs when it runs, so ``--help`` and the commands that only read the
database start without loading langchain, openai, scipy or networkx (``tests/test_cli_imports.py``); what
a command's help shows comes from modules that load none of them (``interviews.limits``,
``services.research.formats``).
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from errors import InvalidInput, StudioError, one_line
from interviews.limits import (
    CONTEXTS_PER_CALL,
    DEDUP_BATCH,
    DEDUP_BATCH_MAX,
    SEEDS_PER_CALL,
    STORY_PAIRS,
    STORY_PAIRS_MAX,
)
from interviews.text_rules import parse_id
from interviews.vocabulary import CardStatus, DeliberationStatus, values_of
from providers.model_catalogue import CATALOGUE
from services.research.formats import EXPORT_FORMATS

if TYPE_CHECKING:
    from settings import Settings


class CleanErrors(click.Group):
    """A click group that turns every :class:`errors.StudioError` into ``Error: <one line>`` and exit code 1,
    and usage mistakes into one such line with exit code 2. A group called without its command
    (``cli.py deliberation``) prints its help, as click does."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:  # the root's own options: ``cli.py --bogus``
            return super().parse_args(ctx, args)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:
            _usage_mistake(exc)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StudioError as exc:
            click.echo(f"Error: {one_line(exc)}", err=True)
            sys.exit(1)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:  # a missing option, a bad number, an unknown command
            _usage_mistake(exc)


def _usage_mistake(exc: click.UsageError) -> NoReturn:
    where = f" (see {exc.ctx.command_path} --help)" if exc.ctx else ""
    message = " ".join(exc.format_message().split())
    click.echo(f"Error: {message}{where}", err=True)
    sys.exit(exc.exit_code)


class IdType(click.ParamType):
    """A row id: ASCII digits, 1 to 2**63-1 (:func:`interviews.text_rules.parse_id`, as the app's URLs);
    anything else is a usage mistake with one clear line."""

    name = "id"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        try:
            return parse_id(value if isinstance(value, str) else repr(value))
        except InvalidInput as exc:
            self.fail(str(exc), param, ctx)


#: Every id argument and option of the command line.
ID = IdType()


def _settings() -> Settings:
    from settings import load_settings

    return load_settings()


def _engine(settings: Settings | None = None) -> Any:
    """The database of the current command, closed (pool disposed) when the command ends."""
    from services.facilitator import system

    engine = system.open_database(settings or _settings())
    click.get_current_context().call_on_close(engine.dispose)
    return engine


def _actor(name: str | None) -> str:
    """Who a change is attributed to in the moderation log: ``--as NAME``, else ``cli:<os user>``."""
    if name is not None:
        from interviews.text_rules import check_text

        name = check_text(name.strip(), what="The --as name")
        if not name:
            raise InvalidInput("The --as name cannot be blank.")
        return name
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name (a container without a user entry)
        return "cli:unknown"


#: ``--as NAME``: the name a command's changes are logged under (default ``cli:<os user>``).
as_option = click.option(
    "--as",
    "as_name",
    default=None,
    metavar="NAME",
    help="Log the change under this name (default: cli:<os user>).",
)


def _write_csv(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"Cannot write {path}: {exc.strerror or exc}.") from exc


def _run_job(
    engine: Any, settings: Settings, kind: str, deliberation_id: int | None, args: dict[str, Any], **kw: Any
) -> Any:
    """Run a job here, recorded as a job run (``cli.py jobs show ID``); its per-item lines go to stderr."""
    from services.jobs import runs

    return runs.run_here(
        engine,
        runs.Models.configured(settings, engine),
        kind=kind,
        deliberation_id=deliberation_id,
        args=args,
        actor=_actor(None),
        on_line=kw.get("on_line", lambda line: click.echo(line, err=True)),
    )


def _fail_if_failed(run: Any) -> None:
    """A failed run ends the command with its one line and exit code 1."""
    if run.status == "failed":
        click.echo(f"Error: {run.error} (job run {run.id})", err=True)
        sys.exit(1)


@click.group(cls=CleanErrors, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Moral Graph Studio: set up deliberations, invite participants, build and export moral graphs."""


@cli.command("init-db")
def init_db() -> None:
    """Create the database, or upgrade its schema in place to the newest version."""
    from services.facilitator import system

    settings = _settings()
    engine = _engine(settings)
    status = system.describe(settings, engine)
    click.echo(f"Database ready: {status.database} (schema revision {status.schema_revision})")


@cli.group()
def deliberation() -> None:
    """Create, list, edit, duplicate and delete deliberations."""


@deliberation.command("create")
@click.option("--title", required=True, help="Title shown to participants.")
@click.option(
    "--question", "questions", multiple=True, required=True, help="A question (case); repeat for several."
)
@click.option("--welcome", default="", help="Welcome text shown before the interview.")
@click.option("--consent", default="", help="Consent text participants must accept.")
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="JSON settings: demographics, survey, graph_thresholds, values_to_vote, min_votes, "
    "stories_to_judge, interview_turn_limit, seeds_required, pipeline_max_pairs, pipeline_max_calls, "
    "pipeline_pairs_per_value, token_budget (see README).",
)
@as_option
def deliberation_create(
    title: str,
    questions: tuple[str, ...],
    welcome: str,
    consent: str,
    config_file: Path | None,
    as_name: str | None,
) -> None:
    """Create a draft deliberation and print its id."""
    from services.facilitator import deliberations, settings_json

    config = settings_json.read_config_file(config_file) if config_file else None
    engine = _engine()
    created = deliberations.create_deliberation(
        engine,
        title=title,
        questions=list(questions),
        welcome_text=welcome,
        consent_text=consent,
        config=config,
        actor=_actor(as_name),
    )
    click.echo(created.id)


@deliberation.command("edit")
@click.argument("deliberation_id", type=ID)
@click.option("--title", default=None, help="A new title.")
@click.option("--welcome", default=None, help="A new welcome text.")
@click.option("--consent", default=None, help="A new consent text.")
@click.option(
    "--settings", "settings_text", default=None, help="Settings to change, as JSON (other keys stay)."
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Settings to change, from a JSON file (other keys stay).",
)
@as_option
def deliberation_edit(
    deliberation_id: int,
    title: str | None,
    welcome: str | None,
    consent: str | None,
    settings_text: str | None,
    config_file: Path | None,
    as_name: str | None,
) -> None:
    """Change a deliberation's texts or settings (checked as when it was created; logged with before and
    after)."""
    from services.facilitator import deliberation_edits, settings_json

    if settings_text is not None and config_file is not None:
        raise InvalidInput("Give the settings once: --settings or --config.")
    changes: dict[str, Any] | None = None
    if settings_text is not None:
        changes = settings_json.parse_changes(settings_text, source="--settings")
    elif config_file is not None:
        changes = settings_json.read_changes_file(config_file)
    if changes is None and title is None and welcome is None and consent is None:
        raise InvalidInput("Nothing to change: give --title, --welcome, --consent, --settings or --config.")
    edited = deliberation_edits.edit_deliberation(
        _engine(),
        deliberation_id=deliberation_id,
        actor=_actor(as_name),
        title=title,
        welcome_text=welcome,
        consent_text=consent,
        config=changes,
    )
    click.echo(f"Deliberation {edited.id} saved.")


@deliberation.command("duplicate")
@click.argument("deliberation_id", type=ID)
@click.option("--title", default=None, help="Title of the copy (default: Copy of TITLE).")
@as_option
def deliberation_duplicate(deliberation_id: int, title: str | None, as_name: str | None) -> None:
    """Copy a deliberation's texts, settings, questions and contexts into a new draft (no participants);
    prints its id."""
    from services.facilitator import deliberation_edits

    copy = deliberation_edits.duplicate_deliberation(
        _engine(), deliberation_id=deliberation_id, actor=_actor(as_name), title=title
    )
    click.echo(copy.id)


@deliberation.command("delete")
@click.argument("deliberation_id", type=ID)
@click.option("--yes", is_flag=True, help="Really delete it, with every row it holds.")
@as_option
def deliberation_delete(deliberation_id: int, yes: bool, as_name: str | None) -> None:
    """Delete a deliberation and everything in it (participants, transcripts, values, votes, stories,
    graphs, its moderation log); needs --yes. Prints what was deleted."""
    from services.facilitator import deliberation_edits, deliberations

    engine = _engine()
    found = deliberations.get_deliberation(engine, deliberation_id=deliberation_id)
    if not yes:
        counts = deliberation_edits.deletion_preview(engine, deliberation_id=deliberation_id)
        raise InvalidInput(
            f"Deleting deliberation {deliberation_id} removes it with {_held(counts) or 'nothing else'}; "
            "add --yes to delete it."
        )
    counts = deliberation_edits.delete_deliberation(
        engine, deliberation_id=deliberation_id, confirm_title=found.title, actor=_actor(as_name)
    )
    click.echo(f"Deleted deliberation {deliberation_id} ({_held(counts) or 'nothing else in it'}).")


def _held(counts: dict[str, int]) -> str:
    """The rows of a deliberation, counted by kind (``3 participants, 12 messages``)."""
    return ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items() if n and k != "deliberations")


@deliberation.command("link")
@click.argument("deliberation_id", type=ID)
@click.option("--base-url", default=None, help="Public address of the app (default: PUBLIC_BASE_URL).")
def deliberation_link(deliberation_id: int, base_url: str | None) -> None:
    """Print the deliberation's open join link (append &pid=ID to pass a panel id such as Prolific's)."""
    from services.facilitator import deliberations

    settings = _settings()
    engine = _engine(settings)
    click.echo(
        deliberations.open_link(
            engine, deliberation_id=deliberation_id, base_url=base_url or settings.public_base_url
        )
    )


@deliberation.command("status")
@click.argument("deliberation_id", type=ID)
@click.argument("status", type=click.Choice(values_of(DeliberationStatus)))
@as_option
def deliberation_status(deliberation_id: int, status: str, as_name: str | None) -> None:
    """Set a deliberation's status; only an open one takes new participants."""
    from services.facilitator import deliberations

    updated = deliberations.set_status(
        _engine(), deliberation_id=deliberation_id, status=status, actor=_actor(as_name)
    )
    click.echo(f"Deliberation {updated.id} is now {updated.status}.")


@deliberation.command("list")
def deliberation_list() -> None:
    """List deliberations: id, status, questions, participants (consented), title (tab-separated)."""
    from services.facilitator import deliberations

    engine = _engine()
    for d in deliberations.list_deliberations(engine):
        click.echo(f"{d.id}\t{d.status}\t{len(d.questions)}\t{d.participant_count}\t{d.title}")


@cli.command("invite")
@click.argument("deliberation_id", type=ID)
@click.option("--count", type=click.IntRange(min=1), default=1, show_default=True, help="How many links.")
@click.option("--base-url", default=None, help="Public address of the app (default: PUBLIC_BASE_URL).")
@click.option("--cohort", default=None, help="Put the invites in this named cohort.")
@click.option("--force", is_flag=True, help="Create them although the deliberation is not open.")
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also write the new links as CSV (link, code, cohort, status, started, finished).",
)
@as_option
def invite(
    deliberation_id: int,
    count: int,
    base_url: str | None,
    cohort: str | None,
    force: bool,
    csv_file: Path | None,
    as_name: str | None,
) -> None:
    """Create single-use invite links and print one per line (a deliberation that is not open needs
    --force: its links work only once it opens)."""
    from services.facilitator import deliberations, invites

    settings = _settings()
    engine = _engine(settings)
    links = deliberations.create_invites(
        engine,
        deliberation_id=deliberation_id,
        count=count,
        base_url=base_url or settings.public_base_url,
        cohort=cohort,
        actor=_actor(as_name),
        force=force,
    )
    for link in links:
        click.echo(link.url)
    if csv_file is not None:
        made = {link.invite.code for link in links}
        rows = invites.list_invites(
            engine, deliberation_id=deliberation_id, base_url=base_url or settings.public_base_url
        )
        _write_csv(csv_file, invites.invites_csv(r for r in rows if r.code in made))
        click.echo(f"Wrote {csv_file}", err=True)
    if force and links:
        status = deliberations.get_deliberation(engine, deliberation_id=deliberation_id).status
        if status != DeliberationStatus.OPEN:
            click.echo(f"Note: {deliberations.not_open_warning(deliberation_id, status)}", err=True)


@cli.group("invites")
def invites_group() -> None:
    """A deliberation's invites: list them (with what became of each), withdraw unused ones, count cohorts."""


@invites_group.command("list")
@click.argument("deliberation_id", type=ID)
@click.option("--base-url", default=None, help="Public address of the app (default: PUBLIC_BASE_URL).")
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write them as CSV to this file instead.",
)
def invites_list(deliberation_id: int, base_url: str | None, csv_file: Path | None) -> None:
    """List every invite: link, code, cohort, status (unused, opened, started, finished, revoked), opened,
    started (consented), finished (tab-separated)."""
    from services.facilitator import invites

    settings = _settings()
    rows = invites.list_invites(
        _engine(settings), deliberation_id=deliberation_id, base_url=base_url or settings.public_base_url
    )
    if csv_file is not None:
        _write_csv(csv_file, invites.invites_csv(rows))
        click.echo(f"Wrote {len(rows)} invites to {csv_file}")
        return
    for r in rows:
        when = [m.isoformat() if m else "-" for m in (r.opened, r.started, r.finished)]
        click.echo("\t".join([r.link, r.code, r.cohort or "-", r.status, *when]))
    if not rows:
        click.echo(f"No invites yet (python cli.py invite {deliberation_id} --count N makes some).", err=True)


@invites_group.command("cohorts")
@click.argument("deliberation_id", type=ID)
def invites_cohorts(deliberation_id: int) -> None:
    """Each cohort with its counts: cohort, invites, unused, revoked, visited, started (consented),
    finished (tab-separated; "-" is no cohort)."""
    from services.facilitator import invites

    for c in invites.cohort_counts(_engine(), deliberation_id=deliberation_id):
        counts = (c.invites, c.unused, c.revoked, c.visited, c.started, c.finished)
        click.echo("\t".join([c.name or "-", *map(str, counts)]))


@invites_group.command("revoke")
@click.argument("deliberation_id", type=ID)
@click.option("--code", default=None, help="Withdraw the invite with this code.")
@click.option("--cohort", default=None, help="Withdraw this cohort's unused invites.")
@click.option("--all-unused", is_flag=True, help="Withdraw every unused invite.")
@as_option
def invites_revoke(
    deliberation_id: int, code: str | None, cohort: str | None, all_unused: bool, as_name: str | None
) -> None:
    """Withdraw unused invites (one, a cohort's or all): their links then say they were withdrawn; links
    already used stay their person's."""
    from services.facilitator import invites

    n = invites.revoke_invites(
        _engine(),
        deliberation_id=deliberation_id,
        actor=_actor(as_name),
        code=code,
        cohort=cohort,
        all_unused=all_unused,
    )
    click.echo(f"Withdrew {n} invite{'s' if n != 1 else ''} of deliberation {deliberation_id}.")


@cli.command("demo")
@click.option(
    "--invites",
    type=click.IntRange(1, 20),
    default=2,
    show_default=True,
    help="Single-use invite links to print besides the open link.",
)
@click.option("--base-url", default=None, help="Public address of the app (default: PUBLIC_BASE_URL).")
def demo_cmd(invites: int, base_url: str | None) -> None:
    """Create an open demo deliberation (its question, contexts, seed values and stories are written by the
    project) and print its links. Each run makes a new one."""
    from services.facilitator import demo

    settings = _settings()
    engine = _engine(settings)
    made = demo.create_demo(engine, base_url=base_url or settings.public_base_url, invites=invites)
    d = made.deliberation
    click.echo(f"Demo deliberation {d.id} is open: {d.title}")
    click.echo(
        f"  {len(made.contexts)} contexts, {len(made.seeds)} seed values and {made.stories} upgrade stories "
        f"on its question (question {made.question_id})"
    )
    click.echo(f"Open link (anyone):   {made.open_link}")
    for n, link in enumerate(made.invite_links, 1):
        click.echo(f"Invite link {n}:        {link}")
    click.echo(f"Facilitator page:     {made.facilitator_url}")
    if settings.effective_llm_mode != "fake":
        click.echo(
            f"Note: the app's model is {settings.effective_llm_mode!r}, not the scripted demo model; start "
            "the app with LLM_MODE=fake to walk through the demo as it is meant to run.",
            err=True,
        )


@cli.command("import-dft")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "--before",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Keep only contributions created before this day (UTC), YYYY-MM-DD.",
)
@click.option("--title", default=None, help="Title of the new deliberation.")
def import_dft(directory: Path, before: datetime | None, title: str | None) -> None:
    """Load MAI's published study dump (its dft-data folder) into a new deliberation; prints its id.
    Recorded as a job run of kind import (``cli.py jobs show ID``); a failed import exits 1."""
    settings = _settings()
    engine = _engine(settings)
    args = {"folder": str(directory), "before": before.date().isoformat() if before else None, "title": title}
    run = _run_job(engine, settings, "import", None, args, on_line=lambda line: None)  # one line at the end
    _fail_if_failed(run)
    counts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in run.result["counts"].items())
    skipped = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in run.result["skipped"].items()) or "nothing"
    click.echo(f"Imported {counts}; skipped {skipped} (job run {run.id}).", err=True)
    click.echo(run.result["deliberation_id"])


@cli.command("build")
@click.argument("deliberation_id", type=ID)
def build(deliberation_id: int) -> None:
    """Build and store the deliberation's moral graph; prints a summary and each context's winner."""
    import importlib

    from services.facilitator import deliberations

    importlib.import_module("services.research.graphs")  # the graph's libraries load before the run starts
    settings = _settings()
    engine = _engine(settings)
    deliberations.get_deliberation(engine, deliberation_id=deliberation_id)
    run = _run_job(engine, settings, "build", deliberation_id, {})
    _fail_if_failed(run)
    g = run.result
    skipped = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in g["skipped"].items()) or "none"
    thresholds = " ".join(f"{k}={v}" for k, v in g["thresholds"].items())
    click.echo(
        f"Graph {g['snapshot_id']} of deliberation {deliberation_id}: {g['values']} values, {g['edges']} "
        f"edges, {g['contexts']} contexts from {g['judgements']} judgements "
        f"(skipped: {skipped}; {thresholds})."
    )
    for r in g["per_context"]:
        click.echo(f"{r['context']}\t{r['winner'] or '-'}\t{r['support']}\t{r['edges']} edges")


@cli.command("export")
@click.argument("deliberation_id", type=ID)
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), default="mai-json", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="File to write.")
def export(deliberation_id: int, fmt: str, out: Path) -> None:
    """Write the latest moral graph (building it when there is none) as MAI's JSON or GraphML."""
    from services.research import graphs

    engine = _engine()
    path = graphs.export_graph(engine, deliberation_id=deliberation_id, fmt=fmt, out=out)
    click.echo(f"Wrote {path}")


@cli.command("dedup")
@click.argument("deliberation_id", type=ID)
@click.option("--question", "question_id", type=ID, default=None, help="Only cards on this question id.")
@click.option(
    "--batch-size",
    type=click.IntRange(min=1, max=DEDUP_BATCH_MAX),
    default=DEDUP_BATCH,
    show_default=True,
    help="New cards per model call.",
)
def dedup(deliberation_id: int, question_id: int | None, batch_size: int) -> None:
    """Link submitted cards to canonical values (embeddings propose, the chat model decides); resumable.

    A batch whose partition stays invalid is skipped (its cards wait for the next run); other model
    errors stop the run.
    """
    from services.jobs import dedup as dedup_job

    settings = _settings()
    engine = _engine(settings)
    if not dedup_job.pending_count(engine, deliberation_id=deliberation_id, question_id=question_id):
        click.echo(f"Nothing to deduplicate: every submitted card of deliberation {deliberation_id} has one.")
        return
    args = {"question_id": question_id, "batch_size": batch_size}
    run = _run_job(engine, settings, "dedup", deliberation_id, args)
    s = run.result
    if "batches" not in s:  # it stopped on an error before any batch
        _fail_if_failed(run)
    for f in s["failures"]:
        cards = ", ".join(map(str, f["card_ids"]))
        click.echo(
            f"failed: batch {f['number']} (cards {cards}; moderation event {f['event_id']}): {f['error']}",
            err=True,
        )
    batches = f"{s['failed_batches']} batch{'es' if s['failed_batches'] > 1 else ''}"
    failed = f"; {batches} ({s['failed_cards']} cards) failed, left for the next run" if s["failures"] else ""
    click.echo(
        f"Dedup run {s['dedup_run']}: {s['cards_processed']} cards processed, {s['canonicals_created']} "
        f"canonical values created, {s['cards_joined']} cards joined existing values, {s['cards_skipped']} "
        f"skipped{failed} ({s['prompt_ref']}; job run {run.id})."
    )
    _fail_if_failed(run)  # every batch failed


@cli.group("values")
def values_group() -> None:
    """Review canonical values by hand: list, show, merge and split them."""


@values_group.command("list")
@click.argument("deliberation_id", type=ID)
@click.option("--question", "question_id", type=ID, default=None, help="Only values with a card on it.")
def values_list(deliberation_id: int, question_id: int | None) -> None:
    """List the canonical values: id, member card ids, votes, origin (seed, dedup, imported or split),
    title (tab-separated)."""
    from services.facilitator import values

    found = values.list_values(_engine(), deliberation_id=deliberation_id, question_id=question_id)
    for v in found:
        cards = ",".join(str(c.id) for c in v.cards) or "-"
        click.echo(f"{v.id}\t{cards}\t{v.votes}\t{_origin(v)}\t{v.title}")
    if not found:
        click.echo(f"No canonical values yet (python cli.py dedup {deliberation_id} makes them).", err=True)


@values_group.command("show")
@click.argument("value_id", type=ID)
def values_show(value_id: int) -> None:
    """Show a value: title, description, policies, votes and its member cards with their ids."""
    from services.facilitator import values

    v = values.get_value(_engine(), canonical_id=value_id)
    made = {
        "seed": "a seed value, suggested by the organisers",
        "dedup": f"made by dedup run {v.dedup_run}",
        "imported": f"imported ({v.external_ref})",
        "split": "split off by hand",
    }[_origin(v)]
    click.echo(f"Value {v.id}: {v.title}")
    click.echo(v.description)
    for policy in v.policies:
        click.echo(f"- {policy}")
    click.echo(f"Deliberation {v.deliberation_id}; {v.votes} votes; {made}.")
    click.echo(f"Cards ({len(v.cards)}):")
    for c in v.cards:
        status = "" if c.status == CardStatus.SUBMITTED else f" [{c.status}]"
        click.echo(f"{c.id}\t{c.title}{status}\t{c.description}")


def _origin(value: Any) -> str:
    """How a canonical value came to be: ``seed``, ``dedup``, ``imported`` or ``split`` (off by hand)."""
    if value.seed:
        return "seed"
    return "dedup" if value.dedup_run else "imported" if value.external_ref else "split"


def _ids(ids: tuple[int, ...] | list[int]) -> str:
    return ", ".join(map(str, ids))


@values_group.command("merge")
@click.argument("keep_id", type=ID)
@click.argument("other_ids", nargs=-1, type=ID, required=True, metavar="OTHER_ID...")
@click.option("--reason", required=True, help="Why they are one value (written to the moderation log).")
@as_option
def values_merge(keep_id: int, other_ids: tuple[int, ...], reason: str, as_name: str | None) -> None:
    """Merge values OTHER_ID... into KEEP_ID: cards, votes, stories and judgements move over."""
    from services.facilitator import values

    engine = _engine()
    keep = values.get_value(engine, canonical_id=keep_id)
    m = values.merge(
        engine,
        deliberation_id=keep.deliberation_id,
        keep_id=keep_id,
        merge_ids=other_ids,
        reason=reason,
        actor=_actor(as_name),
    )
    earlier = f"; values {_ids(m.already_merged)} had been merged into it before" if m.already_merged else ""
    if m.already_done:
        click.echo(f"Nothing to do: values {_ids(m.already_merged)} were merged into value {keep_id} before.")
        return
    counts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in m.counts.items() if n) or "nothing attached"
    event = f"moderation event {m.event_id}"
    click.echo(f"Merged values {_ids(m.merged_ids)} into value {keep_id} ({counts}; {event}){earlier}.")


@values_group.command("split")
@click.argument("value_id", type=ID)
@click.option(
    "--card",
    "card_ids",
    type=ID,
    multiple=True,
    required=True,
    help="A member card to move; repeat for more.",
)
@click.option("--title", default=None, help="Title of the new value (default: the first card's).")
@click.option("--reason", required=True, help="Why they differ (written to the moderation log).")
@as_option
def values_split(
    value_id: int, card_ids: tuple[int, ...], title: str | None, reason: str, as_name: str | None
) -> None:
    """Move some member cards of VALUE_ID to a new value; votes and stories stay with VALUE_ID."""
    from services.facilitator import values

    s = values.split(
        _engine(), canonical_id=value_id, card_ids=card_ids, title=title, reason=reason, actor=_actor(as_name)
    )
    if s.already_done:
        click.echo(
            f"Nothing to do: cards {_ids(s.card_ids)} were split off value {value_id} into value "
            f"{s.new_canonical_id} before."
        )
        return
    click.echo(
        f"Split cards {_ids(s.card_ids)} off value {value_id} into new value {s.new_canonical_id} "
        f"(moderation event {s.event_id})."
    )


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items() if n) or "nothing attached"


@values_group.command("preview-merge")
@click.argument("keep_id", type=ID)
@click.argument("other_ids", nargs=-1, type=ID, required=True, metavar="OTHER_ID...")
def values_preview_merge(keep_id: int, other_ids: tuple[int, ...]) -> None:
    """Show what merging OTHER_ID... into KEEP_ID would move and drop, changing nothing."""
    from services.facilitator import values

    engine = _engine()
    keep = values.get_value(engine, canonical_id=keep_id)
    p = values.preview_merge(
        engine, deliberation_id=keep.deliberation_id, keep_id=keep_id, merge_ids=other_ids
    )
    click.echo("role\tvalue\tcards\tvotes\tstories\tjudgements\ttitle")
    for role, v in (("keep", p.keep), *(("merge", m) for m in p.merging)):
        click.echo(f"{role}\t{v.value_id}\t{v.cards}\t{v.votes}\t{v.stories}\t{v.judgements}\t{v.title}")
    if p.already_merged:
        click.echo(f"Values {_ids(p.already_merged)} were merged into value {keep_id} before.", err=True)
    if not p.already_done:
        click.echo(f"The merge would do: {_counts(p.counts)}.", err=True)


@values_group.command("preview-split")
@click.argument("value_id", type=ID)
@click.option(
    "--card", "card_ids", type=ID, multiple=True, required=True, help="A member card to move; repeat."
)
@click.option("--title", default=None, help="Title of the new value (default: the first card's).")
def values_preview_split(value_id: int, card_ids: tuple[int, ...], title: str | None) -> None:
    """Show which cards splitting them off VALUE_ID would move and which stay, changing nothing."""
    from services.facilitator import values

    p = values.preview_split(_engine(), canonical_id=value_id, card_ids=card_ids, title=title)
    if p.already_done:
        click.echo(f"Nothing to do: cards {_ids(card_ids)} were split off value {value_id} before.")
        return
    for verb, cards in (("moves", p.moving), ("stays", p.staying)):
        for c in cards:
            click.echo(f"{verb}\t{c.id}\t{c.title}")
    v = p.value
    click.echo(
        f"The new value would be titled {p.title!r}; {v.votes} votes, {v.stories} stories and "
        f"{v.judgements} judgements stay with value {value_id}.",
        err=True,
    )


def _hide_value(value_id: int, reason: str, as_name: str | None, *, hidden: bool) -> None:
    from services.facilitator import moderation, values

    engine = _engine()
    value = values.get_value(engine, canonical_id=value_id)
    change = moderation.hide_value if hidden else moderation.unhide_value
    done = change(
        engine, deliberation_id=value.deliberation_id, value_id=value_id, reason=reason, actor=_actor(as_name)
    )
    click.echo(done.message if done.already_done else f"{done.message} (moderation event {done.event_id})")


@values_group.command("hide")
@click.argument("value_id", type=ID)
@click.option("--reason", required=True, help="Why (written to the moderation log).")
@as_option
def values_hide(value_id: int, reason: str, as_name: str | None) -> None:
    """Hide a value: out of vote draws, story pairing, judging and graph builds until unhidden."""
    _hide_value(value_id, reason, as_name, hidden=True)


@values_group.command("unhide")
@click.argument("value_id", type=ID)
@click.option("--reason", required=True, help="Why (written to the moderation log).")
@as_option
def values_unhide(value_id: int, reason: str, as_name: str | None) -> None:
    """Show a hidden value again."""
    _hide_value(value_id, reason, as_name, hidden=False)


@values_group.command("missed")
@click.argument("deliberation_id", type=ID)
@click.option("--top", type=click.IntRange(1, 100), default=10, show_default=True, help="How many pairs.")
def values_missed(deliberation_id: int, top: int) -> None:
    """List likely missed merges: the closest pairs of visible values by embedding (tab-separated)."""
    from services.facilitator import values
    from services.runtime import model_clients

    settings = _settings()
    engine = _engine(settings)
    pairs = values.missed_merges(
        engine, model_clients.embeddings(settings, engine), deliberation_id=deliberation_id, top=top
    )
    for p in pairs:
        click.echo(f"{p.similarity:.4f}\t{p.a}\t{p.b}\t{p.a_title}\t{p.b_title}")
    if not pairs:
        click.echo("Fewer than two visible values: nothing to compare.", err=True)


@cli.group("cards")
def cards_group() -> None:
    """Moderate cards: find them, hide or show them again, edit their wording."""


@cards_group.command("list")
@click.argument("deliberation_id", type=ID)
@click.option("--search", "text", default="", help="Only cards whose title, description or policies hold it.")
@click.option(
    "--status", type=click.Choice(values_of(CardStatus)), default=None, help="Only cards of this status."
)
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True, help="How many.")
@click.option("--offset", type=click.IntRange(min=0), default=0, help="Skip this many first (newest first).")
def cards_list(deliberation_id: int, text: str, status: str | None, limit: int, offset: int) -> None:
    """List cards, newest first: id, status, value id, overall grade, title (tab-separated)."""
    from services.facilitator import moderation

    page = moderation.search_cards(
        _engine(), deliberation_id=deliberation_id, text=text, status=status, limit=limit, offset=offset
    )
    for h in page.hits:
        grade = h.grades.overall if h.grades else "-"
        click.echo(
            f"{h.card.id}\t{h.card.status}\t{h.card.canonical_value_id or '-'}\t{grade}\t{h.card.title}"
        )
    if page.more:
        click.echo(f"More cards match: --offset {offset + limit}.", err=True)


def _card_done(done: Any) -> None:
    click.echo(done.message if done.already_done else f"{done.message} (moderation event {done.event_id})")


@cards_group.command("hide")
@click.argument("card_id", type=ID)
@click.option("--reason", required=True, help="Why (written to the moderation log).")
@click.option(
    "--value",
    "value",
    type=click.Choice(["keep", "hide"]),
    default=None,
    help="Its value too: hide it, or keep it (asked when the value carries the card's words).",
)
@as_option
def cards_hide(card_id: int, reason: str, value: str | None, as_name: str | None) -> None:
    """Hide a submitted card: its value no longer counts it for draws, stories and judging."""
    from services.facilitator import moderation

    engine = _engine()
    d, _card = moderation.find_card(engine, card_id=card_id)
    _card_done(
        moderation.hide_card(
            engine, deliberation_id=d, card_id=card_id, reason=reason, actor=_actor(as_name), value=value
        )
    )


@cards_group.command("unhide")
@click.argument("card_id", type=ID)
@click.option("--reason", required=True, help="Why (written to the moderation log).")
@as_option
def cards_unhide(card_id: int, reason: str, as_name: str | None) -> None:
    """Make a hidden card submitted again."""
    from services.facilitator import moderation

    engine = _engine()
    d, _card = moderation.find_card(engine, card_id=card_id)
    _card_done(
        moderation.unhide_card(
            engine, deliberation_id=d, card_id=card_id, reason=reason, actor=_actor(as_name)
        )
    )


@cards_group.command("edit")
@click.argument("card_id", type=ID)
@click.option("--title", default=None, help="The new title (default: unchanged).")
@click.option("--description", default=None, help="The new description (default: unchanged).")
@click.option("--policy", "policies", multiple=True, help="A policy; repeat for each (default: unchanged).")
@click.option("--reason", required=True, help="Why (written to the moderation log).")
@as_option
def cards_edit(
    card_id: int,
    title: str | None,
    description: str | None,
    policies: tuple[str, ...],
    reason: str,
    as_name: str | None,
) -> None:
    """Change a card's wording (checked by the card rules); the old and new wording are logged."""
    from services.facilitator import moderation

    engine = _engine()
    d, card = moderation.find_card(engine, card_id=card_id)
    done = moderation.edit_card(
        engine,
        deliberation_id=d,
        card_id=card_id,
        title=card.title if title is None else title,
        description=card.description if description is None else description,
        policies=list(policies) or card.policies,
        reason=reason,
        actor=_actor(as_name),
    )
    _card_done(done)


@cli.group("moderation")
def moderation_group() -> None:
    """The moderation log: every facilitator action with who, why, when, before and after."""


@moderation_group.command("log")
@click.argument("deliberation_id", type=ID)
@click.option("--action", default=None, help="Only events of this action (e.g. hide_card).")
@click.option(
    "--csv", "csv_file", type=click.Path(path_type=Path), default=None, help="Write it as CSV here."
)
def moderation_log(deliberation_id: int, action: str | None, csv_file: Path | None) -> None:
    """Print the log, newest first: when, who, action, target, reason (tab-separated); or write its CSV."""
    from services.facilitator import moderation

    engine = _engine()
    if csv_file is not None:
        _write_csv(csv_file, moderation.log_csv(engine, deliberation_id=deliberation_id, action=action))
        click.echo(f"Wrote {csv_file}.", err=True)
        return
    for e in moderation.log(engine, deliberation_id=deliberation_id, action=action):
        target = f"{e.target_type} {e.target_id}" if e.target_id is not None else e.target_type
        click.echo(
            f"{e.created_at.isoformat(timespec='seconds')}\t{e.actor}\t{e.action}\t{target}\t{e.reason}"
        )


@cli.group("seed")
def seed_group() -> None:
    """Seed a question with values before participants arrive: typed or written by the model."""


def _seed_line(s: Any) -> str:
    mined = "mined" if s.contexts_mined else "not mined"
    return f"{s.id}\t{s.question_id}\t{s.card_id}\t{s.votes}\t{s.members}\t{mined}\t{s.title}"


def _mine_seeds(engine: Any, settings: Settings, seed_ids: list[int]) -> None:
    """Mine each new seed's contexts with the configured model (a failure leaves it for a later run)."""
    from services.facilitator import seeds
    from services.runtime import model_clients

    model = model_clients.chat_model(settings, engine)
    for value_id in seed_ids:
        try:
            added = seeds.mine_seed_contexts(engine, model, value_id=value_id)
        except StudioError as exc:
            click.echo(f"seed {value_id}: mining its contexts failed: {one_line(exc)}", err=True)
            continue
        click.echo(f"seed {value_id}: {len(added)} contexts added", err=True)


@seed_group.command("add")
@click.argument("deliberation_id", type=ID)
@click.option("--question", "question_id", type=ID, required=True, help="The question it is a value of.")
@click.option("--title", required=True, help="2-5 words.")
@click.option("--description", required=True, help="One sentence.")
@click.option("--policy", "policies", multiple=True, required=True, help="What to attend to; repeat (2-10).")
@click.option("--context", "contexts", multiple=True, help='A "When ..." context of the seed; repeat.')
@click.option("--no-mine", is_flag=True, help="Without --context: do not mine its contexts now.")
def seed_add(
    deliberation_id: int,
    question_id: int,
    title: str,
    description: str,
    policies: tuple[str, ...],
    contexts: tuple[str, ...],
    no_mine: bool,
) -> None:
    """Add one seed value (checked by the card rules); prints its value id. Without --context its contexts
    are mined with the model, as a participant card's are."""
    from services.facilitator import seeds

    settings = _settings()
    engine = _engine(settings)
    s = seeds.add_seed(
        engine,
        deliberation_id=deliberation_id,
        question_id=question_id,
        title=title,
        description=description,
        policies=list(policies),
        contexts=list(contexts),
    )
    click.echo(s.id)
    if not contexts and not no_mine:
        _mine_seeds(engine, settings, [s.id])


@seed_group.command("generate")
@click.argument("deliberation_id", type=ID)
@click.option("--question", "question_id", type=ID, required=True, help="The question to seed.")
@click.option(
    "--count",
    type=click.IntRange(min=1, max=SEEDS_PER_CALL),
    default=4,
    show_default=True,
    help="How many values to ask the model for.",
)
@click.option("--no-mine", is_flag=True, help="Do not mine the new seeds' contexts now.")
def seed_generate(deliberation_id: int, question_id: int, count: int, no_mine: bool) -> None:
    """Ask the model for COUNT distinct seed values of a question; stores those that pass the card rules
    and repeat no value of the question, and reports the others (stderr)."""
    from services.facilitator import seeds
    from services.runtime import model_clients

    settings = _settings()
    engine = _engine(settings)
    seeds.require_question(engine, deliberation_id=deliberation_id, question_id=question_id)
    g = seeds.generate_seeds(
        engine,
        model_clients.chat_model(settings, engine),
        deliberation_id=deliberation_id,
        question_id=question_id,
        count=count,
        mine=not no_mine,
    )
    for s in g.added:
        click.echo(_seed_line(s))
    for r in g.rejected:
        click.echo(f"not stored: {r.title or '(no title)'}: {r.reason}", err=True)
    for error in g.mining_errors:
        click.echo(f"mining failed: {error}", err=True)
    click.echo(
        f"Added {len(g.added)} of {count} requested seed values to question {question_id} "
        f"({len(g.rejected)} not stored, {g.contexts_added} contexts mined; {g.prompt_ref}, {g.model}).",
        err=True,
    )


@seed_group.command("list")
@click.argument("deliberation_id", type=ID)
@click.option("--question", "question_id", type=ID, default=None, help="Only the seeds of this question.")
def seed_list(deliberation_id: int, question_id: int | None) -> None:
    """List the seed values: value id, question id, own card id, votes, participant cards that joined it,
    whether its contexts were mined, title (tab-separated)."""
    from services.facilitator import seed_rows

    found = seed_rows.list_seeds(_engine(), deliberation_id=deliberation_id, question_id=question_id)
    for s in found:
        click.echo(_seed_line(s))
    if not found:
        click.echo(f"No seed values yet (python cli.py seed add {deliberation_id} ... adds one).", err=True)


@seed_group.command("remove")
@click.argument("value_id", type=ID)
@click.option("--reason", default="", help="Why (written to the moderation log).")
def seed_remove(value_id: int, reason: str) -> None:
    """Delete a seed value nobody has seen, voted on or joined yet (with its stories); logged."""
    from services.facilitator import seed_rows

    r = seed_rows.remove_seed(_engine(), value_id=value_id, reason=reason)
    stories = f", {r.stories_removed} stories" if r.stories_removed else ""
    click.echo(f"Removed seed value {r.value_id} ({r.title}{stories}; moderation event {r.event_id}).")


@cli.command("stories")
@click.argument("deliberation_id", type=ID)
@click.option("--run", "run_id", default=None, help="Resume this run id (default: start a new run).")
@click.option(
    "--max-pairs",
    type=click.IntRange(min=1, max=STORY_PAIRS_MAX),
    default=STORY_PAIRS,
    show_default=True,
    help="Most pairs of values to write stories for (two stories each).",
)
def stories_cmd(deliberation_id: int, run_id: str | None, max_pairs: int) -> None:
    """Write and judge upgrade stories (both directions) for pairs of values in each context; resumable."""
    from services.facilitator import deliberations
    from services.jobs import stories

    settings = _settings()
    engine = _engine(settings)
    run_id = stories.check_run_id(run_id) if run_id else stories.new_run_id()
    deliberations.get_deliberation(engine, deliberation_id=deliberation_id)  # before starting a model
    started: list[bool] = []

    def progress(line: str) -> None:
        if not started:  # said once the input is checked and the first story is done
            started.append(True)
            click.echo(f"Story run {run_id} (rerun with --run {run_id} to resume it).", err=True)
        click.echo(line, err=True)

    run = _run_job(
        engine,
        settings,
        "stories",
        deliberation_id,
        {"max_pairs": max_pairs, "run_id": run_id},
        on_line=progress,
    )
    s = run.result
    if "pairs" not in s:  # it stopped on an error
        _fail_if_failed(run)
    for error in s["errors"]:
        click.echo(f"failed: {error}", err=True)
    click.echo(
        f"Story run {s['story_run']} of deliberation {deliberation_id}: {s['pairs']} pairs; {s['written']} "
        f"stories written, {s['judged']} judged, {s['skipped']} already done, {s['failed']} failed; "
        f"{s['shown']} shown, {s['hidden']} hidden (job run {run.id})."
    )
    _fail_if_failed(run)  # every story failed


@cli.command("pipeline")
@click.argument("deliberation_id", type=ID)
def pipeline_cmd(deliberation_id: int) -> None:
    """Catch up the continuous pipeline: mine every card not mined yet, deduplicate every pending card, and
    write and judge the stories of every value's new pairs (run pipeline-ID), within the deliberation's
    caps (pipeline_max_pairs, pipeline_max_calls); resumable."""
    from services.jobs import pipeline
    from services.runtime import model_clients

    settings = _settings()
    engine = _engine(settings)
    st = pipeline.status(engine, deliberation_id=deliberation_id)  # before starting a model
    click.echo(
        f"Pipeline {st.run_id}: {st.calls_used} of {st.max_calls} model calls used, {st.pairs_used} of "
        f"{st.max_pairs} pairs; {st.unmined_cards} cards to mine, {st.pending_cards} to deduplicate, "
        f"{st.pairs_to_write} pairs to write within the caps.",
        err=True,
    )
    if not st.has_work:  # no model is started (in local mode that would start the offline server)
        click.echo(f"Pipeline {st.run_id} of deliberation {deliberation_id}: nothing to do; no model asked.")
        return
    r = pipeline.catch_up(
        engine,
        model_clients.chat_model(settings, engine),
        model_clients.embeddings(settings, engine),
        deliberation_id=deliberation_id,
        on_step=lambda line: click.echo(line, err=True),
    )
    for error in r.errors:
        click.echo(f"failed: {error} (a rerun retries it)", err=True)
    click.echo(
        f"Pipeline {r.run_id} of deliberation {deliberation_id}: {r.cards_mined} cards mined "
        f"({r.contexts_added} contexts), {r.cards_linked} cards linked to values, {r.pairs} pairs "
        f"({r.new_pairs} new): {r.written} stories written, {r.judged} judged, {r.shown} shown; "
        f"{r.calls} model calls."
    )
    if r.stopped:
        click.echo(f"Stopped early: {r.stopped}. A rerun continues.", err=True)
    if r.capped:
        click.echo(
            f"Stories wait: the cap is reached ({', '.join(r.capped)}); cards are still mined and linked "
            f"to values. The caps bound the pipeline only: python cli.py stories {deliberation_id} --run "
            f"{r.run_id} goes on by hand.",
            err=True,
        )


@cli.command("contexts")
@click.argument("question_id", type=ID)
@click.option(
    "--count",
    type=click.IntRange(min=1, max=CONTEXTS_PER_CALL),
    default=5,
    show_default=True,
    help="How many contexts to ask the model for.",
)
def contexts_cmd(question_id: int, count: int) -> None:
    """Generate "When ..." contexts for a question with the model; prints each new one."""
    from services.jobs import contexts as context_jobs
    from services.jobs import run_kinds

    settings = _settings()
    engine = _engine(settings)
    context_jobs.require_question(engine, question_id=question_id)
    deliberation_id = run_kinds.deliberation_of_question(engine, question_id=question_id)
    run = _run_job(
        engine, settings, "generate_contexts", deliberation_id, {"question_id": question_id, "n": count}
    )
    _fail_if_failed(run)
    added = run.result["added"]
    for text in added:
        click.echo(text)
    click.echo(
        f"Added {len(added)} of {count} requested contexts to question {question_id} "
        "(duplicates and malformed ones are dropped).",
        err=True,
    )


@cli.command("mine-contexts")
@click.argument("deliberation_id", type=ID)
def mine_contexts_cmd(deliberation_id: int) -> None:
    """Mine contexts from every submitted card whose mining never succeeded (e.g. the model failed after
    the participant's submit); a malformed answer skips its card, other model errors stop the run."""
    from services.jobs import contexts as context_jobs

    settings = _settings()
    engine = _engine(settings)
    if not context_jobs.count_unmined(engine, deliberation_id=deliberation_id):
        click.echo(f"Nothing to mine: every submitted card of deliberation {deliberation_id} has been mined.")
        return
    run = _run_job(engine, settings, "mine_contexts", deliberation_id, {})
    s = run.result
    if "cards_mined" not in s:  # it stopped on an error
        _fail_if_failed(run)
    click.echo(
        f"Mined {s['cards_mined']} of {s['cards']} cards of deliberation {deliberation_id}: "
        f"{s['contexts_added']} contexts added, {s['skipped']} skipped, {s['failed']} failed "
        f"(a rerun retries them; job run {run.id})."
    )
    _fail_if_failed(run)  # every card failed


@cli.command("grade")
@click.argument("interview_id", type=ID)
def grade_cmd(interview_id: int) -> None:
    """Grade an interview's transcript A-F on the field's rubric; prints criterion, grade, reason."""
    from services.facilitator import grading
    from services.runtime import model_clients

    settings = _settings()
    engine = _engine(settings)
    grading.require_interview(engine, interview_id=interview_id)
    g = grading.grade_interview(engine, model_clients.chat_model(settings, engine), interview_id=interview_id)
    click.echo(
        f"Interview {interview_id}: {g.messages} messages, {'a card' if g.had_card else 'no card'}; "
        f"graded by {g.model} with {g.prompt_ref}.",
        err=True,
    )
    for label, grade, reason in g.grades.rows():
        click.echo(f"{label}\t{grade}\t{reason}")


@cli.group("jobs")
def jobs_group() -> None:
    """Job runs (dedup, contexts, stories, grading, builds, imports) of the console and the command line."""


def _run_line(r: Any) -> str:
    progress = f"{r.done}/{r.total}" if r.total else str(r.done)
    where = f"deliberation {r.deliberation_id}" if r.deliberation_id is not None else "-"
    return (
        f"{r.id}\t{r.kind}\t{r.status}\t{progress}\t{where}\t{r.actor or '-'}\t{r.created_at:%Y-%m-%d %H:%M}"
    )


@jobs_group.command("list")
@click.argument("deliberation_id", type=ID, required=False)
def jobs_list(deliberation_id: int | None) -> None:
    """The latest job runs (of one deliberation when given): id, kind, status, progress, deliberation, who,
    when (tab-separated, newest first)."""
    from services.jobs import runs

    engine = _engine()
    if deliberation_id is not None:
        from services.facilitator import deliberations

        deliberations.get_deliberation(engine, deliberation_id=deliberation_id)
    listed = runs.list_runs(engine, deliberation_id=deliberation_id)
    if not listed:
        click.echo("No job runs yet.", err=True)
    for r in listed:
        click.echo(_run_line(r))


@jobs_group.command("show")
@click.argument("run_id", type=ID)
def jobs_show(run_id: int) -> None:
    """One job run: its arguments, progress, result or error, and its log lines."""
    import json

    from services.jobs import runs

    r = runs.get_run(_engine(), run_id=run_id)
    click.echo(_run_line(r))
    click.echo(f"arguments\t{json.dumps(r.args, sort_keys=True)}")
    times = (("started", r.started_at), ("finished", r.finished_at), ("heartbeat", r.heartbeat_at))
    for label, moment in times:
        if moment is not None:
            click.echo(f"{label}\t{moment:%Y-%m-%d %H:%M:%S}")
    if r.error:
        click.echo(f"error\t{r.error}")
    summary = {k: v for k, v in r.result.items() if not isinstance(v, (list, dict))}
    if summary:
        click.echo(f"result\t{json.dumps(summary, sort_keys=True)}")
    for line in r.log:
        click.echo(f"log\t{line}")


@cli.command("status")
def status() -> None:
    """Show the model endpoint, the database and what it holds."""
    from services.facilitator import system

    settings = _settings()
    info = system.describe(settings, _engine(settings))
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


@cli.group("facilitator")
def facilitator_group() -> None:
    """Facilitator accounts: who may sign in to the console (every console action is attributed to one)."""


def _new_password(password_stdin: bool) -> str:
    """The new password: one line read from stdin with ``--password-stdin``, else typed twice (hidden)."""
    if password_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise InvalidInput("No password on stdin: send one line, e.g. printf '%s\\n' \"$PASSWORD\" | ...")
        return password
    return str(click.prompt("Password", hide_input=True, confirmation_prompt="Repeat the password", err=True))


_PASSWORD_STDIN = click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin (no prompt)."
)


@facilitator_group.command("add")
@click.argument("name")
@_PASSWORD_STDIN
def facilitator_add(name: str, password_stdin: bool) -> None:
    """Create account NAME (an e-mail address also signs in through OpenID Connect, where configured);
    asks for its password twice."""
    from services.facilitator import accounts

    engine = _engine()
    accounts.check_new_name(engine, name=name)  # before asking for a password
    password = _new_password(password_stdin)
    account = accounts.add_account(engine, name=name, password=password, actor=_actor(None))
    click.echo(f"Facilitator account {account.name} created: sign in on the console's sign-in page.")


@facilitator_group.command("list")
def facilitator_list() -> None:
    """The accounts: name, status, password, last sign-in (tab-separated; never a hash)."""
    from services.facilitator import accounts

    found = accounts.list_accounts(_engine())
    for a in found:
        status = "disabled" if a.disabled_at else "enabled"
        password = "password" if a.has_password else "openid-only"
        last = a.last_signin_at.isoformat(timespec="seconds") if a.last_signin_at else "-"
        click.echo(f"{a.name}\t{status}\t{password}\t{last}")
    if not found:
        click.echo("No facilitator accounts yet (python cli.py facilitator add NAME makes one).", err=True)


@facilitator_group.command("disable")
@click.argument("name")
def facilitator_disable(name: str) -> None:
    """Stop account NAME from signing in; its open sessions end."""
    from services.facilitator import accounts

    account = accounts.disable_account(_engine(), name=name, actor=_actor(None))
    click.echo(f"Facilitator account {account.name} is disabled; its sessions have ended.")


@facilitator_group.command("enable")
@click.argument("name")
def facilitator_enable(name: str) -> None:
    """Let a disabled account NAME sign in again."""
    from services.facilitator import accounts

    account = accounts.enable_account(_engine(), name=name, actor=_actor(None))
    click.echo(f"Facilitator account {account.name} is enabled.")


@facilitator_group.command("password")
@click.argument("name")
@_PASSWORD_STDIN
def facilitator_password(name: str, password_stdin: bool) -> None:
    """Give account NAME a new password (asked twice); its open sessions end."""
    from services.facilitator import accounts

    engine = _engine()
    accounts.get_account(engine, name=name)  # before asking for a password
    password = _new_password(password_stdin)
    account = accounts.set_password(engine, name=name, password=password, actor=_actor(None))
    click.echo(f"New password set for {account.name}; its sessions have ended.")


@facilitator_group.command("unlock")
@click.argument("name")
def facilitator_unlock(name: str) -> None:
    """Forgive account NAME's failed sign-ins so far, from every client, so it can sign in at once
    (recorded in the sign-in log and the console's log)."""
    from services.facilitator import accounts

    account = accounts.unlock(_engine(), name=name, actor=_actor(None))
    click.echo(f"Facilitator account {account.name} is unlocked: its failed sign-ins no longer count.")


@cli.group("model")
def model_group() -> None:
    """Larger offline models: download one (LOCAL_MODEL=NAME then serves it)."""


@model_group.command("list")
def model_list() -> None:
    """The catalogue's models: name, size, whether it is downloaded, what it is (tab-separated)."""
    from services.runtime import model_files

    settings = _settings()
    for entry in CATALOGUE.values():
        state = "downloaded" if model_files.model_file(settings, entry.name).is_file() else "-"
        click.echo(f"{entry.name}\t{entry.size_label}\t{state}\t{entry.about}")


@model_group.command(
    "pull",
    help="Download model NAME into DATA_DIR/models/NAME.gguf with a progress bar, check its SHA-256, and "
    "say how to use it.\n\nNAME is one of the catalogue's (" + ", ".join(CATALOGUE) + ") or, with --url "
    "and --sha256, a name of your choosing for any GGUF file. An interrupted download resumes where it "
    "stopped when run again; a file whose checksum does not match is deleted.",
)
@click.argument("name")
@click.option("--url", default=None, help="Download this GGUF file instead (needs --sha256).")
@click.option("--sha256", "sha256", default=None, help="The file's SHA-256 (64 hex digits), checked after.")
def model_pull(name: str, url: str | None, sha256: str | None) -> None:
    from services.runtime import model_files

    settings = _settings()
    source = model_files.source_for(name, url=url, sha256=sha256)
    click.echo(f"Downloading {name} from {source.url}", err=True)
    bar: Any = None

    def progress(done: int, total: int | None) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total or 0, label=name, file=sys.stderr, show_pos=total is None)
            bar.__enter__()
        bar.update(done - bar.pos)

    try:
        pulled = model_files.pull_model(settings, source, progress=progress)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    how = "already there, checksum verified" if pulled.already_there else "downloaded, checksum verified"
    if pulled.resumed_from:
        how += f", resumed after {pulled.resumed_from:,} bytes"
    click.echo(f"{pulled.path} ({pulled.size:,} bytes): {how}. Use it with LOCAL_MODEL={name}.")


if __name__ == "__main__":
    cli()
