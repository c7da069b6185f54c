"""The dedup job through the database: idempotent, resumable, going past a batch the model gets wrong."""

from __future__ import annotations

import pytest
from langchain_core.messages import BaseMessage
from sqlalchemy import Engine

from errors import InvalidInput
from providers.errors import ModelTimeout
from providers.fakes import ScriptedChatModel
from services.facilitator import values
from services.jobs import dedup
from storage.db import session_scope
from storage.errors import NotFound
from storage.tables import CanonicalValue, ValuesCard
from tests.services.dedup_world import (
    TitleEmbeddings,
    add_cards,
    canonical_of,
    drop_all_but_one,
    events,
    judge,
    new_deliberation,
    title_judge,
)


def test_dedup_groups_twins_and_records_the_run(sqlite_engine: Engine) -> None:
    d, (q,) = new_deliberation(sqlite_engine)
    cards = add_cards(sqlite_engine, q, ["Faith in People", "Honest Care", "Faith in People", "Solo Path"])
    model = judge()
    summary = dedup.dedup(sqlite_engine, model, TitleEmbeddings(), deliberation_id=d)
    assert (summary.cards_processed, summary.canonicals_created, summary.cards_joined) == (4, 3, 0)
    assert summary.batches == 1 and len(model.calls) == 1
    linked = canonical_of(sqlite_engine, cards)
    assert linked[0] == linked[2] and len(set(linked)) == 3 and None not in linked

    listed = values.list_values(sqlite_engine, deliberation_id=d)
    assert [(v.title, [c.id for c in v.cards]) for v in listed] == [
        ("Faith in People", [cards[0], cards[2]]),
        ("Honest Care", [cards[1]]),
        ("Solo Path", [cards[3]]),
    ]
    assert {v.dedup_run for v in listed} == {summary.run_id}
    (event,) = events(sqlite_engine, "dedup_batch")
    assert event.details["prompt"] == summary.prompt_ref and event.details["run_id"] == summary.run_id
    assert event.actor == "dedup" and event.details["groups"][0]["reason"] == "same title"


def test_a_second_run_processes_nothing_and_calls_no_model(sqlite_engine: Engine) -> None:
    d, (q,) = new_deliberation(sqlite_engine)
    add_cards(sqlite_engine, q, ["Faith in People", "Honest Care"])
    dedup.dedup(sqlite_engine, judge(), TitleEmbeddings(), deliberation_id=d)
    model, embeddings = ScriptedChatModel([]), TitleEmbeddings()
    again = dedup.dedup(sqlite_engine, model, embeddings, deliberation_id=d)
    assert (again.cards_processed, again.canonicals_created, again.batches) == (0, 0, 0)
    assert model.calls == [] and embeddings.calls == 0
    assert dedup.pending_count(sqlite_engine, deliberation_id=d) == 0


def test_new_cards_join_existing_values(sqlite_engine: Engine) -> None:
    d, (q,) = new_deliberation(sqlite_engine)
    first = add_cards(sqlite_engine, q, ["Faith in People"])
    dedup.dedup(sqlite_engine, judge(), TitleEmbeddings(), deliberation_id=d)
    later = add_cards(sqlite_engine, q, ["Faith in People", "Brand New"])
    model = judge()
    summary = dedup.dedup(sqlite_engine, model, TitleEmbeddings(), deliberation_id=d)
    assert (summary.cards_processed, summary.canonicals_created, summary.cards_joined) == (2, 1, 1)
    assert canonical_of(sqlite_engine, later)[0] == canonical_of(sqlite_engine, first)[0]
    assert "[v" in model.calls[0][0].content  # the existing value was offered


def test_a_crash_loses_at_most_the_current_batch_and_a_rerun_finishes(engine: Engine) -> None:
    """On both backends: the batch lock (FOR UPDATE on PostgreSQL) and one commit per batch."""
    d, (q,) = new_deliberation(engine)
    cards = add_cards(engine, q, [f"Value {n}" for n in "ABCDEF"])
    crashing = ScriptedChatModel([title_judge, ModelTimeout("the model took too long")])
    reports: list[dedup.BatchReport] = []
    with pytest.raises(ModelTimeout):
        dedup.dedup(
            engine,
            crashing,
            TitleEmbeddings(),
            deliberation_id=d,
            batch_size=2,
            on_batch=reports.append,
        )
    assert [(r.number, r.of, r.cards) for r in reports] == [(1, 3, 2)]
    assert [c is not None for c in canonical_of(engine, cards)] == [True, True] + [False] * 4
    assert dedup.pending_count(engine, deliberation_id=d) == 4

    model = judge(2)
    rerun = dedup.dedup(engine, model, TitleEmbeddings(), deliberation_id=d, batch_size=2)
    assert (rerun.cards_processed, rerun.canonicals_created, rerun.batches) == (4, 4, 2)
    assert model.remaining == 0
    assert len(set(canonical_of(engine, cards))) == 6
    assert len(values.list_values(engine, deliberation_id=d)) == 6


def test_a_partition_that_stays_invalid_commits_nothing_of_its_batch(sqlite_engine: Engine) -> None:
    d, (q,) = new_deliberation(sqlite_engine)
    cards = add_cards(sqlite_engine, q, ["Faith in People", "Honest Care"])
    missing = {"groups": [{"cards": [f"c{cards[0]}"]}]}
    summary = dedup.dedup(
        sqlite_engine, ScriptedChatModel([missing, missing]), TitleEmbeddings(), deliberation_id=d
    )
    assert (summary.cards_processed, summary.failed_batches, summary.failed_cards) == (0, 1, 2)
    assert canonical_of(sqlite_engine, cards) == [None, None]
    assert values.list_values(sqlite_engine, deliberation_id=d) == []
    (failure,) = summary.failures
    assert failure.card_ids == tuple(cards) and "still invalid after 2 tries" in failure.error
    (event,) = events(sqlite_engine, "dedup_batch_failed")
    assert event.id == failure.event_id and event.actor == "dedup" and event.target_id == d
    assert event.details["cards"] == cards and event.details["error"] == failure.error
    assert event.details["run_id"] == summary.run_id and event.details["problems"] == [
        f"card c{cards[1]} is missing"
    ]
    assert events(sqlite_engine, "dedup_batch") == []


