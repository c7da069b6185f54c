"""Judging through the database: the judging set (order, rounds, no story with its reverse, stable across
reloads and other people's judgements) and the judgements (checked, stored at once, updated).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from errors import InvalidInput
from services.participant import judging
from storage.db import session_scope
from storage.tables import (
    Context,
    EdgeHypothesis,
    Interview,
    Judgement,
    QuestionContext,
    ValuesCard,
    Vote,
    utcnow,
)
from tests.services.participant_world import (
    add_card,
    add_person,
    add_value,
    all_rows,
    new_deliberation,
    stage_of,
)

LONG_AGO = utcnow() - timedelta(days=1)


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
    d, q, q2 = new_deliberation(engine, **config)
    with session_scope(engine) as s:
        me = add_person(s, d, stage="judge")
        v = {name: add_value(s, d, name) for name in ("O", "V1", "V2", "V3", "V4", "V5", "V6", "V7")}
        add_card(s, me, q, v["O"])
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
        others = [add_person(s, d).id for _ in range(3)]

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
    got = judging.stories_to_judge(sqlite_engine, token=w.token)
    # My earlier judgement opens the round (with its answer); then my value's story, then my question's
    # stories, fewest judgements first. Never the hidden one, nor the later run of the one I judged.
    assert _ids(got) == [w.h["again_r1"], w.h["own"], w.h["low"], w.h["busy"]]
    assert got[0].answer == "upgrade" and all(s.answer is None for s in got[1:])
    assert got[1].from_value.title == "O" and got[1].to_value.title == "V1" and got[1].context == "When c2"
    assert got[1].story == "Story own" and got[1].context_id == w.c["c2"]

    w = seed_stories(sqlite_engine, stories_to_judge=10)
    assert _ids(judging.stories_to_judge(sqlite_engine, token=w.token)) == [
        w.h[n] for n in ("again_r1", "own", "low", "busy", "far")
    ]
    w = seed_stories(sqlite_engine, stories_to_judge=1)  # a full round stays as it is
    assert _ids(judging.stories_to_judge(sqlite_engine, token=w.token)) == [w.h["again_r1"]]
    judging.finish_judging(sqlite_engine, token=w.token)


def test_rounds_follow_each_other_without_repeats(sqlite_engine: Engine) -> None:
    w = seed_stories(sqlite_engine, stories_to_judge=2)
    first = judging.stories_to_judge(sqlite_engine, token=w.token)
    assert _ids(first) == [w.h["again_r1"], w.h["own"]]
    judging.judge(sqlite_engine, token=w.token, hypothesis_id=w.h["own"], answer="upgrade")
    assert _ids(judging.stories_to_judge(sqlite_engine, token=w.token)) == _ids(first)
    # a third judgement (another tab, say) opens the next round, filled with what is left
    judging.judge(sqlite_engine, token=w.token, hypothesis_id=w.h["busy"], answer="upgrade")
    assert _ids(judging.stories_to_judge(sqlite_engine, token=w.token)) == [w.h["low"], w.h["busy"]]


def test_a_story_and_its_reverse_are_not_in_one_set(sqlite_engine: Engine) -> None:
    d, q, _ = new_deliberation(sqlite_engine, stories_to_judge=2)
    with session_scope(sqlite_engine) as s:
        me = add_person(s, d, stage="judge")
        a, b, c_ = add_value(s, d, "A"), add_value(s, d, "B"), add_value(s, d, "C")
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
    got = _ids(judging.stories_to_judge(sqlite_engine, token=token))
    assert len(got) == 2 and ids[2] in got  # one of A→B / B→A, and B→C
    with session_scope(sqlite_engine) as s:
        s.delete(s.get(EdgeHypothesis, ids[2]))
    assert sorted(_ids(judging.stories_to_judge(sqlite_engine, token=token))) == ids[:2]  # nothing else


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
    first = judging.stories_to_judge(engine, token=w.token)
    assert _ids(first) == [w.h["again_r1"], w.h["own"], w.h["low"]]
    _judged_by_others(engine, w, "low")  # with live counts, "busy" (2) would now come before "low" (3)
    assert judging.stories_to_judge(engine, token=w.token) == first

    judging.judge(engine, token=w.token, hypothesis_id=w.h["low"], answer="not_sure", reason=" hm ")
    after = judging.stories_to_judge(engine, token=w.token)
    assert _ids(after) == _ids(first)
    assert [(s.answer, s.reason) for s in after] == [("upgrade", None), (None, None), ("not_sure", "hm")]
    with pytest.raises(InvalidInput, match="1 left"):
        judging.finish_judging(engine, token=w.token)
    assert stage_of(engine, w.token) == "judge"

    judging.judge(engine, token=w.token, hypothesis_id=w.h["own"], answer="upgrade")
    done = judging.stories_to_judge(engine, token=w.token)
    assert _ids(done) == _ids(first) and all(s.answer for s in done)  # a full round stays on screen
    judging.finish_judging(engine, token=w.token)
    judging.finish_judging(engine, token=w.token)  # a double click
    assert stage_of(engine, w.token) == "survey"


def test_counts_are_frozen_at_my_last_step_before_judging(sqlite_engine: Engine) -> None:
    w = seed_stories(sqlite_engine)
    _judged_by_others(sqlite_engine, w, "low", when=utcnow() + timedelta(minutes=1))
    assert _ids(judging.stories_to_judge(sqlite_engine, token=w.token))[2] == w.h["low"]
    with session_scope(sqlite_engine) as s:  # then I voted: my last step before judging moves on
        question = s.exec(select(ValuesCard.question_id).where(ValuesCard.participant_id == w.me)).one()
        s.add(
            Vote(
                participant_id=w.me, canonical_value_id=w.v["V7"], question_id=question, draw_id="z",
                created_at=utcnow() + timedelta(minutes=2),
            )
        )  # fmt: skip
    assert _ids(judging.stories_to_judge(sqlite_engine, token=w.token))[2] == w.h["busy"]


def test_a_judgement_is_stored_at_once_and_answering_again_updates_it(engine: Engine) -> None:
    w = seed_stories(engine)
    out = judging.judge(engine, token=w.token, hypothesis_id=w.h["low"], answer="upgrade", reason="  ")
    assert (out.hypothesis_id, out.answer, out.reason) == (w.h["low"], "upgrade", None)
    for _ in range(2):  # a double click, then a change of mind
        judging.judge(
            engine, token=w.token, hypothesis_id=w.h["low"], answer="no_upgrade", reason=" Why not "
        )
    mine = [
        j for j in all_rows(engine, Judgement) if j.participant_id == w.me and j.hypothesis_id == w.h["low"]
    ]
    assert len(mine) == 1
    j = mine[0]
    assert (j.answer, j.reason, j.deliberation_id) == ("no_upgrade", "Why not", w.d)
    assert (j.from_value_id, j.to_value_id, j.context_id) == (w.v["V2"], w.v["V3"], w.c["c3"])

    with pytest.raises(InvalidInput, match="Yes, No or Not sure"):
        judging.judge(engine, token=w.token, hypothesis_id=w.h["low"], answer="maybe")
    with pytest.raises(InvalidInput, match="at most 2000"):
        judging.judge(engine, token=w.token, hypothesis_id=w.h["low"], answer="upgrade", reason="x" * 2001)
    for hidden in (w.h["hidden"], 999_999):
        with pytest.raises(InvalidInput, match="not available"):
            judging.judge(engine, token=w.token, hypothesis_id=hidden, answer="upgrade")
    with pytest.raises(InvalidInput, match="already judged"):  # same from, to, context in a later run
        judging.judge(engine, token=w.token, hypothesis_id=w.h["again_r2"], answer="upgrade")
    other = seed_stories(engine)
    with pytest.raises(InvalidInput, match="not available"):  # a story of another deliberation
        judging.judge(engine, token=w.token, hypothesis_id=other.h["low"], answer="upgrade")
    assert len([j for j in all_rows(engine, Judgement) if j.participant_id == w.me]) == 2


def test_nothing_to_judge_lets_me_go_on(sqlite_engine: Engine) -> None:
    d, q, _ = new_deliberation(sqlite_engine)
    with session_scope(sqlite_engine) as s:
        token = add_person(s, d, stage="judge").token
    assert judging.stories_to_judge(sqlite_engine, token=token) == []
    judging.finish_judging(sqlite_engine, token=token)
    assert stage_of(sqlite_engine, token) == "survey"


@pytest.mark.parametrize(
    "call",
    [
        lambda e, t: judging.stories_to_judge(e, token=t),
        lambda e, t: judging.judge(e, token=t, hypothesis_id=1, answer="upgrade"),
        lambda e, t: judging.finish_judging(e, token=t),
    ],
)
def test_a_bad_token_is_a_clear_message(sqlite_engine: Engine, call: Any) -> None:
    new_deliberation(sqlite_engine)
    for token in ("", "not-a-token"):
        with pytest.raises(InvalidInput, match="This participant link is not valid"):
            call(sqlite_engine, token)


def test_two_tabs_at_once_store_one_judgement(engine: Engine) -> None:
    j = seed_stories(engine)
    with ThreadPoolExecutor(4) as pool:
        list(
            pool.map(
                lambda a: judging.judge(engine, token=j.token, hypothesis_id=j.h["low"], answer=a),
                ["upgrade", "no_upgrade", "not_sure", "upgrade"],
            )
        )
    assert (
        len(
            [
                x
                for x in all_rows(engine, Judgement)
                if x.participant_id == j.me and x.hypothesis_id == j.h["low"]
            ]
        )
        == 1
    )
