"""``python cli.py demo``: a ready, open deliberation that shows every step of the participant flow.

It holds the demo's question, contexts, seed values and upgrade stories (all written by this project:
:mod:`services.facilitator.demo_content`), so the first participant already has values to vote on and
stories to judge; with ``LLM_MODE=fake`` the scripted demo model (:class:`providers.fakes.DemoChatModel`)
then writes each participant's card, and the continuous pipeline links it to a value and writes and judges
its stories, so the next participant votes on it and judges stories about it.

Each call makes a new deliberation (the earlier ones are kept, so running it twice is harmless): the seeds
go through :func:`services.facilitator.seeds.add_seed` (the card rules, the moderation log, the given
contexts), the stories are stored as shown edge hypotheses of run :data:`RUN_ID` with no judge scores (no
model judged them; the project wrote them), and the deliberation is opened last, so a failure part way
leaves a draft nobody was invited to.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from errors import InvalidInput
from services.facilitator import deliberations, seeds
from services.facilitator import demo_content as content
from storage import repo_deliberations, repo_judgements
from storage.db import session_scope
from storage.schemas import DeliberationPublic, EdgeHypothesisCreate, SeedPublic

#: The run id of the demo's own stories (the pipeline's and ``cli.py stories``' runs have their own).
RUN_ID = "demo"
#: What the stories' ``model_id`` says: no model wrote them.
AUTHOR = "written by the project (demo content)"
ACTOR = "demo"
MAX_INVITES = 20


@dataclass(frozen=True)
class DemoDeliberation:
    """The demo deliberation, what it holds, and its links (to share with participants, to open yourself)."""

    deliberation: DeliberationPublic
    question_id: int
    seeds: tuple[SeedPublic, ...]
    contexts: tuple[str, ...]
    stories: int
    open_link: str
    invite_links: tuple[str, ...]
    facilitator_url: str


def create_demo(engine: Engine, *, base_url: str, invites: int = 2, actor: str = ACTOR) -> DemoDeliberation:
    """Create and open a demo deliberation; ``invites`` single-use links (1-:data:`MAX_INVITES`) besides the
    open link. Refuses a bad ``base_url`` before writing anything."""
    base_url = deliberations.check_base_url(base_url)
    if not 1 <= invites <= MAX_INVITES:
        raise InvalidInput(f"Ask for 1-{MAX_INVITES} invite links (not {invites}).")
    created = deliberations.create_deliberation(
        engine,
        title=content.TITLE,
        questions=[content.QUESTION],
        welcome_text=content.WELCOME,
        consent_text=content.CONSENT,
    )
    question_id = created.questions[0].id
    added = tuple(
        seeds.add_seed(
            engine,
            question_id=question_id,
            title=seed.title,
            description=seed.description,
            policies=list(seed.policies),
            contexts=content.CONTEXTS,
            actor=actor,
        )
        for seed in content.SEEDS
    )
    stories = _add_stories(engine, deliberation_id=created.id, seeds=added)
    opened = deliberations.set_status(engine, deliberation_id=created.id, status="open")
    links = deliberations.create_invites(engine, deliberation_id=created.id, count=invites, base_url=base_url)
    return DemoDeliberation(
        deliberation=opened,
        question_id=question_id,
        seeds=added,
        contexts=content.CONTEXTS,
        stories=stories,
        open_link=deliberations.open_link(engine, deliberation_id=created.id, base_url=base_url),
        invite_links=tuple(link.url for link in links),
        facilitator_url=f"{base_url}/deliberations",
    )


def _add_stories(engine: Engine, *, deliberation_id: int, seeds: tuple[SeedPublic, ...]) -> int:
    """The demo's stories between its seeds, shown to participants as they are; returns how many."""
    value_ids = {seed.title: seed.id for seed in seeds}
    with session_scope(engine) as session:
        context_ids = {
            c.text: c.id
            for c in repo_deliberations.list_contexts(session, deliberation_id=deliberation_id)
            if c.id is not None
        }
        for story in content.STORIES:
            repo_judgements.add_hypothesis(
                session,
                data=EdgeHypothesisCreate(
                    deliberation_id=deliberation_id,
                    from_value_id=value_ids[story.from_title],
                    to_value_id=value_ids[story.to_title],
                    context_id=context_ids[story.context],
                    story=story.story,
                    run_id=RUN_ID,
                    model_id=AUTHOR,
                    shown=True,
                ),
            )
    return len(content.STORIES)
