"""Quality floors (eval/floors.json): a metric below its floor, or above its ceiling, fails the gate.

`make test` checks the sets marked for it; `make eval-dev` checks the real-news dev set, whose
index takes minutes to build. Usage: python -m eval.floors NAME RESULT.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

FLOORS_FILE = Path(__file__).with_name("floors.json")


def load() -> dict[str, dict[str, Any]]:
    data: dict[str, dict[str, Any]] = json.loads(FLOORS_FILE.read_text(encoding="utf-8"))
    return {name: spec for name, spec in data.items() if not name.startswith("_")}


def failures(summary: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    out = [f"{k}={summary.get(k)} < {v}" for k, v in spec.get("min", {}).items()
           if summary.get(k) is None or summary[k] < v]  # fmt: skip
    out += [f"{k}={summary.get(k)} > {v}" for k, v in spec.get("max", {}).items()
            if summary.get(k) is None or summary[k] > v]  # fmt: skip
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m eval.floors NAME RESULT.json", file=sys.stderr)
        return 2
    name, result_path = argv
    spec = load().get(name)
    if spec is None:
        print(f"error: no floors named {name!r} in {FLOORS_FILE}", file=sys.stderr)
        return 2
    summary = json.loads(Path(result_path).read_text(encoding="utf-8"))["summary"]
    failed = failures(summary, spec)
    shown = {k: summary.get(k) for k in [*spec.get("min", {}), *spec.get("max", {})]}
    print(f"{name}: {json.dumps(shown)}")
    for line in failed:
        print(f"below floor: {name}: {line}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
