"""The participant after the interview: vote on peers' values, judge upgrade stories, answer the exit
survey, read the receipt; and where they are in the flow (DOMAIN.md §3 steps 5-8).

Every function takes the participant's URL token; an unknown one is :class:`InvalidInput`. Writes lock
the participant's row (PostgreSQL; SQLite serialises writers anyway), so a double click or a second tab
is answered from what the first request stored instead of doubling it. The stage only moves forward:
going back a page and submitting again never resets it.

The vote draw. Candidates are the canonical values with a submitted member card on the question, minus
the participant's own (the values their cards on that question joined; a card not deduplicated yet
excludes nothing). With embeddings and a submitted card of theirs, the pool narrows to the ``2 n``
candidates closest (cosine) to their card; then half of the ``n`` slots (rounded up) go to the least shown
values on the question (fewest impressions, then newest), the rest to the most chosen (most votes),
filled from the least shown when too few have votes; values this person was already shown come only
after all the others. A draw is stored as impressions with a fresh ``draw_id`` and returned again, with
the person's choices, on every later call for that question (a reload, a second tab, the back button),
until ``fresh=True`` asks for a new one after voting.

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

Residual drift: a story the facilitator hides drops out (another takes its slot); stories written, or a
dedup that gives the person's card a value, while they judge may take an open (unanswered) slot.
"""

from __future__ import annotations

import hashlib
import logging
import math
import random
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from langchain_core.embeddings import Embeddings
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from interviews import dedup as dedup_core
from providers.errors import ModelError
from services.errors import InvalidInput, one_line
from services.interviewing import card_public
from services.joining import participant_for_token
from storage import repo, repo_interviews, repo_participation, repo_stories
from storage.db import session_scope
from storage.errors import NotFound
from storage.schemas import (
    RECEIPT_KEYS,
    DeliberationConfig,
    ProgressPublic,
    ProgressStepPublic,
    ReceiptCardPublic,
    ReceiptPublic,
    RelatedValuePublic,
    StoryToJudgePublic,
    StoryValuePublic,
    SurveyItemPublic,
    SurveyQuestion,
    ValueOptionPublic,
    VoteDrawPublic,
)
from storage.tables import ANSWERS, PARTICIPANT_STAGES, CanonicalValue, EdgeHypothesis, Judgement, Participant

log = logging.getLogger(__name__)

STORY_UNAVAILABLE = "This story is not available any more. Please reload the page."
MAX_REASON_CHARS = 2000
MAX_SURVEY_TEXT = 2000
#: At most this many candidates are embedded for one draw (half least shown, half most chosen).
EMBED_LIMIT = 200
SCALE_LABELS = {
    1: "Strongly disagree",
    2: "Disagree",
    3: "Neither agree nor disagree",
    4: "Agree",
    5: "Strongly agree",
}
STEPS = (
    ("join", "Welcome"),
    ("interview", "Your value"),
    ("vote", "Others' values"),
    ("judge", "Wisdom stories"),
    ("survey", "Survey"),
    ("done", "Done"),
)
_STEP_OF_STAGE = {"joined": 0, "consented": 0, "interview": 1, "vote": 2, "judge": 3, "survey": 4, "done": 5}
_ORDER = {stage: i for i, stage in enumerate(PARTICIPANT_STAGES)}

Triple = tuple[int, int, int]


# --- shared ------------------------------------------------------------------------------------------


def _config(session: Session, participant: Participant) -> DeliberationConfig:
    deliberation = repo.get_deliberation(session, deliberation_id=participant.deliberation_id)
    return DeliberationConfig.model_validate(deliberation.config)


def _advance(session: Session, participant: Participant, stage: str) -> None:
    """Move the participant forward to ``stage`` (never back) and note that they were here."""
    if _ORDER[participant.stage] < _ORDER[stage]:
        participant.stage = stage
    repo.touch_participant(session, participant=participant)


