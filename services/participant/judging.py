"""Judging: the set of upgrade stories each participant is asked about, and their answers to "Did this
person become wiser?" (DOMAIN.md §3 step 6). Token, locking and stage rules: see
:mod:`services.participant.progress`.

The judging set. ``stories_to_judge`` shown stories (the latest per (from, to, context) across runs),
never one whose (from, to, context) the person already judged. Order: stories involving their own
canonical values, then stories in contexts of their questions, then the rest; within a tier the fewest
judgements first, then a per-person hash (so people with equal counts get different stories); a story
and its reverse only together when nothing else is left. No table holds the chosen set (no schema
change); it is recomputed so that a reload gives the same one, listed in story id order:

- the answered stories of the current round are kept as they are (the person's judgements of stories
  still shown, in rounds of ``n``: with 0 < k judgements the current round holds the last
  ``k - (k - 1) // n * n``, so a full round stays on screen with its answers);
- the open slots are ranked with judgement counts frozen at the person's last step before judging (their
  last draw, vote, card submission, consent, or the end of their previous round), so other people's
  judgements do not reshuffle the set.

Ranking reads only the stories' ids and (from, to, context); the story texts and values are loaded for
the (at most 10) stories kept.

Residual drift: a story the facilitator hides drops out (another takes its slot); stories written, or a
dedup that gives the person's card a value, while they judge may take an open (unanswered) slot.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from errors import InvalidInput
from services.participant.joining import participant_for_token
from services.participant.progress import advance_stage, deliberation_config
from storage import repo_deliberations, repo_interviews, repo_judgements, repo_participants, repo_values
from storage.db import session_scope
from storage.errors import NotFound
from storage.repo_judgements import StoryKey
from storage.schemas import StoryToJudgePublic, StoryValuePublic
from storage.tables import ANSWERS, EdgeHypothesis, Judgement, Participant

STORY_UNAVAILABLE = "This story is not available any more. Please reload the page."
MAX_REASON_CHARS = 2000

Triple = tuple[int, int, int]


def _triple(row: StoryKey | EdgeHypothesis | Judgement) -> Triple:
    return (row.from_value_id, row.to_value_id, row.context_id)


def _tiebreak(participant_id: int, triple: Triple) -> int:
    digest = hashlib.blake2b(f"{participant_id}:{triple}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _frozen_at(session: Session, participant: Participant, earlier: Sequence[Judgement]) -> datetime:
    """The time whose judgement counts rank the open slots: the participant's last step before judging."""
    assert participant.id is not None
    times = [participant.created_at]
    times += [t for t in (participant.consented_at,) if t is not None]
    cards = repo_interviews.participant_cards(session, participant_id=participant.id)
    times += [c.submitted_at for c in cards if c.submitted_at is not None]
    activity = repo_participants.latest_activity(session, participant_id=participant.id)
    times += [activity] if activity is not None else []
    times += [earlier[-1].created_at] if earlier else []
    return max(times)


def _judging_set(session: Session, participant: Participant) -> list[StoryToJudgePublic]:
    assert participant.id is not None
    n = min(max(deliberation_config(session, participant).stories_to_judge, 1), 10)
    shown = repo_judgements.shown_story_keys(session, deliberation_id=participant.deliberation_id)
    by_id = {k.id: k for k in shown}
    latest: dict[Triple, StoryKey] = {}
    for k in shown:  # by id: a later run replaces an earlier one
        latest[_triple(k)] = k
    mine = repo_judgements.participant_judgements(session, participant_id=participant.id)
    judged = {_triple(j) for j in mine}
    answered = [j for j in mine if j.hypothesis_id in by_id]
    start = (len(answered) - 1) // n * n if answered else 0
    current, earlier = answered[start:], answered[:start]
    free = n - len(current)
    candidates = [k for t, k in latest.items() if t not in judged]
    fill: list[StoryKey] = []
    if free > 0 and candidates:
        counts = repo_judgements.judgement_counts(
            session,
            deliberation_id=participant.deliberation_id,
            before=_frozen_at(session, participant, earlier),
        )
        own = repo_interviews.own_value_ids(session, participant_id=participant.id)
        contexts = repo_deliberations.context_ids_of_questions(
            session,
            question_ids=repo_interviews.participant_question_ids(session, participant_id=participant.id),
        )

        def rank(k: StoryKey) -> tuple[int, int, int, int]:
            tier = 0 if {k.from_value_id, k.to_value_id} & own else 1 if k.context_id in contexts else 2
            return (tier, counts.get(_triple(k), 0), _tiebreak(participant.id or 0, _triple(k)), k.id)

        ranked = sorted(candidates, key=rank)
        # A story and its reverse (B→A in the same context) are not shown to one person in one set
        # unless there is nothing else.
        taken = {_triple(by_id[j.hypothesis_id]) for j in current if j.hypothesis_id is not None}
        for k in ranked:
            if len(fill) == free:
                break
            if (k.to_value_id, k.from_value_id, k.context_id) not in taken:
                fill.append(k)
                taken.add(_triple(k))
        fill += [k for k in ranked if k not in fill][: free - len(fill)]
    # Only the kept stories are read whole (their text can be long; the shown ones can be thousands).
    rows = repo_judgements.hypotheses_by_id(
        session, ids=[j.hypothesis_id for j in current if j.hypothesis_id is not None] + [k.id for k in fill]
    )
    chosen: list[tuple[EdgeHypothesis, Judgement | None]] = [
        (rows[j.hypothesis_id], j) for j in current if j.hypothesis_id in rows
    ]
    chosen += [(rows[k.id], None) for k in fill if k.id in rows]
    # Shown in story order, so answering them in any order never reshuffles the page.
    return _stories_public(session, participant.deliberation_id, sorted(chosen, key=lambda c: c[0].id or 0))


