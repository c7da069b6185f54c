"""Moderation: search a deliberation's cards and transcripts, hide and unhide a card or a value, edit a
card's wording, grade a transcript, and the moderation log (with its CSV).

Every action is one transaction and one :class:`~storage.tables.ModerationEvent`: who (``actor``), what
(``action`` and its target), why (``reason``, required), when, and ``before``/``after`` in its details.
Repeating an action that is done already (hiding a hidden card, the same wording again) changes nothing
and logs nothing: the result says so (``already_done``).

What hiding does:

- a hidden **card** (status ``hidden``) no longer makes its value a candidate of vote draws, story pairs
  or judging on its question (those read submitted member cards only); it stays linked to its value, and
  unhiding makes it ``submitted`` again;
- a hidden **value** (``CanonicalValue.hidden``) drops out of vote draws (a draw shown before loses it),
  story pairing (the pipeline and ``cli.py stories``), judging sets and graph builds (with every judgement
  from or to it), until it is unhidden. Stories and judgements are kept, so unhiding restores it whole.

Grades (DOMAIN.md §4) are a model's opinion that a facilitator asked for: the ``grade_interview`` event
keeps them, and searches show each interview's latest ones.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from langchain_core.language_models import BaseChatModel
from sqlalchemy import Engine

from errors import InvalidInput
from exports.moderation_csv import log_row, moderation_csv
from interviews.cards import CardDraft, lint_card
from interviews.grading import TranscriptGrades
from interviews.text_rules import check_text
from interviews.vocabulary import CardStatus, values_of
from services.facilitator import audit, grading
from services.facilitator.values import check_reason
from storage import repo_deliberations, repo_interviews, repo_values
from storage.db import Session, session_scope
from storage.errors import NotFound
from storage.schemas import CardPublic, MessagePublic, ModerationEventPublic
from storage.tables import CanonicalValue, ModerationEvent, ValuesCard, utcnow

HIDE_CARD = "hide_card"
UNHIDE_CARD = "unhide_card"
EDIT_CARD = "edit_card"
HIDE_VALUE = "hide_value"
UNHIDE_VALUE = "unhide_value"
GRADE = "grade_interview"

#: The longest search text, and the most results one page of a search gives.
MAX_SEARCH = 200
MAX_PAGE = 100
#: How much of a message an excerpt shows around the match (characters before and after).
EXCERPT = 120


@dataclass(frozen=True)
class Done:
    """What an action did: its moderation event (None when it changed nothing) and one line saying so."""

    event_id: int | None
    message: str

    @property
    def already_done(self) -> bool:
        return self.event_id is None


def _log(
    session: Session,
    *,
    deliberation_id: int,
    actor: str,
    action: str,
    target_type: str,
    target_id: int,
    reason: str,
    details: dict[str, Any],
) -> int:
    event = audit.record(
        session,
        deliberation_id=deliberation_id,
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        reason=reason,
        details=details,
    )
    assert event.id is not None
    return event.id


# --- grades --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredGrades:
    """An interview's grades as a ``grade_interview`` event keeps them."""

    interview_id: int
    event_id: int
    overall: str
    rows: tuple[tuple[str, str, str], ...]  # (criterion, grade, reason), overall last
    model: str
    prompt_ref: str
    actor: str
    created_at: datetime


def _stored_grades(event: ModerationEvent) -> StoredGrades | None:
    try:
        grades = TranscriptGrades.model_validate(event.details.get("grades"))
    except ValueError:  # an event written by another version: not shown rather than guessed
        return None
    assert event.id is not None and event.target_id is not None
    return StoredGrades(
        interview_id=event.target_id,
        event_id=event.id,
        overall=grades.overall.grade,
        rows=tuple(grades.rows()),
        model=str(event.details.get("model", "")),
        prompt_ref=str(event.details.get("prompt_ref", "")),
        actor=event.actor,
        created_at=event.created_at,
    )