def _value_public(value: CanonicalValue) -> StoryValuePublic:
    return StoryValuePublic(
        id=value.id or 0, title=value.title, description=value.description, policies=list(value.policies)
    )


# --- vote --------------------------------------------------------------------------------------------


def new_draw_id() -> str:
    return secrets.token_urlsafe(12)


def choose_values(
    candidates: Sequence[int],
    *,
    n: int,
    impressions: dict[int, int],
    votes: dict[int, int],
    seen: frozenset[int] | set[int] = frozenset(),
    distance: dict[int, float] | None = None,
) -> list[int]:
    """Pick up to ``n`` of ``candidates`` (see the module notes): with ``distance``, among the ``2 n``
    closest; values not ``seen`` before the rest; each time ``ceil(n / 2)`` least shown (fewest
    impressions, then newest) and the others most chosen. Returned in pick order.

    >>> choose_values([1, 2, 3, 4, 5], n=2, impressions={1: 0, 2: 3, 3: 1, 4: 5, 5: 5},
    ...               votes={1: 0, 2: 0, 3: 0, 4: 9, 5: 2})
    [1, 4]
    >>> choose_values([1, 2, 3, 4, 5], n=1, impressions={1: 0, 2: 2, 3: 0, 4: 1, 5: 0},
    ...               votes=dict.fromkeys(range(1, 6), 0), distance={1: .9, 2: .1, 3: .8, 4: .2, 5: .7})
    [4]
    """
    pool = list(dict.fromkeys(candidates))
    if distance is not None and len(pool) > n:
        pool = sorted(pool, key=lambda v: (distance.get(v, 2.0), v))[: 2 * n]

    def mix(group: list[int], k: int) -> list[int]:
        least = sorted(group, key=lambda v: (impressions.get(v, 0), -v))
        picked = least[: math.ceil(k / 2)]
        rest = [v for v in group if v not in picked and votes.get(v, 0) > 0]
        picked += sorted(rest, key=lambda v: (-votes.get(v, 0), impressions.get(v, 0), -v))[: k - len(picked)]
        return picked + [v for v in least if v not in picked][: k - len(picked)]

    picked = mix([v for v in pool if v not in seen], n)
    return picked + mix([v for v in pool if v in seen], n - len(picked))


def _check_question(session: Session, participant: Participant, question_id: int) -> None:
    try:
        question = repo_interviews.get_question(session, question_id=question_id)
    except NotFound:
        question = None
    if question is None or question.deliberation_id != participant.deliberation_id:
        raise InvalidInput("This question is not part of your deliberation.")


def _draw_public(
    session: Session, participant: Participant, question_id: int, draw_id: str, config: DeliberationConfig
) -> VoteDrawPublic:
    assert participant.id is not None
    shown = (
        [
            i.canonical_value_id
            for i in repo_participation.draw_impressions(
                session, participant_id=participant.id, draw_id=draw_id
            )
        ]
        if draw_id
        else []
    )
    rows = {v.id: v for v in repo.get_canonical_values(session, ids=shown)}
    values = [
        ValueOptionPublic(id=v, title=r.title, description=r.description, policies=list(r.policies))
        for v in shown
        if (r := rows.get(v)) is not None
    ]
    voted = {
        v.canonical_value_id
        for v in repo_participation.question_votes(
            session, participant_id=participant.id, question_id=question_id
        )
    }
    return VoteDrawPublic(
        draw_id=draw_id,
        question_id=question_id,
        values=values,
        min_votes=min(config.min_votes, len(values)),
        chosen=[v.id for v in values if v.id in voted],
    )


def _current_draw(
    session: Session, participant: Participant, question_id: int, config: DeliberationConfig, *, fresh: bool
) -> VoteDrawPublic | None:
    assert participant.id is not None
    draw_id = repo_participation.latest_draw_id(
        session, participant_id=participant.id, question_id=question_id
    )
    if draw_id is None:
        return None
    draw = _draw_public(session, participant, question_id, draw_id, config)
    if fresh and draw.chosen:
        return None
    return draw


