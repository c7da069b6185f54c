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
    "stories_to_judge, interview_turn_limit, seeds_required, pipeline_max_pairs, pipeline_max_calls, "
    "pipeline_pairs_per_value (see README).",
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
