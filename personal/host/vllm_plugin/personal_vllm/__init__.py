"""personal's code that runs inside the vLLM venv (not the main app's): the CPU LoRA fix
(`lorafix`, a vLLM general plugin), Ray Serve's loopback hook (`ray_loopback`), the Ray
Serve LLM app the host starts (`ray_app`) and the adapter publisher (`publish`)."""
