"""The sync client: a person's adapter revisions to and from a host (docs/sync.md).

What leaves the device is a revision's public manifest and its canonical (MLX) weights,
as a delta against a revision the host already has — never the log. This package cannot
reach the log, the preferences, the chat or the learning loop (tests/test_layers.py); the
privacy audit that must pass before a push runs in the layers above, which may read them.
"""
