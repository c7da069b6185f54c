"""Model failures in words for whoever reads them (issue 10 item 5): a participant reads one plain sentence
(``ui.components.MODEL_TROUBLE``), never the model's internals, and the detail goes to the log; a
facilitator's page keeps the detail."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from providers.errors import ModelOutputError, ModelUnavailable
from services.facilitator import deliberations, system
from services.participant import interviewing, joining
from settings import load_settings
from tests.app.conftest import shown
from ui import components


@pytest.fixture
def engine(app_env: pytest.MonkeyPatch):
    engine = system.open_database(load_settings())
    yield engine
    engine.dispose()


def _start(engine) -> str:
    d = deliberations.create_deliberation(engine, title="Errors", questions=["What should I do?"])
    deliberations.set_status(engine, deliberation_id=d.id, status="open")
    link = deliberations.create_invites(engine, deliberation_id=d.id, count=1, base_url="http://x")[0]
    token = joining.join(engine, invite=link.invite.code).token
    joining.consent(engine, token=token, demographics={})
    question = joining.home(engine, token=token).questions[0].id
    interviewing.start_interview(engine, token=token, question_id=question)
    return token


def test_a_participant_reads_a_model_failure_in_plain_words(
    make_app: Callable[[], AppTest], engine, app_env: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Whatever the model's error says (a parser's message, a setting to check), the page says the same
    plain sentence, and the log has the detail."""
    token = _start(engine)
    for error in (
        ModelOutputError("Expecting property name enclosed in double quotes: line 1 column 2"),
        ModelUnavailable("Cannot reach the model endpoint at http://10.0.0.1:8000/v1."),
    ):
        at = make_app()
        at.query_params["token"] = token
        at.run()
        at.switch_page("pages/interview.py").run()

        def broken(*args: object, error: Exception = error, **kwargs: object):
            raise error
            yield  # pragma: no cover

        app_env.setattr(interviewing, "reply", broken)
        at.chat_input[0].set_value(f"Try {type(error).__name__}.").run()
        assert not at.exception
        text = shown(at.error[0].value)
        assert text == components.MODEL_TROUBLE
        assert "Expecting" not in text and "LLM_BASE_URL" not in text and "10.0.0.1" not in text
    logged = [r.getMessage() for r in caplog.records if r.name == "ui.components"]
    assert any("Expecting property name" in line for line in logged)  # the detail is in the log
    assert any("10.0.0.1" in line for line in logged)


def test_the_facilitators_model_check_keeps_the_detail(
    console_app: Callable[[str], AppTest], app_env: pytest.MonkeyPatch, closed_port: int
) -> None:
    app_env.setenv("LLM_MODE", "openai")
    app_env.setenv("LLM_BASE_URL", f"http://127.0.0.1:{closed_port}/v1")
    app_env.setenv("LLM_MODEL", "m")
    app_env.setenv("LLM_MAX_RETRIES", "0")
    at = console_app("pages/system.py")  # the model check is the console's (issue 12 item 2)
    next(b for b in at.button if b.label == "Check the model connection").click().run()
    assert not at.exception
    text = shown(at.error[0].value)
    assert text.startswith("The model check failed: ") and "LLM_BASE_URL" in text
    assert components.MODEL_TROUBLE not in text
