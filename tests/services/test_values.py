"""Canonical values through the database: dedup (idempotent, resumable), review, merge and split, the CLI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from langchain_core.embeddings import Embeddings
from langchain_core.messages import BaseMessage
from sqlalchemy import Engine
from sqlmodel import select

from cli import cli
from interviews.dedup import PartitionError
from providers.errors import ModelTimeout
from providers.fakes import ScriptedChatModel
from services import facilitation, research, values
from services.errors import InvalidInput
from storage.db import session_scope
from storage.errors import NotFound
from storage.tables import (
    CanonicalValue,
    Context,
    EdgeHypothesis,
    Impression,
    Judgement,
    ModerationEvent,
    Participant,
    Question,
    ValuesCard,
    Vote,
)

# --- fakes and seeding ------------------------------------------------------------------------------


class TitleEmbeddings(Embeddings):
    """Same title, same vector; different titles are orthogonal (so candidates are exactly the twins)."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.calls = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        vectors = []
        for text in texts:
            slot = self.index.setdefault(text.split(". ")[0], len(self.index))
            vector = [0.0] * 64
            vector[slot] = 1.0
            vectors.append(vector)
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


ITEM = re.compile(r"^\[([cv])(\d+)\] (.+)$", re.M)


def title_judge(messages: list[BaseMessage]) -> dict:
    """A partition that groups cards by title and joins an offered value with the same title."""
    offered: dict[str, str] = {}
    groups: dict[str, list[str]] = {}
    for kind, number, title in ITEM.findall(str(messages[0].content)):
        if kind == "v":
            offered.setdefault(title, f"v{number}")
        else:
            groups.setdefault(title, []).append(f"c{number}")
    return {
        "groups": [
            {"reason": "same title", "cards": cards}
            | ({"join": offered[title]} if title in offered else {"representative": cards[0]})
            for title, cards in groups.items()
        ]
    }


def judge(n: int = 10) -> ScriptedChatModel:
    return ScriptedChatModel([title_judge] * n)


def new_deliberation(engine: Engine, questions: tuple[str, ...] = ("Q one?",)) -> tuple[int, list[int]]:
    created = facilitation.create_deliberation(engine, title="Dedup", questions=list(questions))
    return created.id, [q.id for q in created.questions]


def add_cards(engine: Engine, question_id: int, titles: list[str], *, status: str = "submitted") -> list[int]:
    ids = []
    with session_scope(engine) as session:
        deliberation_id = session.get(Question, question_id).deliberation_id
        for title in titles:
            person = Participant(deliberation_id=deliberation_id)
            session.add(person)
            session.flush()
            card = ValuesCard(
                participant_id=person.id,
                question_id=question_id,
                title=title,
                description=f"What {title.lower()} asks of us.",
                policies=[f"MOMENTS of {title.lower()}", "CHOICES people make for themselves"],
                status=status,
            )
            session.add(card)
            session.flush()
            ids.append(card.id)
    return ids


def canonical_of(engine: Engine, card_ids: list[int]) -> list[int | None]:
    with session_scope(engine) as session:
        return [session.get(ValuesCard, i).canonical_value_id for i in card_ids]


def events(engine: Engine, action: str) -> list[ModerationEvent]:
    with session_scope(engine) as session:
        statement = select(ModerationEvent).where(ModerationEvent.action == action)
        return list(session.exec(statement.order_by(ModerationEvent.id)).all())


# --- dedup --------------------------------------------------------------------------------------------


def test_dedup_groups_twins_and_records_the_run(sqlite_engine: Engine) -> None:
    d, (q,) = new_deliberation(sqlite_engine)
    cards = add_cards(sqlite_engine, q, ["Faith in People", "Honest Care", "Faith in People", "Solo Path"])
    model = judge()
    summary = values.dedup(sqlite_engine, model, TitleEmbeddings(), deliberation_id=d)
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
    values.dedup(sqlite_engine, judge(), TitleEmbeddings(), deliberation_id=d)
    model, embeddings = ScriptedChatModel([]), TitleEmbeddings()
    again = values.dedup(sqlite_engine, model, embeddings, deliberation_id=d)
    assert (again.cards_processed, again.canonicals_created, again.batches) == (0, 0, 0)
    assert model.calls == [] and embeddings.calls == 0
    assert values.pending_count(sqlite_engine, deliberation_id=d) == 0


def test_new_cards_join_existing_values(sqlite_engine: Engine) -> None:
    d, (q,) = new_deliberation(sqlite_engine)
    first = add_cards(sqlite_engine, q, ["Faith in People"])
    values.dedup(sqlite_engine, judge(), TitleEmbeddings(), deliberation_id=d)
    later = add_cards(sqlite_engine, q, ["Faith in People", "Brand New"])
    model = judge()
    summary = values.dedup(sqlite_engine, model, TitleEmbeddings(), deliberation_id=d)
    assert (summary.cards_processed, summary.canonicals_created, summary.cards_joined) == (2, 1, 1)
    assert canonical_of(sqlite_engine, later)[0] == canonical_of(sqlite_engine, first)[0]
    assert "[v" in model.calls[0][0].content  # the existing value was offered