def _grades_of(
    session: Session, deliberation_id: int, interview_ids: Sequence[int]
) -> dict[int, StoredGrades]:
    events = repo_values.latest_events(
        session, deliberation_id=deliberation_id, action=GRADE, target_ids=interview_ids
    )
    found = {i: _stored_grades(e) for i, e in events.items()}
    return {i: g for i, g in found.items() if g is not None}


def _interview_deliberation(session: Session, interview_id: int) -> int:
    interview = repo_interviews.get_interview(session, interview_id=interview_id)
    return repo_deliberations.get_question(session, question_id=interview.question_id).deliberation_id


def _check_interview(session: Session, deliberation_id: int, interview_id: int) -> None:
    try:
        found = _interview_deliberation(session, interview_id)
    except NotFound:
        found = None
    if found != deliberation_id:
        raise InvalidInput(f"There is no interview {interview_id} in deliberation {deliberation_id}.")


def record_grades(engine: Engine, graded: grading.InterviewGrades, *, actor: str) -> StoredGrades:
    """Keep an interview's grades (from :func:`services.facilitator.grading.grade_interview`) as a
    ``grade_interview`` event, so searches show them."""
    with session_scope(engine) as session:
        deliberation_id = _interview_deliberation(session, graded.interview_id)
        event = audit.record(
            session,
            deliberation_id=deliberation_id,
            actor=actor,
            action=GRADE,
            target_type="interview",
            target_id=graded.interview_id,
            reason=f"graded by {graded.model}",
            details={
                "grades": graded.grades.model_dump(mode="json"),
                "overall": graded.grades.overall.grade,
                "model": graded.model,
                "prompt_ref": graded.prompt_ref,
                "messages": graded.messages,
                "had_card": graded.had_card,
            },
        )
        stored = _stored_grades(event)
        assert stored is not None
        return stored


def grade(
    engine: Engine, model: BaseChatModel, *, deliberation_id: int, interview_id: int, actor: str
) -> StoredGrades:
    """Grade the interview's transcript with ``model`` (one call, recorded as usual) and keep the grades."""
    with session_scope(engine) as session:
        _check_interview(session, deliberation_id, interview_id)
    graded = grading.grade_interview(engine, model, interview_id=interview_id)
    return record_grades(engine, graded, actor=actor)


# --- search --------------------------------------------------------------------------------------------


def _search_text(text: str) -> str:
    return check_text(text, what="The search", limit=MAX_SEARCH).strip()


def _page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"Show 1 to {MAX_PAGE} results at a time (not {limit}).")
    if offset < 0:
        raise InvalidInput("The first result to show cannot be before the first one.")


@dataclass(frozen=True)
class CardHit:
    """A card found by a search, with its author, its value and its interview's latest grades."""

    card: CardPublic
    participant_id: int | None
    value_title: str | None
    value_hidden: bool
    grades: StoredGrades | None
    #: Its visible value carries its words word for word: hiding the card asks what to do with the value.
    value_has_its_words: bool = False


@dataclass(frozen=True)
class CardPage:
    hits: tuple[CardHit, ...]
    offset: int
    more: bool  # there are results after this page


