"""The merge of canonical values as a pure plan: properties over random rows, and one example per rule."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Hashable, Iterable
from typing import TypeVar

from hypothesis import given, settings
from hypothesis import strategies as st

from interviews.value_merge import (
    CardRow,
    Collision,
    ImpressionRow,
    JudgementMove,
    JudgementRow,
    MergePlan,
    MergeRows,
    StoryDrop,
    StoryMove,
    StoryRow,
    VoteRow,
    plan_merge,
)

VALUES = (1, 2, 3, 4, 5)
OnValue = TypeVar("OnValue", CardRow, VoteRow, ImpressionRow)


def apply(rows: MergeRows, plan: MergePlan) -> MergeRows:
    """What the storage step does to the tables, on plain rows."""
    keep = plan.keep_id
    moved = set(plan.cards_moved) | set(plan.votes_moved) | set(plan.impressions_moved)
    dropped = {d.id for d in (*plan.votes_dropped, *plan.impressions_dropped, *plan.judgements_dropped)}
    story_drops = {d.id for d in plan.stories_dropped}
    story_moves = {m.id: m for m in plan.stories_moved}
    judgement_moves = {m.id: m for m in (*plan.judgements_moved, *plan.judgements_detached)}

    def onto_keep(row: OnValue) -> OnValue:
        return dataclasses.replace(row, value_id=keep) if row.id in moved else row

    def story(row: StoryRow) -> StoryRow:
        m = story_moves.get(row.id)
        return (
            dataclasses.replace(row, from_value_id=m.from_value_id, to_value_id=m.to_value_id) if m else row
        )

    def judgement(row: JudgementRow) -> JudgementRow:
        m = judgement_moves.get(row.id)
        if m is None:
            return row
        return dataclasses.replace(
            row, hypothesis_id=m.hypothesis_id, from_value_id=m.from_value_id, to_value_id=m.to_value_id
        )

    return MergeRows(
        values=tuple(v for v in rows.values if v not in plan.values_deleted),
        cards=tuple(onto_keep(c) for c in rows.cards),
        votes=tuple(onto_keep(v) for v in rows.votes if v.id not in dropped),
        impressions=tuple(onto_keep(i) for i in rows.impressions if i.id not in dropped),
        stories=tuple(story(s) for s in rows.stories if s.id not in story_drops),
        judgements=tuple(judgement(j) for j in rows.judgements if j.id not in dropped),
    )


def unique(keys: Iterable[Hashable]) -> bool:
    counts = Counter(keys)
    return all(n == 1 for n in counts.values())


def consistent(rows: MergeRows) -> bool:
    """The database's constraints: unique keys, stories are not self-loops, judgements name real stories."""
    story_ids = {s.id for s in rows.stories}
    return (
        unique((v.participant_id, v.value_id, v.question_id) for v in rows.votes)
        and unique((i.participant_id, i.value_id, i.draw_id) for i in rows.impressions)
        and unique((s.from_value_id, s.to_value_id, s.context_id, s.run_id) for s in rows.stories)
        and all(s.from_value_id != s.to_value_id for s in rows.stories)
        and unique(
            (j.participant_id, j.hypothesis_id) for j in rows.judgements if j.hypothesis_id is not None
        )
        and all(j.hypothesis_id is None or j.hypothesis_id in story_ids for j in rows.judgements)
    )


