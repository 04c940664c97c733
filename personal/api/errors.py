"""Errors in the OpenAI shape: `{"error": {"message", "type", "param", "code"}}`.

Every refusal the API makes is an `APIError` with an HTTP status; `body()` is what the
client reads. Clients of OpenAI-compatible servers show `message` to the person, so it says
what was wrong and what to do, like every other `PersonalError`.
"""

from __future__ import annotations

from typing import Any

from personal.errors import PersonalError


class APIError(PersonalError):
    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(self.message, self.type, self.param, self.code)


def error_body(
    message: str, type: str, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def invalid(message: str, param: str | None = None, code: str | None = None) -> APIError:
    return APIError(message, param=param, code=code)


def model_not_found(name: str, known: list[str]) -> APIError:
    shown = ", ".join(known[:8]) + (", ..." if len(known) > 8 else "")
    return APIError(
        f"The model {name!r} does not exist here. Models: {shown} (GET /v1/models lists them).",
        status=404, param="model", code="model_not_found",
    )  # fmt: skip


def queue_full(retry_after: int, waiting: int) -> APIError:
    return APIError(
        f"The model is busy: {waiting} requests are already waiting. Retry in {retry_after} s.",
        status=429, type="rate_limit_error", code="rate_limit_exceeded",
        headers={"Retry-After": str(retry_after)},
    )  # fmt: skip


def unauthorized() -> APIError:
    return APIError(
        "Missing or wrong API key: send the server's token as 'Authorization: Bearer TOKEN'.",
        status=401, code="invalid_api_key",
    )  # fmt: skip


def server_error(message: str) -> APIError:
    return APIError(message, status=500, type="server_error")


def from_validation(errors: list[dict[str, Any]]) -> APIError:
    """One OpenAI-shaped error from pydantic/FastAPI validation errors: the most specific
    problem, with its location as `param` ("messages.1.content"), the rest counted."""
    if not errors:
        return invalid("The request is not valid.")
    if errors[0].get("type") == "json_invalid":
        detail = (errors[0].get("ctx") or {}).get("error", "")
        return invalid(f"The body is not valid JSON ({detail}).".replace(" ()", ""),
                       code="invalid_json")  # fmt: skip
    located = [(_param(e.get("loc", ())), e) for e in errors]
    param, first = max(located, key=lambda pe: len(pe[0] or ""))  # the deepest problem
    same = [e for p, e in located if p == param]
    message = "; or ".join(dict.fromkeys(_message(e) for e in same))
    others = len({p for p, _ in located}) - 1
    more = f" (and {others} more problems)" if others > 0 else ""
    where = f"{param}: " if param else ""
    return invalid(f"Invalid request: {where}{message}{more}.", param=param)


def _message(error: dict[str, Any]) -> str:
    return (
        "a required field is missing" if error.get("type") == "missing" else str(error.get("msg"))
    )


def _param(loc: Any) -> str | None:
    """A location without pydantic's union steps: `("body", "messages", 0, "user",
    "content", "list[TextPart]", 0, "type")` -> "messages.0.content.0.type"."""
    parts: list[str] = []
    for step in loc:
        step = str(step)
        if step == "body" and not parts:
            continue
        if "[" in step or step[:1].isupper() or step in ("str", "int", "float", "bool"):
            continue  # a union branch (str, list[TextPart], NamedToolChoice, ...)
        if len(parts) == 2 and parts[0] == "messages" and step in _ROLES:
            continue  # the discriminator's tag
        parts.append(step)
    return ".".join(parts) or None


_ROLES = {"system", "developer", "user", "assistant", "tool"}
