"""The vote: draw peers' values for the participant to judge wise, and store their choice (DOMAIN.md §3
step 5). Token, locking and stage rules: see :mod:`services.participant.progress`.

The vote draw. Candidates are the canonical values with a submitted member card on the question, minus
the participant's own (the values their cards on that question joined; a card not deduplicated yet
excludes nothing). Which of them are shown (closeness to the person's card, least shown and most chosen,
unseen first) is the pure rule :func:`interviews.voting.choose_values`; this module reads its inputs,
embeds, and stores the draw. A draw is stored as impressions with a fresh ``draw_id`` and returned again,
with the person's choices, on every later call for that question (a reload, a second tab, the back button),
until ``fresh=True`` asks for a new one after voting.

An empty draw says why it is empty: ``waiting`` counts other people's cards on the question that are not
linked to a value yet, and ``processing`` says that the pipeline (:mod:`services.jobs.pipeline`) is
working on the deliberation in this process, so the page can offer to look again. Passing the vote with an
empty draw marks the step as skipped (``Participant.skipped_steps``).
"""

from __future__ import annotations

import logging
import random
import secrets
from collections.abc import Sequence

from langchain_core.embeddings import Embeddings
from sqlalchemy import Engine

from errors import InvalidInput, one_line
from interviews import dedup_candidates
from interviews.vocabulary import ParticipantStage
from interviews.voting import choose_values, embedding_pool
from providers.errors import ModelError
from services.jobs import pipeline
from services.participant.joining import participant_for_token
from services.participant.progress import advance_stage, deliberation_config, mark_skipped
from storage import repo_deliberations, repo_interviews, repo_participants, repo_values
from storage.db import Session, session_scope
from storage.errors import NotFound
from storage.schemas import DeliberationConfig, ImpressionCreate, ValueOptionPublic, VoteDrawPublic
from storage.tables import Participant

log = logging.getLogger(__name__)


def new_draw_id() -> str:
    return secrets.token_urlsafe(12)


def _check_question(session: Session, participant: Participant, question_id: int) -> None:
    try:
        question = repo_deliberations.get_question(session, question_id=question_id)
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
            for i in repo_participants.draw_impressions(
                session, participant_id=participant.id, draw_id=draw_id
            )
        ]
        if draw_id
        else []
    )
    rows = repo_values.canonical_values_by_id(session, ids=shown)
    values = [
        ValueOptionPublic(
            id=v, title=r.title, description=r.description, policies=list(r.policies), seed=r.seed
        )
        for v in shown
        if (r := rows.get(v)) is not None and not r.hidden  # a value hidden since the draw drops out
    ]
    voted = {
        v.canonical_value_id
        for v in repo_participants.question_votes(
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
    draw_id = repo_participants.latest_draw_id(
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
        config = deliberation_config(session, participant)
        current = _current_draw(session, participant, question_id, config, fresh=fresh)
        if current is not None:
            return current
        own = repo_interviews.own_value_ids(session, participant_id=participant.id, question_id=question_id)
        waiting = _others_waiting(session, participant, question_id)
        candidates = [
            v
            for v in repo_values.question_value_ids(
                session, deliberation_id=participant.deliberation_id, question_id=question_id
            )
            if v not in own
        ]
        impressions = repo_participants.impression_counts(
            session, question_id=question_id, value_ids=candidates
        )
        votes = repo_values.question_vote_counts(session, question_id=question_id, value_ids=candidates)
        seen = repo_participants.seen_value_ids(
            session, participant_id=participant.id, question_id=question_id
        )
        n = config.values_to_vote
        own_text, texts = None, {}
        if embeddings is not None and len(candidates) > n:
            cards = repo_interviews.participant_cards(session, participant_id=participant.id)
            mine = [c for c in cards if c.question_id == question_id] or list(cards)
            if mine:
                card = mine[-1]
                own_text = dedup_candidates.embedding_text(card.title, card.description, card.policies)
                candidates = embedding_pool(candidates, impressions=impressions, votes=votes, seen=seen)
                texts = {
                    i: dedup_candidates.embedding_text(v.title, v.description, v.policies)
                    for i, v in repo_values.canonical_values_by_id(session, ids=candidates).items()
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
            assert participant.id is not None
            shown = [
                ImpressionCreate(
                    participant_id=participant.id,
                    canonical_value_id=v,
                    question_id=question_id,
                    draw_id=draw_id,
                )
                for v in picked
            ]
            repo_participants.add_impressions(session, data=shown)
        repo_participants.touch_participant(session, participant=participant)
        draw = _draw_public(session, participant, question_id, draw_id, config)
    if draw.values:
        return draw
    return draw.model_copy(
        update={"waiting": waiting, "processing": pipeline.working(participant.deliberation_id)}
    )


def _others_waiting(session: Session, participant: Participant, question_id: int) -> int:
    """Other people's submitted cards on the question not linked to a value yet (the pipeline, or a
    facilitator's dedup, will make them values to vote on)."""
    assert participant.id is not None
    pending = repo_values.count_pending_cards(
        session, deliberation_id=participant.deliberation_id, question_id=question_id
    )
    mine = repo_interviews.participant_cards(session, participant_id=participant.id, question_id=question_id)
    return pending - sum(c.canonical_value_id is None for c in mine)


def _distances(embeddings: Embeddings, own_text: str, texts: dict[int, str]) -> dict[int, float] | None:
    if not texts:
        return None
    ids = sorted(texts)
    try:
        vectors = embeddings.embed_documents([own_text, *(texts[i] for i in ids)])
    except ModelError as exc:
        log.warning("embedding a vote draw failed, drawing without closeness: %s", one_line(exc))
        return None
    row = dedup_candidates.cosine_distances(vectors[:1], vectors[1:])[0]
    return {i: float(d) for i, d in zip(ids, row, strict=True)}


def _has_values_to_vote_on(session: Session, participant: Participant) -> bool:
    """Whether any question the participant submitted a card on has other people's values: then the empty
    draw (skipping the vote) is not theirs to send."""
    assert participant.id is not None
    for card in repo_interviews.participant_cards(session, participant_id=participant.id):
        if card.question_id is None:
            continue
        own = repo_interviews.own_value_ids(
            session, participant_id=participant.id, question_id=card.question_id
        )
        values = repo_values.question_value_ids(
            session, deliberation_id=participant.deliberation_id, question_id=card.question_id
        )
        if any(v not in own for v in values):
            return True
    return False


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
            if _has_values_to_vote_on(session, participant):
                raise InvalidInput("There are values for you to vote on. Please reload the page.")
            if participant.stage == ParticipantStage.VOTE:
                mark_skipped(session, participant, "vote")
            advance_stage(session, participant, ParticipantStage.JUDGE)
            return
        impressions = repo_participants.draw_impressions(
            session, participant_id=participant.id, draw_id=draw_id
        )
        if not impressions:
            raise InvalidInput("These values were not shown to you. Please reload the page.")
        # A value a facilitator hid since the draw is no longer among what was shown.
        rows = repo_values.canonical_values_by_id(session, ids=[i.canonical_value_id for i in impressions])
        shown = [v for i in impressions if (v := i.canonical_value_id) in rows and not rows[v].hidden]
        if any(v not in shown for v in chosen):
            raise InvalidInput("You can only choose among the values you were shown. Please reload the page.")
        need = min(deliberation_config(session, participant).min_votes, len(shown))
        if len(chosen) < need:
            raise InvalidInput(f"Please choose at least {need} values that you find wise.")
        repo_participants.set_draw_votes(
            session,
            participant_id=participant.id,
            question_id=impressions[0].question_id,
            draw_id=draw_id,
            shown_ids=shown,
            chosen_ids=chosen,
        )
        advance_stage(session, participant, ParticipantStage.JUDGE)
