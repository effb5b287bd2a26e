"""The results: a table (path | dukabot | baseline | ratio | target), the notes under it, or JSON."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bench.common import Row, Run


def header(run: Run) -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {len(run.cores.available)} cores, Python {platform.python_version()}",
        "pinning": run.cores.describe(),
        "database": "SQLite (WAL) in a temporary folder" + (", and PostgreSQL" if run.postgres_url else ""),
        "mode": "quick" if run.quick else "full",
        "load": os.getloadavg()[0],
    }


def table(run: Run, rows: Sequence[Row]) -> str:
    meta = header(run)
    lines = [
        f"dukabot bench, {meta['mode']} run, {meta['date']}; {meta['machine']}; {meta['pinning']}; "
        f"{meta['database']}; load average {meta['load']:.1f} at the end",
        "",
        "| path | dukabot | baseline | ratio | target |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        ratio = f"{row.ratio:.2f}×" if row.ratio is not None else "—"
        mark = "" if row.met is None else (" ✓" if row.met else " ✗")
        lines.append(f"| {row.path} | {row.dukabot} | {row.baseline} | {ratio} | {row.target}{mark} |")
    notes = [f"- {row.path}: {note}" for row in rows for note in row.notes]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)


def as_json(run: Run, rows: Sequence[Row]) -> str:
    return json.dumps(
        {
            **header(run),
            "results": [
                {
                    "path": row.path,
                    "dukabot": row.dukabot,
                    "baseline": row.baseline,
                    "ratio": row.ratio,
                    "target": row.target,
                    "met": row.met,
                    "notes": row.notes,
                    "figures": row.figures,
                }
                for row in rows
            ],
        },
        indent=2,
    )
