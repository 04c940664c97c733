"""A host: one base model resident, many people's adapter revisions, one OpenAI-compatible
API scoped per tenant (docs/host.md). It never sees a conversation log: revisions arrive
through the sync API (docs/sync.md) as public manifests and weights."""
