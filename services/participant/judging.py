"""Judging: the set of upgrade stories each participant is asked about, and their answers to "Did this
person become wiser?" (DOMAIN.md §3 step 6). Token, locking and stage rules: see
:mod:`services.participant.progress`.

The judging set. ``stories_to_judge`` shown stories (the latest per (from, to, context) across runs),
never one whose (from, to, context) the person already judged; which ones, in rounds of ``n``, is the pure
rule of :mod:`interviews.judging` (own values, then own contexts, then the rest; fewest judgements, then
a per-person hash; a story and its reverse only together when nothing else is left). This module reads
its inputs and builds the page. No table holds the chosen set (no schema change); it is recomputed so
that a reload gives the same one, listed in story id order:

- the answered stories of the current round are kept as they are (:func:`interviews.judging.split_round`:
  a full round stays on screen with its answers);
- the open slots are ranked with judgement counts frozen at the person's last step before judging (their
  last draw, vote, card submission, consent, or the end of their previous round), so other people's
  judgements do not reshuffle the set.

Ranking reads only the stories' ids and (from, to, context); the story texts and values are loaded for
the (at most 10) stories kept.

Residual drift: a story the facilitator hides drops out (another takes its slot); stories written, or a
dedup that gives the person's card a value, while they judge may take an open (unanswered) slot.

An empty set says why (:func:`nothing_to_judge`), so the page can tell the person and, while the pipeline
is writing stories, offer to look again; passing the step without judging anything marks it as skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine

from errors import InvalidInput
from interviews.judging import open_stories, pick_stories, round_size, split_round, triple
from interviews.text_rules import check_text
from interviews.vocabulary import JudgementAnswer, ParticipantStage, values_of
from services.jobs import pipeline
from services.participant.joining import participant_for_token
from services.participant.progress import advance_stage, deliberation_config, mark_skipped
from storage import repo_deliberations, repo_interviews, repo_judgements, repo_participants, repo_values
from storage.db import Session, session_scope
from storage.errors import NotFound
from storage.repo_judgements import StoryKey
from storage.schemas import JudgementCreate, NothingToJudgePublic, StoryToJudgePublic, StoryValuePublic
from storage.tables import EdgeHypothesis, Judgement, Participant

STORY_UNAVAILABLE = "This story is not available any more. Please reload the page."
MAX_REASON_CHARS = 2000
#: The words a participant reads for each answer.
ANSWER_WORDS: dict[str, str] = {
    JudgementAnswer.UPGRADE.value: "Yes",
    JudgementAnswer.NO_UPGRADE.value: "No",
    JudgementAnswer.NOT_SURE.value: "Not sure",
}


def already_answered(answer: str) -> str:
    """What a person reads when a stale form (another tab) answers a story they answered already.

    >>> already_answered("upgrade")
    'You already answered this story in another tab: Yes. Your answer here was not saved.'
    """
    word = ANSWER_WORDS.get(answer, answer)
    return f"You already answered this story in another tab: {word}. Your answer here was not saved."


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
    n = round_size(deliberation_config(session, participant).stories_to_judge)
    shown = repo_judgements.shown_story_keys(session, deliberation_id=participant.deliberation_id)
    by_id = {k.id: k for k in shown}
    mine = repo_judgements.participant_judgements(session, participant_id=participant.id)
    earlier, current = split_round([j for j in mine if j.hypothesis_id in by_id], n)
    free = n - len(current)
    candidates = open_stories(shown, judged={triple(j) for j in mine})
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
        fill = pick_stories(
            candidates,
            free=free,
            participant_id=participant.id,
            own_values=own,
            own_contexts=contexts,
            counts=counts,
            taken=[triple(by_id[j.hypothesis_id]) for j in current if j.hypothesis_id is not None],
        )
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
    engine: Engine,
    *,
    token: str,
    hypothesis_id: int,
    answer: str,
    reason: str | None = None,
    new_only: bool = False,
) -> StoryToJudgePublic:
    """Store (or change) the participant's answer to "Did this person become wiser?" for one story.

    ``answer`` is ``upgrade``, ``no_upgrade`` or ``not_sure``; ``reason`` is optional (at most
    :data:`MAX_REASON_CHARS`). A hidden story, one of another deliberation, or a second story of a
    (from, to, context) they already judged is :class:`InvalidInput`.

    ``new_only``: the answer comes from a form that showed the story unanswered (the judging page). When
    the story has an answer already (given in another tab since), the first answer stands and the
    person is told (:func:`already_answered`, as :class:`InvalidInput`); the same answer again (a double
    click) is no change and returns it.
    """
    if answer not in values_of(JudgementAnswer):
        raise InvalidInput("Please answer Yes, No or Not sure.")
    reason = check_text((reason or "").strip(), what="Your reason", limit=MAX_REASON_CHARS) or None
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
        if new_only and existing is not None:
            if (existing.answer, existing.reason) != (answer, reason):
                raise InvalidInput(already_answered(existing.answer))
            return _stories_public(session, participant.deliberation_id, [(hypothesis, existing)])[0]
        if existing is None and triple(hypothesis) in repo_judgements.judged_triples(
            session, participant_id=participant.id
        ):
            raise InvalidInput("You already judged this story.")
        stored = repo_judgements.upsert_judgement(
            session,
            data=JudgementCreate(
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
    """Move on to the survey once every story of the set is answered (or there is none to judge: then,
    for someone who judged nothing, the step is marked as skipped)."""
    with session_scope(engine) as session:
        participant = participant_for_token(session, token, lock=True)
        assert participant.id is not None
        judging_set = _judging_set(session, participant)
        left = sum(s.answer is None for s in judging_set)
        if left:
            raise InvalidInput(f"Please answer every story first ({left} left).")
        judged = repo_judgements.participant_judgements(session, participant_id=participant.id)
        if not judging_set and not judged and participant.stage == ParticipantStage.JUDGE:
            mark_skipped(session, participant, "judge")
        advance_stage(session, participant, ParticipantStage.SURVEY)


def nothing_to_judge(engine: Engine, *, token: str) -> NothingToJudgePublic:
    """Why the participant's judging set is empty (:class:`~storage.schemas.NothingToJudgePublic`): the
    pipeline is writing stories now (``processing``: worth looking again), they judged every story shown so
    far, no two values share a context yet (nothing to write a story about), or no story is ready."""
    with session_scope(engine) as session:
        participant = participant_for_token(session, token)
        assert participant.id is not None
        deliberation_id = participant.deliberation_id
        if pipeline.working(deliberation_id):
            return NothingToJudgePublic(reason="processing", processing=True)
        shown = repo_judgements.shown_story_keys(session, deliberation_id=deliberation_id)
        mine = repo_judgements.participant_judgements(session, participant_id=participant.id)
        judged = {triple(j) for j in mine}
        if shown and not open_stories(shown, judged=judged):
            return NothingToJudgePublic(reason="judged_all")
        by_context = repo_values.values_by_context(session, deliberation_id=deliberation_id)
        if all(len(values) < 2 for values in by_context.values()):
            return NothingToJudgePublic(reason="no_pairs")
        return NothingToJudgePublic(reason="not_ready")