def test_a_crash_loses_at_most_the_current_batch_and_a_rerun_finishes(engine: Engine) -> None:
    """On both backends: the batch lock (FOR UPDATE on PostgreSQL) and one commit per batch."""
    d, (q,) = new_deliberation(engine)
    cards = add_cards(engine, q, [f"Value {n}" for n in "ABCDEF"])
    crashing = ScriptedChatModel([title_judge, ModelTimeout("the model took too long")])
    reports: list[values.BatchReport] = []
    with pytest.raises(ModelTimeout):
        values.dedup(
            engine,
            crashing,
            TitleEmbeddings(),
            deliberation_id=d,
            batch_size=2,
            on_batch=reports.append,
        )
    assert [(r.number, r.of, r.cards) for r in reports] == [(1, 3, 2)]
    assert [c is not None for c in canonical_of(engine, cards)] == [True, True] + [False] * 4
    assert values.pending_count(engine, deliberation_id=d) == 4

    model = judge(2)
    rerun = values.dedup(engine, model, TitleEmbeddings(), deliberation_id=d, batch_size=2)
    assert (rerun.cards_processed, rerun.canonicals_created, rerun.batches) == (4, 4, 2)
    assert model.remaining == 0
    assert len(set(canonical_of(engine, cards))) == 6
    assert len(values.list_values(engine, deliberation_id=d)) == 6


def test_a_partition_that_stays_invalid_commits_nothing_of_its_batch(sqlite_engine: Engine) -> None:
    d, (q,) = new_deliberation(sqlite_engine)
    cards = add_cards(sqlite_engine, q, ["Faith in People", "Honest Care"])
    missing = {"groups": [{"cards": [f"c{cards[0]}"]}]}
    with pytest.raises(PartitionError, match="still invalid"):
        values.dedup(
            sqlite_engine, ScriptedChatModel([missing, missing]), TitleEmbeddings(), deliberation_id=d
        )
    assert canonical_of(sqlite_engine, cards) == [None, None]
    assert values.list_values(sqlite_engine, deliberation_id=d) == []


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

    summary = values.dedup(
        sqlite_engine, ScriptedChatModel([meanwhile]), TitleEmbeddings(), deliberation_id=d
    )
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

    summary = values.dedup(sqlite_engine, judge(), TitleEmbeddings(), deliberation_id=d, question_id=q1)
    assert summary.cards_processed == 1
    assert canonical_of(sqlite_engine, second + draft + hidden + foreign) == [None] * 4
    # The second question's twin joins the value made from the first question's card (same deliberation).
    summary = values.dedup(sqlite_engine, judge(), TitleEmbeddings(), deliberation_id=d)
    assert summary.cards_joined == 1
    assert canonical_of(sqlite_engine, second) == canonical_of(sqlite_engine, mine)
    assert values.list_values(sqlite_engine, deliberation_id=d, question_id=q2)[0].title == "Faith in People"
    assert canonical_of(sqlite_engine, foreign) == [None]  # never across deliberations

    with pytest.raises(InvalidInput, match=f"Question {q_other} is not part of deliberation {d}"):
        values.dedup(sqlite_engine, judge(), TitleEmbeddings(), deliberation_id=d, question_id=q_other)
    with pytest.raises(NotFound, match="no deliberation with id 999"):
        values.dedup(sqlite_engine, judge(), TitleEmbeddings(), deliberation_id=999)
    with pytest.raises(InvalidInput, match="batch_size"):
        values.dedup(sqlite_engine, judge(), TitleEmbeddings(), deliberation_id=d, batch_size=0)
    assert other != d


# --- merge and split (SQLite and PostgreSQL) ----------------------------------------------------------


