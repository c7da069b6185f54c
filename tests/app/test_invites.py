"""The console's Invites page (AppTest): the open link, per-person links in bulk (a deliberation that is not
open needs "Create them anyway"), the CSV download, withdrawing, cohorts and who started and finished."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from services.facilitator import deliberations, invites, system
from services.participant import joining
from settings import load_settings
from storage import repo_values
from storage.db import session_scope
from tests.app.conftest import CONSOLE_ACCOUNT, by_label, shown, texts

PAGE = "pages/invites.py"
BASE = "https://studio.example.org"


@pytest.fixture
def engine(app_env: pytest.MonkeyPatch):
    engine = system.open_database(load_settings())
    yield engine
    engine.dispose()


def _downloads(at: AppTest) -> list:
    return [e for e in at.get("download_button")]


def test_a_draft_needs_confirming_then_links_come_as_csv(
    console_app: Callable[[str], AppTest], engine
) -> None:
    d = deliberations.create_deliberation(engine, title="Care", questions=["Q?"]).id
    at = console_app(PAGE)
    assert not at.exception and "work once it opens" in texts(at)
    assert at.code[0].value.startswith(f"{BASE}/join?code=")  # the open link
    by_label(at.number_input, "How many links").set_value(3)
    by_label(at.text_input, "Cohort (optional)").input("pilot")
    by_label(at.button, "Create links").click().run()
    assert not at.exception and "Confirm to create them anyway" in shown(at.error[0].value)
    assert invites.list_invites(engine, deliberation_id=d, base_url=BASE) == []
    assert by_label(at.text_input, "Cohort (optional)").value == "pilot"  # kept
    by_label(at.checkbox, "Create them anyway: they work once it opens").check()
    by_label(at.button, "Create links").click().run()
    assert not at.exception and "Created 3 single-use links." in texts(at)
    links = at.code[-1].value.splitlines()
    assert len(links) == 3 and all(link.startswith(f"{BASE}/join?invite=") for link in links)
    downloads = _downloads(at)
    assert downloads, "no download button"
    rows = invites.list_invites(engine, deliberation_id=d, base_url=BASE)
    parsed = list(csv.DictReader(io.StringIO(invites.invites_csv(rows))))
    assert [r["link"] for r in parsed] == links and {r["cohort"] for r in parsed} == {"pilot"}
    assert {r["status"] for r in parsed} == {"unused"}
    with session_scope(engine) as s:
        actions = [(e.action, e.actor) for e in repo_values.list_moderation_events(s, deliberation_id=d)]
    assert ("invites_create", CONSOLE_ACCOUNT) in actions


def test_statuses_cohorts_people_and_withdrawing(console_app: Callable[[str], AppTest], engine) -> None:
    d = deliberations.create_deliberation(engine, title="Care", questions=["Q?"]).id
    deliberations.set_status(engine, deliberation_id=d, status="open")
    made = deliberations.create_invites(engine, deliberation_id=d, count=3, base_url=BASE, cohort="pilot")
    deliberations.create_invites(engine, deliberation_id=d, count=2, base_url=BASE)
    person = joining.join(engine, invite=made[0].invite.code, external_id="PROLIFIC-9")
    joining.consent(engine, token=person.token, demographics={})
    code = deliberations.open_link(engine, deliberation_id=d, base_url=BASE).split("code=")[1]
    joining.join(engine, code=code)  # a visitor who never consents
    at = console_app(PAGE)
    assert not at.exception and "work once it opens" not in texts(at)
    assert not [c for c in at.checkbox if c.label.startswith("Create them anyway")]
    table = at.dataframe[0].value
    assert sorted(table["status"]) == ["started", "unused", "unused", "unused", "unused"]
    assert "PROLIFIC-9" in list(table["panel id"])
    cohorts = at.dataframe[1].value
    pilot = cohorts[cohorts["cohort"] == "pilot"].iloc[0]
    assert (pilot["invites"], pilot["unused"], pilot["started"], pilot["finished"]) == (3, 2, 1, 0)
    people = at.dataframe[2].value
    assert sorted(people["via"]) == ["invite", "open link"]
    assert "2 visited, 1 started (consented), 0 finished." in texts(at)
    assert deliberations.get_deliberation(engine, deliberation_id=d).participant_count == 1

    by_label(at.radio, "Which").set_value("A cohort's unused invites")
    by_label(at.selectbox, "Cohort").set_value("pilot")
    by_label(at.button, "Withdraw").click().run()
    assert not at.exception and "Withdrew 2 invites." in texts(at)
    statuses = {r.code: r.status for r in invites.list_invites(engine, deliberation_id=d, base_url=BASE)}
    assert statuses[made[0].invite.code] == "started"
    assert [statuses[m.invite.code] for m in made[1:]] == ["revoked", "revoked"]
    with pytest.raises(Exception, match="withdrawn"):
        joining.join(engine, invite=made[1].invite.code)

    by_label(at.radio, "Which").set_value("One invite")
    by_label(at.text_input, "Code of the invite (for one invite)").input(made[0].invite.code)
    by_label(at.button, "Withdraw").click().run()
    assert not at.exception and "already used" in shown(at.error[0].value)

    by_label(at.radio, "Which").set_value("Every unused invite")
    by_label(at.button, "Withdraw").click().run()
    assert not at.exception and "Withdrew 2 invites." in texts(at)
    assert "Withdraw" not in [b.label for b in at.button]  # nothing unused is left
