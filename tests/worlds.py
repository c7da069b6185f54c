"""Seeded deliberations shared by the page tests and the browser tests.

``peers`` gives a question other participants have already worked on: their submitted cards joined to
canonical values, a context linked to the question, and shown upgrade stories between the values, so a
new participant has something to vote on and to judge.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from storage import repo_llm_calls, repo_participants
from storage.db import session_scope
from storage.schemas import ParticipantCreate, UsageSummary
from storage.tables import CanonicalValue, Context, EdgeHypothesis, QuestionContext, ValuesCard, utcnow

PEER_VALUES = (
    ("Honest Presence", "Staying truthful and present when someone faces a frightening choice."),
    ("Gentle Timing", "Choosing the moment when hard news can be heard."),
    ("Room to Decide", "Leaving the decision with the person whose life it shapes."),
)
#: The card the scripted interviews write (it passes the card rules).
HONEST_CARD = {
    "title": "Honest Presence",
    "description": "Staying truthful and present when someone faces a frightening choice.",
    "policies": [
        "MOMENTS where the person can voice their fear without being rushed",
        "FACTS the person needs but has not asked for",
        "SIGNS that the person feels respected rather than managed",
    ],
}

GOOD_CARD = {
    "title": "Listening First",
    "description": "Understanding the person's situation before offering any view on it.",
    "policies": [
        "FEELINGS the person has not yet put into words",
        "QUESTIONS that let the person think aloud",
        "SIGNS that the person feels heard rather than judged",
    ],
}


@dataclass(frozen=True)
class Peers:
    values: tuple[int, ...]
    context_id: int
    hypotheses: tuple[int, ...]


def peers(engine: Engine, *, deliberation_id: int, question_id: int) -> Peers:
    """Three peers' values on ``question_id`` and shown stories V1→V2, V2→V3, V1→V3 in one context."""
    with session_scope(engine) as s:
        context = Context(deliberation_id=deliberation_id, text="When the user faces a frightening choice")
        s.add(context)
        s.flush()
        s.add(QuestionContext(question_id=question_id, context_id=context.id))
        values = []
        for title, description in PEER_VALUES:
            value = CanonicalValue(
                deliberation_id=deliberation_id,
                title=title,
                description=description,
                policies=[f"MOMENTS of {title.lower()}", f"CHOICES that protect {title.lower()}"],
            )
            s.add(value)
            s.flush()
            peer = repo_participants.create_participant(
                s, data=ParticipantCreate(deliberation_id=deliberation_id)
            )
            peer.stage = "done"
            s.add(
                ValuesCard(
                    participant_id=peer.id,
                    question_id=question_id,
                    title=title,
                    description=description,
                    policies=list(value.policies),
                    status="submitted",
                    submitted_at=utcnow(),
                    canonical_value_id=value.id,
                )
            )
            values.append(value.id)
        stories = []
        for a, b in ((0, 1), (1, 2), (0, 2)):
            h = EdgeHypothesis(
                deliberation_id=deliberation_id,
                from_value_id=values[a],
                to_value_id=values[b],
                context_id=context.id,
                story=f"I lived by {PEER_VALUES[a][0]}. Then I saw that {PEER_VALUES[b][0]} mattered more.",
                run_id="seed",
                shown=True,
            )
            s.add(h)
            s.flush()
            stories.append(h.id)
        assert context.id is not None
        return Peers(tuple(values), context.id, tuple(int(i) for i in stories if i is not None))


def usage(engine: Engine, **where: int) -> UsageSummary:
    """The recorded model calls (of an ``interview_id`` or a ``deliberation_id`` when given)."""
    with session_scope(engine) as session:
        return repo_llm_calls.usage_summary(session, **where)
