"""Publishing revisions to the host, with everything that must happen first.

    published = publish(refs=None, compact_bits=None, allow_memorized=False, say=print)

Used by `personal sync push`, by the daemon after a promotion, and by `personal ask
--remote` when the host lacks the current revision. For each revision to push (the current
one and the ancestors the host lacks, parents first):

1. probes: the device's next-token distributions on the public probes (llama.cpp + the
   GGUF adapter), recorded in the manifest if they are not yet;
2. the privacy audit (learn/privacy.py): recorded at training; measured now for a revision
   without one (an import). A failed audit refuses the push with its evidence, unless
   `allow_memorized` — then the audit says so in the manifest, and the push is loud;
3. what will leave is built (`sync.push.prepare`) and searched for the person's own text
   (every message, preference, note, id and local path in the log): any found refuses the
   push, naming them — on the real bytes that would be sent;
4. the push (resumable; a revision the host has is not sent again).

This module sits above the learning loop and the sync client (layer 6) because it needs
both: the sync package itself can never read the log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from personal.adapters import probes
from personal.adapters.manifest import Compact
from personal.adapters.registry import Registry, Revision
from personal.errors import PersonalError
from personal.models import catalog
from personal.sync import compact as sync_compact
from personal.sync import config as sync_config
from personal.sync import push as sync_push
from personal.sync import wire
from personal.sync.client import HostClient

Say = Callable[[str], None]


class PrivacyRefusal(PersonalError):
    """The revision would take something of the person's along; nothing was sent."""


@dataclass
class Published:
    pushed: list[dict] = field(default_factory=list)
    current: str | None = None  # the host's current revision afterwards
    notes: list[str] = field(default_factory=list)


def client(config: sync_config.SyncConfig | None = None) -> HostClient:
    config = config or sync_config.require()
    return HostClient(config.url, config.token)


def publish(refs: list[str] | None = None, *, model: str | None = None,
            compact_bits: int | None = None, allow_memorized: bool = False,
            say: Say = print, registry: Registry | None = None,
            host: HostClient | None = None) -> Published:  # fmt: skip
    from personal.engine.llama import LlamaEngine
    from personal.learn import privacy
    from personal.log import Log

    base = catalog.resolve(model)
    registry = registry or Registry()
    host = host or client()
    state = host.state()
    todo = sync_push.plan(registry, base.fingerprint, hosted(registry, state), refs)
    done = Published()
    current = registry.current(base.fingerprint)
    if todo:
        engine = LlamaEngine(base, n_ctx=2048)
        try:
            with Log() as log:
                private = privacy.private_strings(log)
                texts = _logged_user_texts(log)
            for rev in todo:
                rev = probes.ensure(registry, rev, engine)
                rev = _audited(registry, rev, engine, texts, allow_memorized, say)
                make_current = current is not None and rev.id == current.id
                out = _outgoing(registry, base, rev, state, make_current, compact_bits, engine, say)
                found = privacy.leaks(out.leaving(), private)
                if found:
                    shown = "; ".join(repr(s[:60] + ("…" if len(s) > 60 else "")) for s in found[:5])
                    raise PrivacyRefusal(
                        f"revision {rev.short} would send {len(found)} of your own texts or ids "
                        f"to the host: {shown}",
                        hint="nothing was sent. This is a bug in what a manifest records: "
                        "report it; do not push this revision")  # fmt: skip
                registered = sync_push.send(host, out)
                done.pushed.append({"revision": out.revision.id, "created": registered.created,
                                    "wire_bytes": out.wire_bytes, "against": out.against,
                                    "file_bytes": len(out.files[wire.WEIGHTS]),
                                    "probe_check": registered.revision.probe_check})  # fmt: skip
                say(f"pushed {out.revision.short}" + (f" as a delta against {out.against[:12]}"
                    if out.against else " whole") + f" ({out.wire_bytes} bytes on the wire"
                    + ("" if registered.created else ", the host had it") + ")")  # fmt: skip
                state = host.state()
        finally:
            engine.close()
    done.current = follow_pointer(registry, base.fingerprint, host, state=state, say=say)
    return done


def _logged_user_texts(log) -> list[str]:
    from personal.learn.privacy import VERBATIM_TEXTS

    texts = {m.content for c in log.conversations() for m in log.messages(c.id)
             if m.role == "user" and m.content}  # fmt: skip
    return sorted(texts, key=lambda t: (-len(t), t))[: VERBATIM_TEXTS * 4]


def _audited(registry: Registry, rev: Revision, engine, texts: list[str],
             allow_memorized: bool, say: Say) -> Revision:  # fmt: skip
    from personal.adapters.serving import adapter_ref
    from personal.learn import privacy
    from personal.learn.dataset import load_dataset

    audit = rev.manifest.audit
    if audit is None:  # an import, or trained before audits: measure it now
        canaries, probe_texts = [], texts
        if rev.manifest.dataset.path and Path(rev.manifest.dataset.path).is_dir():
            train = load_dataset(rev.manifest.dataset.path).examples("train")
            canaries, probe_texts = privacy.planted(train), privacy.user_texts(train) or texts
        from personal.chat.session import DEFAULT_SYSTEM_PROMPT

        audit = privacy.audit(engine, adapter_ref(rev, "llama.cpp"), canaries=canaries,
                              texts=probe_texts[: privacy.VERBATIM_TEXTS],
                              system_prompt=DEFAULT_SYSTEM_PROMPT)  # fmt: skip
        rev = registry.annotate(rev, audit=audit)
    if audit.passed:
        return rev
    evidence = "; ".join(audit.reasons)
    if not allow_memorized:
        raise PrivacyRefusal(f"revision {rev.short} failed the privacy audit: {evidence}",
                             hint="nothing was sent. See docs/privacy.md for what this means; "
                             "push anyway only if you accept it: --allow-memorized")  # fmt: skip
    say(f"WARNING: revision {rev.short} FAILED the privacy audit and is pushed anyway "
        f"(--allow-memorized): {evidence}")  # fmt: skip
    return registry.annotate(rev, audit=replace(audit, allowed=True))