def draw_values(
    engine: Engine, *, token: str, question_id: int, embeddings: Embeddings | None = None, fresh: bool = False
) -> VoteDrawPublic:
    """The canonical values to show the participant for ``question_id`` (see the module notes).

    Idempotent: the participant's latest draw on the question is returned again, with ``chosen`` = their
    votes among its values. ``fresh=True`` makes a new draw once that one has votes. ``min_votes`` is the
    deliberation's ``min_votes`` capped by the number of values (0 when there is nothing to vote on: then
    ``draw_id`` is ``""`` and nothing is stored). An embedding failure only loses the closeness preference.
    """
    with session_scope(engine) as session:
        participant = participant_for_token(session, token)
        assert participant.id is not None
        _check_question(session, participant, question_id)
        config = _config(session, participant)
        current = _current_draw(session, participant, question_id, config, fresh=fresh)
        if current is not None:
            return current
        own = repo_participation.own_value_ids(
            session, participant_id=participant.id, question_id=question_id
        )
        candidates = [
            v
            for v in repo_participation.question_value_ids(
                session, deliberation_id=participant.deliberation_id, question_id=question_id
            )
            if v not in own
        ]
        impressions = repo_participation.impression_counts(
            session, question_id=question_id, value_ids=candidates
        )
        votes = repo_participation.vote_counts(session, question_id=question_id, value_ids=candidates)
        seen = repo_participation.seen_value_ids(
            session, participant_id=participant.id, question_id=question_id
        )
        n = config.values_to_vote
        own_text, texts = None, {}
        if embeddings is not None and len(candidates) > n:
            cards = repo_participation.participant_cards(session, participant_id=participant.id)
            mine = [c for c in cards if c.question_id == question_id] or list(cards)
            if mine:
                card = mine[-1]
                own_text = dedup_core.embedding_text(card.title, card.description, card.policies)
                if len(candidates) > EMBED_LIMIT:
                    half = EMBED_LIMIT // 2
                    by_least = sorted(candidates, key=lambda v: (v in seen, impressions[v], -v))
                    by_most = sorted(candidates, key=lambda v: (-votes[v], v))
                    candidates = list(dict.fromkeys(by_least[:half] + by_most[:half]))
                texts = {
                    v.id: dedup_core.embedding_text(v.title, v.description, v.policies)
                    for v in repo.get_canonical_values(session, ids=candidates)
                    if v.id is not None
                }
    distance = _distances(embeddings, own_text, texts) if embeddings is not None and own_text else None
    picked = choose_values(
        candidates, n=n, impressions=impressions, votes=votes, seen=seen, distance=distance
    )
    random.Random(f"{participant.id}:{question_id}").shuffle(picked)  # no position bias by kind
    with session_scope(engine) as session:
        participant = participant_for_token(session, token, lock=True)
        current = _current_draw(session, participant, question_id, config, fresh=fresh)
        if current is not None:  # another tab drew meanwhile
            return current
        draw_id = new_draw_id() if picked else ""
        if picked:
            repo_participation.add_impressions(
                session,
                participant_id=participant.id,
                question_id=question_id,
                draw_id=draw_id,
                value_ids=picked,
            )
        repo.touch_participant(session, participant=participant)
        return _draw_public(session, participant, question_id, draw_id, config)


def _distances(embeddings: Embeddings, own_text: str, texts: dict[int, str]) -> dict[int, float] | None:
    if not texts:
        return None
    ids = sorted(texts)
    try:
        vectors = embeddings.embed_documents([own_text, *(texts[i] for i in ids)])
    except ModelError as exc:
        log.warning("embedding a vote draw failed, drawing without closeness: %s", one_line(exc))
        return None
    row = dedup_core.cosine_distances(vectors[:1], vectors[1:])[0]
    return {i: float(d) for i, d in zip(ids, row, strict=True)}


