"""Inference engines behind one interface (see `base.Engine`)."""

from personal.engine.base import (
    AdapterRef,
    Completion,
    Engine,
    EngineInfo,
    GenerationParams,
    Message,
    Stream,
    Usage,
)

__all__ = [
    "AdapterRef",
    "Completion",
    "Engine",
    "EngineInfo",
    "GenerationParams",
    "Message",
    "Stream",
    "Usage",
]
