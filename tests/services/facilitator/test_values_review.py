"""Dedup review through the database (SQLite and PostgreSQL): the previews of a merge and a split say what
the confirmed action then does, and the likely missed merges are the closest pairs by embedding."""

from __future__ import annotations

from functools import partial

import pytest
from langchain_core.embeddings import Embeddings
from sqlalchemy import Engine

from errors import InvalidInput
from services.facilitator import moderation, values
from storage.db import session_scope
from storage.tables import CanonicalValue, ValuesCard
from tests.services.facilitator.test_values import seed_graph


def test_the_merge_preview_counts_what_the_merge_then_moves(engine: Engine) -> None:
    ids = seed_graph(engine)
    d, A, B = ids["d"], ids["A"], ids["B"]
    preview = values.preview_merge(engine, deliberation_id=d, keep_id=A, merge_ids=[B])
    assert (preview.keep.value_id, preview.keep.title) == (A, "Value A")
    # A: cards a1, a2; p1's vote; stories H1 (A→C), H3 (A→B); judgements j1, j4
    assert (preview.keep.cards, preview.keep.votes, preview.keep.stories, preview.keep.judgements) == (
        2,
        1,
        2,
        2,
    )
    (b,) = preview.merging
    # B: card b1; votes of p1 and p2; stories H2, H3, H4; judgements j2, j3, j4, j5
    assert (b.value_id, b.cards, b.votes, b.stories, b.judgements) == (B, 1, 2, 3, 4)
    with session_scope(engine) as s:
        assert s.get(CanonicalValue, B) is not None  # the preview changed nothing
        assert s.get(ValuesCard, ids["b1"]).canonical_value_id == B

    merged = values.merge(engine, deliberation_id=d, keep_id=A, merge_ids=[B], reason="Same", actor="Ana")
    assert merged.counts == preview.counts and preview.counts["cards_moved"] == 1
    assert preview.counts["judgements_detached"] == 1 and preview.counts["hypotheses_dropped"] == 2

    again = values.preview_merge(engine, deliberation_id=d, keep_id=A, merge_ids=[B])
    assert again.already_done and again.already_merged == (B,) and again.counts == {}
    with pytest.raises(InvalidInput, match="cannot be merged into itself"):
        values.preview_merge(engine, deliberation_id=d, keep_id=A, merge_ids=[A])
    with pytest.raises(InvalidInput, match="no value 9999"):
        values.preview_merge(engine, deliberation_id=d, keep_id=A, merge_ids=[9999])


def test_the_split_preview_lists_the_cards_that_move(engine: Engine) -> None:
    ids = seed_graph(engine)
    d, A = ids["d"], ids["A"]
    preview = values.preview_split(engine, canonical_id=A, card_ids=[ids["a2"]], deliberation_id=d)
    assert [c.id for c in preview.moving] == [ids["a2"]] and [c.id for c in preview.staying] == [ids["a1"]]
    assert preview.title == "Card a2" and not preview.already_done
    assert (preview.value.votes, preview.value.stories) == (1, 2)  # they stay with A
    done = values.split(engine, canonical_id=A, card_ids=[ids["a2"]], reason="Differs", deliberation_id=d)
    new = values.get_value(engine, canonical_id=done.new_canonical_id)
    assert [c.id for c in new.cards] == [c.id for c in preview.moving] and new.title == preview.title
    assert values.preview_split(engine, canonical_id=A, card_ids=[ids["a2"]]).already_done
    with pytest.raises(InvalidInput, match="leave it empty"):
        values.preview_split(engine, canonical_id=A, card_ids=[ids["a1"]])
    other = seed_graph(engine)
    with pytest.raises(InvalidInput, match=f"no value {other['A']} in deliberation {d}"):
        values.preview_split(engine, canonical_id=other["A"], card_ids=[other["a1"]], deliberation_id=d)


