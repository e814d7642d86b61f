"""Writing a benchmark's results: the run's context, JSON for tools, Markdown for people, the same table on stdout."""

import datetime
import json
import os
import platform
import shlex
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def context() -> dict:
    """When, where and how a result was measured: a number without these cannot be compared."""
    return {
        "date_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "machine": platform.machine(),
        "command": shlex.join(["python", "-m", f"bench.{Path(sys.argv[0]).stem}", *sys.argv[1:]]),
    }


def table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return str(value)


def header(title: str, ctx: dict) -> str:
    load = ", ".join(map(str, ctx["load_average_at_start"]))
    return (
        f"# {title}\n\n{ctx['date_utc']}, {ctx['cores']} cores ({ctx['machine']}), Python {ctx['python']}, "
        f"load average at start {load}.\n\nCommand: `{ctx['command']}`\n"
    )


def write(name: str, data: dict, markdown: str, out_dir: Path = RESULTS) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
    (out_dir / f"{name}.md").write_text(markdown.rstrip() + "\n")
    print(markdown)
    print(f"wrote {out_dir / name}.json and .md", file=sys.stderr)
