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
    """A conversation or message id matched nothing."""


class AmbiguousId(LogError):
    """An id prefix matched more than one record."""


class ImportFormatError(LogError):
    """An import file is malformed; nothing from it was imported."""

    def __init__(self, path: str, line: int | None, reason: str):
        where = f"{path}:{line}" if line is not None else path
        super().__init__(
            f"{where}: {reason}",
            hint="fix that line (or remove it) and import the file again; "
            "nothing from this file was imported",
        )
        self.path = path
        self.line = line
        self.reason = reason