def seed_graph(engine: Engine) -> dict[str, int]:
    """Values A, B, C with cards, votes, impressions, stories and judgements that collide when B → A."""
    d, (q,) = new_deliberation(engine)
    ids: dict[str, int] = {"d": d, "q": q}
    with session_scope(engine) as s:
        for name in "ABC":
            value = CanonicalValue(deliberation_id=d, title=f"Value {name}", policies=[f"MOMENTS of {name}"])
            s.add(value)
            s.flush()
            ids[name] = value.id
        for name in ("p1", "p2", "p3"):
            person = Participant(deliberation_id=d)
            s.add(person)
            s.flush()
            ids[name] = person.id
        for name, value in (("a1", "A"), ("a2", "A"), ("b1", "B"), ("c1", "C")):
            card = ValuesCard(
                participant_id=ids["p1"],
                question_id=q,
                title=f"Card {name}",
                description=f"Card {name}.",
                policies=[f"MOMENTS of {name}"],
                status="submitted",
                canonical_value_id=ids[value],
            )
            s.add(card)
            s.flush()
            ids[name] = card.id
        context = Context(deliberation_id=d, text="When someone is afraid")
        s.add(context)
        s.flush()
        ids["ctx"] = context.id
        s.add_all(
            [
                Vote(participant_id=ids["p1"], canonical_value_id=ids["A"], question_id=q, draw_id="d1"),
                Vote(participant_id=ids["p1"], canonical_value_id=ids["B"], question_id=q, draw_id="d1"),
                Vote(participant_id=ids["p2"], canonical_value_id=ids["B"], question_id=q, draw_id="d2"),
                Impression(
                    participant_id=ids["p1"], canonical_value_id=ids["A"], question_id=q, draw_id="d1"
                ),
                Impression(
                    participant_id=ids["p1"], canonical_value_id=ids["B"], question_id=q, draw_id="d1"
                ),
                Impression(
                    participant_id=ids["p2"], canonical_value_id=ids["B"], question_id=q, draw_id="d2"
                ),
            ]
        )
        for name, a, b in (("H1", "A", "C"), ("H2", "B", "C"), ("H3", "A", "B"), ("H4", "C", "B")):
            hyp = EdgeHypothesis(
                deliberation_id=d,
                from_value_id=ids[a],
                to_value_id=ids[b],
                context_id=ids["ctx"],
                story=f"Story {name}",
                run_id="r1",
            )
            s.add(hyp)
            s.flush()
            ids[name] = hyp.id
        for name, person, hyp, answer in (
            ("j1", "p1", "H1", "upgrade"),
            ("j2", "p1", "H2", "no_upgrade"),  # p1 judged both stories that become A→C: one is dropped
            ("j3", "p2", "H2", "upgrade"),  # moves onto H1
            ("j4", "p3", "H3", "upgrade"),  # A→B becomes A→A: kept, detached
            ("j5", "p3", "H4", "upgrade"),  # C→B becomes C→A
        ):
            hypothesis = s.get(EdgeHypothesis, ids[hyp])
            judgement = Judgement(
                deliberation_id=d,
                participant_id=ids[person],
                hypothesis_id=hypothesis.id,
                from_value_id=hypothesis.from_value_id,
                to_value_id=hypothesis.to_value_id,
                context_id=ids["ctx"],
                answer=answer,
            )
            s.add(judgement)
            s.flush()
            ids[name] = judgement.id
    return ids


def test_merge_moves_everything_and_keeps_one_row_per_collision(engine: Engine) -> None:
    ids = seed_graph(engine)
    A, B, C = ids["A"], ids["B"], ids["C"]
    merged = values.merge(
        engine, deliberation_id=ids["d"], keep_id=A, merge_ids=[B], reason="Same value twice"
    )
    assert merged.merged_ids == (B,) and not merged.already_done and merged.event_id is not None
    assert merged.counts == {
        "cards_moved": 1,
        "votes_moved": 1,
        "impressions_moved": 1,
        "hypotheses_moved": 1,
        "judgements_moved": 2,
        "judgements_detached": 1,
        "votes_dropped": 1,
        "impressions_dropped": 1,
        "hypotheses_dropped": 2,
        "judgements_dropped": 1,
    }
    with session_scope(engine) as s:
        assert s.get(CanonicalValue, B) is None
        assert s.get(ValuesCard, ids["b1"]).canonical_value_id == A
        votes = sorted((v.participant_id, v.canonical_value_id) for v in s.exec(select(Vote)).all())
        assert votes == [(ids["p1"], A), (ids["p2"], A)]
        shown = sorted((i.participant_id, i.canonical_value_id) for i in s.exec(select(Impression)).all())
        assert shown == [(ids["p1"], A), (ids["p2"], A)]
        stories = {h.id: (h.from_value_id, h.to_value_id) for h in s.exec(select(EdgeHypothesis)).all()}
        assert stories == {ids["H1"]: (A, C), ids["H4"]: (C, A)}
        judged = {
            j.id: (j.hypothesis_id, j.from_value_id, j.to_value_id) for j in s.exec(select(Judgement)).all()
        }
        assert judged == {
            ids["j1"]: (ids["H1"], A, C),
            ids["j3"]: (ids["H1"], A, C),
            ids["j4"]: (None, A, A),
            ids["j5"]: (ids["H4"], C, A),
        }
    (event,) = events(engine, "merge_values")
    assert (event.target_id, event.reason, event.details["merged"]) == (A, "Same value twice", [B])
    removed = event.details["removed"]
    assert [v["title"] for v in removed["values"]] == ["Value B"]
    assert [j["id"] for j in removed["judgements"]] == [ids["j2"]]
    assert sorted(h["story"] for h in removed["hypotheses"]) == ["Story H2", "Story H3"]

    # The graph still builds; the judgement between two values that are now one is skipped as a self-loop.
    built = research.build_graph(engine, deliberation_id=ids["d"])
    assert built.skipped.get("self_loop") == 1


