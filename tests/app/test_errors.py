"""The pages meet every branch of the error tree (errors.py) as one error box holding the one-line message,
never a traceback (issue 9, item 8); a broken prompt file met for real in an interview is one such box too.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from errors import StudioError
from services.facilitator import deliberations, system
from services.participant import interviewing, joining
from settings import load_settings
from tests.app.conftest import shown
from tests.error_tree import ONE_LINE, branches, broken_prompt, instance


@pytest.mark.parametrize("cls", branches(), ids=lambda c: c.__name__)
def test_each_branch_is_one_error_box(
    console_app: Callable[[str], AppTest], app_env: pytest.MonkeyPatch, cls: type[StudioError]
) -> None:
    def fails(*_: object, **__: object) -> None:
        raise instance(cls)

    app_env.setattr(deliberations, "list_deliberations", fails)
    at = console_app("pages/deliberations.py")
    assert not at.exception
    assert len(at.error) == 1
    message = shown(at.error[0].value)
    assert message.startswith(f"Loading the deliberations failed: {ONE_LINE}") and "\n" not in message
    assert not at.dataframe  # the page stopped at the error


def test_a_broken_prompt_file_in_an_interview(
    make_app: Callable[[], AppTest], app_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    engine = system.open_database(load_settings())
    try:
        d = deliberations.create_deliberation(engine, title="T", questions=["What should I do?"])
        deliberations.set_status(engine, deliberation_id=d.id, status="open")
        code = deliberations.create_invites(engine, deliberation_id=d.id, count=1, base_url="http://x")[0]
        token = joining.join(engine, invite=code.invite.code).token
        joining.consent(engine, token=token, demographics={})
        question = joining.home(engine, token=token).questions[0].id
        interview = interviewing.start_interview(engine, token=token, question_id=question).id
        with broken_prompt(tmp_path / "prompts", "interviewer"):
            at = make_app()
            at.query_params["token"] = token
            at.run()
            at.switch_page("pages/interview.py").run()
            at.chat_input[0].set_value("My story.").run()
        assert not at.exception
        assert len(at.error) == 1
        message = shown(at.error[0].value)
        assert "a prompt file starts with a '---' header block" in message and "\n" not in message
        view = interviewing.get_interview(engine, token=token, interview_id=interview)
        assert view.messages[-1].content == "My story."  # nothing the participant wrote is lost
    finally:
        engine.dispose()