@st.composite
def row_sets(draw: st.DrawFn) -> MergeRows:
    """Random rows over values 1-5 that satisfy the database's constraints. Few people, questions, draws,
    contexts and runs, so that merges collide often; ids are shuffled so the kept value's rows are not
    always the oldest."""
    people = st.integers(1, 2)
    value = st.sampled_from(VALUES)
    values = tuple(sorted(draw(st.sets(value, min_size=1))))
    cards = draw(st.lists(st.one_of(st.none(), value), max_size=6))
    votes = draw(st.lists(st.tuples(people, value, st.integers(1, 2)), unique=True, max_size=10))
    shown = draw(st.lists(st.tuples(people, value, st.sampled_from("xy")), unique=True, max_size=10))
    # Stories: a dense graph in one context and run (so merges make them collide), and a few others.
    pairs = [(a, b) for a in VALUES for b in VALUES if a != b]
    dense = draw(st.lists(st.booleans(), min_size=len(pairs), max_size=len(pairs)))
    others = draw(
        st.lists(st.tuples(st.sampled_from(pairs), st.sampled_from((1, 2)), st.just("s")), max_size=4)
    )
    stories = list(
        dict.fromkeys([(pair, 1, "r") for pair, on in zip(pairs, dense, strict=True) if on] + others)
    )
    n = len(cards) + len(votes) + len(shown) + len(stories)
    ids = iter(draw(st.permutations(range(1, n + 1))))
    story_rows = tuple(StoryRow(next(ids), a, b, c, r) for (a, b), c, r in stories)
    # Judgements on a story (with its endpoints, once per person), or with none (detached before: any ends).
    judged = draw(st.lists(st.booleans(), min_size=2 * len(story_rows), max_size=2 * len(story_rows)))
    on_story = [(1 + k % 2, k // 2) for k, on in enumerate(judged) if on]
    loose = draw(st.lists(st.tuples(people, value, value), max_size=3))
    judgement_ids = iter(draw(st.permutations(range(n + 1, n + 1 + len(on_story) + len(loose)))))
    judgements = [
        JudgementRow(next(judgement_ids), p, s.id, s.from_value_id, s.to_value_id)
        for p, s in ((p, story_rows[k]) for p, k in on_story)
    ]
    judgements += [JudgementRow(next(judgement_ids), p, None, a, b) for p, a, b in loose]
    return MergeRows(
        values=values,
        cards=tuple(CardRow(next(ids), v) for v in cards),
        votes=tuple(VoteRow(next(ids), p, v, q) for p, v, q in votes),
        impressions=tuple(ImpressionRow(next(ids), p, v, d) for p, v, d in shown),
        stories=story_rows,
        judgements=tuple(draw(st.permutations(judgements))),
    )


merges = st.tuples(st.sampled_from(VALUES), st.lists(st.sampled_from((*VALUES, 9)), min_size=1, max_size=4))
SETTINGS = settings(max_examples=200, deadline=None)


def rows_by_id(rows: MergeRows) -> dict[int, VoteRow | ImpressionRow | StoryRow | JudgementRow]:
    """The rows with a unique key, by id (the generated ids are unique across kinds)."""
    found: dict[int, VoteRow | ImpressionRow | StoryRow | JudgementRow] = {}
    found.update((v.id, v) for v in rows.votes)
    found.update((i.id, i) for i in rows.impressions)
    found.update((s.id, s) for s in rows.stories)
    found.update((j.id, j) for j in rows.judgements)
    return found


def all_rows(rows: MergeRows) -> dict[str, set[int]]:
    return {
        "cards": {c.id for c in rows.cards},
        "votes": {v.id for v in rows.votes},
        "impressions": {i.id for i in rows.impressions},
        "stories": {s.id for s in rows.stories},
        "judgements": {j.id for j in rows.judgements},
    }


@SETTINGS
@given(row_sets(), merges)
def test_no_row_is_lost(rows: MergeRows, merge: tuple[int, list[int]]) -> None:
    keep, merge_ids = merge
    plan = plan_merge(rows, keep_id=keep, merge_ids=merge_ids)
    after = apply(rows, plan)
    before, kept = all_rows(rows), all_rows(after)
    dropped: dict[str, dict[int, int | None]] = {
        "cards": {},
        "votes": {d.id: d.kept_id for d in plan.votes_dropped},
        "impressions": {d.id: d.kept_id for d in plan.impressions_dropped},
        "stories": {d.id: d.kept_id for d in plan.stories_dropped},
        "judgements": {d.id: d.kept_id for d in plan.judgements_dropped},
    }
    for kind, ids in before.items():
        # every row is kept or dropped, never both, never twice, and a dropped row names a row that is kept
        assert kept[kind] | dropped[kind].keys() == ids and not kept[kind] & dropped[kind].keys(), kind
        assert all(k is None or k in kept[kind] for k in dropped[kind].values()), kind
    listed = [
        *plan.cards_moved,
        *plan.votes_moved,
        *(d.id for d in plan.votes_dropped),
        *plan.impressions_moved,
        *(d.id for d in plan.impressions_dropped),
        *(m.id for m in plan.stories_moved),
        *(d.id for d in plan.stories_dropped),
        *(m.id for m in (*plan.judgements_moved, *plan.judgements_detached)),
        *(d.id for d in plan.judgements_dropped),
    ]
    assert unique(listed)
    # a dropped row had, once merged, the unique key of the row it names
    merging = set(merge_ids) - {keep}
    remap = {v: keep for v in merging}
    by_id, original = rows_by_id(after), rows_by_id(rows)
    for d in (*plan.votes_dropped, *plan.impressions_dropped):
        gone, stays = original[d.id], by_id[d.kept_id]
        assert isinstance(gone, VoteRow | ImpressionRow) and type(stays) is type(gone)
        assert (stays.participant_id, stays.value_id) == (gone.participant_id, keep)
        assert getattr(stays, "question_id", None) == getattr(gone, "question_id", None)
        assert getattr(stays, "draw_id", None) == getattr(gone, "draw_id", None)
    for s in plan.stories_dropped:
        gone = original[s.id]
        assert isinstance(gone, StoryRow)
        ends = (
            remap.get(gone.from_value_id, gone.from_value_id),
            remap.get(gone.to_value_id, gone.to_value_id),
        )
        if s.kept_id is None:
            assert ends[0] == ends[1]
        else:
            stays = by_id[s.kept_id]
            assert isinstance(stays, StoryRow)
            assert (stays.from_value_id, stays.to_value_id, stays.context_id, stays.run_id) == (
                *ends,
                gone.context_id,
                gone.run_id,
            )
    redirected = {s.id: s.kept_id for s in plan.stories_dropped}
    for d in plan.judgements_dropped:
        gone, stays = original[d.id], by_id[d.kept_id]
        assert isinstance(gone, JudgementRow) and isinstance(stays, JudgementRow)
        assert gone.hypothesis_id is not None
        assert stays.participant_id == gone.participant_id
        assert stays.hypothesis_id == redirected.get(gone.hypothesis_id, gone.hypothesis_id)
    # detached judgements are exactly the ones whose story became a self-loop
    detached = {m.id for m in plan.judgements_detached}
    assert detached == {
        j.id
        for j in rows.judgements
        if j.hypothesis_id is not None and redirected.get(j.hypothesis_id, 0) is None
    }


@SETTINGS
@given(row_sets(), merges)
def test_no_duplicate_and_nothing_left_on_a_merged_value(
    rows: MergeRows, merge: tuple[int, list[int]]
) -> None:
    keep, merge_ids = merge
    assert consistent(rows)
    after = apply(rows, plan_merge(rows, keep_id=keep, merge_ids=merge_ids))
    assert consistent(after)
    gone = set(merge_ids) - {keep}
    assert not gone & set(after.values)
    assert not gone & {c.value_id for c in after.cards}
    assert not gone & ({v.value_id for v in after.votes} | {i.value_id for i in after.impressions})
    assert not gone & {v for s in after.stories for v in (s.from_value_id, s.to_value_id)}
    assert not gone & {v for j in after.judgements for v in (j.from_value_id, j.to_value_id)}


@SETTINGS
@given(row_sets(), merges)
def test_merging_again_changes_nothing(rows: MergeRows, merge: tuple[int, list[int]]) -> None:
    keep, merge_ids = merge
    after = apply(rows, plan_merge(rows, keep_id=keep, merge_ids=merge_ids))
    assert plan_merge(after, keep_id=keep, merge_ids=merge_ids) == MergePlan(keep_id=keep)


@SETTINGS
@given(row_sets(), st.sampled_from(VALUES), st.integers(0, 2))
def test_merging_nothing_or_only_the_kept_value_plans_nothing(rows: MergeRows, keep: int, times: int) -> None:
    assert plan_merge(rows, keep_id=keep, merge_ids=[keep] * times) == MergePlan(keep_id=keep)


@SETTINGS
@given(row_sets(), merges)
def test_keep_among_merge_ids_and_repeated_ids_are_ignored(
    rows: MergeRows, merge: tuple[int, list[int]]
) -> None:
    keep, merge_ids = merge
    plan = plan_merge(rows, keep_id=keep, merge_ids=merge_ids)
    assert plan_merge(rows, keep_id=keep, merge_ids=[keep, *merge_ids, *merge_ids]) == plan


@SETTINGS
@given(row_sets(), merges)
def test_rows_outside_the_merge_do_not_change_the_plan(rows: MergeRows, merge: tuple[int, list[int]]) -> None:
    """Storage loads only the rows attached to the values involved; planning over every row is the same."""
    keep, merge_ids = merge
    every = set(merge_ids) | {keep}
    merging = every - {keep}
    stories = tuple(s for s in rows.stories if {s.from_value_id, s.to_value_id} & every)
    story_ids = {s.id for s in stories}
    loaded = MergeRows(
        values=tuple(v for v in rows.values if v in merging),
        cards=tuple(c for c in rows.cards if c.value_id in merging),
        votes=tuple(v for v in rows.votes if v.value_id in every),
        impressions=tuple(i for i in rows.impressions if i.value_id in every),
        stories=stories,
        judgements=tuple(
            j
            for j in rows.judgements
            if j.hypothesis_id in story_ids or {j.from_value_id, j.to_value_id} & merging
        ),
    )
    assert plan_merge(loaded, keep_id=keep, merge_ids=merge_ids) == plan_merge(
        rows, keep_id=keep, merge_ids=merge_ids
    )


# --- one example per rule --------------------------------------------------------------------------------


def test_cards_move_and_the_merged_values_that_exist_are_deleted() -> None:
    rows = MergeRows(values=(1, 2), cards=(CardRow(1, 2), CardRow(2, 1), CardRow(3, None), CardRow(4, 3)))
    plan = plan_merge(rows, keep_id=1, merge_ids=[2, 3, 3, 1])
    assert plan == MergePlan(keep_id=1, values_deleted=(2,), cards_moved=(1, 4))


def test_a_vote_on_the_kept_value_wins_over_an_older_one() -> None:
    rows = MergeRows(
        votes=(
            VoteRow(1, participant_id=7, value_id=2, question_id=1),
            VoteRow(2, participant_id=7, value_id=1, question_id=1),
            VoteRow(3, participant_id=7, value_id=2, question_id=2),  # another question: moves
            VoteRow(4, participant_id=8, value_id=2, question_id=1),  # another person: moves
        )
    )
    plan = plan_merge(rows, keep_id=1, merge_ids=[2])
    assert plan.votes_moved == (3, 4) and plan.votes_dropped == (Collision(1, kept_id=2),)


def test_between_two_merged_values_the_oldest_row_wins() -> None:
    rows = MergeRows(
        votes=(VoteRow(5, 7, 3, 1), VoteRow(4, 7, 2, 1)),
        impressions=(
            ImpressionRow(9, 7, 3, "d1"),
            ImpressionRow(8, 7, 2, "d1"),
            ImpressionRow(6, 7, 2, "d2"),
        ),
    )
    plan = plan_merge(rows, keep_id=1, merge_ids=[2, 3])
    assert (plan.votes_moved, plan.votes_dropped) == ((4,), (Collision(5, kept_id=4),))
    assert (plan.impressions_moved, plan.impressions_dropped) == ((6, 8), (Collision(9, kept_id=8),))


def test_impressions_collide_per_draw() -> None:
    rows = MergeRows(impressions=(ImpressionRow(1, 7, 1, "d1"), ImpressionRow(2, 7, 2, "d1")))
    plan = plan_merge(rows, keep_id=2, merge_ids=[1])
    assert plan.impressions_moved == () and plan.impressions_dropped == (Collision(1, kept_id=2),)


def test_stories_that_become_one_keep_the_kept_values_story_and_its_judgements() -> None:
    rows = MergeRows(
        stories=(
            StoryRow(1, from_value_id=2, to_value_id=3, context_id=1, run_id="r"),
            StoryRow(2, from_value_id=1, to_value_id=3, context_id=1, run_id="r"),
            StoryRow(3, from_value_id=2, to_value_id=3, context_id=1, run_id="other run"),  # moves
        ),
        judgements=(
            JudgementRow(1, participant_id=7, hypothesis_id=1, from_value_id=2, to_value_id=3),  # dropped
            JudgementRow(2, participant_id=7, hypothesis_id=2, from_value_id=1, to_value_id=3),  # stays
            JudgementRow(3, participant_id=8, hypothesis_id=1, from_value_id=2, to_value_id=3),  # onto 2
            JudgementRow(4, participant_id=8, hypothesis_id=3, from_value_id=2, to_value_id=3),  # follows 3
        ),
    )
    plan = plan_merge(rows, keep_id=1, merge_ids=[2])
    assert plan.stories_dropped == (StoryDrop(1, kept_id=2),)
    assert plan.stories_moved == (StoryMove(3, 1, 3),)
    assert plan.judgements_dropped == (Collision(1, kept_id=2),)
    # in the order decided: judgements of stories that stay first, then by id
    assert plan.judgements_moved == (JudgementMove(4, 3, 1, 3), JudgementMove(3, 2, 1, 3))
    assert plan.judgements_detached == ()


def test_two_merged_values_stories_keep_the_oldest() -> None:
    rows = MergeRows(
        stories=(StoryRow(8, 3, 4, 1, "r"), StoryRow(5, 2, 4, 1, "r")),
        judgements=(JudgementRow(1, 7, 8, 3, 4), JudgementRow(2, 7, 5, 2, 4)),
    )
    plan = plan_merge(rows, keep_id=1, merge_ids=[2, 3])
    assert plan.stories_moved == (StoryMove(5, 1, 4),) and plan.stories_dropped == (StoryDrop(8, kept_id=5),)
    # 2 is on the surviving story, so it stays though 1 is older
    assert plan.judgements_dropped == (Collision(1, kept_id=2),)
    assert plan.judgements_moved == (JudgementMove(2, 5, 1, 4),)


def test_a_story_between_two_values_that_are_now_one_is_dropped_and_its_judgements_detached() -> None:
    rows = MergeRows(
        stories=(StoryRow(1, 1, 2, 1, "r"), StoryRow(2, 3, 2, 1, "r")),
        judgements=(
            JudgementRow(1, 7, 1, 1, 2),
            JudgementRow(2, 7, 2, 3, 2),  # same person, other story that also loops: both kept
            JudgementRow(3, 8, None, 2, 4),  # no story: its endpoints move
        ),
    )
    plan = plan_merge(rows, keep_id=1, merge_ids=[2, 3])
    assert plan.stories_dropped == (StoryDrop(1, kept_id=None), StoryDrop(2, kept_id=None))
    assert plan.judgements_detached == (JudgementMove(1, None, 1, 1), JudgementMove(2, None, 1, 1))
    assert plan.judgements_moved == (JudgementMove(3, None, 1, 4),) and plan.judgements_dropped == ()


def test_the_services_example_world() -> None:
    """tests/services/facilitator/test_values.py's seed_graph, B → A, as plain rows (A=1, B=2, C=3)."""
    A, B, C = 1, 2, 3
    rows = MergeRows(
        values=(A, B, C),
        cards=(CardRow(1, A), CardRow(2, A), CardRow(3, B), CardRow(4, C)),
        votes=(VoteRow(1, 1, A, 1), VoteRow(2, 1, B, 1), VoteRow(3, 2, B, 1)),
        impressions=(
            ImpressionRow(1, 1, A, "d1"),
            ImpressionRow(2, 1, B, "d1"),
            ImpressionRow(3, 2, B, "d2"),
        ),
        stories=(StoryRow(1, A, C, 1, "r1"), StoryRow(2, B, C, 1, "r1"), StoryRow(3, A, B, 1, "r1")),
        judgements=(
            JudgementRow(1, 1, 1, A, C),
            JudgementRow(2, 1, 2, B, C),
            JudgementRow(3, 2, 2, B, C),
            JudgementRow(4, 3, 3, A, B),
        ),
    )
    rows = dataclasses.replace(rows, stories=(*rows.stories, StoryRow(4, C, B, 1, "r1")))
    rows = dataclasses.replace(rows, judgements=(*rows.judgements, JudgementRow(5, 3, 4, C, B)))
    assert plan_merge(rows, keep_id=A, merge_ids=[B]) == MergePlan(
        keep_id=A,
        values_deleted=(B,),
        cards_moved=(3,),
        votes_moved=(3,),
        votes_dropped=(Collision(2, kept_id=1),),
        impressions_moved=(3,),
        impressions_dropped=(Collision(2, kept_id=1),),
        stories_moved=(StoryMove(4, C, A),),
        stories_dropped=(StoryDrop(2, kept_id=1), StoryDrop(3, kept_id=None)),
        judgements_moved=(JudgementMove(5, 4, C, A), JudgementMove(3, 1, A, C)),
        judgements_detached=(JudgementMove(4, None, A, A),),
        judgements_dropped=(Collision(2, kept_id=1),),
    )
