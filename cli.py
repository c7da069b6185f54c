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
from interviews.limits import CONTEXTS_PER_CALL, DEDUP_BATCH, DEDUP_BATCH_MAX, STORY_PAIRS, STORY_PAIRS_MAX
from interviews.text_rules import parse_id
from interviews.vocabulary import CardStatus, DeliberationStatus, values_of
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
    """Create and list deliberations."""


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
    "stories_to_judge, interview_turn_limit (see README).",
)
def deliberation_create(
    title: str, questions: tuple[str, ...], welcome: str, consent: str, config_file: Path | None
) -> None:
    """Create a deliberation and print its id."""
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
    )
    click.echo(created.id)


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
def deliberation_status(deliberation_id: int, status: str) -> None:
    """Set a deliberation's status; closed and archived ones accept no new participants."""
    from services.facilitator import deliberations

    updated = deliberations.set_status(_engine(), deliberation_id=deliberation_id, status=status)
    click.echo(f"Deliberation {updated.id} is now {updated.status}.")


@deliberation.command("list")
def deliberation_list() -> None:
    """List deliberations: id, status, questions, participants, title (tab-separated)."""
    from services.facilitator import deliberations

    engine = _engine()
    for d in deliberations.list_deliberations(engine):
        click.echo(f"{d.id}\t{d.status}\t{len(d.questions)}\t{d.participant_count}\t{d.title}")


@cli.command("invite")
@click.argument("deliberation_id", type=ID)
@click.option("--count", type=click.IntRange(min=1), default=1, show_default=True, help="How many links.")
@click.option("--base-url", default=None, help="Public address of the app (default: PUBLIC_BASE_URL).")
@click.option("--cohort", default=None, help="Put the invites in this named cohort.")
def invite(deliberation_id: int, count: int, base_url: str | None, cohort: str | None) -> None:
    """Create single-use invite links and print one per line."""
    from services.facilitator import deliberations

    settings = _settings()
    engine = _engine(settings)
    links = deliberations.create_invites(
        engine,
        deliberation_id=deliberation_id,
        count=count,
        base_url=base_url or settings.public_base_url,
        cohort=cohort,
    )
    for link in links:
        click.echo(link.url)


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
    """Load MAI's published study dump (its dft-data folder) into a new deliberation; prints its id."""
    from services.research import dft_import

    engine = _engine()
    summary = dft_import.import_dft(
        engine, directory=directory, before=before.date() if before else None, title=title
    )
    counts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in summary.counts.items())
    skipped = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in summary.skipped.items()) or "nothing"
    click.echo(f"Imported {counts}; skipped {skipped}.", err=True)
    click.echo(summary.deliberation_id)


@cli.command("build")
@click.argument("deliberation_id", type=ID)
def build(deliberation_id: int) -> None:
    """Build and store the deliberation's moral graph; prints a summary and each context's winner."""
    from services.research import graphs

    engine = _engine()
    g = graphs.build_snapshot(engine, deliberation_id=deliberation_id)
    skipped = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in g.skipped.items()) or "none"
    thresholds = " ".join(f"{k}={v}" for k, v in g.thresholds.items())
    click.echo(
        f"Graph {g.snapshot_id} of deliberation {deliberation_id}: {g.values} values, {g.edges} edges, "
        f"{g.contexts} contexts from {g.judgements} judgements (skipped: {skipped}; {thresholds})."
    )
    for r in g.per_context:
        click.echo(f"{r.context}\t{r.winner or '-'}\t{r.support}\t{r.edges} edges")


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
    from services.runtime import model_clients

    settings = _settings()
    engine = _engine(settings)
    if not dedup_job.pending_count(engine, deliberation_id=deliberation_id, question_id=question_id):
        click.echo(f"Nothing to deduplicate: every submitted card of deliberation {deliberation_id} has one.")
        return

    def progress(b: dedup_job.BatchReport) -> None:
        if b.failed:
            click.echo(f"batch {b.number}/{b.of}: failed, {b.failed} cards left for the next run", err=True)
        else:
            click.echo(
                f"batch {b.number}/{b.of}: {b.cards} cards, {b.created} new values, {b.joined} joined",
                err=True,
            )

    s = dedup_job.dedup(
        engine,
        model_clients.chat_model(settings, engine),
        model_clients.embeddings(settings, engine),
        deliberation_id=deliberation_id,
        question_id=question_id,
        batch_size=batch_size,
        on_batch=progress,
    )
    for f in s.failures:
        cards = ", ".join(map(str, f.card_ids))
        click.echo(
            f"failed: batch {f.number} (cards {cards}; moderation event {f.event_id}): {f.error}", err=True
        )
    batches = f"{s.failed_batches} batch{'es' if s.failed_batches > 1 else ''}"
    failed = f"; {batches} ({s.failed_cards} cards) failed, left for the next run" if s.failures else ""
    click.echo(
        f"Dedup run {s.run_id}: {s.cards_processed} cards processed, {s.canonicals_created} canonical values "
        f"created, {s.cards_joined} cards joined existing values, {s.cards_skipped} skipped{failed} "
        f"({s.prompt_ref})."
    )


@cli.group("values")
def values_group() -> None:
    """Review canonical values by hand: list, show, merge and split them."""