def test_merging_twice_is_a_no_op_and_bad_merges_are_refused(engine: Engine) -> None:
    ids = seed_graph(engine)
    d, A, B, C = ids["d"], ids["A"], ids["B"], ids["C"]
    values.merge(engine, deliberation_id=d, keep_id=A, merge_ids=[B], reason="dup")
    again = values.merge(engine, deliberation_id=d, keep_id=A, merge_ids=[B], reason="dup")
    assert again.already_done and again.already_merged == (B,) and again.event_id is None
    assert len(events(engine, "merge_values")) == 1

    other = seed_graph(engine)
    for kwargs, message in (
        ({"keep_id": A, "merge_ids": [A]}, "cannot be merged into itself"),
        ({"keep_id": A, "merge_ids": []}, "at least one value"),
        ({"keep_id": A, "merge_ids": [9999]}, "no value 9999"),
        ({"keep_id": C, "merge_ids": [B]}, f"no value {B}"),  # B was merged into A, not into C
        ({"keep_id": A, "merge_ids": [other["A"]]}, f"no value {other['A']} in deliberation {d}"),
        ({"keep_id": 9999, "merge_ids": [C]}, "no value 9999"),
    ):
        with pytest.raises(InvalidInput, match=message):
            values.merge(engine, deliberation_id=d, reason="x", **kwargs)
    with pytest.raises(InvalidInput, match="Give a reason"):
        values.merge(engine, deliberation_id=d, keep_id=A, merge_ids=[C], reason="  ")


def test_split_moves_chosen_cards_to_a_new_value_once(engine: Engine) -> None:
    ids = seed_graph(engine)
    A = ids["A"]
    with session_scope(engine) as s:
        s.get(ValuesCard, ids["c1"]).canonical_value_id = A  # A now has a1, a2, c1
    first = values.split(
        engine, canonical_id=A, card_ids=[ids["a2"], ids["c1"]], title="  Care  Work ", reason="different"
    )
    assert not first.already_done
    new = values.get_value(engine, canonical_id=first.new_canonical_id)
    assert (new.title, [c.id for c in new.cards]) == ("Care Work", [ids["a2"], ids["c1"]])
    assert (new.description, new.policies) == ("Card a2.", ["MOMENTS of a2"])
    kept = values.get_value(engine, canonical_id=A)
    assert [c.id for c in kept.cards] == [ids["a1"]] and kept.votes == 1  # votes stay with the original

    again = values.split(engine, canonical_id=A, card_ids=[ids["c1"], ids["a2"]], reason="different")
    assert again.already_done and again.new_canonical_id == first.new_canonical_id
    (event,) = events(engine, "split_value")
    assert event.details == {
        "new_value": first.new_canonical_id,
        "cards": [ids["a2"], ids["c1"]],
        "title": "Care Work",
    }

    with pytest.raises(InvalidInput, match="would leave it empty"):
        values.split(engine, canonical_id=A, card_ids=[ids["a1"]], reason="x")
    with pytest.raises(InvalidInput, match=f"{ids['b1']} are not members of value {A}"):
        values.split(engine, canonical_id=A, card_ids=[ids["b1"]], reason="x")
    with pytest.raises(InvalidInput, match="no value 9999"):
        values.split(engine, canonical_id=9999, card_ids=[ids["a1"]], reason="x")
    with pytest.raises(InvalidInput, match="at least one card"):
        values.split(engine, canonical_id=A, card_ids=[], reason="x")

    log = values.moderation_log(engine, deliberation_id=ids["d"])
    assert [e.action for e in log] == ["split_value"]


# --- the command line ---------------------------------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "LLM_MODE": "fake",
        "DATA_DIR": str(tmp_path),
    }


def test_dedup_command_help_and_errors(env: dict[str, str]) -> None:
    runner = CliRunner()
    helped = runner.invoke(cli, ["dedup", "--help"], env=env)
    assert helped.exit_code == 0 and "--batch-size" in helped.output and "--question" in helped.output

    unknown = runner.invoke(cli, ["dedup", "424242"], env=env)
    assert unknown.exit_code == 1
    assert unknown.output.strip() == "Error: There is no deliberation with id 424242."

    created = runner.invoke(cli, ["deliberation", "create", "--title", "T", "--question", "Q?"], env=env)
    nothing = runner.invoke(cli, ["dedup", created.output.strip()], env=env, catch_exceptions=False)
    assert nothing.exit_code == 0 and nothing.output.startswith("Nothing to deduplicate")