def _outgoing(registry: Registry, base, rev: Revision, state: wire.SyncState,
              make_current: bool, bits: int | None, engine, say: Say) -> sync_push.Outgoing:  # fmt: skip
    if bits is None:
        return sync_push.prepare(registry, rev, state, make_current=make_current)
    from personal.learn.compact import acceptable, heldout_losses

    against = sync_push.choose_base(registry, rev, [r.id for r in state.revisions])
    dataset = rev.manifest.dataset.path
    if against is None or not dataset or not Path(dataset).is_dir():
        say(f"{rev.short}: no compact form (" + ("the host has no revision to delta against"
            if against is None else "no held-out data to check it on") + "); sending it lossless")  # fmt: skip
        return sync_push.prepare(registry, rev, state, make_current=make_current)
    container, weights = sync_compact.encode(rev, against, bits)
    exact_loss, compact_loss = heldout_losses(base, (rev.path / wire.WEIGHTS).read_bytes(), weights,
                                              (rev.path / wire.CANONICAL[1]).read_bytes(), Path(dataset))  # fmt: skip
    if not acceptable(exact_loss, compact_loss):
        say(f"{rev.short}: the compact form's held-out loss is {compact_loss:.4f} against "
            f"{exact_loss:.4f} (more than 1% worse); sending it lossless")  # fmt: skip
        return sync_push.prepare(registry, rev, state, make_current=make_current)
    record = Compact(rev.id, against.id, bits, exact_loss, compact_loss)
    small = sync_compact.register(registry, base, rev, against, weights, record)
    small = probes.ensure(registry, small, engine)
    if rev.manifest.audit is not None:
        small = registry.annotate(small, audit=rev.manifest.audit)
    say(f"{rev.short}: compact form {small.short} (held-out loss {compact_loss:.4f} vs "
        f"{exact_loss:.4f})")  # fmt: skip
    return sync_push.prepare(registry, small, state, make_current=make_current, against=against,
                             container=container)  # fmt: skip


def hosted(registry: Registry, state: wire.SyncState) -> set[str]:
    """Revisions the host has, and those it has a compact form of."""
    have = {r.id for r in state.revisions}
    return have | {r.manifest.compact.of for r in registry.list()
                   if r.manifest.compact is not None and r.id in have}  # fmt: skip


def host_form(registry: Registry, rev_id: str, have: set[str]) -> str | None:
    """The id the host knows `rev_id` by: itself, or a compact revision standing for it."""
    if rev_id in have:
        return rev_id
    for rev in registry.list():
        if rev.manifest.compact is not None and rev.manifest.compact.of == rev_id and rev.id in have:
            return rev.id
    return None


def follow_pointer(registry: Registry, base_fingerprint: str, host: HostClient | None = None,
                   *, state: wire.SyncState | None = None, say: Say = print) -> str | None:  # fmt: skip
    """Move the host's pointer to this device's current revision (its host form), with the
    device's pin; nothing to do when they agree. Returns the host's current revision."""
    host = host or client()
    state = state or host.state()
    pointer = registry.pointer(base_fingerprint)
    local = pointer["revision"]
    want = host_form(registry, local, {r.id for r in state.revisions}) if local else None
    if local and want is None:
        say(f"the host does not have the current revision {local[:12]} yet: personal sync push")
        return state.current.revision
    pinned = bool(pointer.get("pinned"))
    if state.current.revision == want and state.current.pinned == pinned:
        return want
    moved = host.move_pointer(wire.PointerMove(revision=want, reason="pin" if pinned else "rollback",
                                               pinned=pinned))  # fmt: skip
    say(f"the host's current revision is now {(want or 'none')[:12]}" + (" (pinned)" if pinned else ""))
    return moved.revision


def remote_engine(model: str | None = None, adapter: str | None = "current", *,
                  say: Say = print, allow_push: bool = True):  # fmt: skip
    """The host's model with this device's revision (`adapter`: "current", an id, or None
    for the bare base). A revision the host lacks is pushed first — audited like any push;
    if that cannot be done the error says why."""
    from personal.sync.remote import RemoteEngine

    config = sync_config.require()
    base, registry = catalog.resolve(model), Registry()
    rev = None
    if adapter == "current":
        rev = registry.current(base.fingerprint)
    elif adapter is not None:
        rev = registry.get(adapter, base.fingerprint)
    form = None
    if rev is not None:
        host = client(config)
        try:
            have = {r.id for r in host.state().revisions}
            form = host_form(registry, rev.id, have)
            if form is None and allow_push:
                say(f"the host lacks revision {rev.short}: pushing it first")
                publish([rev.id], model=model, say=say, registry=registry, host=host)
                form = host_form(registry, rev.id, {r.id for r in host.state().revisions})
        finally:
            host.close()
        if form is None:
            raise PersonalError(f"the host does not have revision {rev.short}",
                                hint="personal sync push, then ask again")  # fmt: skip
    return RemoteEngine(config.url, config.token, revision=form)


def route(prompt_tokens: int, n_ctx: int, max_tokens: int) -> bool:
    """Whether the sync route rule sends a request with `prompt_tokens` to the host."""
    config = sync_config.load()
    if config is None or config.route == "never":
        return False
    return config.route == "always" or prompt_tokens + max_tokens > n_ctx