def _stories_public(
    session: Session, deliberation_id: int, chosen: Sequence[tuple[EdgeHypothesis, Judgement | None]]
) -> list[StoryToJudgePublic]:
    values = repo_values.canonical_values_by_id(
        session,
        deliberation_id=deliberation_id,
        ids=[v for h, _ in chosen for v in (h.from_value_id, h.to_value_id)],
    )
    contexts = repo_deliberations.contexts_by_id(
        session, deliberation_id=deliberation_id, ids=[h.context_id for h, _ in chosen]
    )
    return [
        StoryToJudgePublic(
            hypothesis_id=h.id or 0,
            context_id=h.context_id,
            context=contexts[h.context_id].text,
            story=h.story,
            from_value=StoryValuePublic.of(values[h.from_value_id]),
            to_value=StoryValuePublic.of(values[h.to_value_id]),
            answer=j.answer if j is not None else None,
            reason=j.reason if j is not None else None,
        )
        for h, j in chosen
    ]


def stories_to_judge(engine: Engine, *, token: str) -> list[StoryToJudgePublic]:
    """The participant's judging set: up to ``stories_to_judge`` stories, answered ones with their answer
    (see the module notes). The same set comes back on every call until it is answered; an empty list
    means there is nothing to judge (the page lets them go on).
    """
    with session_scope(engine) as session:
        return _judging_set(session, participant_for_token(session, token))


def judge(
    engine: Engine, *, token: str, hypothesis_id: int, answer: str, reason: str | None = None
) -> StoryToJudgePublic:
    """Store (or change) the participant's answer to "Did this person become wiser?" for one story.

    ``answer`` is ``upgrade``, ``no_upgrade`` or ``not_sure``; ``reason`` is optional (at most
    :data:`MAX_REASON_CHARS`). A hidden story, one of another deliberation, or a second story of a
    (from, to, context) they already judged is :class:`InvalidInput`.
    """
    if answer not in ANSWERS:
        raise InvalidInput("Please answer Yes, No or Not sure.")
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > MAX_REASON_CHARS:
        raise InvalidInput(f"Please keep your reason under {MAX_REASON_CHARS} characters.")
    with session_scope(engine) as session:
        participant = participant_for_token(session, token, lock=True)
        assert participant.id is not None
        try:
            hypothesis: EdgeHypothesis | None = repo_judgements.get_hypothesis(
                session, hypothesis_id=hypothesis_id
            )
        except NotFound:
            hypothesis = None
        if (
            hypothesis is None
            or hypothesis.deliberation_id != participant.deliberation_id
            or not hypothesis.shown
        ):
            raise InvalidInput(STORY_UNAVAILABLE)
        existing = repo_judgements.get_judgement(
            session, participant_id=participant.id, hypothesis_id=hypothesis_id
        )
        if existing is None and _triple(hypothesis) in repo_judgements.judged_triples(
            session, participant_id=participant.id
        ):
            raise InvalidInput("You already judged this story.")
        stored = repo_judgements.upsert_judgement(
            session,
            judgement=Judgement(
                deliberation_id=participant.deliberation_id,
                participant_id=participant.id,
                hypothesis_id=hypothesis_id,
                from_value_id=hypothesis.from_value_id,
                to_value_id=hypothesis.to_value_id,
                context_id=hypothesis.context_id,
                answer=answer,
                reason=reason,
            ),
        )
        repo_participants.touch_participant(session, participant=participant)
        return _stories_public(session, participant.deliberation_id, [(hypothesis, stored)])[0]


def finish_judging(engine: Engine, *, token: str) -> None:
    """Move on to the survey once every story of the set is answered (or there is none to judge)."""
    with session_scope(engine) as session:
        participant = participant_for_token(session, token, lock=True)
        left = sum(s.answer is None for s in _judging_set(session, participant))
        if left:
            raise InvalidInput(f"Please answer every story first ({left} left).")
        advance_stage(session, participant, "survey")