def search_cards(
    engine: Engine,
    *,
    deliberation_id: int,
    text: str = "",
    status: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> CardPage:
    """The deliberation's cards whose title, description or policies hold ``text`` (ignoring case; every
    card when empty), of ``status`` when given, newest first: ``limit`` of them after ``offset``."""
    text = _search_text(text)
    _page(limit, offset)
    if status is not None and status not in values_of(CardStatus):
        raise InvalidInput(f"A card's status is one of {', '.join(values_of(CardStatus))} (not {status}).")
    with session_scope(engine) as session:
        repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        cards = list(
            repo_interviews.search_cards(
                session,
                deliberation_id=deliberation_id,
                text=text,
                statuses=None if status is None else [status],
                limit=limit + 1,
                offset=offset,
            )
        )
        more, cards = len(cards) > limit, cards[:limit]
        values = repo_values.canonical_values_by_id(
            session, ids=[c.canonical_value_id for c in cards if c.canonical_value_id is not None]
        )
        grades = _grades_of(session, deliberation_id, [c.interview_id for c in cards if c.interview_id])
        hits = tuple(
            CardHit(
                card=CardPublic.of(c),
                participant_id=c.participant_id,
                value_title=v.title if (v := values.get(c.canonical_value_id or 0)) else None,
                value_hidden=bool(v and v.hidden),
                grades=grades.get(c.interview_id) if c.interview_id is not None else None,
                value_has_its_words=bool(v and not v.hidden and _words(v) == _words(c)),
            )
            for c in cards
        )
        return CardPage(hits, offset, more)


@dataclass(frozen=True)
class Excerpt:
    """A message found by a search: who wrote it (``user`` or ``assistant``), its place, and the text
    around the match (``…`` where it was cut)."""

    role: str
    seq: int
    text: str


@dataclass(frozen=True)
class TranscriptHit:
    interview_id: int
    participant_id: int
    question_id: int
    state: str
    messages: int
    excerpts: tuple[Excerpt, ...]
    card: CardPublic | None
    grades: StoredGrades | None


@dataclass(frozen=True)
class TranscriptPage:
    hits: tuple[TranscriptHit, ...]
    offset: int
    more: bool


def excerpt(content: str, text: str, around: int = EXCERPT) -> str:
    """The part of ``content`` around the first ``text`` (ignoring case), cut at ``around`` characters on
    each side; the start of ``content`` when ``text`` is empty or not found as such.

    >>> excerpt("a" * 10 + "Needle" + "b" * 10, "needle", around=3)
    '…aaaNeedlebbb…'
    """
    match = re.search(re.escape(text), content, re.IGNORECASE) if text else None
    start = max(0, match.start() - around) if match else 0
    stop = min(len(content), match.end() + around if match else 2 * around)
    return f"{'…' if start else ''}{content[start:stop]}{'…' if stop < len(content) else ''}"


def search_transcripts(
    engine: Engine, *, deliberation_id: int, text: str = "", limit: int = 20, offset: int = 0
) -> TranscriptPage:
    """The deliberation's interviews with a message (the participant's or the interviewer's) holding
    ``text`` (ignoring case; every interview when empty), newest first, each with up to three excerpts,
    its latest card and its latest grades: ``limit`` of them after ``offset``."""
    text = _search_text(text)
    _page(limit, offset)
    with session_scope(engine) as session:
        repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        found = list(
            repo_interviews.search_interviews(
                session, deliberation_id=deliberation_id, text=text, limit=limit + 1, offset=offset
            )
        )
        more, found = len(found) > limit, found[:limit]
        ids = [i.id for i in found if i.id is not None]
        messages = repo_interviews.matching_messages(session, interview_ids=ids, text=text)
        counts = repo_interviews.message_counts(session, interview_ids=ids)
        cards = repo_interviews.latest_cards(session, interview_ids=ids)
        grades = _grades_of(session, deliberation_id, ids)
        hits = tuple(
            TranscriptHit(
                interview_id=i.id,
                participant_id=i.participant_id,
                question_id=i.question_id,
                state=i.state,
                messages=counts[i.id],
                excerpts=tuple(Excerpt(m.role, m.seq, excerpt(m.content, text)) for m in messages[i.id]),
                card=CardPublic.of(cards[i.id]) if i.id in cards else None,
                grades=grades.get(i.id),
            )
            for i in found
            if i.id is not None
        )
        return TranscriptPage(hits, offset, more)


def transcript(engine: Engine, *, deliberation_id: int, interview_id: int) -> list[MessagePublic]:
    """The interview's whole conversation (every message, notes too), in order."""
    with session_scope(engine) as session:
        _check_interview(session, deliberation_id, interview_id)
        return repo_interviews.list_messages(session, interview_id=interview_id)


# --- hide, unhide, edit ---------------------------------------------------------------------------------


def _card(session: Session, deliberation_id: int, card_id: int) -> ValuesCard:
    repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
    try:
        card = repo_interviews.lock_card(session, card_id=card_id)
    except NotFound:
        card = None
    if card is None or repo_interviews.card_deliberation_id(session, card=card) != deliberation_id:
        raise InvalidInput(f"There is no card {card_id} in deliberation {deliberation_id}.")
    return card


def find_card(engine: Engine, *, card_id: int) -> tuple[int, CardPublic]:
    """A card and the deliberation it belongs to (the command line names only the card)."""
    with session_scope(engine) as session:
        try:
            card = repo_interviews.get_card(session, card_id=card_id)
        except NotFound as exc:
            raise InvalidInput(str(exc)) from exc
        found = repo_interviews.card_deliberation_id(session, card=card)
        if found is None:
            raise InvalidInput(f"Card {card_id} belongs to no deliberation.")
        return found, CardPublic.of(card)


def _not_a_draft(card: ValuesCard) -> None:
    if card.status == CardStatus.DRAFT:
        raise InvalidInput(
            f"Card {card.id} is a draft its author is still writing; it can be moderated once submitted."
        )


#: What :func:`hide_card` may do with the card's value when the value carries the card's words.
KEEP_VALUE = "keep"
HIDE_VALUE_TOO = "hide"
VALUE_CHOICES = (KEEP_VALUE, HIDE_VALUE_TOO)


def _words(row: ValuesCard | CanonicalValue) -> dict[str, Any]:
    return {"title": row.title, "description": row.description, "policies": list(row.policies)}


def _shown_words_of(session: Session, card: ValuesCard) -> CanonicalValue | None:
    """The card's value when it is visible and carries the card's wording word for word (it was made
    from the card): hiding only the card would leave those words in draws, stories and the graph."""
    if card.canonical_value_id is None:
        return None
    value = repo_values.get_canonical_value(session, canonical_id=card.canonical_value_id, lock=True)
    return value if not value.hidden and _words(value) == _words(card) else None


def hide_card(
    engine: Engine,
    *,
    deliberation_id: int,
    card_id: int,
    reason: str,
    actor: str,
    value: str | None = None,
) -> Done:
    """Hide a submitted card (see the module notes); a hidden one stays so, a draft is refused.

    When the card's visible value carries the card's words word for word, hiding the card alone would
    leave them visible, so the facilitator chooses: ``value="hide"`` hides the value too (its own
    ``hide_value`` event, same reason), ``value="keep"`` keeps it as it is; without a choice it is
    :class:`InvalidInput` (rewording the card first rewords the value too, see :func:`edit_card`).
    ``value="hide"`` hides the card's value whatever its words."""
    reason = check_reason(reason)
    if value is not None and value not in VALUE_CHOICES:
        raise InvalidInput(f"Choose to keep or hide the card's value (not {value!r}).")
    with session_scope(engine) as session:
        card = _card(session, deliberation_id, card_id)
        if card.status == CardStatus.HIDDEN:
            return Done(None, f"Card {card_id} was hidden already.")
        _not_a_draft(card)
        shared = _shown_words_of(session, card)
        if shared is not None and value is None:
            others = sum(
                c.id != card_id and c.status != CardStatus.HIDDEN
                for c in repo_values.member_cards(session, canonical_ids=[shared.id or 0])[shared.id or 0]
            )
            also = f" (it has {others} other visible card{'s' if others != 1 else ''})" if others else ""
            raise InvalidInput(
                f"Value {shared.id} carries card {card_id}'s words word for word{also}: hiding only the "
                "card leaves them visible. Choose to hide the value too or to keep it as it is (edit the "
                "card's wording first if its words must go: the value follows). Nothing was hidden."
            )
        before = card.status
        card.status = CardStatus.HIDDEN.value
        session.add(card)
        event = _log(
            session,
            deliberation_id=deliberation_id,
            actor=actor,
            action=HIDE_CARD,
            target_type="card",
            target_id=card_id,
            reason=reason,
            details={
                "before": {"status": before},
                "after": {"status": card.status},
                "value_id": card.canonical_value_id,
                **({"value": value} if value is not None else {}),
            },
        )
        hid = ""
        if value == HIDE_VALUE_TOO and card.canonical_value_id is not None:
            if _hide(session, deliberation_id, card.canonical_value_id, True, reason, actor) is not None:
                hid = f" and value {card.canonical_value_id} with it"
        return Done(event, f"Card {card_id} hidden{hid}.")


def unhide_card(engine: Engine, *, deliberation_id: int, card_id: int, reason: str, actor: str) -> Done:
    """Make a hidden card submitted again (one that is not hidden stays as it is)."""
    reason = check_reason(reason)
    with session_scope(engine) as session:
        card = _card(session, deliberation_id, card_id)
        if card.status != CardStatus.HIDDEN:
            return Done(None, f"Card {card_id} is not hidden.")
        card.status = CardStatus.SUBMITTED.value
        session.add(card)
        event = _log(
            session,
            deliberation_id=deliberation_id,
            actor=actor,
            action=UNHIDE_CARD,
            target_type="card",
            target_id=card_id,
            reason=reason,
            details={"before": {"status": CardStatus.HIDDEN.value}, "after": {"status": card.status}},
        )
        return Done(event, f"Card {card_id} shown again.")


def _wording(title: str, description: str, policies: Sequence[str]) -> dict[str, Any]:
    """The card's new wording, checked by the text rule and the card rules (DOMAIN.md §4)."""
    title = " ".join(check_text(title, what="The title", limit=200).split())
    description = " ".join(check_text(description, what="The description", limit=2000).split())
    lines = [" ".join(check_text(p, what="A policy", limit=1000).split()) for p in policies]
    lines = [p for p in lines if p]
    problems = lint_card(CardDraft.model_construct(title=title, description=description, policies=lines))
    if problems:
        raise InvalidInput(
            "The card breaks the card rules: " + "; ".join(p.for_people for p in problems) + "."
        )
    return {"title": title, "description": description, "policies": lines}


def edit_card(
    engine: Engine,
    *,
    deliberation_id: int,
    card_id: int,
    title: str,
    description: str,
    policies: Sequence[str],
    reason: str,
    actor: str,
) -> Done:
    """Change a submitted (or hidden) card's wording; the card rules apply, the old and new wording are in
    the ``edit_card`` event. When the card's value carries the card's old wording word for word (the value
    was made from it), the value gets the new wording too (recorded in the same event)."""
    reason = check_reason(reason)
    after = _wording(title, description, policies)
    with session_scope(engine) as session:
        card = _card(session, deliberation_id, card_id)
        _not_a_draft(card)
        before = {"title": card.title, "description": card.description, "policies": list(card.policies)}
        if before == after:
            return Done(None, f"Card {card_id} already reads so.")
        details: dict[str, Any] = {"before": before, "after": after}
        card.title, card.description, card.policies = after["title"], after["description"], after["policies"]
        session.add(card)
        if card.canonical_value_id is not None:
            value = repo_values.get_canonical_value(session, canonical_id=card.canonical_value_id, lock=True)
            if {
                "title": value.title,
                "description": value.description,
                "policies": list(value.policies),
            } == before:
                value.title, value.description = after["title"], after["description"]
                value.policies = after["policies"]
                value.updated_at = utcnow()
                session.add(value)
                details["value_id"] = value.id
        event = _log(
            session,
            deliberation_id=deliberation_id,
            actor=actor,
            action=EDIT_CARD,
            target_type="card",
            target_id=card_id,
            reason=reason,
            details=details,
        )
        also = f" (and value {details['value_id']}, which had its words)" if "value_id" in details else ""
        return Done(event, f"Card {card_id} edited{also}.")


def _hide(
    session: Session, deliberation_id: int, value_id: int, hidden: bool, reason: str, actor: str
) -> int | None:
    """Set the value's hidden flag and log it; None when it was so already."""
    try:
        value = repo_values.get_canonical_value(
            session, canonical_id=value_id, deliberation_id=deliberation_id, lock=True
        )
    except NotFound as exc:
        raise InvalidInput(str(exc)) from exc
    if value.hidden == hidden:
        return None
    value.hidden = hidden
    value.updated_at = utcnow()
    session.add(value)
    return _log(
        session,
        deliberation_id=deliberation_id,
        actor=actor,
        action=HIDE_VALUE if hidden else UNHIDE_VALUE,
        target_type="canonical_value",
        target_id=value_id,
        reason=reason,
        details={"before": {"hidden": not hidden}, "after": {"hidden": hidden}, "title": value.title},
    )


def _set_value_hidden(
    engine: Engine, *, deliberation_id: int, value_id: int, hidden: bool, reason: str, actor: str
) -> Done:
    reason = check_reason(reason)
    with session_scope(engine) as session:
        repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        event = _hide(session, deliberation_id, value_id, hidden, reason, actor)
        if event is None:
            return Done(None, f"Value {value_id} was {'hidden' if hidden else 'shown'} already.")
        return Done(event, f"Value {value_id} {'hidden' if hidden else 'shown again'}.")


def hide_value(engine: Engine, *, deliberation_id: int, value_id: int, reason: str, actor: str) -> Done:
    """Hide a canonical value (see the module notes); a hidden one stays so."""
    return _set_value_hidden(
        engine, deliberation_id=deliberation_id, value_id=value_id, hidden=True, reason=reason, actor=actor
    )


def unhide_value(engine: Engine, *, deliberation_id: int, value_id: int, reason: str, actor: str) -> Done:
    """Show a hidden value again: in draws, stories, judging and the next graph build."""
    return _set_value_hidden(
        engine, deliberation_id=deliberation_id, value_id=value_id, hidden=False, reason=reason, actor=actor
    )


# --- the log ------------------------------------------------------------------------------------------

#: The most events one look at the log (or its CSV) gives.
MAX_LOG = 10_000


def _log_of(session: Session, deliberation_id: int | None) -> None:
    """Refuse a deliberation that is not there (None, the console's own log, always is)."""
    if deliberation_id is not None:
        repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)