@values_group.command("list")
@click.argument("deliberation_id", type=ID)
@click.option("--question", "question_id", type=ID, default=None, help="Only values with a card on it.")
def values_list(deliberation_id: int, question_id: int | None) -> None:
    """List the canonical values: id, member card ids, votes, title (tab-separated)."""
    from services.facilitator import values

    found = values.list_values(_engine(), deliberation_id=deliberation_id, question_id=question_id)
    for v in found:
        cards = ",".join(str(c.id) for c in v.cards) or "-"
        click.echo(f"{v.id}\t{cards}\t{v.votes}\t{v.title}")
    if not found:
        click.echo(f"No canonical values yet (python cli.py dedup {deliberation_id} makes them).", err=True)


@values_group.command("show")
@click.argument("value_id", type=ID)
def values_show(value_id: int) -> None:
    """Show a value: title, description, policies, votes and its member cards with their ids."""
    from services.facilitator import values

    v = values.get_value(_engine(), canonical_id=value_id)
    made = (
        f"made by dedup run {v.dedup_run}"
        if v.dedup_run
        else f"imported ({v.external_ref})"
        if v.external_ref
        else "split off by hand"
    )
    click.echo(f"Value {v.id}: {v.title}")
    click.echo(v.description)
    for policy in v.policies:
        click.echo(f"- {policy}")
    click.echo(f"Deliberation {v.deliberation_id}; {v.votes} votes; {made}.")
    click.echo(f"Cards ({len(v.cards)}):")
    for c in v.cards:
        status = "" if c.status == CardStatus.SUBMITTED else f" [{c.status}]"
        click.echo(f"{c.id}\t{c.title}{status}\t{c.description}")


def _ids(ids: tuple[int, ...] | list[int]) -> str:
    return ", ".join(map(str, ids))


@values_group.command("merge")
@click.argument("keep_id", type=ID)
@click.argument("other_ids", nargs=-1, type=ID, required=True, metavar="OTHER_ID...")
@click.option("--reason", required=True, help="Why they are one value (written to the moderation log).")
def values_merge(keep_id: int, other_ids: tuple[int, ...], reason: str) -> None:
    """Merge values OTHER_ID... into KEEP_ID: cards, votes, stories and judgements move over."""
    from services.facilitator import values

    engine = _engine()
    keep = values.get_value(engine, canonical_id=keep_id)
    m = values.merge(
        engine, deliberation_id=keep.deliberation_id, keep_id=keep_id, merge_ids=other_ids, reason=reason
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
def values_split(value_id: int, card_ids: tuple[int, ...], title: str | None, reason: str) -> None:
    """Move some member cards of VALUE_ID to a new value; votes and stories stay with VALUE_ID."""
    from services.facilitator import values

    s = values.split(_engine(), canonical_id=value_id, card_ids=card_ids, title=title, reason=reason)
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
    from services.runtime import model_clients

    settings = _settings()
    engine = _engine(settings)
    run_id = stories.check_run_id(run_id) if run_id else stories.new_run_id()
    deliberations.get_deliberation(engine, deliberation_id=deliberation_id)  # before starting a model
    started: list[bool] = []

    def progress(o: stories.StoryOutcome) -> None:
        if not started:  # said once the input is checked and the first story is done
            started.append(True)
            click.echo(f"Story run {run_id} (rerun with --run {run_id} to resume it).", err=True)
        pair = f"{o.from_value_id} -> {o.to_value_id} in context {o.context_id}"
        click.echo(f"{o.status}: {pair}{' (shown)' if o.shown else ''}", err=True)

    s = stories.generate_stories(
        engine,
        model_clients.chat_model(settings, engine),
        deliberation_id=deliberation_id,
        run_id=run_id,
        max_pairs=max_pairs,
        on_story=progress,
    )
    for error in s.errors:
        click.echo(f"failed: {error}", err=True)
    click.echo(
        f"Story run {s.run_id} of deliberation {deliberation_id}: {s.pairs} pairs; {s.written} stories "
        f"written, {s.judged} judged, {s.skipped} already done, {s.failed} failed; {s.shown} shown, "
        f"{s.hidden} hidden."
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
    from services.runtime import model_clients

    settings = _settings()
    engine = _engine(settings)
    context_jobs.require_question(engine, question_id=question_id)
    added = context_jobs.generate_for_question(
        engine, model_clients.chat_model(settings, engine), question_id=question_id, n=count
    )
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
    from services.runtime import model_clients

    settings = _settings()
    engine = _engine(settings)
    if not context_jobs.count_unmined(engine, deliberation_id=deliberation_id):
        click.echo(f"Nothing to mine: every submitted card of deliberation {deliberation_id} has been mined.")
        return

    def progress(o: context_jobs.CardMining) -> None:
        if o.error:
            click.echo(f"failed: card {o.card_id}: {o.error}", err=True)
        elif o.skipped:
            click.echo(f"skipped: card {o.card_id} (no longer submitted)", err=True)
        else:
            click.echo(f"card {o.card_id}: {len(o.added)} contexts added", err=True)

    s = context_jobs.mine_pending(
        engine, model_clients.chat_model(settings, engine), deliberation_id=deliberation_id, on_card=progress
    )
    click.echo(
        f"Mined {s.cards_mined} of {s.cards} cards of deliberation {deliberation_id}: {s.contexts_added} "
        f"contexts added, {s.skipped} skipped, {len(s.failures)} failed (a rerun retries them)."
    )


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


if __name__ == "__main__":
    cli()
