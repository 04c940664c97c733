"""How fast `personal import` reads a large ChatGPT export, and what the hostile-input
checks cost, measured side by side in one run.

A ChatGPT export of the given size is assembled from the real conversations in
tests/data/exports/chatgpt (copied with new ids until the size is reached). Each phase runs
in its own process so its peak memory is its own:

  json.loads        the plain parse (the floor)
  safejson.loads    the parse with caps and the lone-surrogate check (as a document is read)
  read_import       + recognising the format and building the conversations
  import (dry run)  + every insert, in a transaction rolled back
  import            the real thing, into a fresh log

    python benchmarks/import_speed.py [--mb 50]      (Linux: peak memory from /proc)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ["enchanted-twin-conversations-first2.json", "librechat-chatgpt-tree.json",
           "librechat-chatgpt-export-conv2-only.json"]  # fmt: skip


def build(path: Path, megabytes: float) -> int:
    base = []
    for name in SOURCES:
        base += json.loads((ROOT / "tests/data/exports/chatgpt" / name).read_text())
    out, size, n = [], 0, 0
    while size < megabytes * 2**20:
        conv = json.loads(json.dumps(base[n % len(base)]))
        conv["id"] = conv["conversation_id"] = f"bench-{n}"
        conv["create_time"] = 1.7e9 + n
        out.append(conv)
        size += len(json.dumps(conv))
        n += 1
    path.write_text(json.dumps(out))  # ASCII escapes, as ChatGPT writes them
    return n


PHASES = {
    "json.loads": "import json; json.loads(open(p, encoding='utf-8').read())",
    "safejson.loads": "from personal.log.imports.safejson import loads; "
                      "loads(open(p, encoding='utf-8').read(), depth=False)",
    "read_import": "from personal.log.imports.read import read_import; read_import(p)",
    "import (dry run)": "from personal.log import Log; from personal.log.transfer import "
                        "import_file; import_file(Log(d + '/log.db'), p, dry_run=True)",
    "import": "from personal.log import Log; from personal.log.transfer import import_file; "
              "print(import_file(Log(d + '/log.db'), p).messages)",
}  # fmt: skip


def phase(code: str, path: Path) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB, output) of `code` in a fresh process."""
    with tempfile.TemporaryDirectory() as d:
        # VmHWM is this process's own peak (ru_maxrss would carry the parent's over exec)
        script = (f"import sys, time; p, d = {str(path)!r}, {d!r}; t = time.perf_counter()\n"
                  f"{code}\n"
                  "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
                  "print(time.perf_counter() - t, int(hwm.split()[1]) / 1024, file=sys.stderr)")  # fmt: skip
        run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PERSONAL_HOME": d})  # fmt: skip
        if run.returncode:
            raise SystemExit(run.stderr)
        seconds, rss = run.stderr.split()[-2:]
        return float(seconds), float(rss), run.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=50, help="size of the export to build")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "conversations.json"
        t = time.perf_counter()
        n = build(path, args.mb)
        mb = path.stat().st_size / 2**20
        print(f"export: {mb:.1f} MB, {n} conversations (built in {time.perf_counter() - t:.1f} s)")
        floor = None
        for name, code in PHASES.items():
            seconds, rss, out = phase(code, path)
            floor = floor or seconds
            extra = f", {out} messages written" if out else ""
            print(f"{name:<17} {seconds:6.2f} s  {mb / seconds:6.1f} MB/s  "
                  f"{seconds / floor:4.1f}x json.loads  peak {rss:6.0f} MB{extra}")


if __name__ == "__main__":
    main()
