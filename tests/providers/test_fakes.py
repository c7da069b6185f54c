"""ScriptedChatModel (tests' double), DemoChatModel (LLM_MODE=fake) and schema synthesis."""

from __future__ import annotations

import enum
from typing import Literal

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from pydantic import BaseModel, Field

from providers.errors import ModelOutputError, ModelUnavailable
from providers.fakes import DemoChatModel, ScriptedChatModel, ScriptExhausted, cut_short
from providers.schema_fill import demo_instance, fill_schema


class Card(BaseModel):
    title: str = Field(min_length=1, max_length=40)
    tags: list[str] = Field(min_length=1, max_length=3)


class Policy(BaseModel):
    text: str = Field(min_length=20, max_length=60)
    kind: Literal["attend", "notice", "weigh"]
    weight: float = Field(gt=0, le=1)


class ValuesCard(BaseModel):
    """Nested and bounded, like the real card schema."""

    title: str = Field(min_length=3, max_length=8)
    policies: list[Policy] = Field(min_length=2, max_length=4)
    contexts: set[str] = Field(min_length=2, max_length=3)
    primary: Policy
    note: Policy | None = None
    rank: int = Field(ge=3, lt=10)
    meta: dict[str, str] = Field(default_factory=dict)


# --- ScriptedChatModel ------------------------------------------------------------------------------------


def test_scripted_turns_of_every_kind():
    calls = AIMessage("", tool_calls=[{"name": "lookup", "args": {"q": "x"}, "id": "c1"}])
    model = ScriptedChatModel(
        ["plain", calls, lambda messages: f"echo {messages[-1].content}", ModelUnavailable("down")]
    )
    assert model.invoke("a").content == "plain"
    assert model.invoke("b").tool_calls[0]["args"] == {"q": "x"}
    assert model.invoke("c").content == "echo c"
    with pytest.raises(ModelUnavailable):
        model.invoke("d")
    assert [c[-1].content for c in model.calls] == ["a", "b", "c", "d"]
    assert isinstance(model.calls[0][0], HumanMessage)


def test_scripted_streams_in_small_chunks():
    model = ScriptedChatModel(["a reply that is long enough to come in several chunks"])
    chunks = [c.content for c in model.stream("hi")]
    assert len(chunks) > 3
    assert "".join(chunks) == "a reply that is long enough to come in several chunks"


def _reasons(chunks: list) -> list:
    return [r for c in chunks if (r := c.response_metadata.get("finish_reason"))]


def test_scripted_streams_end_with_a_finish_reason_unless_cut_short():
    calls = AIMessage("", tool_calls=[{"name": "lookup", "args": {"q": "x"}, "id": "c1"}])
    model = ScriptedChatModel(["A whole reply.", calls, cut_short("Half a"), cut_short("Long", "length")])
    assert _reasons(list(model.stream("a"))) == ["stop"]
    assert _reasons(list(model.stream("b"))) == ["tool_calls"]
    cut = list(model.stream("c"))
    assert "".join(c.content for c in cut) == "Half a" and _reasons(cut) == []
    assert _reasons(list(model.stream("d"))) == ["length"]
    assert _reasons(list(DemoChatModel().stream("hello"))) == ["stop"]


def test_scripted_bind_tools_still_works():
    model = ScriptedChatModel([{"title": "T", "tags": ["a"]}, "no tools here"])
    bound = model.bind_tools([Card])
    reply = bound.invoke("make one")
    assert reply.tool_calls[0]["name"] == "Card"
    assert reply.tool_calls[0]["args"] == {"title": "T", "tags": ["a"]}
    assert bound.invoke("again").content == "no tools here"
    assert model.remaining == 0


def test_scripted_structured_output_from_dict_message_and_model():
    tool_message = AIMessage(
        "", tool_calls=[{"name": "Card", "args": {"title": "B", "tags": ["b"]}, "id": "1"}]
    )
    model = ScriptedChatModel([{"title": "A", "tags": ["a"]}, tool_message, Card(title="C", tags=["c"])])
    structured = model.with_structured_output(Card)
    assert [structured.invoke("x").title for _ in range(3)] == ["A", "B", "C"]


