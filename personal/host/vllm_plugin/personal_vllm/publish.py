"""Publish adapter directories to the object store Ray Serve LLM loads them from.

    python -m personal_vllm.publish s3://bucket/prefix NAME=DIR [NAME=DIR ...]

Each DIR's files go to s3://bucket/prefix/NAME/<file>, once: a name is immutable (one
revision's weights for ever), so an object already there is left alone. The endpoint and
credentials come from the environment (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, ...), as for
Ray itself. Prints one JSON line: what was uploaded and what was there already.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from urllib.parse import urlparse


def publish(url: str, items: dict[str, Path]) -> dict[str, list[str]]:
    import boto3
    from botocore.exceptions import ClientError

    parsed = urlparse(url)
    bucket, prefix = parsed.netloc, parsed.path.strip("/")
    s3 = boto3.client("s3")
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        s3.create_bucket(Bucket=bucket)
    done: dict[str, list[str]] = {"uploaded": [], "present": []}
    for name, folder in items.items():
        for path in sorted(p for p in Path(folder).iterdir() if p.is_file()):
            key = f"{prefix}/{name}/{path.name}" if prefix else f"{name}/{path.name}"
            try:
                if s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == path.stat().st_size:
                    done["present"].append(key)
                    continue
            except ClientError:
                pass
            s3.upload_file(str(path), bucket, key)
            done["uploaded"].append(key)
    return done


if __name__ == "__main__":
    pairs = dict(arg.split("=", 1) for arg in sys.argv[2:])
    print(json.dumps(publish(sys.argv[1], {k: Path(v) for k, v in pairs.items()})))
