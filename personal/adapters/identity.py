"""The identity of a base model, as a revision's manifest records it (see
`manifest.BaseIdentity`): enough for another machine to tell "the same base at another
precision" from "another model"."""

from __future__ import annotations

from personal.adapters.manifest import BaseIdentity
from personal.models.catalog import BaseModel
from personal.models.convert import mlx_dir_for, read_conversion


def base_identity(base: BaseModel) -> BaseIdentity:
    """The base's identity; converts it to float32 once (cached) for the weight digests."""
    record = read_conversion(mlx_dir_for(base.path, base.fingerprint))
    return BaseIdentity(
        name=base.name,
        architecture=base.architecture,
        fingerprint=base.fingerprint,
        source=base.source,
        quantization=base.quantization,
        weights=record.get("weights_sha256"),
        shapes=record.get("shapes_sha256"),
    )