def submit_votes(engine: Engine, *, token: str, draw_id: str, value_ids: Sequence[int]) -> None:
    """Store the participant's choice among the values of ``draw_id`` and move them on to judging.

    Every id must be in the draw and at least the draw's ``min_votes`` chosen. Submitting the same draw
    again (a double click, the back button) makes the stored votes match the new selection, without
    duplicates. The empty draw (``draw_id=""``, nothing to vote on) takes no ids.
    """
    if any(isinstance(v, bool) or not isinstance(v, int) for v in value_ids):
        raise InvalidInput("Values are chosen by their numbers.")
    chosen = list(dict.fromkeys(value_ids))
    with session_scope(engine) as session:
        participant = participant_for_token(session, token, lock=True)
        assert participant.id is not None
        if not draw_id:
            if chosen:
                raise InvalidInput(
                    "You can only choose among the values you were shown. Please reload the page."
                )
            _advance(session, participant, "judge")
            return
        impressions = repo_participation.draw_impressions(
            session, participant_id=participant.id, draw_id=draw_id
        )
        if not impressions:
            raise InvalidInput("These values were not shown to you. Please reload the page.")
        shown = [i.canonical_value_id for i in impressions]
        if any(v not in shown for v in chosen):
            raise InvalidInput("You can only choose among the values you were shown. Please reload the page.")
        need = min(_config(session, participant).min_votes, len(shown))
        if len(chosen) < need:
            raise InvalidInput(f"Please choose at least {need} values that you find wise.")
        repo_participation.set_draw_votes(
            session,
            participant_id=participant.id,
            question_id=impressions[0].question_id,
            draw_id=draw_id,
            shown_ids=shown,
            chosen_ids=chosen,
        )
        _advance(session, participant, "judge")


# --- judge -------------------------------------------------------------------------------------------


def _triple(row: EdgeHypothesis | Judgement) -> Triple:
    return (row.from_value_id, row.to_value_id, row.context_id)


def _tiebreak(participant_id: int, triple: Triple) -> int:
    digest = hashlib.blake2b(f"{participant_id}:{triple}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _frozen_at(session: Session, participant: Participant, earlier: Sequence[Judgement]) -> datetime:
    """The time whose judgement counts rank the open slots: the participant's last step before judging."""
    assert participant.id is not None
    times = [participant.created_at]
    times += [t for t in (participant.consented_at,) if t is not None]
    cards = repo_participation.participant_cards(session, participant_id=participant.id)
    times += [c.submitted_at for c in cards if c.submitted_at is not None]
    activity = repo_participation.latest_activity(session, participant_id=participant.id)
    times += [activity] if activity is not None else []
    times += [earlier[-1].created_at] if earlier else []
    return max(times)


def _judging_set(session: Session, participant: Participant) -> list[StoryToJudgePublic]:
    assert participant.id is not None
    n = min(max(_config(session, participant).stories_to_judge, 1), 10)
    shown = repo_stories.list_hypotheses(session, deliberation_id=participant.deliberation_id, shown=True)
    by_id = {h.id: h for h in shown}
    latest: dict[Triple, EdgeHypothesis] = {}
    for h in shown:  # by id: a later run replaces an earlier one
        latest[_triple(h)] = h
    mine = repo_participation.participant_judgements(session, participant_id=participant.id)
    judged = {_triple(j) for j in mine}
    answered = [j for j in mine if j.hypothesis_id in by_id]
    start = (len(answered) - 1) // n * n if answered else 0
    current, earlier = answered[start:], answered[:start]
    chosen: list[tuple[EdgeHypothesis, Judgement | None]] = [(by_id[j.hypothesis_id], j) for j in current]
    free = n - len(current)
    candidates = [h for t, h in latest.items() if t not in judged]
    if free > 0 and candidates:
        counts = repo_participation.judgement_counts(
            session,
            deliberation_id=participant.deliberation_id,
            before=_frozen_at(session, participant, earlier),
        )
        own = repo_participation.own_value_ids(session, participant_id=participant.id)
        contexts = repo_participation.context_ids_of_questions(
            session,
            question_ids=repo_participation.participant_question_ids(session, participant_id=participant.id),
        )

        def rank(h: EdgeHypothesis) -> tuple[int, int, int, int]:
            tier = 0 if {h.from_value_id, h.to_value_id} & own else 1 if h.context_id in contexts else 2
            return (tier, counts.get(_triple(h), 0), _tiebreak(participant.id or 0, _triple(h)), h.id or 0)

        ranked = sorted(candidates, key=rank)
        # A story and its reverse (B→A in the same context) are not shown to one person in one set
        # unless there is nothing else.
        taken = {_triple(h) for h, _ in chosen}
        fill: list[EdgeHypothesis] = []
        for h in ranked:
            if len(fill) < free and (h.to_value_id, h.from_value_id, h.context_id) not in taken:
                fill.append(h)
                taken.add(_triple(h))
        fill += [h for h in ranked if h not in fill][: free - len(fill)]
        chosen += [(h, None) for h in fill]
    # Shown in story order, so answering them in any order never reshuffles the page.
    return _stories_public(session, participant.deliberation_id, sorted(chosen, key=lambda c: c[0].id or 0))


def _stories_public(
    session: Session, deliberation_id: int, chosen: Sequence[tuple[EdgeHypothesis, Judgement | None]]
) -> list[StoryToJudgePublic]:
    values = repo_stories.canonical_values_by_id(
        session,
        deliberation_id=deliberation_id,
        ids=[v for h, _ in chosen for v in (h.from_value_id, h.to_value_id)],
    )
    contexts = repo_stories.contexts_by_id(
        session, deliberation_id=deliberation_id, ids=[h.context_id for h, _ in chosen]
    )
    return [
        StoryToJudgePublic(
            hypothesis_id=h.id or 0,
            context_id=h.context_id,
            context=contexts[h.context_id].text,
            story=h.story,
            from_value=_value_public(values[h.from_value_id]),
            to_value=_value_public(values[h.to_value_id]),
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
            hypothesis: EdgeHypothesis | None = repo_stories.get_hypothesis(
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
        existing = repo_participation.get_judgement(
            session, participant_id=participant.id, hypothesis_id=hypothesis_id
        )
        if existing is None and _triple(hypothesis) in repo_stories.judged_triples(
            session, participant_id=participant.id
        ):
            raise InvalidInput("You already judged this story.")
        stored = repo_participation.upsert_judgement(
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
        repo.touch_participant(session, participant=participant)
        return _stories_public(session, participant.deliberation_id, [(hypothesis, stored)])[0]


def finish_judging(engine: Engine, *, token: str) -> None:
    """Move on to the survey once every story of the set is answered (or there is none to judge)."""
    with session_scope(engine) as session:
        participant = participant_for_token(session, token, lock=True)
        left = sum(s.answer is None for s in _judging_set(session, participant))
        if left:
            raise InvalidInput(f"Please answer every story first ({left} left).")
        _advance(session, participant, "survey")


# --- survey ------------------------------------------------------------------------------------------


def clean_survey(questions: Sequence[SurveyQuestion], answers: dict[str, Any]) -> dict[str, Any]:
    """The answers checked against the questions: required ones present, scales whole numbers 1-5, yes/no
    a boolean, texts short. Every question gets a value; ``None`` for a blank optional one.

    >>> q = [SurveyQuestion(key="clear", label="Clear", required=True),
    ...      SurveyQuestion(key="comment", label="Comment", kind="text")]
    >>> clean_survey(q, {"clear": 4, "comment": "  "})
    {'clear': 4, 'comment': None}
    >>> clean_survey(q, {"clear": 6})
    Traceback (most recent call last):
    ...
    services.errors.InvalidInput: "Clear" takes a whole number from 1 to 5.
    """
    by_key = {q.key: q for q in questions}
    unknown = sorted(set(answers) - set(by_key))
    if unknown:
        raise InvalidInput(f"Unknown questions: {', '.join(unknown)}.")
    problems: list[str] = []
    cleaned: dict[str, Any] = {}
    for question in questions:
        raw = answers.get(question.key)
        value = raw.strip() if isinstance(raw, str) else raw
        cleaned[question.key] = None
        if value is None or value == "":
            if question.required:
                problems.append(f'Please answer "{question.label}".')
            continue
        if question.kind == "scale":
            if isinstance(value, str) and value.isdigit():
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
                problems.append(f'"{question.label}" takes a whole number from 1 to 5.')
                continue
        elif question.kind == "yes_no":
            if not isinstance(value, bool):
                problems.append(f'"{question.label}" takes yes or no.')
                continue
        elif not isinstance(value, str):
            problems.append(f'"{question.label}" takes text.')
            continue
        elif len(value) > MAX_SURVEY_TEXT:
            problems.append(f'"{question.label}" takes at most {MAX_SURVEY_TEXT} characters.')
            continue
        cleaned[question.key] = value
    if problems:
        raise InvalidInput(" ".join(problems))
    return cleaned


def survey(engine: Engine, *, token: str) -> list[SurveyItemPublic]:
    """The deliberation's exit survey with the participant's current answers."""
    with session_scope(engine) as session:
        participant = participant_for_token(session, token)
        assert participant.id is not None
        stored = repo_participation.survey_answers(session, participant_id=participant.id)
        return [
            SurveyItemPublic(
                key=q.key, label=q.label, kind=q.kind, required=q.required, answer=stored.get(q.key)
            )
            for q in _config(session, participant).survey
        ]


def submit_survey(engine: Engine, *, token: str, answers: dict[str, Any]) -> None:
    """Check and store the whole survey form (a blank optional answer removes an earlier one); stage
    ``done``. Submitting again updates the answers.
    """
    with session_scope(engine) as session:
        participant = participant_for_token(session, token, lock=True)
        assert participant.id is not None
        cleaned = clean_survey(_config(session, participant).survey, answers)
        for key, value in cleaned.items():
            repo_participation.set_survey_answer(
                session, participant_id=participant.id, key=key, answer=value
            )
        _advance(session, participant, "done")


# --- receipt -----------------------------------------------------------------------------------------


def _related(document: dict[str, Any], value_id: int) -> tuple[list[RelatedValuePublic], ...]:
    """The values the graph document judged wiser and less wise than ``value_id``, best supported first."""
    values = {v.get("id"): v for v in document.get("values", [])}

    def related(other: Any, edge: dict[str, Any]) -> RelatedValuePublic:
        v = values.get(other, {})
        likelihood = (edge.get("summary") or {}).get("wiserLikelihood")
        return RelatedValuePublic(
            id=int(other),
            title=str(v.get("title", f"Value {other}")),
            description=str(v.get("instructionsShort", "")),
            policies=[str(p) for p in v.get("evaluationCriteria", [])],
            wiser_likelihood=float(likelihood) if isinstance(likelihood, int | float) else None,
            contexts=[str(c) for c in edge.get("contexts", [])],
        )

    wiser = [
        related(e["wiserValueId"], e) for e in document.get("edges", []) if e.get("sourceValueId") == value_id
    ]
    less = [
        related(e["sourceValueId"], e) for e in document.get("edges", []) if e.get("wiserValueId") == value_id
    ]

    def order(r: RelatedValuePublic) -> tuple[float, int]:
        return (-(r.wiser_likelihood if r.wiser_likelihood is not None else -2.0), r.id)

    return sorted(wiser, key=order), sorted(less, key=order)


def _rank(document: dict[str, Any], value_id: int) -> tuple[int | None, int | None]:
    scores = ((document.get("rankings") or {}).get("overall") or {}).get("scores") or {}
    if not scores:
        return None, None
    ordered = sorted(scores, key=lambda k: (-float(scores[k]), k))
    position = ordered.index(str(value_id)) + 1 if str(value_id) in scores else None
    return position, len(ordered)


def receipt(engine: Engine, *, token: str) -> ReceiptPublic:
    """What the participant contributed and where their value landed (see :class:`ReceiptPublic`)."""
    with session_scope(engine) as session:
        participant = participant_for_token(session, token)
        assert participant.id is not None
        d = participant.deliberation_id
        cards = repo_participation.participant_cards(session, participant_id=participant.id)
        ids = [c.canonical_value_id for c in cards if c.canonical_value_id is not None]
        values = repo_stories.canonical_values_by_id(session, deliberation_id=d, ids=ids)
        judges = repo_participation.judges_of_values(session, deliberation_id=d, value_ids=ids)
        questions = {q.id: q.text for q in repo.list_questions(session, deliberation_id=d)}
        snapshot = repo.latest_graph_snapshot(session, deliberation_id=d)
        messages, votes, judgements = repo_participation.contribution_counts(
            session, participant_id=participant.id
        )
        stored = repo_participation.survey_answers(session, participant_id=participant.id)
        entries = []
        for card in cards:
            value = values.get(card.canonical_value_id) if card.canonical_value_id is not None else None
            entry = ReceiptCardPublic(
                card=card_public(card),
                question=questions.get(card.question_id, "") if card.question_id is not None else "",
                value=_value_public(value) if value is not None else None,
                judged_by=judges.get(value.id, 0) if value is not None and value.id is not None else 0,
            )
            if value is not None and value.id is not None and snapshot is not None:
                entry.wiser, entry.less_wise = _related(snapshot.result, value.id)
                entry.rank, entry.ranked = _rank(snapshot.result, value.id)
            entries.append(entry)
        return ReceiptPublic(
            cards=entries,
            messages=messages,
            votes=votes,
            judgements=judgements,
            graph_exists=snapshot is not None,
            graph_built_at=snapshot.created_at if snapshot is not None else None,
            answers={k: stored.get(k) if isinstance(stored.get(k), bool) else None for k in RECEIPT_KEYS},
        )


def answer_receipt(engine: Engine, *, token: str, key: str, answer: bool) -> None:
    """Store the answer to a receipt question: ``represents_my_value`` (does the deduplicated value
    represent yours? once the card has one) or ``fair_position`` (did your value end up in a fair
    position? once a graph exists). Answering again changes it.
    """
    if key not in RECEIPT_KEYS:
        raise InvalidInput(f"Unknown question {key!r}.")
    if not isinstance(answer, bool):
        raise InvalidInput("Please answer yes or no.")
    with session_scope(engine) as session:
        participant = participant_for_token(session, token, lock=True)
        assert participant.id is not None
        if (
            key == "fair_position"
            and repo.latest_graph_snapshot(session, deliberation_id=participant.deliberation_id) is None
        ):
            raise InvalidInput("This question opens once the moral graph is built.")
        if key == "represents_my_value" and not repo_participation.own_value_ids(
            session, participant_id=participant.id
        ):
            raise InvalidInput("Your value has not been grouped with other people's yet.")
        repo_participation.set_survey_answer(session, participant_id=participant.id, key=key, answer=answer)
        repo.touch_participant(session, participant=participant)


# --- progress ----------------------------------------------------------------------------------------


def progress_of(stage: str) -> ProgressPublic:
    """The progress indicator for a stage.

    >>> [(s.name, s.done, s.current) for s in progress_of("vote").steps][1:4]
    [('interview', True, False), ('vote', False, True), ('judge', False, False)]
    """
    current = _STEP_OF_STAGE.get(stage, 0)
    return ProgressPublic(
        stage=stage,
        steps=[
            ProgressStepPublic(
                name=name, label=label, done=i < current or stage == "done", current=i == current
            )
            for i, (name, label) in enumerate(STEPS)
        ],
    )


def progress(engine: Engine, *, token: str) -> ProgressPublic:
    """Where the participant is across join → interview → vote → judge → survey → done."""
    with session_scope(engine) as session:
        return progress_of(participant_for_token(session, token).stage)
