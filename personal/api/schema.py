"""The OpenAI chat-completions shapes this API accepts and returns (pydantic).

Requests are checked here, field by field, so a malformed one is refused with the field's
path before anything runs; what needs the engine (the context size, the tool grammar) is
checked in `handler.prepare`. Unknown fields are ignored, as clients send many
(`user`, `store`, `metadata`, ...). The response models document the API (OpenAPI) and are
what the tests check real responses against; the streaming path writes the same shapes as
plain dicts for speed.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_TOKENS_CAP = 1_000_000  # beyond any context; the engine's own limit is checked later
MAX_MESSAGES = 10_000
NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # OpenAI's rule for function names


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


# --- messages ---------------------------------------------------------------------------------
class TextPart(_In):
    type: Literal["text"] = Field(description="Only text parts are read; this model has no eyes.")
    text: str


Content = str | list[TextPart]


class SystemMessage(_In):
    role: Literal["system", "developer"]
    content: Content
    name: str | None = None


class UserMessage(_In):
    role: Literal["user"]
    content: Content
    name: str | None = None


class FunctionCall(_In):
    name: str = Field(min_length=1, max_length=64)
    arguments: str = Field(description="The arguments as a JSON object, in a string.")


class ToolCall(_In):
    id: str = Field(min_length=1, max_length=128)
    type: Literal["function"] = "function"
    function: FunctionCall


class AssistantMessage(_In):
    role: Literal["assistant"]
    content: Content | None = None
    tool_calls: list[ToolCall] | None = None
    name: str | None = None

    @model_validator(mode="after")
    def _says_something(self) -> AssistantMessage:
        if self.content is None and not self.tool_calls:
            raise ValueError("an assistant message needs content or tool_calls")
        return self


class ToolMessage(_In):
    role: Literal["tool"]
    content: Content
    tool_call_id: str = Field(min_length=1, max_length=128)


Message = Annotated[
    SystemMessage | UserMessage | AssistantMessage | ToolMessage, Field(discriminator="role")
]


# --- tools ------------------------------------------------------------------------------------
class FunctionDef(_In):
    name: str = Field(pattern=NAME.pattern, description="Letters, digits, _ and -, at most 64.")
    description: str | None = None
    parameters: dict[str, Any] | None = Field(None, description="A JSON Schema for an object.")

    @field_validator("parameters")
    @classmethod
    def _schema(cls, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        if schema is None:
            return None
        from jsonschema import SchemaError
        from jsonschema.validators import validator_for

        try:
            validator_for(schema).check_schema(schema)
        except SchemaError as e:
            raise ValueError(f"parameters is not a JSON Schema: {e.message}") from None
        if schema.get("type", "object") != "object":
            raise ValueError('parameters must describe an object ("type": "object")')
        return schema


class Tool(_In):
    type: Literal["function"]
    function: FunctionDef


class NamedFunction(_In):
    name: str


class NamedToolChoice(_In):
    type: Literal["function"]
    function: NamedFunction


class StreamOptions(_In):
    include_usage: bool = False


# --- the request ------------------------------------------------------------------------------
class ChatCompletionRequest(_In):
    model: str = Field(
        min_length=1,
        max_length=256,
        description='"personal", "personal@REVISION" or the base model\'s name.',
    )
    messages: list[Message] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    max_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS_CAP)
    max_completion_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS_CAP)
    stop: str | list[str] | None = None
    seed: int | None = Field(None, ge=-(2**63), le=2**63 - 1)
    tools: list[Tool] | None = Field(None, max_length=128)
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    n: int | None = Field(None, ge=1, le=1, description="Only one choice is generated.")
    frequency_penalty: float | None = Field(None, ge=-2, le=2, description="Accepted, unused.")
    presence_penalty: float | None = Field(None, ge=-2, le=2, description="Accepted, unused.")

    @field_validator("stop")
    @classmethod
    def _stop(cls, stop: str | list[str] | None) -> str | list[str] | None:
        items = [stop] if isinstance(stop, str) else stop or []
        if len(items) > 4:
            raise ValueError("at most 4 stop sequences")
        if any(not s or len(s) > 256 for s in items):
            raise ValueError("a stop sequence is 1-256 characters")
        return stop

    @model_validator(mode="after")
    def _choice(self) -> ChatCompletionRequest:
        if isinstance(self.tool_choice, NamedToolChoice):
            names = [t.function.name for t in self.tools or []]
            if self.tool_choice.function.name not in names:
                raise ValueError(f"tool_choice names {self.tool_choice.function.name!r}, "
                                 "which is not among tools")  # fmt: skip
        elif self.tool_choice == "required" and not self.tools:
            raise ValueError('tool_choice "required" needs tools')
        return self

    def stops(self) -> tuple[str, ...]:
        return (self.stop,) if isinstance(self.stop, str) else tuple(self.stop or ())


def text_of(content: Content | None) -> str:
    """A message's content as text (text parts joined by newlines, as the log keeps it)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "\n".join(part.text for part in content)


# --- responses --------------------------------------------------------------------------------
class FunctionCallOut(BaseModel):
    name: str
    arguments: str


class ToolCallOut(BaseModel):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCallOut


class ResponseMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str | None
    tool_calls: list[ToolCallOut] | None = None


class Choice(BaseModel):
    index: int
    message: ResponseMessage
    finish_reason: Literal["stop", "length", "tool_calls"]
    logprobs: None = None


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str = Field(description='"personal@REVISION" when an adapter answered, else the base.')
    system_fingerprint: str = Field(description="The base model and revision that answered.")
    choices: list[Choice]
    usage: Usage


class ToolCallDelta(BaseModel):
    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: FunctionCallOut | None = None


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None


class ChunkChoice(BaseModel):
    index: int
    delta: Delta
    finish_reason: Literal["stop", "length", "tool_calls"] | None = None
    logprobs: None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    system_fingerprint: str
    choices: list[ChunkChoice]
    usage: Usage | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "personal"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail
