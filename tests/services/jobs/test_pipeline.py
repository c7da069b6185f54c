"""The continuous pipeline through the database (SQLite and PostgreSQL): after each submitted card its
contexts, its value and the stories of its new pairs; bounded by the deliberation's caps, idempotent,
serialised per deliberation, and resumable after a stop (by a rerun or the existing commands)."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from langchain_core.messages import BaseMessage
from sqlalchemy import Engine
from sqlmodel import select

from interviews.limits import DEDUP_BATCH
from providers.accounting import RecordingCallback
from providers.errors import ModelUnavailable
from providers.fakes import ScriptedChatModel
from services.jobs import contexts, pipeline, stories
from services.participant import judging, voting
from services.runtime.accounting import llm_call_sink
from services.runtime.background import BackgroundJobs
from storage import repo_values
from storage.db import session_scope
from storage.repo_interviews import MINED_FLAG
from storage.tables import Deliberation, EdgeHypothesis, LLMCall, ModerationEvent, ValuesCard
from tests.services.dedup_world import TitleEmbeddings
from tests.services.pipeline_world import answer, model, new_deliberation, submit


def _stories(engine: Engine) -> list[EdgeHypothesis]:
    with session_scope(engine) as s:
        return list(s.exec(select(EdgeHypothesis).order_by(EdgeHypothesis.id)).all())


def _events(engine: Engine) -> list[ModerationEvent]:
    with session_scope(engine) as s:
        statement = select(ModerationEvent).where(ModerationEvent.action == "pipeline_run")
        return list(s.exec(statement.order_by(ModerationEvent.id)).all())


def _value_of(engine: Engine, card_id: int) -> int | None:
    with session_scope(engine) as s:
        card = s.get(ValuesCard, card_id)
        assert card is not None
        return card.canonical_value_id


def test_after_each_card_the_next_participant_votes_on_it_and_judges_stories(engine: Engine) -> None:
    d, q = new_deliberation(engine)
    embeddings = TitleEmbeddings()
    first, _ = submit(engine, q, "Honest Presence")
    one = pipeline.after_card(engine, model(engine, 2), embeddings, card_id=first)
    assert (one.cards_mined, one.contexts_added, one.cards_linked, one.pairs, one.calls) == (1, 1, 1, 0, 2)
    assert _stories(engine) == []  # a value alone in its context: nothing to pair it with

    second, _ = submit(engine, q, "Room to Decide")
    two = pipeline.after_card(engine, model(engine, 6), embeddings, card_id=second)
    assert (two.cards_linked, two.pairs, two.new_pairs, two.written, two.judged, two.shown) == (
        1,
        1,
        1,
        2,
        2,
        2,
    )
    assert two.calls == 6 and two.stopped == "" and two.capped == []
    a, b = _value_of(engine, first), _value_of(engine, second)
    rows = _stories(engine)
    assert {(h.from_value_id, h.to_value_id) for h in rows} == {(a, b), (b, a)}
    assert {h.run_id for h in rows} == {f"pipeline-{d}"} and all(h.shown for h in rows)

    # The next participant votes on both values and judges the stories about them.
    _, token = submit(engine, q, "Gentle Timing")
    draw = voting.draw_values(engine, token=token, question_id=q)
    assert {v.id for v in draw.values} == {a, b}
    judged = judging.stories_to_judge(engine, token=token)
    assert {(s.from_value.id, s.to_value.id) for s in judged} == {(a, b), (b, a)}

    with session_scope(engine) as s:
        purposes = Counter(c.purpose for c in s.exec(select(LLMCall)).all() if c.purpose != "embedding")
        assert all(c.deliberation_id == d for c in s.exec(select(LLMCall)).all() if c.purpose != "embedding")
    assert purposes == {"contexts": 2, "dedup": 2, "stories": 2, "story_judge": 2}
    events = _events(engine)
    assert [(e.actor, e.details["calls"], e.details["card_id"]) for e in events] == [
        ("pipeline", 2, first),
        ("pipeline", 6, second),
    ]
    assert pipeline.calls_used(engine, deliberation_id=d) == 8


def test_a_second_run_for_the_same_card_asks_no_model(engine: Engine) -> None:
    d, q = new_deliberation(engine)
    embeddings = TitleEmbeddings()
    first, _ = submit(engine, q, "Honest Presence")
    pipeline.after_card(engine, model(engine, 2), embeddings, card_id=first)
    idle = ScriptedChatModel([])  # any call would raise ScriptExhausted
    again = pipeline.after_card(engine, idle, embeddings, card_id=first)
    assert again.calls == 0 and idle.calls == [] and again.event_id is None
    assert len(_events(engine)) == 1
    assert pipeline.catch_up(engine, idle, embeddings, deliberation_id=d).calls == 0


def test_the_call_cap_stops_the_stories_before_a_call_would_exceed_it(engine: Engine) -> None:
    d, q = new_deliberation(engine, pipeline_max_calls=7)
    embeddings = TitleEmbeddings()
    first, _ = submit(engine, q, "Honest Presence")
    pipeline.after_card(engine, model(engine, 2), embeddings, card_id=first)
    second, _ = submit(engine, q, "Room to Decide")
    capped = pipeline.after_card(engine, model(engine, 6), embeddings, card_id=second)
    # 2 + mining 1 + dedup 1 = 4 used: the pair needs 4 more, the cap leaves 3.
    assert capped.calls == 2 and capped.capped == ["pipeline_max_calls"] and capped.pairs == 0
    assert capped.stopped == "" and capped.caps_reached == {"pipeline_max_calls": 7}
    assert _value_of(engine, second) is not None and _stories(engine) == []
    assert "cap of 7 model calls (pipeline_max_calls) is reached" in _events(engine)[-1].reason
    assert pipeline.calls_used(engine, deliberation_id=d) == 4
    status = pipeline.status(engine, deliberation_id=d)
    assert (status.calls_used, status.max_calls, status.pairs_used, status.pending_cards) == (4, 7, 0, 0)
    assert status.pairs_to_write == 0 and not status.has_work  # the pair waits for a higher cap
    # By hand the facilitator goes on (the cap bounds the pipeline only).
    by_hand = stories.generate_stories(engine, model(engine, 4), deliberation_id=d, run_id=f"pipeline-{d}")
    assert (by_hand.written, by_hand.judged) == (2, 2)


def test_the_pair_cap_and_the_pairs_per_value(engine: Engine) -> None:
    d, q = new_deliberation(engine, pipeline_max_pairs=2, pipeline_pairs_per_value=1)
    embeddings = TitleEmbeddings()
    reports, values = [], []
    for title in ("Honest Presence", "Room to Decide", "Gentle Timing", "Family Harmony"):
        card, _ = submit(engine, q, title)
        reports.append(pipeline.after_card(engine, model(engine, 6), embeddings, card_id=card))
        values.append(_value_of(engine, card))
    assert [r.new_pairs for r in reports] == [0, 1, 1, 0]
    assert reports[3].capped == ["pipeline_max_pairs"] and reports[3].stopped == ""
    assert "cap of 2 pairs (pipeline_max_pairs) is reached" in _events(engine)[-1].reason
    v1, v2, v3, _ = values
    # One pair per new value: the second value with the first; the third with the partner of fewest
    # pairs (both have one: the newer); the fourth gets none, the deliberation's two pairs are spent.
    pairs = {
        (min(h.from_value_id, h.to_value_id), max(h.from_value_id, h.to_value_id)) for h in _stories(engine)
    }
    assert pairs == {(v1, v2), (v2, v3)} and len(_stories(engine)) == 4
    assert pipeline.status(engine, deliberation_id=d).pairs_used == 2


def test_a_stop_mid_job_and_a_rerun_that_completes_without_duplicates(engine: Engine) -> None:
    d, q = new_deliberation(engine, pipeline_max_calls=20)
    embeddings = TitleEmbeddings()
    first, _ = submit(engine, q, "Honest Presence")
    pipeline.after_card(engine, model(engine, 2), embeddings, card_id=first)
    second, _ = submit(engine, q, "Room to Decide")
    # mine, dedup, write A->B, judge it: then the endpoint goes away at the second story.
    broken = model(engine, 6, fail_at=5, error=ModelUnavailable("The model endpoint is unreachable."))
    with pytest.raises(ModelUnavailable):
        pipeline.after_card(engine, broken, embeddings, card_id=second)
    stopped = _events(engine)[-1]
    assert stopped.details["calls"] == 5 and stopped.reason.startswith(
        "stopped by an error: The model endpoint"
    )
    assert [(h.judge_scores is not None) for h in _stories(engine)] == [True]

    # A card submitted meanwhile, while the model was down, is left pending; the catch-up does the rest.
    third, _ = submit(engine, q, "Gentle Timing")
    with pytest.raises(ModelUnavailable):
        pipeline.after_card(
            engine, model(engine, 1, fail_at=1, error=ModelUnavailable("down")), embeddings, card_id=third
        )
    assert _value_of(engine, third) is None
    done = pipeline.catch_up(engine, model(engine, 20), embeddings, deliberation_id=d)
    assert done.stopped == "" and done.cards_mined == 1 and done.cards_linked == 1
    rows = _stories(engine)
    keys = [(h.from_value_id, h.to_value_id, h.context_id, h.run_id) for h in rows]
    assert len(keys) == len(set(keys)) == 6  # (A, B), (A, C), (B, C) both ways: no story twice
    assert all(h.judge_scores is not None for h in rows)
    assert pipeline.calls_used(engine, deliberation_id=d) <= 20


def test_past_the_call_cap_cards_are_still_mined_and_linked_and_the_cap_is_said_once(engine: Engine) -> None:
    d, q = new_deliberation(engine, pipeline_max_calls=3)
    cards = [submit(engine, q, title)[0] for title in ("Honest Presence", "Room to Decide", "Gentle Timing")]
    report = pipeline.catch_up(engine, model(engine, 10), TitleEmbeddings(), deliberation_id=d)
    # Mining three cards takes the cap; dedup runs anyway (the cards become values to vote on); the
    # stories of their three pairs wait.
    assert (report.calls, report.cards_mined, report.cards_linked, report.pairs) == (4, 3, 3, 0)
    assert report.capped == ["pipeline_max_calls"] and report.caps_reached == {"pipeline_max_calls": 3}
    assert None not in {_value_of(engine, c) for c in cards} and _stories(engine) == []

    # Later cards: mined and linked all the same, and the cap is not said again.
    embeddings = TitleEmbeddings()
    for title in ("Family Harmony", "Quiet Courage"):
        card, _ = submit(engine, q, title)
        later = pipeline.after_card(engine, model(engine, 2), embeddings, card_id=card)
        assert (later.calls, later.cards_linked, later.capped, later.caps_reached) == (
            2,
            1,
            ["pipeline_max_calls"],
            {},
        )
        assert _value_of(engine, card) is not None
    assert [e.reason for e in _events(engine)][1:] == ["", ""]
    with session_scope(engine) as s:
        said = repo_values.list_moderation_events(s, deliberation_id=d, action="pipeline_cap")
        assert [(e.details["setting"], e.details["limit"]) for e in said] == [("pipeline_max_calls", 3)]
    assert pipeline.calls_used(engine, deliberation_id=d) == 8

    # A higher cap lets the stories go on; reached again, the new limit is said once more.
    with session_scope(engine) as s:
        row = s.get_one(Deliberation, d)
        row.config = {**row.config, "pipeline_max_calls": 12}
        s.add(row)
    resumed = pipeline.catch_up(engine, model(engine, 4), embeddings, deliberation_id=d)
    assert (resumed.pairs, resumed.written, resumed.judged) == (1, 2, 2)
    assert resumed.caps_reached == {"pipeline_max_calls": 12}


def test_every_dedup_batch_runs_whatever_the_call_cap(engine: Engine) -> None:
    d, q = new_deliberation(engine, pipeline_max_calls=0)
    cards = [submit(engine, q, f"Value Number {i}")[0] for i in range(DEDUP_BATCH + 3)]
    with session_scope(engine) as s:  # mined already: only dedup calls count here
        for card in s.exec(select(ValuesCard)).all():
            card.quality_flags = [MINED_FLAG]
            s.add(card)
    report = pipeline.catch_up(engine, model(engine, 5), TitleEmbeddings(), deliberation_id=d)
    assert report.calls == 2 and report.stopped == "" and report.pairs == 0  # no contexts: no pairs
    assert all(_value_of(engine, c) is not None for c in cards)
    assert report.cards_linked == DEDUP_BATCH + 3 and _stories(engine) == []


def test_two_submits_at_once_are_serialised(engine: Engine) -> None:
    d, q = new_deliberation(engine)
    embeddings = TitleEmbeddings()
    first, _ = submit(engine, q, "Honest Presence")
    pipeline.after_card(engine, model(engine, 2), embeddings, card_id=first)
    cards = [submit(engine, q, title)[0] for title in ("Room to Decide", "Gentle Timing")]
    shared = ScriptedChatModel([answer] * 30)
    errors: list[BaseException] = []

    def run(card: int) -> None:
        try:
            pipeline.after_card(engine, shared, embeddings, card_id=card)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(c,)) for c in cards]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    values = {_value_of(engine, c) for c in [first, *cards]}
    assert None not in values and len(values) == 3
    keys = [(h.from_value_id, h.to_value_id, h.context_id) for h in _stories(engine)]
    assert len(keys) == len(set(keys)) == 6  # three pairs, each story once
    with session_scope(engine) as s:
        assert repo_values.count_pending_cards(s, deliberation_id=d) == 0


def test_working_while_a_job_is_queued_or_running() -> None:
    release = threading.Event()
    started = threading.Event()
    jobs = BackgroundJobs(workers=1)
    try:

        def slow() -> None:
            with pipeline.running(424242):
                started.set()
                release.wait(10)

        assert not pipeline.working(424242)
        jobs.submit("slow", slow)
        assert started.wait(10) and pipeline.working(424242)
        release.set()
        assert jobs.wait(timeout_s=10)
        assert not pipeline.working(424242)
    finally:
        jobs.shutdown()


def _pipeline_calls(engine: Engine, deliberation_id: int) -> int:
    with session_scope(engine) as s:
        rows = s.exec(select(LLMCall).where(LLMCall.job_run == f"pipeline-{deliberation_id}")).all()
        return len(rows)


def test_the_calls_of_a_job_killed_midway_count_toward_the_cap(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    d, q = new_deliberation(engine, pipeline_max_calls=9)
    embeddings = TitleEmbeddings()
    first, _ = submit(engine, q, "Honest Presence")
    pipeline.after_card(engine, model(engine, 2), embeddings, card_id=first)
    second, _ = submit(engine, q, "Room to Decide")
    with monkeypatch.context() as patched:  # the process dies before the job writes its event
        patched.setattr(pipeline._Job, "_record", lambda self: None)
        pipeline.after_card(engine, model(engine, 6), embeddings, card_id=second)
    assert len(_events(engine)) == 1  # the killed job left no event: its six calls are in LLMCall only
    assert pipeline.calls_used(engine, deliberation_id=d) == 8 == _pipeline_calls(engine, d)

    third, _ = submit(engine, q, "Gentle Timing")
    capped = pipeline.after_card(engine, model(engine, 2), embeddings, card_id=third)
    # Mining and dedup (2) take the calls to 10: no pair of the third value is started.
    assert (capped.calls, capped.pairs, capped.capped) == (2, 0, ["pipeline_max_calls"])
    assert pipeline.calls_used(engine, deliberation_id=d) == 10
    with session_scope(engine) as s:
        purposes = Counter(c.purpose for c in s.exec(select(LLMCall).where(LLMCall.job_run.is_not(None))))
        assert purposes == {"contexts": 3, "dedup": 3, "stories": 2, "story_judge": 2}
        assert not s.exec(
            select(LLMCall).where(LLMCall.purpose == "embedding", LLMCall.job_run.is_not(None))
        ).all()


def test_the_report_counts_exactly_the_calls_made(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    d, q = new_deliberation(engine)
    embeddings = TitleEmbeddings()
    first, _ = submit(engine, q, "Honest Presence")
    pipeline.after_card(engine, model(engine, 2), embeddings, card_id=first)
    second, _ = submit(engine, q, "Room to Decide")

    # The same card submitted twice at once: the second job, behind the first, finds it mined (no call).
    shared = model(engine, 30)
    reports: list[pipeline.PipelineReport] = []
    lock = pipeline._lock_of(d)
    with lock:
        threads = [
            threading.Thread(
                target=lambda: reports.append(pipeline.after_card(engine, shared, embeddings, card_id=second))
            )
            for _ in range(2)
        ]
        for t in threads:
            t.start()
        for _ in range(500):  # both wait at the deliberation's lock
            if pipeline._active[d] == 2:
                break
            threading.Event().wait(0.01)
        assert pipeline._active[d] == 2
    for t in threads:
        t.join(timeout=60)
    assert sorted(r.calls for r in reports) == [0, 6]
    assert sum(r.calls for r in reports) + 2 == _pipeline_calls(engine, d)

    # A story written while another run of the same id finished it: the write is counted.
    third, _ = submit(engine, q, "Gentle Timing")
    store = stories._Job._store

    def finished_meanwhile(self: stories._Job, f: int, t: int, context_id: int, story: str) -> object:
        known = store(self, f, t, context_id, story)
        return type(known)(known.id, known.story, True, False)

    monkeypatch.setattr(stories._Job, "_store", finished_meanwhile)
    before = _pipeline_calls(engine, d)
    raced = pipeline.after_card(engine, model(engine, 10), embeddings, card_id=third)
    assert raced.written == raced.judged == 0 and raced.pairs == 2  # every story "skipped" after its write
    assert raced.calls == 2 + 4 == _pipeline_calls(engine, d) - before


def test_a_busy_deliberation_leaves_the_pool_to_the_others(engine: Engine) -> None:
    busy, q_busy = new_deliberation(engine)
    other, q_other = new_deliberation(engine)
    embeddings = TitleEmbeddings()
    gate, started = threading.Event(), threading.Event()

    def held(messages: list[BaseMessage]) -> object:
        started.set()
        assert gate.wait(30)
        return answer(messages)

    slow = ScriptedChatModel([held] + [answer] * 20, callbacks=[RecordingCallback(llm_call_sink(engine))])
    jobs = BackgroundJobs(workers=2)
    try:
        busy_cards = [
            submit(engine, q_busy, t)[0] for t in ("Honest Presence", "Room to Decide", "Gentle Timing")
        ]
        first = pipeline.submit(jobs, engine, slow, embeddings, card_id=busy_cards[0], deliberation_id=busy)
        assert first is not None and started.wait(30)
        # Two more submits while its job runs: they join it, no job of theirs waits in the pool.
        for card in busy_cards[1:]:
            assert pipeline.submit(jobs, engine, slow, embeddings, card_id=card, deliberation_id=busy) is None
        assert pipeline.working(busy)

        other_card, _ = submit(engine, q_other, "Family Harmony")
        done = pipeline.submit(
            jobs, engine, model(engine, 2), embeddings, card_id=other_card, deliberation_id=other
        )
        assert done is not None
        assert done.result(timeout=30).cards_linked == 1  # while the busy deliberation's job still waits
        assert pipeline.working(busy) and not pipeline.working(other)

        gate.set()
        last = first.result(timeout=60)  # the job ran once more for the two cards that came meanwhile
        assert last.cards == busy_cards[1:] and last.cards_mined == 2
        assert not pipeline.working(busy)
        assert all(_value_of(engine, c) is not None for c in busy_cards)
        assert contexts.count_unmined(engine, deliberation_id=busy) == 0
    finally:
        gate.set()
        jobs.shutdown()
