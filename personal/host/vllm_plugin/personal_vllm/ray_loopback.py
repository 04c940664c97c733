"""Ray `worker_process_setup_hook` that keeps Ray Serve's per-replica gRPC server on loopback.

Ray 2.60's Serve replica starts an inter-deployment gRPC server on "[::]:0" (all interfaces;
`ray/serve/_private/replica.py`, `_on_initialized`), with no setting to change it. This hook
rewrites wildcard addresses handed to `add_port_to_grpc_server` in that module to 127.0.0.1.
Use together with RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 (node IP = 127.0.0.1), Serve
http_options host 127.0.0.1 and include_dashboard=False.

    runtime_env={"worker_process_setup_hook": "personal_vllm.ray_loopback.setup"}

Raises if the function it wraps is missing, so a Ray upgrade that moves it fails loudly.
"""

from __future__ import annotations

import functools

_WILDCARDS = ("[::]:", "0.0.0.0:", ":")


def _loopback(address: str) -> str:
    for w in _WILDCARDS:
        if address.startswith(w):
            return "127.0.0.1:" + address[len(w):]
    return address


def setup() -> None:
    import ray.serve._private.replica as replica

    orig = getattr(replica, "add_port_to_grpc_server", None)
    if orig is None:
        raise RuntimeError("ray.serve._private.replica.add_port_to_grpc_server is gone: "
                           "re-check how Serve binds its replica gRPC server")
    if getattr(orig, "__personal_loopback__", False):
        return

    @functools.wraps(orig)
    def add_port_to_grpc_server(server, address):
        return orig(server, _loopback(address))

    add_port_to_grpc_server.__personal_loopback__ = True
    replica.add_port_to_grpc_server = add_port_to_grpc_server
