"""After the interview, through the database: the vote draw, votes, the judging set, judgements, the exit
survey, the receipt and the progress indicator.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from langchain_core.embeddings import Embeddings
from sqlalchemy import Engine
from sqlmodel import select

from providers.errors import ModelUnavailable
from services import facilitation, participation, research
from services.errors import InvalidInput
from storage.db import session_scope
from storage.schemas import DeliberationConfig
from storage.tables import (
    CanonicalValue,
    Context,
    EdgeHypothesis,
    Impression,
    Interview,
    Judgement,
    Message,
    Participant,
    QuestionContext,
    SurveyResponse,
    ValuesCard,
    Vote,
    utcnow,
)

LONG_AGO = utcnow() - timedelta(days=1)


# --- seeding -----------------------------------------------------------------------------------------


def _deliberation(engine: Engine, **config: Any) -> tuple[int, int, int]:
    d = facilitation.create_deliberation(engine, title="Care", questions=["Q one?", "Q two?"], config=config)
    return d.id, d.questions[0].id, d.questions[1].id


def _person(s: Any, d: int, **kw: Any) -> Participant:
    p = Participant(deliberation_id=d, **kw)
    s.add(p)
    s.flush()
    return p


def _value(s: Any, d: int, title: str) -> int:
    v = CanonicalValue(deliberation_id=d, title=title, description=f"{title} matters.", policies=["MOMENTS"])
    s.add(v)
    s.flush()
    return v.id


def _card(
    s: Any,
    person: Participant,
    question: int,
    value: int | None,
    status: str = "submitted",
    title: str = "Card",
) -> ValuesCard:
    card = ValuesCard(
        participant_id=person.id,
        question_id=question,
        canonical_value_id=value,
        title=title,
        description="Staying truthful and present when someone faces a frightening choice.",
        policies=["MOMENTS where the person can voice their fear", "FACTS the person needs"],
        status=status,
        submitted_at=utcnow() if status == "submitted" else None,
    )
    s.add(card)
    s.flush()
    return card


def _rows(engine: Engine, table: type) -> list[Any]:
    with session_scope(engine) as s:
        return list(s.exec(select(table).order_by(table.id)).all())


def _stage(engine: Engine, token: str) -> str:
    return participation.progress(engine, token=token).stage


@dataclass
class VoteWorld:
    d: int
    q: int
    q2: int
    token: str
    own: int
    values: dict[str, int]  # "A".."H": values of other people's cards on q
    elsewhere: list[int]  # on q2 only, hidden card only, draft card only


def seed_votes(engine: Engine, *, shape: bool = True, **config: Any) -> VoteWorld:
    """Me (a card on q → Own) and eight other values on q. With ``shape``, A..H were shown 0..7 times
    and H, G, F chosen 5, 3, 1 times. Never candidates: a value on q2 only, one whose only card on q is
    hidden, one whose only card on q is a draft.
    """
    d, q, q2 = _deliberation(engine, **{"values_to_vote": 4, **config})
    with session_scope(engine) as s:
        me = _person(s, d, stage="vote")
        own = _value(s, d, "Own")
        _card(s, me, q, own, title="Mine")
        values = {}
        for name in "ABCDEFGH":
            values[name] = _value(s, d, name)
            _card(s, _person(s, d), q, values[name], title=name)
        x, y, z = _value(s, d, "X"), _value(s, d, "Y"), _value(s, d, "Z")
        _card(s, _person(s, d), q2, x)
        _card(s, _person(s, d), q, y, status="hidden")
        _card(s, _person(s, d), q, z, status="draft")
        if shape:
            viewer = _person(s, d)
            for shown, name in enumerate("ABCDEFGH"):
                for k in range(shown):
                    s.add(
                        Impression(
                            participant_id=viewer.id,
                            canonical_value_id=values[name],
                            question_id=q,
                            draw_id=f"d{k}",
                        )
                    )
            voters = [_person(s, d) for _ in range(5)]
            for name, n in (("H", 5), ("G", 3), ("F", 1)):
                for voter in voters[:n]:
                    s.add(
                        Vote(
                            participant_id=voter.id,
                            canonical_value_id=values[name],
                            question_id=q,
                            draw_id="x",
                        )
                    )
        return VoteWorld(d, q, q2, me.token, own, values, [x, y, z])


class TitleEmbeddings(Embeddings):
    """Vectors chosen per title: a text embeds as the vector of the title it starts with."""

    def __init__(self, vectors: dict[str, list[float]], fail: bool = False) -> None:
        self.vectors, self.fail, self.calls = vectors, fail, 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        if self.fail:
            raise ModelUnavailable("The embedding endpoint is down.")
        return [next(v for t, v in self.vectors.items() if text.startswith(t + ".")) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


# --- vote --------------------------------------------------------------------------------------------


def test_a_draw_never_shows_my_value_nor_values_of_other_questions(engine: Engine) -> None:
    w = seed_votes(engine, shape=False, values_to_vote=12)
    draw = participation.draw_values(engine, token=w.token, question_id=w.q)
    assert sorted(v.id for v in draw.values) == sorted(w.values.values())
    assert draw.min_votes == 2 and draw.chosen == [] and draw.question_id == w.q
    assert {v.title for v in draw.values} == set("ABCDEFGH")
    impressions = _rows(engine, Impression)
    assert [i.canonical_value_id for i in impressions] == [v.id for v in draw.values]  # display order
    assert {(i.draw_id, i.question_id) for i in impressions} == {(draw.draw_id, w.q)}


def test_a_draw_mixes_least_shown_and_most_chosen(sqlite_engine: Engine) -> None:
    w = seed_votes(sqlite_engine)
    draw = participation.draw_values(sqlite_engine, token=w.token, question_id=w.q)
    # two least shown (A: 0, B: 1) and two most chosen (H: 5, G: 3)
    assert {v.title for v in draw.values} == {"A", "B", "G", "H"}
    again = seed_votes(sqlite_engine, values_to_vote=5)
    # 3 least shown, 2 most chosen
    assert {
        v.title
        for v in participation.draw_values(sqlite_engine, token=again.token, question_id=again.q).values
    } == {"A", "B", "C", "G", "H"}


def test_without_votes_anywhere_the_least_shown_fill_the_draw(sqlite_engine: Engine) -> None:
    w = seed_votes(sqlite_engine, shape=False)
    with session_scope(sqlite_engine) as s:
        viewer = _person(s, w.d)
        for name in "ABCDEFG":  # H never shown: the newest among equals comes first
            s.add(
                Impression(
                    participant_id=viewer.id, canonical_value_id=w.values[name], question_id=w.q, draw_id="d"
                )
            )
        s.add(
            Impression(
                participant_id=viewer.id, canonical_value_id=w.values["A"], question_id=w.q, draw_id="e"
            )
        )
    draw = participation.draw_values(sqlite_engine, token=w.token, question_id=w.q)
    assert {v.title for v in draw.values} == {"H", "G", "F", "E"}


def test_a_draw_prefers_values_close_to_my_card(sqlite_engine: Engine) -> None:
    # Without closeness: E (never shown) and F (most chosen); both far from my card.
    vectors = {
        "Mine": [1.0, 0.0],
        "A": [1.0, 0.1], "B": [1.0, 0.2], "C": [1.0, 0.3], "D": [1.0, 0.4],
        "E": [0.0, 1.0], "F": [-1.0, 0.2], "G": [-1.0, 0.0], "H": [-1.0, -0.3],
    }  # fmt: skip
    w = seed_votes(sqlite_engine, shape=False, values_to_vote=2)
    with session_scope(sqlite_engine) as s:
        viewer = _person(s, w.d)
        for name, shown in (("A", 1), ("B", 2), ("C", 3), ("D", 4), ("F", 1), ("G", 6), ("H", 6)):
            for k in range(shown):
                s.add(
                    Impression(
                        participant_id=viewer.id,
                        canonical_value_id=w.values[name],
                        question_id=w.q,
                        draw_id=f"d{k}",
                    )
                )
        for name, n in (("F", 5), ("D", 2), ("C", 1)):
            for _ in range(n):
                s.add(
                    Vote(
                        participant_id=_person(s, w.d).id,
                        canonical_value_id=w.values[name],
                        question_id=w.q,
                        draw_id="x",
                    )
                )
    plain = seed_votes(sqlite_engine, shape=False, values_to_vote=2)  # a twin deliberation, no embeddings
    with session_scope(sqlite_engine) as s:
        viewer = _person(s, plain.d)
        for name in "ABCDFGH":
            s.add(
                Impression(
                    participant_id=viewer.id,
                    canonical_value_id=plain.values[name],
                    question_id=plain.q,
                    draw_id="d",
                )
            )
        s.add(
            Vote(
                participant_id=viewer.id,
                canonical_value_id=plain.values["F"],
                question_id=plain.q,
                draw_id="d",
            )
        )
    assert {
        v.title
        for v in participation.draw_values(sqlite_engine, token=plain.token, question_id=plain.q).values
    } == {"E", "F"}

    embeddings = TitleEmbeddings(vectors)
    draw = participation.draw_values(sqlite_engine, token=w.token, question_id=w.q, embeddings=embeddings)
    # the pool is the 4 closest (A-D): A least shown, D most chosen
    assert {v.title for v in draw.values} == {"A", "D"} and embeddings.calls == 1


def test_an_embedding_failure_only_loses_closeness(sqlite_engine: Engine) -> None:
    w = seed_votes(sqlite_engine)
    draw = participation.draw_values(
        sqlite_engine, token=w.token, question_id=w.q, embeddings=TitleEmbeddings({}, fail=True)
    )
    assert {v.title for v in draw.values} == {"A", "B", "G", "H"}


def test_my_card_not_deduplicated_yet_excludes_nothing(sqlite_engine: Engine) -> None:
    w = seed_votes(sqlite_engine, shape=False, values_to_vote=12)
    with session_scope(sqlite_engine) as s:
        me = s.exec(select(Participant).where(Participant.token == w.token)).one()
        card = s.exec(select(ValuesCard).where(ValuesCard.participant_id == me.id)).one()
        card.canonical_value_id = None
        s.add(card)
        other = _person(s, w.d)
        _card(s, other, w.q, w.own)  # someone else's card still puts Own on q
    draw = participation.draw_values(sqlite_engine, token=w.token, question_id=w.q)
    assert w.own in {v.id for v in draw.values} and len(draw.values) == 9


def test_the_draw_is_the_same_on_reload_until_a_fresh_one_is_asked_for(engine: Engine) -> None:
    w = seed_votes(engine)
    first = participation.draw_values(engine, token=w.token, question_id=w.q)
    again = participation.draw_values(engine, token=w.token, question_id=w.q)
    assert again == first and len(_rows(engine, Impression)) == 28 + 4
    assert (
        participation.draw_values(engine, token=w.token, question_id=w.q, fresh=True) == first
    )  # no votes yet

    picked = [first.values[0].id, first.values[1].id]
    participation.submit_votes(engine, token=w.token, draw_id=first.draw_id, value_ids=picked)
    back = participation.draw_values(engine, token=w.token, question_id=w.q)
    assert back.draw_id == first.draw_id and back.chosen == picked  # the back button shows my choice

    fresh = participation.draw_values(engine, token=w.token, question_id=w.q, fresh=True)
    assert fresh.draw_id != first.draw_id
    assert not {v.id for v in fresh.values} & {v.id for v in first.values}  # unseen values first
    assert participation.draw_values(engine, token=w.token, question_id=w.q) == fresh


def test_few_values_lower_the_minimum_and_none_lets_me_skip(engine: Engine) -> None:
    d, q, _ = _deliberation(engine)
    with session_scope(engine) as s:
        me = _person(s, d, stage="vote")
        _card(s, me, q, _value(s, d, "Own"))
        token = me.token
    empty = participation.draw_values(engine, token=token, question_id=q)
    assert (empty.draw_id, empty.values, empty.min_votes) == ("", [], 0)
    assert _rows(engine, Impression) == []
    with pytest.raises(InvalidInput, match="among the values you were shown"):
        participation.submit_votes(engine, token=token, draw_id="", value_ids=[1])
    participation.submit_votes(engine, token=token, draw_id="", value_ids=[])
    assert _stage(engine, token) == "judge"

    with session_scope(engine) as s:
        only = _value(s, d, "Only")
        _card(s, _person(s, d), q, only)
    one = participation.draw_values(engine, token=token, question_id=q)
    assert [v.id for v in one.values] == [only] and one.min_votes == 1
    with pytest.raises(InvalidInput, match="at least 1"):
        participation.submit_votes(engine, token=token, draw_id=one.draw_id, value_ids=[])


def test_votes_are_checked_stored_once_and_replaced_on_resubmit(engine: Engine) -> None:
    w = seed_votes(engine)
    draw = participation.draw_values(engine, token=w.token, question_id=w.q)
    ids = [v.id for v in draw.values]
    with pytest.raises(InvalidInput, match="at least 2"):
        participation.submit_votes(engine, token=w.token, draw_id=draw.draw_id, value_ids=ids[:1])
    with pytest.raises(InvalidInput, match="among the values you were shown"):
        participation.submit_votes(engine, token=w.token, draw_id=draw.draw_id, value_ids=[ids[0], w.own])
    with pytest.raises(InvalidInput, match="not shown to you"):
        participation.submit_votes(engine, token=w.token, draw_id="d1", value_ids=ids[:2])  # someone else's
    with pytest.raises(InvalidInput, match="numbers"):
        participation.submit_votes(engine, token=w.token, draw_id=draw.draw_id, value_ids=[str(ids[0])])  # type: ignore[list-item]
    assert _stage(engine, w.token) == "vote"

    def mine() -> list[int]:
        return sorted(v.canonical_value_id for v in _rows(engine, Vote) if v.draw_id == draw.draw_id)

    for _ in range(2):  # a double click
        participation.submit_votes(
            engine, token=w.token, draw_id=draw.draw_id, value_ids=[ids[0], ids[1], ids[0]]
        )
    assert mine() == sorted(ids[:2]) and _stage(engine, w.token) == "judge"
    participation.submit_votes(
        engine, token=w.token, draw_id=draw.draw_id, value_ids=ids[1:4]
    )  # back, change
    assert mine() == sorted(ids[1:4])
    assert len(_rows(engine, Vote)) == 9 + 3  # the seeded votes are untouched

    with session_scope(engine) as s:
        me = s.exec(select(Participant).where(Participant.token == w.token)).one()
        me.stage = "survey"
        s.add(me)
    participation.submit_votes(engine, token=w.token, draw_id=draw.draw_id, value_ids=ids[:2])
    assert _stage(engine, w.token) == "survey"  # never moved back


def test_a_question_of_another_deliberation_is_refused(sqlite_engine: Engine) -> None:
    w = seed_votes(sqlite_engine)
    _, other_q, _ = _deliberation(sqlite_engine)
    for q in (other_q, 999_999):
        with pytest.raises(InvalidInput, match="not part of your deliberation"):
            participation.draw_values(sqlite_engine, token=w.token, question_id=q)


# --- judge -------------------------------------------------------------------------------------------


@dataclass
class JudgeWorld:
    d: int
    token: str
    me: int
    v: dict[str, int]
    c: dict[str, int]
    h: dict[str, int]
    others: list[int]


def seed_stories(engine: Engine, **config: Any) -> JudgeWorld:
    """My card on q is value O. Contexts c1, c3 belong to q; c2 to q2 only. Shown stories:

    - ``own``: O→V1 in c2 (my value, not my question), 0 judgements
    - ``low``: V2→V3 in c3 (my question), 0 judgements
    - ``busy``: V1→V2 in c1 (my question), 2 judgements
    - ``far``: V4→V5 in c2 (neither), 0 judgements
    - ``hidden``: V1→V3 in c1, hidden
    - ``again_r1``/``again_r2``: V3→V1 in c1, in two runs; I judged the run-1 one long ago
    """
    d, q, q2 = _deliberation(engine, **config)
    with session_scope(engine) as s:
        me = _person(s, d, stage="judge")
        v = {name: _value(s, d, name) for name in ("O", "V1", "V2", "V3", "V4", "V5", "V6", "V7")}
        _card(s, me, q, v["O"])
        s.add(Interview(participant_id=me.id, question_id=q, state="submitted"))
        c = {}
        for name, question in (("c1", q), ("c2", q2), ("c3", q)):
            context = Context(deliberation_id=d, text=f"When {name}", source="facilitator")
            s.add(context)
            s.flush()
            s.add(QuestionContext(question_id=question, context_id=context.id))
            c[name] = context.id
        h = {}

        def story(name: str, f: str, t: str, ctx: str, run: str = "r1", shown: bool = True) -> None:
            row = EdgeHypothesis(
                deliberation_id=d, from_value_id=v[f], to_value_id=v[t], context_id=c[ctx],
                story=f"Story {name}", run_id=run, shown=shown,
            )  # fmt: skip
            s.add(row)
            s.flush()
            h[name] = row.id

        story("again_r1", "V3", "V1", "c1")
        story("own", "O", "V1", "c2")
        story("low", "V2", "V3", "c3")
        story("busy", "V1", "V2", "c1")
        story("far", "V4", "V5", "c2")
        story("hidden", "V1", "V3", "c1", shown=False)
        story("again_r2", "V3", "V1", "c1", run="r2")
        others = [_person(s, d).id for _ in range(3)]

        def judgement(person: int, name: str, answer: str = "upgrade", when: Any = LONG_AGO) -> None:
            row = s.get(EdgeHypothesis, h[name])
            s.add(
                Judgement(
                    deliberation_id=d, participant_id=person, hypothesis_id=row.id,
                    from_value_id=row.from_value_id, to_value_id=row.to_value_id, context_id=row.context_id,
                    answer=answer, created_at=when,
                )
            )  # fmt: skip

        judgement(others[0], "busy")
        judgement(others[1], "busy")
        judgement(me.id, "again_r1", when=LONG_AGO - timedelta(hours=1))
        s.add(
            Vote(
                participant_id=me.id,
                canonical_value_id=v["V6"],
                question_id=q,
                draw_id="old",
                created_at=LONG_AGO,
            )
        )
        return JudgeWorld(d, me.token, me.id, v, c, h, others)


def _ids(stories: list[Any]) -> list[int]:
    return [s.hypothesis_id for s in stories]


def test_my_values_then_my_question_then_fewest_judgements_never_already_judged(
    sqlite_engine: Engine,
) -> None:
    w = seed_stories(sqlite_engine, stories_to_judge=4)
    got = participation.stories_to_judge(sqlite_engine, token=w.token)
    # My earlier judgement opens the round (with its answer); then my value's story, then my question's
    # stories, fewest judgements first. Never the hidden one, nor the later run of the one I judged.
    assert _ids(got) == [w.h["again_r1"], w.h["own"], w.h["low"], w.h["busy"]]
    assert got[0].answer == "upgrade" and all(s.answer is None for s in got[1:])
    assert got[1].from_value.title == "O" and got[1].to_value.title == "V1" and got[1].context == "When c2"
    assert got[1].story == "Story own" and got[1].context_id == w.c["c2"]

    w = seed_stories(sqlite_engine, stories_to_judge=10)
    assert _ids(participation.stories_to_judge(sqlite_engine, token=w.token)) == [
        w.h[n] for n in ("again_r1", "own", "low", "busy", "far")
    ]
    w = seed_stories(sqlite_engine, stories_to_judge=1)  # a full round stays as it is
    assert _ids(participation.stories_to_judge(sqlite_engine, token=w.token)) == [w.h["again_r1"]]
    participation.finish_judging(sqlite_engine, token=w.token)


def test_rounds_follow_each_other_without_repeats(sqlite_engine: Engine) -> None:
    w = seed_stories(sqlite_engine, stories_to_judge=2)
    first = participation.stories_to_judge(sqlite_engine, token=w.token)
    assert _ids(first) == [w.h["again_r1"], w.h["own"]]
    participation.judge(sqlite_engine, token=w.token, hypothesis_id=w.h["own"], answer="upgrade")
    assert _ids(participation.stories_to_judge(sqlite_engine, token=w.token)) == _ids(first)
    # a third judgement (another tab, say) opens the next round, filled with what is left
    participation.judge(sqlite_engine, token=w.token, hypothesis_id=w.h["busy"], answer="upgrade")
    assert _ids(participation.stories_to_judge(sqlite_engine, token=w.token)) == [w.h["low"], w.h["busy"]]


def test_a_story_and_its_reverse_are_not_in_one_set(sqlite_engine: Engine) -> None:
    d, q, _ = _deliberation(sqlite_engine, stories_to_judge=2)
    with session_scope(sqlite_engine) as s:
        me = _person(s, d, stage="judge")
        a, b, c_ = _value(s, d, "A"), _value(s, d, "B"), _value(s, d, "C")
        context = Context(deliberation_id=d, text="When x", source="facilitator")
        s.add(context)
        s.flush()
        rows = [
            EdgeHypothesis(
                deliberation_id=d, from_value_id=f, to_value_id=t, context_id=context.id, run_id="r"
            )
            for f, t in ((a, b), (b, a), (b, c_))
        ]
        s.add_all(rows)
        s.flush()
        ids, token = [r.id for r in rows], me.token
    got = _ids(participation.stories_to_judge(sqlite_engine, token=token))
    assert len(got) == 2 and ids[2] in got  # one of A→B / B→A, and B→C
    with session_scope(sqlite_engine) as s:
        s.delete(s.get(EdgeHypothesis, ids[2]))
    assert sorted(_ids(participation.stories_to_judge(sqlite_engine, token=token))) == ids[:2]  # nothing else


def _judged_by_others(engine: Engine, w: JudgeWorld, name: str, when: Any = None) -> None:
    with session_scope(engine) as s:
        row = s.get(EdgeHypothesis, w.h[name])
        for person in w.others:
            s.add(
                Judgement(
                    deliberation_id=w.d, participant_id=person, hypothesis_id=row.id,
                    from_value_id=row.from_value_id, to_value_id=row.to_value_id, context_id=row.context_id,
                    answer="no_upgrade", created_at=when or utcnow(),
                )
            )  # fmt: skip


def test_the_set_is_stable_across_reloads_and_other_peoples_judgements(engine: Engine) -> None:
    w = seed_stories(engine)  # 3 per round
    first = participation.stories_to_judge(engine, token=w.token)
    assert _ids(first) == [w.h["again_r1"], w.h["own"], w.h["low"]]
    _judged_by_others(engine, w, "low")  # with live counts, "busy" (2) would now come before "low" (3)
    assert participation.stories_to_judge(engine, token=w.token) == first

    participation.judge(engine, token=w.token, hypothesis_id=w.h["low"], answer="not_sure", reason=" hm ")
    after = participation.stories_to_judge(engine, token=w.token)
    assert _ids(after) == _ids(first)
    assert [(s.answer, s.reason) for s in after] == [("upgrade", None), (None, None), ("not_sure", "hm")]
    with pytest.raises(InvalidInput, match="1 left"):
        participation.finish_judging(engine, token=w.token)
    assert _stage(engine, w.token) == "judge"

    participation.judge(engine, token=w.token, hypothesis_id=w.h["own"], answer="upgrade")
    done = participation.stories_to_judge(engine, token=w.token)
    assert _ids(done) == _ids(first) and all(s.answer for s in done)  # a full round stays on screen
    participation.finish_judging(engine, token=w.token)
    participation.finish_judging(engine, token=w.token)  # a double click
    assert _stage(engine, w.token) == "survey"


def test_counts_are_frozen_at_my_last_step_before_judging(sqlite_engine: Engine) -> None:
    w = seed_stories(sqlite_engine)
    _judged_by_others(sqlite_engine, w, "low", when=utcnow() + timedelta(minutes=1))
    assert _ids(participation.stories_to_judge(sqlite_engine, token=w.token))[2] == w.h["low"]
    with session_scope(sqlite_engine) as s:  # then I voted: my last step before judging moves on
        question = s.exec(select(ValuesCard.question_id).where(ValuesCard.participant_id == w.me)).one()
        s.add(
            Vote(
                participant_id=w.me, canonical_value_id=w.v["V7"], question_id=question, draw_id="z",
                created_at=utcnow() + timedelta(minutes=2),
            )
        )  # fmt: skip
    assert _ids(participation.stories_to_judge(sqlite_engine, token=w.token))[2] == w.h["busy"]


def test_a_judgement_is_stored_at_once_and_answering_again_updates_it(engine: Engine) -> None:
    w = seed_stories(engine)
    out = participation.judge(engine, token=w.token, hypothesis_id=w.h["low"], answer="upgrade", reason="  ")
    assert (out.hypothesis_id, out.answer, out.reason) == (w.h["low"], "upgrade", None)
    for _ in range(2):  # a double click, then a change of mind
        participation.judge(
            engine, token=w.token, hypothesis_id=w.h["low"], answer="no_upgrade", reason=" Why not "
        )
    mine = [j for j in _rows(engine, Judgement) if j.participant_id == w.me and j.hypothesis_id == w.h["low"]]
    assert len(mine) == 1
    j = mine[0]
    assert (j.answer, j.reason, j.deliberation_id) == ("no_upgrade", "Why not", w.d)
    assert (j.from_value_id, j.to_value_id, j.context_id) == (w.v["V2"], w.v["V3"], w.c["c3"])

    with pytest.raises(InvalidInput, match="Yes, No or Not sure"):
        participation.judge(engine, token=w.token, hypothesis_id=w.h["low"], answer="maybe")
    with pytest.raises(InvalidInput, match="under 2000"):
        participation.judge(
            engine, token=w.token, hypothesis_id=w.h["low"], answer="upgrade", reason="x" * 2001
        )
    for hidden in (w.h["hidden"], 999_999):
        with pytest.raises(InvalidInput, match="not available"):
            participation.judge(engine, token=w.token, hypothesis_id=hidden, answer="upgrade")
    with pytest.raises(InvalidInput, match="already judged"):  # same from, to, context in a later run
        participation.judge(engine, token=w.token, hypothesis_id=w.h["again_r2"], answer="upgrade")
    other = seed_stories(engine)
    with pytest.raises(InvalidInput, match="not available"):  # a story of another deliberation
        participation.judge(engine, token=w.token, hypothesis_id=other.h["low"], answer="upgrade")
    assert len([j for j in _rows(engine, Judgement) if j.participant_id == w.me]) == 2


def test_nothing_to_judge_lets_me_go_on(sqlite_engine: Engine) -> None:
    d, q, _ = _deliberation(sqlite_engine)
    with session_scope(sqlite_engine) as s:
        token = _person(s, d, stage="judge").token
    assert participation.stories_to_judge(sqlite_engine, token=token) == []
    participation.finish_judging(sqlite_engine, token=token)
    assert _stage(sqlite_engine, token) == "survey"


# --- survey ------------------------------------------------------------------------------------------


def test_the_default_survey_and_its_checks(engine: Engine) -> None:
    w = seed_votes(engine, shape=False)
    items = participation.survey(engine, token=w.token)
    assert [i.key for i in items] == [
        "expressed_care", "clarified", "learned_values", "gained_respect", "trust_process",
        "contribution_used", "comment",
    ]  # fmt: skip
    assert items[0].label == "The values I submitted and voted for express what I care about"
    assert all(i.kind == "scale" and i.required for i in items[:6]) and items[6].kind == "text"
    assert not items[6].required and all(i.answer is None for i in items)

    good = {i.key: 4 for i in items[:6]} | {"comment": "  Thanks  "}
    for bad, message in (
        (good | {"clarified": 6}, "whole number from 1 to 5"),
        (good | {"clarified": True}, "whole number from 1 to 5"),
        (good | {"clarified": 2.5}, "whole number from 1 to 5"),
        ({k: v for k, v in good.items() if k != "clarified"}, 'Please answer "This process'),
        (good | {"mood": 3}, "Unknown questions: mood"),
        (good | {"comment": "x" * 2001}, "at most 2000"),
    ):
        with pytest.raises(InvalidInput, match=message):
            participation.submit_survey(engine, token=w.token, answers=bad)
    assert _rows(engine, SurveyResponse) == [] and _stage(engine, w.token) == "vote"

    participation.submit_survey(engine, token=w.token, answers=good)
    participation.submit_survey(engine, token=w.token, answers=good | {"clarified": "5"})  # again: updated
    stored = {r.question_key: r.answer for r in _rows(engine, SurveyResponse)}
    assert stored == {i.key: 4 for i in items[:6]} | {"clarified": 5, "comment": "Thanks"}
    assert len(_rows(engine, SurveyResponse)) == 7 and _stage(engine, w.token) == "done"
    assert participation.survey(engine, token=w.token)[1].answer == 5
    participation.submit_survey(engine, token=w.token, answers=good | {"comment": ""})  # blank removes it
    assert "comment" not in {r.question_key for r in _rows(engine, SurveyResponse)}


def test_a_configured_survey(sqlite_engine: Engine) -> None:
    config = {
        "survey": [{"key": "again", "label": "Would you do it again?", "kind": "yes_no", "required": True}]
    }
    d, _, _ = _deliberation(sqlite_engine, **config)
    with session_scope(sqlite_engine) as s:
        token = _person(s, d, stage="survey").token
    with pytest.raises(InvalidInput, match="yes or no"):
        participation.submit_survey(sqlite_engine, token=token, answers={"again": "yes"})
    participation.submit_survey(sqlite_engine, token=token, answers={"again": False})
    assert [(i.key, i.answer) for i in participation.survey(sqlite_engine, token=token)] == [("again", False)]
    for survey, message in (
        ([{"key": "a", "label": "A"}, {"key": "a", "label": "B"}], "unique"),
        ([{"key": "fair_position", "label": "Fair?"}], "reserved"),
    ):
        with pytest.raises(ValueError, match=message):
            DeliberationConfig.model_validate({"survey": survey})
    assert DeliberationConfig.model_validate({"survey": []}).survey == []


# --- receipt -----------------------------------------------------------------------------------------


def _judge_many(s: Any, d: int, context: int, f: int, t: int, n: int) -> None:
    for _ in range(n):
        s.add(
            Judgement(
                deliberation_id=d, participant_id=_person(s, d).id, from_value_id=f, to_value_id=t,
                context_id=context, answer="upgrade",
            )
        )  # fmt: skip


def test_the_receipt_before_and_after_the_graph(engine: Engine) -> None:
    d, q, q2 = _deliberation(engine)
    with session_scope(engine) as s:
        me = _person(s, d, stage="done")
        mine, wiser, lesser = _value(s, d, "Mine"), _value(s, d, "Wiser"), _value(s, d, "Lesser")
        card = _card(s, me, q, mine, title="Honest Presence")
        _card(s, me, q2, None, title="Second Thoughts")  # not deduplicated yet
        _card(s, me, q2, None, status="draft")  # never on a receipt
        interview = Interview(participant_id=me.id, question_id=q, state="submitted")
        s.add(interview)
        s.flush()
        for seq, role in enumerate(("assistant", "user", "assistant", "user")):
            s.add(Message(interview_id=interview.id, seq=seq, role=role, content="..."))
        s.add(Vote(participant_id=me.id, canonical_value_id=wiser, question_id=q, draw_id="d"))
        context = Context(deliberation_id=d, text="When it is hard", source="facilitator")
        s.add(context)
        s.flush()
        s.add(
            Judgement(
                deliberation_id=d,
                participant_id=me.id,
                from_value_id=wiser,
                to_value_id=lesser,
                context_id=context.id,
                answer="not_sure",
            )
        )
        _judge_many(s, d, context.id, mine, wiser, 3)  # Wiser is wiser than Mine
        _judge_many(s, d, context.id, lesser, mine, 3)  # Mine is wiser than Lesser
        token, card_id = me.token, card.id

    before = participation.receipt(engine, token=token)
    assert (before.messages, before.votes, before.judgements) == (2, 1, 1)
    assert before.graph_exists is False and before.graph_built_at is None
    assert before.answers == {"represents_my_value": None, "fair_position": None}
    first, second = before.cards
    assert first.card.id == card_id and first.card.title == "Honest Presence" and first.question == "Q one?"
    assert (
        first.value is not None and first.value.title == "Mine" and first.value.description == "Mine matters."
    )
    assert first.judged_by == 6 and first.wiser is None and first.less_wise is None and first.rank is None
    assert second.card.title == "Second Thoughts" and second.value is None and second.judged_by == 0

    with pytest.raises(InvalidInput, match="once the moral graph is built"):
        participation.answer_receipt(engine, token=token, key="fair_position", answer=True)
    participation.answer_receipt(engine, token=token, key="represents_my_value", answer=True)
    participation.answer_receipt(engine, token=token, key="represents_my_value", answer=False)  # changed
    with pytest.raises(InvalidInput, match="Unknown question"):
        participation.answer_receipt(engine, token=token, key="clarified", answer=True)
    with pytest.raises(InvalidInput, match="yes or no"):
        participation.answer_receipt(engine, token=token, key="represents_my_value", answer="yes")  # type: ignore[arg-type]

    research.build_graph(engine, deliberation_id=d)
    after = participation.receipt(engine, token=token)
    assert after.graph_exists is True and after.graph_built_at is not None
    first = after.cards[0]
    assert [(v.id, v.title) for v in first.wiser or []] == [(wiser, "Wiser")]
    assert [(v.id, v.title) for v in first.less_wise or []] == [(lesser, "Lesser")]
    assert first.wiser[0].wiser_likelihood == 1.0 and first.wiser[0].contexts == ["When it is hard"]  # type: ignore[index]
    assert first.less_wise[0].policies == ["MOMENTS"]  # type: ignore[index]
    assert first.ranked == 3 and first.rank == 2  # Lesser → Mine → Wiser
    assert after.cards[1].wiser is None  # no value yet

    participation.answer_receipt(engine, token=token, key="fair_position", answer=True)
    final = participation.receipt(engine, token=token)
    assert final.answers == {"represents_my_value": False, "fair_position": True}
    assert len(_rows(engine, SurveyResponse)) == 2


def test_represents_my_value_waits_for_dedup(sqlite_engine: Engine) -> None:
    d, q, _ = _deliberation(sqlite_engine)
    with session_scope(sqlite_engine) as s:
        me = _person(s, d, stage="done")
        _card(s, me, q, None)
        token = me.token
    with pytest.raises(InvalidInput, match="not been grouped"):
        participation.answer_receipt(sqlite_engine, token=token, key="represents_my_value", answer=True)
    empty = participation.receipt(sqlite_engine, token=token)
    assert (empty.messages, empty.votes, empty.judgements) == (0, 0, 0) and len(empty.cards) == 1


# --- progress and tokens -----------------------------------------------------------------------------


def test_progress_across_the_steps(sqlite_engine: Engine) -> None:
    d, _, _ = _deliberation(sqlite_engine)
    expected = {
        "joined": ("join", 0), "consented": ("join", 0), "interview": ("interview", 1), "vote": ("vote", 2),
        "judge": ("judge", 3), "survey": ("survey", 4), "done": ("done", 6),
    }  # fmt: skip
    for stage, (current, done) in expected.items():
        with session_scope(sqlite_engine) as s:
            token = _person(s, d, stage=stage).token
        got = participation.progress(sqlite_engine, token=token)
        assert got.stage == stage
        assert [s.name for s in got.steps] == ["join", "interview", "vote", "judge", "survey", "done"]
        assert [s.name for s in got.steps if s.current] == [current]
        assert sum(s.done for s in got.steps) == done and all(s.label for s in got.steps)


@pytest.mark.parametrize(
    "call",
    [
        lambda e, t: participation.draw_values(e, token=t, question_id=1),
        lambda e, t: participation.submit_votes(e, token=t, draw_id="x", value_ids=[]),
        lambda e, t: participation.stories_to_judge(e, token=t),
        lambda e, t: participation.judge(e, token=t, hypothesis_id=1, answer="upgrade"),
        lambda e, t: participation.finish_judging(e, token=t),
        lambda e, t: participation.survey(e, token=t),
        lambda e, t: participation.submit_survey(e, token=t, answers={}),
        lambda e, t: participation.receipt(e, token=t),
        lambda e, t: participation.answer_receipt(e, token=t, key="fair_position", answer=True),
        lambda e, t: participation.progress(e, token=t),
    ],
)
def test_a_bad_token_is_a_clear_message(sqlite_engine: Engine, call: Any) -> None:
    _deliberation(sqlite_engine)
    for token in ("", "not-a-token"):
        with pytest.raises(InvalidInput, match="This participant link is not valid"):
            call(sqlite_engine, token)


def test_two_tabs_at_once_store_one_draw_one_vote_set_one_judgement(engine: Engine) -> None:
    from concurrent.futures import ThreadPoolExecutor

    w = seed_votes(engine)
    with ThreadPoolExecutor(4) as pool:
        draws = list(
            pool.map(lambda _: participation.draw_values(engine, token=w.token, question_id=w.q), range(4))
        )
    assert len({d.draw_id for d in draws}) == 1 and len(_rows(engine, Impression)) == 28 + 4
    ids = [v.id for v in draws[0].values][:2]
    with ThreadPoolExecutor(4) as pool:
        list(
            pool.map(
                lambda _: participation.submit_votes(
                    engine, token=w.token, draw_id=draws[0].draw_id, value_ids=ids
                ),
                range(4),
            )
        )
    assert len(_rows(engine, Vote)) == 9 + 2

    j = seed_stories(engine)
    with ThreadPoolExecutor(4) as pool:
        list(
            pool.map(
                lambda a: participation.judge(engine, token=j.token, hypothesis_id=j.h["low"], answer=a),
                ["upgrade", "no_upgrade", "not_sure", "upgrade"],
            )
        )
    assert (
        len(
            [
                x
                for x in _rows(engine, Judgement)
                if x.participant_id == j.me and x.hypothesis_id == j.h["low"]
            ]
        )
        == 1
    )
