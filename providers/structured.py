"""One rule for structured output, shared by the real and the fake chat models.

LangChain's ``with_structured_output`` returns ``None`` when the model answers without the tool call
and raises parser-specific exceptions when the call is malformed. Every model in :mod:`providers` wraps
its ``include_raw=True`` chain with :func:`strict_structured_output` instead, so callers see exactly one
outcome per call: the parsed object, or a :class:`~providers.errors.ModelOutputError` carrying the raw
message (for a repair prompt).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from langchain_core.runnables import Runnable, RunnableLambda
from langchain_core.utils.function_calling import convert_to_openai_tool

from providers.errors import ModelOutputError, describe_output_error


def schema_name(schema: Any) -> str:
    """The tool name LangChain gives ``schema`` (a pydantic class's name, a JSON schema's title).

    >>> from pydantic import BaseModel
    >>> class ValuesCard(BaseModel):
    ...     title: str
    >>> schema_name(ValuesCard)
    'ValuesCard'
    """
    try:
        return str(convert_to_openai_tool(schema)["function"]["name"])
    except Exception:  # a schema LangChain cannot convert: fall back to something readable
        return getattr(schema, "__name__", "structured output")


def strict_structured_output(raw_chain: Runnable, schema: Any) -> Runnable:
    """Turn an ``include_raw=True`` structured-output chain into one that returns the parsed value.

    ``raw_chain`` yields ``{"raw": AIMessage, "parsed": ..., "parsing_error": ...}``; the result yields
    ``parsed`` or raises :class:`ModelOutputError` (from the parsing error, if any).
    """
    name = schema_name(schema)
    return raw_chain | RunnableLambda(partial(_parsed_or_raise, name=name), name=f"parse_{name}")


def _parsed_or_raise(result: dict[str, Any], *, name: str) -> Any:
    error = result.get("parsing_error")
    if error is not None:
        err = ModelOutputError(
            f"The model's answer did not match the {name} structure: {describe_output_error(error)}"
        )
        err.raw = result.get("raw")
        raise err from error
    if result.get("parsed") is None:
        err = ModelOutputError(f"The model answered without filling in the {name} structure.")
        err.raw = result.get("raw")
        raise err
    return result["parsed"]
