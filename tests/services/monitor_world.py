"""A deliberation seen by the monitor (service and page tests): five visitors at known times and their
model calls, so the funnel, the medians and the costs have exact expected values.

The visitors, ``t`` seconds after T0:

- p1 visits at 0, consents at 30, opens an interview at 60, writes at 90, submits a card at 600, is shown
  values at 620, votes at 650 and 680, judges at 700 and 800, answers the survey at 900 (done);
- p2 visits at 0, consents at 90, opens an interview at 100, writes at 120, submits a card at 400, has
  nothing to vote on (skipped), judges at 500, answers the survey at 600 (done);
- p3 visits, consents at 10, opens an interview and never writes;
- p4 and p5 visit and never consent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from services.facilitator import deliberations
from storage.db import session_scope
from storage.tables import (
    CanonicalValue,
    Context,
    EdgeHypothesis,
    Impression,
    Interview,
    Judgement,
    LLMCall,
    Message,
    Participant,
    SurveyResponse,
    ValuesCard,
    Vote,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
PRICES = {"gpt-4o": (2.5, 10.0)}


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@dataclass(frozen=True)
class MonitorWorld:
    deliberation_id: int
    other_deliberation_id: int
    p1: int
    p2: int


def _call(purpose: str, model: str, tokens_in: int, tokens_out: int, **ids: object) -> LLMCall:
    return LLMCall(purpose=purpose, model=model, tokens_in=tokens_in, tokens_out=tokens_out, **ids)


def seed(engine: Engine) -> MonitorWorld:
    """The world of the module docstring, plus another deliberation whose calls must not count."""
    d = deliberations.create_deliberation(engine, title="Monitored", questions=["How strict should I be?"])
    other = deliberations.create_deliberation(engine, title="Other", questions=["Q?"])
    q = d.questions[0].id
    with session_scope(engine) as s:
        p1 = Participant(deliberation_id=d.id, created_at=at(0), consented_at=at(30), stage="done")
        p2 = Participant(
            deliberation_id=d.id, created_at=at(0), consented_at=at(90), stage="done", skipped_steps=["vote"]
        )
        p3 = Participant(deliberation_id=d.id, created_at=at(0), consented_at=at(10), stage="interview")
        s.add_all([p1, p2, p3, Participant(deliberation_id=d.id), Participant(deliberation_id=d.id)])
        s.flush()
        values = [CanonicalValue(deliberation_id=d.id, title=f"Value {n}") for n in "ABC"]
        context = Context(deliberation_id=d.id, text="When a teen lies")
        s.add_all([*values, context])
        s.flush()
        stories = [
            EdgeHypothesis(
                deliberation_id=d.id,
                from_value_id=values[a].id,
                to_value_id=values[b].id,
                context_id=context.id,
                story="A story.",
                run_id="seed",
            )
            for a, b in ((0, 1), (1, 2))
        ]
        s.add_all(stories)
        interviews = {}
        for person, opened, wrote in ((p1, 60, 90), (p2, 100, 120), (p3, 5, None)):
            interview = Interview(participant_id=person.id, question_id=q, created_at=at(opened))
            s.add(interview)
            s.flush()
            interviews[person.id] = interview.id
            s.add(
                Message(
                    interview_id=interview.id, role="assistant", content="Hi.", seq=0, created_at=at(opened)
                )
            )
            if wrote is not None:
                s.add(
                    Message(
                        interview_id=interview.id,
                        role="user",
                        content="<b>me</b>",
                        seq=1,
                        created_at=at(wrote),
                    )
                )
        for person, submitted, value in ((p1, 600, values[0]), (p2, 400, values[1])):
            s.add(
                ValuesCard(
                    participant_id=person.id,
                    question_id=q,
                    interview_id=interviews[person.id],
                    title="Card",
                    status="submitted",
                    canonical_value_id=value.id,
                    created_at=at(submitted - 5),
                    submitted_at=at(submitted),
                )
            )
        s.add(
            Impression(
                participant_id=p1.id,
                canonical_value_id=values[1].id,
                question_id=q,
                draw_id="x",
                created_at=at(620),
            )
        )
        for value, when in ((values[1], 650), (values[2], 680)):
            s.add(
                Vote(
                    participant_id=p1.id,
                    canonical_value_id=value.id,
                    question_id=q,
                    draw_id="x",
                    created_at=at(when),
                )
            )
        s.flush()
        for person, story, when in ((p1, stories[0], 700), (p1, stories[1], 800), (p2, stories[1], 500)):
            s.add(
                Judgement(
                    deliberation_id=d.id,
                    participant_id=person.id,
                    hypothesis_id=story.id,
                    from_value_id=story.from_value_id,
                    to_value_id=story.to_value_id,
                    context_id=context.id,
                    answer="upgrade",
                    created_at=at(when),
                )
            )
        answers = [
            (p1, "expressed_care", 5, 900),
            (p1, "clarified", 4, 890),
            (p1, "gained_respect", 2, 880),
            (p1, "comment", "I liked it <b>", 900),
            (p1, "fair_position", True, 1000),
            (p1, "represents_my_value", True, 1000),
            (p2, "expressed_care", 3, 600),
            (p2, "clarified", 5, 600),
            (p2, "fair_position", False, 700),
        ]
        for person, key, answer, when in answers:
            s.add(
                SurveyResponse(participant_id=person.id, question_key=key, answer=answer, created_at=at(when))
            )
        mine = {"deliberation_id": d.id}
        s.add_all(
            [
                *(_call("interview", "gpt-4o", 1000, 500, participant_id=p1.id, **mine) for _ in range(2)),
                _call("interview", "gpt-4o", 1000, 500, participant_id=p1.id, error="timeout", **mine),
                _call("articulate", "gpt-4o", 2000, 1000, participant_id=p1.id, **mine),
                *(_call("interview", "local-small", 50, 20, participant_id=p2.id, **mine) for _ in range(2)),
                # an embedding call carries no deliberation: it counts through its participant
                _call("embedding", "all-MiniLM-L6-v2", 30, 0, participant_id=p2.id),
                *(_call("stories", "gpt-4o", 10000, 2000, job_run="pipeline-1", **mine) for _ in range(2)),
                _call("stories", "gpt-4o", 99999, 99999, deliberation_id=other.id),
                _call("health_check", "gpt-4o", 99999, 99999),
            ]
        )
        assert p1.id is not None and p2.id is not None
        return MonitorWorld(d.id, other.id, p1.id, p2.id)
