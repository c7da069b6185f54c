"""A small deliberation for the contexts, stories and grading tests, and a scripted model that writes and
judges stories by reading its prompt.

Two questions; three canonical values; cards: v1 and v2 answered q1, v3 answered q2 (and a hidden card
put v3 on q1 too, which must not count). Context c1 is linked to q1 only, c2 to both questions, so the
pairs are (v1, v2) in c1 and (v1, v2), (v1, v3), (v2, v3) in c2: four pairs, eight stories.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import BaseMessage
from sqlalchemy import Engine

from providers.fakes import ScriptedChatModel
from services.facilitator import deliberations
from storage import repo_deliberations
from storage.db import session_scope
from storage.tables import (
    CanonicalValue,
    Context,
    Interview,
    Message,
    Participant,
    QuestionContext,
    ValuesCard,
)


@dataclass(frozen=True)
class World:
    deliberation_id: int
    q1: int
    q2: int
    v1: int
    v2: int
    v3: int
    c1: int
    c2: int
    card1: int  # submitted, q1, v1
    draft_card: int  # q1, still a draft
    participant_id: int
    interview_id: int  # the participant's interview on q1 (card1's)


def seed(engine: Engine) -> World:
    created = deliberations.create_deliberation(
        engine, title="Family", questions=["My mother is ill; should I tell her the prognosis?", "Q two?"]
    )
    d = created.id
    with session_scope(engine) as s:
        q1, q2 = (q.id for q in repo_deliberations.list_questions(s, deliberation_id=d))
        values = [
            CanonicalValue(
                deliberation_id=d,
                title=title,
                description=f"{title} as a way of choosing.",
                policies=[f"MOMENTS of {title.lower()}", f"CHOICES that honour {title.lower()}"],
            )
            for title in ("Honest Presence", "Gentle Timing", "Family Harmony")
        ]
        s.add_all(values)
        c1 = Context(deliberation_id=d, text="When a parent is seriously ill", source="facilitator")
        c2 = Context(deliberation_id=d, text="When family members disagree", source="facilitator")
        s.add_all([c1, c2])
        s.flush()
        v1, v2, v3 = (v.id for v in values)
        s.add_all(
            [
                QuestionContext(question_id=q1, context_id=c1.id),
                QuestionContext(question_id=q1, context_id=c2.id),
                QuestionContext(question_id=q2, context_id=c2.id),
            ]
        )
        participant = Participant(deliberation_id=d)
        s.add(participant)
        s.flush()
        interview = Interview(participant_id=participant.id, question_id=q1, state="submitted")
        s.add(interview)
        s.flush()

        def card(question: int, value: int | None, status: str = "submitted", **kw: Any) -> ValuesCard:
            row = ValuesCard(
                question_id=question,
                canonical_value_id=value,
                title="Honest Presence",
                description="Staying truthful and present when someone faces a frightening choice.",
                policies=["MOMENTS where the person can voice their fear", "FACTS the person needs"],
                status=status,
                **kw,
            )
            s.add(row)
            return row

        card1 = card(q1, v1, participant_id=participant.id, interview_id=interview.id)
        card(q1, v2)
        card(q2, v3)
        card(q1, v3, status="hidden")
        card(q1, None)
        draft = card(q1, None, status="draft")
        s.flush()
        s.add_all(
            [
                Message(
                    interview_id=interview.id, seq=0, role="assistant", content="What should it consider?"
                ),
                Message(interview_id=interview.id, seq=1, role="user", content="My aunt told me the truth."),
                Message(interview_id=interview.id, seq=2, role="note", content="card shown"),
                Message(interview_id=interview.id, seq=3, role="assistant", content="Oops", status="error"),
            ]
        )
        return World(d, q1, q2, v1, v2, v3, c1.id, c2.id, card1.id, draft.id, participant.id, interview.id)


Scores = dict[str, int]
PASS: Scores = {"clarity": 5, "gain": 4, "fit": 4, "respect": 4}
FAIL: Scores = {"clarity": 4, "gain": 1, "fit": 5, "respect": 5}


def _value_a_title(prompt: str) -> str:
    block = prompt[prompt.index("<value_a>") : prompt.index("</value_a>")]
    return block.split("Title: ", 1)[1].split("\n", 1)[0]


def story_turn(judge: Callable[[str], Scores] | None = None) -> Callable[[list[BaseMessage]], dict]:
    """A turn that answers a story prompt with a story naming value A, and a judge prompt with scores
    (``judge(story)``; by default a story moving away from Family Harmony fails, the rest pass).
    """

    def default(story: str) -> Scores:
        return FAIL if story.startswith("From Family Harmony") else PASS

    def turn(messages: list[BaseMessage]) -> dict:
        prompt = str(messages[-1].content)
        if "<story>" in prompt:
            story = prompt[prompt.index("<story>") + 8 : prompt.index("</story>")].strip()
            return {**(judge or default)(story), "reason": "checked"}
        return {"story": f"From {_value_a_title(prompt)}: I used to... then I noticed..."}

    return turn


def story_model(calls: int, **kwargs: Any) -> ScriptedChatModel:
    """A scripted model good for ``calls`` story or judge calls."""
    return ScriptedChatModel([story_turn()] * calls, **kwargs)