def test_scripted_structured_output_errors_like_the_real_model():
    model = ScriptedChatModel([{"title": "", "tags": []}, "just text"])
    structured = model.with_structured_output(Card)
    with pytest.raises(ModelOutputError, match="title"):
        structured.invoke("x")
    with pytest.raises(ModelOutputError, match="without filling in"):
        structured.invoke("x")


def test_scripted_structured_output_streams():
    model = ScriptedChatModel([{"title": "S", "tags": ["s"]}])
    assert list(model.with_structured_output(Card).stream("x")) == [Card(title="S", tags=["s"])]


def test_running_out_of_script_is_clear():
    model = ScriptedChatModel(["only one"])
    model.invoke("first")
    with pytest.raises(ScriptExhausted, match="all 1 scripted turns are used"):
        model.invoke("second")


# --- DemoChatModel ----------------------------------------------------------------------------------------


def test_demo_is_labelled():
    model = DemoChatModel()
    assert "demo" in model.model_name
    assert model._llm_type == "demo"
    assert "demo" in model.invoke("hello").content.lower()


def test_demo_asks_one_question_at_a_time_in_a_fixed_rotation():
    model = DemoChatModel()
    history = [HumanMessage("We argued about whether to tell the client about the delay.")]
    questions = []
    for answer in ["I noticed how worried she looked.", "Trust matters.", "More.", "Yes.", "No.", "Done."]:
        reply = model.invoke(history)
        questions.append(reply.content)
        history += [reply, HumanMessage(answer)]
    assert len(set(questions)) == 6
    assert all(q.count("?") >= 1 for q in questions)
    assert questions[1].startswith('You said: "I noticed how worried she looked."')
    assert "pay attention" in questions[1]
    assert model.invoke(history).content.endswith(questions[-1].split('". ', 1)[1])  # the last one repeats
    assert DemoChatModel().invoke(history[:1]).content == questions[0]  # deterministic


def test_demo_streams():
    chunks = [c.content for c in DemoChatModel().stream("hello")]
    assert len(chunks) > 5
    assert "".join(chunks) == DemoChatModel().invoke("hello").content


def test_demo_structured_output_for_a_nested_bounded_schema():
    card = DemoChatModel().with_structured_output(ValuesCard).invoke("write the card")
    assert isinstance(card, ValuesCard)
    assert 2 <= len(card.policies) <= 4 and 2 <= len(card.contexts) <= 3
    assert 3 <= card.rank < 10
    assert 0 < card.primary.weight <= 1
    assert card == ValuesCard.model_validate(card.model_dump())


def test_demo_structured_output_for_many_schemas():
    class Flags(BaseModel):
        ok: bool
        count: int = Field(gt=5, multiple_of=4)
        ratio: float = Field(ge=-3, le=-1)
        tags: list[Literal["a", "b", "c"]] = Field(min_length=3, max_length=3)
        when: str = Field(pattern=r".*", json_schema_extra={"format": "date"})

    flags = DemoChatModel().with_structured_output(Flags).invoke("x")
    assert flags.count == 8 and -3 <= flags.ratio <= -1
    assert flags.tags == ["a", "b", "c"]
    assert flags.when == "2024-01-01"


def test_fill_schema_varies_enum_members_of_sets():
    class Colour(enum.Enum):
        RED = "red"
        BLUE = "blue"

    class Palette(BaseModel):
        colours: set[Colour] = Field(min_length=2)

    assert demo_instance(Palette).colours == {Colour.RED, Colour.BLUE}


def test_fill_schema_resolves_refs():
    schema = ValuesCard.model_json_schema()
    assert "$defs" in schema
    assert ValuesCard.model_validate(fill_schema(schema)).title == "Demo tit"
    assert isinstance(demo_instance(Card), Card)
