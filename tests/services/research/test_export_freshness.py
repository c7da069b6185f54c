"""An export is of the latest graph only while no moderation has changed the graph since it was built
(SQLite and PostgreSQL): a value hidden, shown again, merged, split or reworded asks for a new build."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from errors import InvalidInput
from services.facilitator import moderation, values
from services.research import graphs
from storage.db import session_scope
from storage.tables import CanonicalValue, ValuesCard
from tests.services.facilitator.test_moderation import GOOD_CARD
from tests.services.facilitator.test_values import seed_graph

WHO = "Ana"


def _exported(engine: Engine, d: int, out: Path) -> int:
    """Export the graph; the judgements it was built from."""
    graphs.export_graph(engine, deliberation_id=d, fmt="mai-json", out=out)
    return int(json.loads(out.read_text(encoding="utf-8"))["provenance"]["judgements"])


def test_an_export_after_a_hide_asks_for_a_new_build(engine: Engine, tmp_path: Path) -> None:
    ids = seed_graph(engine)
    d, B = ids["d"], ids["B"]
    out = tmp_path / "g.json"
    assert _exported(engine, d, out) == 5  # no snapshot yet: built, then exported

    moderation.hide_value(engine, deliberation_id=d, value_id=B, reason="Spam", actor=WHO)
    with pytest.raises(
        InvalidInput, match=r"changed after its latest graph .*hide_value at .*build the graph"
    ):
        graphs.export_graph(engine, deliberation_id=d, fmt="graphml", out=tmp_path / "g.graphml")
    assert not (tmp_path / "g.graphml").exists()
    graphs.build_snapshot(engine, deliberation_id=d)
    assert _exported(engine, d, out) == 1  # every judgement from or to B is left out

    moderation.unhide_value(engine, deliberation_id=d, value_id=B, reason="Fine", actor=WHO)
    with pytest.raises(InvalidInput, match="unhide_value at"):
        graphs.export_graph(engine, deliberation_id=d, fmt="mai-json", out=out)
    graphs.build_snapshot(engine, deliberation_id=d)
    assert _exported(engine, d, out) == 5


def test_merges_splits_and_value_rewordings_ask_for_a_new_build_too(engine: Engine, tmp_path: Path) -> None:
    ids = seed_graph(engine)
    d, A, B = ids["d"], ids["A"], ids["B"]
    out = tmp_path / "g.json"
    graphs.build_snapshot(engine, deliberation_id=d)
    moderation.hide_card(engine, deliberation_id=d, card_id=ids["c1"], reason="Asked", actor=WHO)
    _exported(engine, d, out)  # a hidden card changes no graph: the snapshot still holds

    values.merge(engine, deliberation_id=d, keep_id=A, merge_ids=[B], reason="Same", actor=WHO)
    with pytest.raises(InvalidInput, match="merge_values at"):
        graphs.export_graph(engine, deliberation_id=d, fmt="mai-json", out=out)
    graphs.build_snapshot(engine, deliberation_id=d)
    values.split(engine, canonical_id=A, card_ids=[ids["b1"]], reason="Differs", deliberation_id=d)
    with pytest.raises(InvalidInput, match="split_value at"):
        graphs.export_graph(engine, deliberation_id=d, fmt="mai-json", out=out)
    graphs.build_snapshot(engine, deliberation_id=d)

    # Editing a card changes the graph only when its value carried its words (and follows the edit).
    moderation.edit_card(engine, deliberation_id=d, card_id=ids["a1"], reason="Name", actor=WHO, **GOOD_CARD)
    _exported(engine, d, out)
    with session_scope(engine) as s:
        card, value = s.get(ValuesCard, ids["a2"]), s.get(CanonicalValue, A)
        value.title, value.description, value.policies = card.title, card.description, list(card.policies)
    graphs.build_snapshot(engine, deliberation_id=d)
    words = GOOD_CARD | {"title": "Kind Truth Telling"}
    moderation.edit_card(engine, deliberation_id=d, card_id=ids["a2"], reason="Name", actor=WHO, **words)
    with pytest.raises(InvalidInput, match="edit_card at"):
        graphs.export_graph(engine, deliberation_id=d, fmt="mai-json", out=out)
