"""RecordingCallback and RecordingEmbeddings: one record per call, never breaking the call."""

from __future__ import annotations

import logging
import threading

import pytest
from langchain_core.embeddings import Embeddings
from pydantic import BaseModel

from providers.accounting import LLMCallRecord, RecordingCallback, RecordingEmbeddings
from providers.errors import ModelTimeout
from providers.fakes import ScriptedChatModel, chat_completion_sse, sse_response


def scripted(turns, records):
    return ScriptedChatModel(turns, callbacks=[RecordingCallback(records.append)])


def test_success_with_server_usage(endpoint_model, records):
    model, _ = endpoint_model("fine")
    model.invoke(
        "hi", config={"metadata": {"purpose": "interview", "interview_id": 7, "participant_id": "3"}}
    )
    (record,) = records
    assert record == LLMCallRecord(
        purpose="interview",
        model="test-model",
        tokens_in=10,
        tokens_out=5,
        latency_ms=record.latency_ms,
        error=None,
        streamed=False,
        estimated=False,
        interview_id=7,
        participant_id=3,
        deliberation_id=None,
    )
    assert 0 <= record.latency_ms < 5000


def test_streaming_with_server_usage(endpoint_model, records):
    model, _ = endpoint_model("a streamed reply")
    list(model.stream("hi", config={"metadata": {"purpose": "interview", "deliberation_id": 2}}))
    (record,) = records
    assert record.streamed and not record.estimated
    assert (record.tokens_in, record.tokens_out, record.deliberation_id) == (10, 5, 2)


def test_streaming_without_server_usage_is_estimated(endpoint_model, records):
    no_usage = sse_response(chat_completion_sse(["x" * 40, "y" * 40], usage=None))
    model, _ = endpoint_model(no_usage)
    list(model.stream("p" * 400))
    (record,) = records
    assert record.streamed and record.estimated
    assert (record.tokens_in, record.tokens_out) == (100, 20)


def test_purpose_defaults_to_unspecified(records):
    scripted(["ok"], records).invoke("hi")
    assert records[0].purpose == "unspecified"
    assert records[0].estimated  # the scripted model reports no usage
    assert records[0].model == "scripted"


def test_error_is_recorded_and_still_raised(records):
    model = scripted([ModelTimeout("The model endpoint did not answer in time.")], records)
    with pytest.raises(ModelTimeout):
        model.invoke("hi", config={"metadata": {"purpose": "articulate", "interview_id": 1}})
    (record,) = records
    assert record.error == "ModelTimeout: The model endpoint did not answer in time. Check LLM_TIMEOUT_S."
    assert (record.purpose, record.interview_id, record.tokens_in, record.tokens_out) == (
        "articulate",
        1,
        0,
        0,
    )


def test_the_job_run_in_the_metadata_is_recorded_with_each_call(records):
    class Title(BaseModel):
        title: str

    model = scripted([{"title": "A"}, ModelTimeout("late"), "plain"], records)
    job = {"purpose": "stories", "deliberation_id": 4, "job_run": "pipeline-4"}
    model.with_structured_output(Title).invoke("name it", config={"metadata": job})
    with pytest.raises(ModelTimeout):
        model.invoke("hi", config={"metadata": {**job, "job_run": "x" * 100}})
    model.invoke("hi", config={"metadata": {"purpose": "interview"}})
    assert [(r.job_run, r.deliberation_id, r.error is None) for r in records] == [
        ("pipeline-4", 4, True),
        ("x" * 64, 4, False),  # cut to the column's length; a failed call counts too
        (None, None, True),
    ]


def test_structured_output_counts_tool_arguments(records):
    class Title(BaseModel):
        title: str

    model = scripted([{"title": "x" * 80}], records)
    model.with_structured_output(Title).invoke("name it", config={"metadata": {"purpose": "articulate"}})
    (record,) = records
    assert record.purpose == "articulate"
    assert record.tokens_out >= 20


def test_failing_sink_never_breaks_the_call(caplog):
    def sink(record: LLMCallRecord) -> None:
        raise RuntimeError("database is down")

    model = ScriptedChatModel(["still works", "streams too"], callbacks=[RecordingCallback(sink)])
    with caplog.at_level(logging.ERROR, logger="providers.accounting"):
        assert model.invoke("hi").content == "still works"
        assert "".join(c.content for c in model.stream("hi")) == "streams too"
    assert "sink failed" in caplog.text


def test_concurrent_calls_get_one_record_each(records):
    model = scripted([lambda messages: f"reply to {messages[-1].content}"] * 20, records)
    threads = [
        threading.Thread(
            target=model.invoke, args=(f"q{i}",), kwargs={"config": {"metadata": {"interview_id": i}}}
        )
        for i in range(20)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.interview_id for r in records) == list(range(20))


class ListEmbeddings(Embeddings):
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [[float(len(t))] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        if not text:
            raise ValueError("empty")
        return [float(len(text))]


def test_recording_embeddings(records):
    embeddings = RecordingEmbeddings(ListEmbeddings(), records.append, model="all-MiniLM-L6-v2")
    assert embeddings.embed_documents(["abcd", "efgh"]) == [[4.0], [4.0]]
    assert embeddings.embed_query("abcdefgh") == [8.0]
    with pytest.raises(ValueError):
        embeddings.embed_query("")
    assert [(r.purpose, r.model, r.tokens_in, r.error) for r in records] == [
        ("embedding", "all-MiniLM-L6-v2", 2, None),
        ("embedding", "all-MiniLM-L6-v2", 2, None),
        ("embedding", "all-MiniLM-L6-v2", 0, "ValueError: empty"),
    ]
