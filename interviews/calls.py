"""One structured-output model call with its accounting metadata (``purpose`` plus the caller's ids).

Every LLM job of the core (contexts, stories, the story judge, the transcript grader) sends one prompt
as a single human message and reads one bounded pydantic object back; failures are
:class:`~providers.errors.ModelError` (a reply that breaks the schema is a ``ModelOutputError``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from pydantic import BaseModel, ValidationError

from providers.errors import ModelOutputError, describe_output_error

S = TypeVar("S", bound=BaseModel)


def call_config(purpose: str, metadata: Mapping[str, Any] | None) -> Any:
    """``{"metadata": {...metadata, "purpose": purpose}}``: what providers/accounting.py records.

    >>> call_config("stories", {"deliberation_id": 3})
    {'metadata': {'deliberation_id': 3, 'purpose': 'stories'}}
    """
    return {"metadata": {**(metadata or {}), "purpose": purpose}}


def structured_call(
    model: BaseChatModel,
    schema: type[S],
    prompt: str,
    *,
    purpose: str,
    metadata: Mapping[str, Any] | None = None,
) -> S:
    """``prompt`` in, an instance of ``schema`` out (a dict answer is validated into one)."""
    result = model.with_structured_output(schema).invoke(
        [HumanMessage(prompt)], config=call_config(purpose, metadata)
    )
    if isinstance(result, schema):
        return result
    try:
        return schema.model_validate(result)
    except ValidationError as exc:
        raise ModelOutputError(
            f"The model's answer did not match the {schema.__name__} structure: {describe_output_error(exc)}"
        ) from exc
