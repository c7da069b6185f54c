"""The judging set as pure rules: rounds, the latest run of each story, own values then own contexts then
the rest, fewest judgements, the per-person hash, and a story with its reverse only when nothing else is
left; never a story the person already judged."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from interviews.judging import (
    MAX_ROUND,
    StoryRef,
    Triple,
    fill_slots,
    open_stories,
    pick_stories,
    rank_stories,
    reverse,
    round_size,
    split_round,
    tiebreak,
    triple,
)
from storage.repo_judgements import StoryKey

SETTINGS = settings(max_examples=200, deadline=None)


def _ids(stories: list[StoryRef]) -> list[int]:
    return [s.id for s in stories]


def test_rounds_of_n_keep_a_full_round_until_one_more_judgement() -> None:
    assert [split_round(list(range(k)), 2) for k in range(6)] == [
        ([], []),
        ([], [0]),
        ([], [0, 1]),
        ([0, 1], [2]),
        ([0, 1], [2, 3]),
        ([0, 1, 2, 3], [4]),
    ]
    assert split_round(list(range(3)), 1) == ([0, 1], [2])
    assert (round_size(-1), round_size(1), round_size(MAX_ROUND), round_size(MAX_ROUND + 1)) == (1, 1, 10, 10)


def test_the_latest_run_of_a_triple_replaces_earlier_ones_and_judged_triples_go() -> None:
    again_r1, own, again_r2 = StoryRef(1, 3, 1, 7), StoryRef(2, 9, 1, 8), StoryRef(3, 3, 1, 7)
    assert open_stories([again_r1, own, again_r2], judged=set()) == [again_r2, own]
    assert open_stories([again_r1, own, again_r2], judged={(3, 1, 7)}) == [own]


def test_my_values_then_my_contexts_then_fewest_judgements() -> None:
    own = StoryRef(1, 100, 1, 50)  # my value, not my context
    low = StoryRef(2, 2, 3, 51)  # my context, 0 judgements
    busy = StoryRef(3, 1, 2, 51)  # my context, 2 judgements
    far = StoryRef(4, 4, 5, 50)  # neither
    ranked = rank_stories(
        [far, busy, low, own],
        participant_id=7,
        own_values={100},
        own_contexts={51},
        counts={triple(busy): 2, triple(far): 0},
    )
    assert ranked == [own, low, busy, far]
    busier = rank_stories(
        [far, busy, low, own], participant_id=7, own_values={100}, own_contexts={51}, counts={triple(low): 3}
    )
    assert busier == [own, busy, low, far]


def test_people_with_equal_counts_get_different_stories() -> None:
    stories = [StoryRef(i, i, i + 100, 1) for i in range(1, 6)]
    firsts = {
        rank_stories(stories, participant_id=p, own_values=(), own_contexts=(), counts={})[0].id
        for p in range(1, 30)
    }
    assert len(firsts) > 1
    assert tiebreak(3, (1, 2, 3)) == tiebreak(3, (1, 2, 3)) != tiebreak(3, (2, 1, 3))


def test_a_story_and_its_reverse_only_together_when_nothing_else_is_left() -> None:
    a_b, b_a, b_c = StoryRef(1, 1, 2, 9), StoryRef(2, 2, 1, 9), StoryRef(3, 2, 3, 9)
    got = pick_stories([a_b, b_a, b_c], free=2, participant_id=1, own_values=(), own_contexts=(), counts={})
    assert len(got) == 2 and b_c in got  # one of A→B / B→A, and B→C
    assert sorted(_ids(fill_slots([a_b, b_a], free=2))) == [1, 2]  # nothing else
    # the current round's answered stories count as taken
    assert fill_slots([b_a, b_c], free=1, taken=[triple(a_b)]) == [b_c]
    assert fill_slots([b_a], free=1, taken=[triple(a_b)]) == [b_a]
    assert fill_slots([a_b, b_c], free=0) == [] and reverse((1, 2, 9)) == (2, 1, 9)


def test_the_storage_story_keys_fit() -> None:
    keys = [StoryKey(5, 1, 2, 3), StoryKey(6, 4, 5, 3)]
    got = pick_stories(open_stories(keys, judged={(4, 5, 3)}), free=3, participant_id=1,
                       own_values=(), own_contexts=(), counts={})  # fmt: skip
    assert got == [StoryKey(5, 1, 2, 3)]


value_ids = st.integers(min_value=1, max_value=5)


@st.composite
def stories(draw: st.DrawFn) -> list[StoryRef]:
    """Shown stories in id order (several runs of a triple possible; never a self-loop)."""
    rows = draw(st.lists(st.tuples(value_ids, value_ids, st.integers(1, 3)), max_size=25))
    return [StoryRef(i, f, t, c) for i, (f, t, c) in enumerate(rows, start=1) if f != t]


triples = st.tuples(value_ids, value_ids, st.integers(1, 3))


@given(
    stories(),
    st.sets(triples),
    st.integers(min_value=0, max_value=MAX_ROUND),
    st.integers(min_value=1, max_value=50),
    st.sets(value_ids),
    st.sets(st.integers(1, 3)),
    st.dictionaries(triples, st.integers(0, 4)),
    st.sets(triples, max_size=3),
)
@SETTINGS
def test_the_picked_stories_are_never_judged_never_twice_and_fill_what_they_can(
    shown: list[StoryRef],
    judged: set[Triple],
    free: int,
    participant_id: int,
    own_values: set[int],
    own_contexts: set[int],
    counts: dict[Triple, int],
    taken: set[Triple],
) -> None:
    candidates = open_stories(shown, judged)
    got = pick_stories(
        candidates,
        free=free,
        participant_id=participant_id,
        own_values=own_values,
        own_contexts=own_contexts,
        counts=counts,
        taken=taken,
    )
    assert not {triple(s) for s in got} & judged
    assert len(got) == len({s.id for s in got}) == len({triple(s) for s in got}) == min(free, len(candidates))
    assert set(got) <= set(shown)
    # A story sits with its reverse (in the set or the round) only when every story left out would too.
    in_set = taken | {triple(s) for s in got}
    if any(reverse(triple(s)) in in_set for s in got):
        assert all(reverse(triple(s)) in in_set for s in candidates if s not in got)