def test_a_bad_batch_is_skipped_the_run_goes_on_and_a_rerun_retries_it(engine: Engine) -> None:
    d, (q,) = new_deliberation(engine)
    cards = add_cards(engine, q, [f"Value {n}" for n in "ABCDEF"])
    model = ScriptedChatModel([title_judge, drop_all_but_one, drop_all_but_one, title_judge])
    reports: list[dedup.BatchReport] = []
    summary = dedup.dedup(
        engine, model, TitleEmbeddings(), deliberation_id=d, batch_size=2, on_batch=reports.append
    )
    assert [(r.number, r.cards, r.failed) for r in reports] == [(1, 2, 0), (2, 0, 2), (3, 2, 0)]
    assert "still invalid" in reports[1].error and model.remaining == 0
    assert (summary.cards_processed, summary.canonicals_created, summary.batches) == (4, 4, 3)
    assert (summary.failed_batches, summary.failed_cards) == (1, 2)
    assert summary.failures[0].card_ids == tuple(cards[2:4])
    assert [c is None for c in canonical_of(engine, cards)] == [False, False, True, True, False, False]
    assert len(events(engine, "dedup_batch")) == 2 and len(events(engine, "dedup_batch_failed")) == 1

    # A rerun builds the same failing batch: it fails again, and the run still ends.
    stubborn = ScriptedChatModel([drop_all_but_one, drop_all_but_one])
    again = dedup.dedup(engine, stubborn, TitleEmbeddings(), deliberation_id=d, batch_size=2)
    assert (again.cards_processed, again.batches, again.failed_cards) == (0, 1, 2)
    assert stubborn.remaining == 0 and dedup.pending_count(engine, deliberation_id=d) == 2

    fixed = dedup.dedup(engine, judge(1), TitleEmbeddings(), deliberation_id=d, batch_size=2)
    assert (fixed.cards_processed, fixed.failures) == (2, ())
    assert dedup.pending_count(engine, deliberation_id=d) == 0


def test_cards_linked_while_the_model_runs_are_skipped(sqlite_engine: Engine) -> None:
    d, (q,) = new_deliberation(sqlite_engine)
    cards = add_cards(sqlite_engine, q, ["Faith in People", "Honest Care"])

    def meanwhile(messages: list[BaseMessage]) -> dict:
        with session_scope(sqlite_engine) as session:  # a facilitator acts during the model call
            value = CanonicalValue(deliberation_id=d, title="By hand")
            session.add(value)
            session.flush()
            session.get(ValuesCard, cards[1]).canonical_value_id = value.id
        return title_judge(messages)

    summary = dedup.dedup(sqlite_engine, ScriptedChatModel([meanwhile]), TitleEmbeddings(), deliberation_id=d)
    assert (summary.cards_processed, summary.cards_skipped, summary.canonicals_created) == (1, 1, 1)
    assert sorted(v.title for v in values.list_values(sqlite_engine, deliberation_id=d)) == [
        "By hand",
        "Faith in People",
    ]


def test_only_submitted_cards_of_this_deliberation_and_question_are_processed(sqlite_engine: Engine) -> None:
    d, (q1, q2) = new_deliberation(sqlite_engine, ("Q one?", "Q two?"))
    other, (q_other,) = new_deliberation(sqlite_engine)
    mine = add_cards(sqlite_engine, q1, ["Faith in People"])
    second = add_cards(sqlite_engine, q2, ["Faith in People"])
    draft = add_cards(sqlite_engine, q1, ["Draft Card"], status="draft")
    hidden = add_cards(sqlite_engine, q1, ["Hidden Card"], status="hidden")
    foreign = add_cards(sqlite_engine, q_other, ["Faith in People"])

    summary = dedup.dedup(sqlite_engine, judge(), TitleEmbeddings(), deliberation_id=d, question_id=q1)
    assert summary.cards_processed == 1
    assert canonical_of(sqlite_engine, second + draft + hidden + foreign) == [None] * 4
    # The second question's twin joins the value made from the first question's card (same deliberation).
    summary = dedup.dedup(sqlite_engine, judge(), TitleEmbeddings(), deliberation_id=d)
    assert summary.cards_joined == 1
    assert canonical_of(sqlite_engine, second) == canonical_of(sqlite_engine, mine)
    assert values.list_values(sqlite_engine, deliberation_id=d, question_id=q2)[0].title == "Faith in People"
    assert canonical_of(sqlite_engine, foreign) == [None]  # never across deliberations

    with pytest.raises(InvalidInput, match=f"Question {q_other} is not part of deliberation {d}"):
        dedup.dedup(sqlite_engine, judge(), TitleEmbeddings(), deliberation_id=d, question_id=q_other)
    with pytest.raises(NotFound, match="no deliberation with id 999"):
        dedup.dedup(sqlite_engine, judge(), TitleEmbeddings(), deliberation_id=999)
    with pytest.raises(InvalidInput, match="batch_size"):
        dedup.dedup(sqlite_engine, judge(), TitleEmbeddings(), deliberation_id=d, batch_size=0)
    assert other != d
