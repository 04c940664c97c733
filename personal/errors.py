"""User-facing errors.

Every error a person can cause or fix is a `PersonalError`: its message says what went
wrong and its `hint` says what to do. The CLI prints both without a traceback.
"""

from __future__ import annotations


class PersonalError(Exception):
    """Base of every user-facing error."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


# --- models -------------------------------------------------------------------------
class ModelError(PersonalError):
    """A base model cannot be found, read or used."""


class UnknownModel(ModelError):
    pass


class ModelFileMissing(ModelError):
    pass


class ModelCorrupt(ModelError):
    pass


class UnsupportedArchitecture(ModelError):
    pass


# --- engines ------------------------------------------------------------------------
class EngineError(PersonalError):
    """An inference engine failed to load or generate."""


class EngineUnavailable(EngineError):
    """The engine's package is not installed on this machine."""


class AdapterError(EngineError):
    """A LoRA adapter could not be attached."""


# --- conversation log ---------------------------------------------------------------
class LogError(PersonalError):
    """The conversation log cannot be used."""


class DatabaseLocked(LogError):
    pass


class DatabaseCorrupt(LogError):
    pass


class NotFound(LogError):
    """A conversation, message, preference or note id matched nothing."""


class AmbiguousId(LogError):
    """An id prefix matched more than one record."""


class InvalidSignal(LogError):
    """A preference, note or piece of answer feedback that cannot be recorded as given
    (empty text, feedback on a message that is not an answer, ...)."""


class ImportFormatError(LogError):
    """An import file is malformed; nothing from it was imported."""

    def __init__(self, path: str, line: int | None, reason: str, hint: str | None = None):
        where = f"{path}:{line}" if line is not None else path
        super().__init__(
            f"{where}: {reason}",
            hint=(hint or "fix that line (or remove it) and import the file again")
            + "; nothing from this file was imported",
        )
        self.path = path
        self.line = line
        self.reason = reason


# --- tools --------------------------------------------------------------------------
class ToolError(PersonalError):
    """A tool could not run, or failed in a way the person (or the model) can act on."""


class UnknownTool(ToolError):
    pass


class ToolArgumentError(ToolError):
    """A tool's arguments are wrong; `problems` lists every one of them."""

    def __init__(self, tool: str, problems: list[str], hint: str | None = None):
        super().__init__(f"tool '{tool}': " + "; ".join(problems), hint=hint)
        self.tool = tool
        self.problems = problems


class ToolTimeout(ToolError):
    def __init__(self, tool: str, seconds: float):
        super().__init__(
            f"tool '{tool}' did not finish within {seconds:g} s and was stopped",
            hint="try again with a smaller request, or raise its `timeout` in tools.toml",
        )
        self.tool = tool
        self.seconds = seconds


class ToolConfigError(ToolError):
    """A user tool (tools.toml) or a plugin tool is misconfigured; says where and what."""

    def __init__(
        self,
        path: str,
        line: int | None,
        field: str | None,
        reason: str,
        *,
        tool: str | None = None,
        hint: str | None = None,
    ):
        where = f"{path}:{line}" if line is not None else str(path)
        who = f"tool '{tool}': " if tool else ""
        what = f"field '{field}' " if field else ""
        super().__init__(
            f"{where}: {who}{what}{reason}",
            hint=hint
            or "fix that entry and start again (the tools it defines are left out until then)",
        )
        self.path = str(path)
        self.line = line
        self.field = field
        self.reason = reason
        self.tool = tool


# --- adapters and the learning loop -------------------------------------------------
class RegistryError(PersonalError):
    """The adapter registry cannot do what was asked."""


class RevisionNotFound(RegistryError):
    pass


class AmbiguousRevision(RegistryError):
    pass


class ManifestError(RegistryError):
    """A revision's manifest is missing, unreadable or malformed."""


class AdapterFormatError(RegistryError):
    """An adapter file is corrupt, of the wrong kind, or made for another base model."""


class NonFiniteWeights(AdapterFormatError):
    """An adapter's weights hold NaN or infinite values: no engine should load it."""


class NotEnoughData(PersonalError):
    """The log holds too little to learn from; nothing was trained."""


class TrainingError(PersonalError):
    """Training failed or was stopped; the current revision is untouched."""


class TrainingStopped(TrainingError):
    """Training was stopped on request after checkpointing; the same job resumes it."""