def log(
    engine: Engine, *, deliberation_id: int | None, action: str | None = None, limit: int = 500
) -> list[ModerationEventPublic]:
    """The deliberation's moderation log (of one ``action`` when given), newest first. ``None``: the
    console's own log, of no deliberation (deliberations deleted, accounts changed)."""
    if not 1 <= limit <= MAX_LOG:
        raise InvalidInput(f"Show 1 to {MAX_LOG} events at a time (not {limit}).")
    with session_scope(engine) as session:
        _log_of(session, deliberation_id)
        events = repo_values.list_moderation_events(
            session, deliberation_id=deliberation_id, action=action or None, limit=limit
        )
        return [ModerationEventPublic.model_validate(e, from_attributes=True) for e in events]


def log_actions(engine: Engine, *, deliberation_id: int | None) -> list[str]:
    """The actions the deliberation's log (None: the console's) holds (for a filter)."""
    with session_scope(engine) as session:
        _log_of(session, deliberation_id)
        return repo_values.moderation_actions(session, deliberation_id=deliberation_id)


def log_csv(engine: Engine, *, deliberation_id: int | None, action: str | None = None) -> str:
    """The log (None: the console's) as CSV (:mod:`exports.moderation_csv`: when, who, action, target,
    reason, before, after)."""
    events = log(engine, deliberation_id=deliberation_id, action=action, limit=MAX_LOG)
    return moderation_csv(
        log_row(
            when=e.created_at,
            who=e.actor,
            action=e.action,
            target_type=e.target_type,
            target_id=e.target_id,
            reason=e.reason,
            details=e.details,
        )
        for e in events
    )
