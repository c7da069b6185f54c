"""Settings stored before a rule was added stay readable (issue 10): every participant step works on them,
while the same JSON given as new settings is refused with one clear line."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Engine

from errors import InvalidInput
from services.facilitator import deliberations, settings_json
from services.participant import interviewing, joining, receipts
from services.research import graphs
from storage.db import session_scope
from storage.schemas import DeliberationConfig
from storage.tables import Deliberation

#: Valid before issue 10: a choice question without options (kind defaults to choice), a repeated key, an
#: option of 300 characters, a huge min_wiser; plus a setting a later version may retire.
OLD = {
    "demographics": [
        {"key": "region", "label": "Region"},
        {"key": "region", "label": "Region again", "kind": "text"},
        {"key": "pet", "label": "Pet", "options": ["cat", "o" * 300]},
    ],
    "graph_thresholds": {"min_wiser": 5_000_000, "max_entropy": 1000.0, "retired": True},
    "stories_to_judge": 4,
    "retired_setting": 1,
}


def _stored_the_old_way(engine: Engine, config: dict[str, Any]) -> tuple[int, str, int]:
    """A deliberation whose row holds ``config`` as it was written (no checks), and a joined participant."""
    d = deliberations.create_deliberation(engine, title="Old", questions=["Q?"])
    deliberations.set_status(engine, deliberation_id=d.id, status="open")
    with session_scope(engine) as session:  # a raw write: the row as an older version left it
        row = session.get(Deliberation, d.id)
        assert row is not None
        row.config = config
        session.add(row)
    link = deliberations.open_link(engine, deliberation_id=d.id, base_url="https://studio.example.org")
    token = joining.join(engine, code=link.split("code=")[1]).token
    return d.id, token, d.questions[0].id


def test_a_config_stored_under_the_old_rules_works_for_every_step(engine: Engine) -> None:
    d, token, question_id = _stored_the_old_way(engine, OLD)
    home = joining.home(engine, token=token)
    assert [(q.key, q.kind, q.options) for q in home.demographics] == [
        ("region", "choice", []),  # the first question of a repeated key counts
        ("pet", "choice", ["cat", "o" * 300]),
    ]
    consented = joining.consent(engine, token=token, demographics={"pet": "cat"})
    assert consented.consented_at is not None and consented.demographics == {"pet": "cat"}
    view = interviewing.start_interview(engine, token=token, question_id=question_id)
    assert view.state == "opening" and view.turn_limit == 12
    assert [item.key for item in receipts.survey(engine, token=token)][:1] == ["expressed_care"]  # progress
    settings = deliberations.get_deliberation(engine, deliberation_id=d).settings
    assert settings.graph_thresholds.min_wiser == 5_000_000 and settings.stories_to_judge == 4
    assert graphs.build_snapshot(engine, deliberation_id=d) is not None  # the stored thresholds


@pytest.mark.parametrize(
    ("config", "says"),
    [
        (
            {"demographics": [{"key": "region", "label": "Region"}]},
            "demographics.0: a choice question needs options",
        ),
        (OLD, "min_wiser: .*max_entropy: .*retired: .*demographics.0: .*demographics.2: .*retired_setting"),
        (
            {"demographics": [{"key": "region", "label": x, "kind": "text"} for x in "AB"]},
            "demographics: demographics question keys must be unique",
        ),
        ({"graph_thresholds": {"min_wiser": 5_000_000}}, "min_wiser: should be at most 1,000,000"),
        ({"graph_thresholds": {"max_entropy": 1000.0}}, "max_entropy: should be at most 100"),
        ({"demographics": [{"key": "a", "label": "A", "options": ["o" * 201]}]}, "options have 1 to 200"),
        ({"retired_setting": 1}, "retired_setting: Extra inputs are not permitted"),
    ],
)
def test_the_same_json_as_new_input_is_refused(config: dict[str, Any], says: str) -> None:
    with pytest.raises(InvalidInput, match=says):
        settings_json.parse_config(json.dumps(config))


def test_a_stored_read_is_lenient_and_an_input_read_is_strict() -> None:
    stored = DeliberationConfig.stored({"values_to_vote": "6", "graph_thresholds": {"max_entropy": 1e9}})
    assert stored.values_to_vote == 6 and stored.graph_thresholds.max_entropy == 1e9
    with pytest.raises(ValueError, match="values_to_vote"):
        DeliberationConfig.model_validate({"values_to_vote": "6"})
    with pytest.raises(ValueError, match=r"should be at most 100 \(got inf\)"):
        DeliberationConfig.model_validate({"graph_thresholds": {"max_entropy": float("inf")}})