class PlaneEmbeddings(Embeddings):
    """Each value's title names its direction: "North", "North-ish" and "East" (and nothing else)."""

    VECTORS = {"North": [1.0, 0.0], "North-ish": [0.96, 0.28], "East": [0.0, 1.0], "Northeast": [0.6, 0.8]}

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.VECTORS[t.split(".")[0]] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def test_likely_missed_merges_are_the_closest_visible_pairs(engine: Engine) -> None:
    ids = seed_graph(engine)
    d = ids["d"]
    with session_scope(engine) as s:
        for key, title in (("A", "North"), ("B", "North-ish"), ("C", "East")):
            s.get(CanonicalValue, ids[key]).title = title
        extra = CanonicalValue(deliberation_id=d, title="Northeast", policies=["MOMENTS"])
        s.add(extra)
        s.flush()
        ids["D"] = extra.id
    pairs = values.missed_merges(engine, PlaneEmbeddings(), deliberation_id=d, top=3)
    assert [(p.a, p.b) for p in pairs] == [(ids["A"], ids["B"]), (ids["B"], ids["D"]), (ids["C"], ids["D"])]
    assert [p.similarity for p in pairs] == [0.96, 0.8, 0.8] and pairs[0].a_title == "North"

    moderation.hide_value(engine, deliberation_id=d, value_id=ids["B"], reason="Spam", actor="Ana")
    pairs = values.missed_merges(engine, PlaneEmbeddings(), deliberation_id=d, top=2)
    assert [(p.a, p.b) for p in pairs] == [(ids["C"], ids["D"]), (ids["A"], ids["D"])]
    with pytest.raises(InvalidInput, match="1 to 100 pairs"):
        values.missed_merges(engine, PlaneEmbeddings(), deliberation_id=d, top=0)


def test_a_merge_of_hidden_and_visible_values_is_refused(engine: Engine) -> None:
    ids = seed_graph(engine)
    d, A, B, C = ids["d"], ids["A"], ids["B"], ids["C"]
    moderation.hide_value(engine, deliberation_id=d, value_id=B, reason="Spam", actor="Ana")
    for keep, merging in ((A, [B]), (B, [A]), (A, [C, B])):
        for call in (values.preview_merge, partial(values.merge, reason="Same", actor="Ana")):
            with pytest.raises(InvalidInput, match=f"Value {B} is hidden .*Show the hidden value again"):
                call(engine, deliberation_id=d, keep_id=keep, merge_ids=merging)
    with session_scope(engine) as s:  # nothing moved
        assert s.get(CanonicalValue, B) is not None and s.get(ValuesCard, ids["b1"]).canonical_value_id == B

    # Hidden into hidden: the preview says so and everything stays hidden.
    moderation.hide_value(engine, deliberation_id=d, value_id=C, reason="Spam", actor="Ana")
    preview = values.preview_merge(engine, deliberation_id=d, keep_id=B, merge_ids=[C])
    assert preview.keep.hidden and [m.hidden for m in preview.merging] == [True]
    values.merge(engine, deliberation_id=d, keep_id=B, merge_ids=[C], reason="Same", actor="Ana")
    with session_scope(engine) as s:
        assert s.get(CanonicalValue, B).hidden and s.get(ValuesCard, ids["c1"]).canonical_value_id == B


def test_cards_split_off_a_hidden_value_stay_hidden(engine: Engine) -> None:
    ids = seed_graph(engine)
    d, A = ids["d"], ids["A"]
    moderation.hide_value(engine, deliberation_id=d, value_id=A, reason="Spam", actor="Ana")
    assert values.preview_split(engine, canonical_id=A, card_ids=[ids["a2"]], deliberation_id=d).value.hidden
    done = values.split(engine, canonical_id=A, card_ids=[ids["a2"]], reason="Differs", deliberation_id=d)
    assert values.get_value(engine, canonical_id=done.new_canonical_id).hidden
