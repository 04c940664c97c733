"""The llama.cpp engine's adapter slots: LoRA files loaded on the live context (the base is
never reloaded), a few kept resident so switching back to one is only an activation
(~50 µs) instead of a load from disk (ms). Mixed into `LlamaEngine` (personal/engine/llama.py),
whose model, context and lock it uses.
"""

from __future__ import annotations

import ctypes
from typing import Any

from personal.engine.base import AdapterRef
from personal.errors import AdapterError


class LoraSlots:
    """Loading, activating, keeping and freeing llama.cpp LoRA adapters."""

    _lib: Any
    _llm: Any
    _lock: Any
    _resident: dict[tuple[str, int, int], Any]
    _active: tuple[str, int, int] | None
    resident_limit: int | None

    @staticmethod
    def _key(ref: AdapterRef) -> tuple[str, int, int]:
        try:
            st = ref.path.stat()
        except OSError:
            raise AdapterError(f"adapter file not found: {ref.path}") from None
        return (str(ref.path.resolve()), st.st_size, st.st_mtime_ns)

    def _load(self, key: tuple[str, int, int], ref: AdapterRef) -> Any:
        handle = self._lib.llama_adapter_lora_init(self._llm._model.model, key[0].encode())
        if not handle:
            raise AdapterError(
                f"llama.cpp rejected the adapter {ref.path.name}",
                hint="it may be corrupt or made for another base model; the previous "
                "adapter stays active",
            )
        return handle

    def _attach(self, ref: AdapterRef) -> None:
        key = self._key(ref)
        handle = self._resident.pop(key, None)
        fresh = handle is None
        if fresh:
            handle = self._load(key, ref)
        try:
            self._activate(handle, ref.scale)
        except AdapterError:
            if fresh:
                self._lib.llama_adapter_lora_free(handle)
            else:
                self._resident[key] = handle
            raise
        self._resident[key] = handle  # most recently used last
        self._active = key
        self._trim()

    def _trim(self) -> None:
        while self.resident_limit is not None and len(self._resident) > self.resident_limit:
            oldest = next(k for k in self._resident if k != self._active)
            self._lib.llama_adapter_lora_free(self._resident.pop(oldest))

    def preload(self, ref: AdapterRef) -> None:
        key = self._key(ref)
        with self._lock:
            if key not in self._resident:
                self._resident[key] = self._load(key, ref)
                self._trim()

    def evict(self, ref: AdapterRef) -> None:
        try:
            key = self._key(ref)
        except AdapterError:  # the file is gone: find it by path
            key = next((k for k in self._resident if k[0] == str(ref.path.resolve())), None)
        with self._lock:
            handle = self._resident.pop(key, None) if key else None
            if handle is None:
                return
            if key == self._active:
                self._activate(None, 0.0)
                self._active = None
                self._live = None
                if self._adapter is not None and self._adapter.path == ref.path:
                    self._adapter = None
            self._lib.llama_adapter_lora_free(handle)

    def _detach(self) -> None:
        self._activate(None, 0.0)
        self._active = None

    def _activate(self, handle: Any, scale: float) -> None:
        lib, ctx = self._lib, self._llm._ctx.ctx
        if handle is None:
            rc = lib.llama_set_adapters_lora(ctx, None, 0, None)
        else:
            adapters = (lib.llama_adapter_lora_p_ctypes * 1)(handle)
            rc = lib.llama_set_adapters_lora(ctx, adapters, 1, (ctypes.c_float * 1)(scale))
        if rc != 0:
            raise AdapterError(f"llama.cpp could not activate the adapter (code {rc})")
        self.reset()  # a cached prefix computed under the old adapter is stale

    @property
    def resident_adapters(self) -> int:
        return len(self._resident)
