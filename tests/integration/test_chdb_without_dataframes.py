"""chDB's package declares pandas and pyarrow (about 250 MB) as requirements, but Insights never needs them:
in a process where importing them fails, the embedded engine migrates, the worker's sink writes and the
read queries answer, exactly. docs/operations.md says how to install chDB without them. (numpy Insights
requires itself, for the API's listener merges; the worker's process does not load it.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

# Run in a fresh interpreter: a finder placed first on sys.meta_path refuses the data-frame packages.
SCRIPT = """
import asyncio, importlib.abc, json, sys
from datetime import UTC, datetime, timedelta

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("pandas", "pyarrow"):
            raise ImportError(f"{name} is not installed here")
        return None

sys.meta_path.insert(0, Refuse())

from api.read import local_day_queries
import msgspec
from api.read.figure_bodies import figure_fields
from insights.migrate import migrate
from insights.store import Store
from schemas.events import Event
from schemas.local_ranges import local_range
from tests.integration.written import write_through_sink

store = Store("chdb://" + sys.argv[1])
migrate(store)
now = datetime.now(UTC)
events = [
    Event(event_id=f"e-{n}", type="play", track_id=7, listener_id=f"fan-{n % 3}",
          occurred_at=now - timedelta(hours=n + 1))
    for n in range(10)
]
write_through_sink(store, events)
chosen = local_range("custom", "UTC", now.date() - timedelta(days=2), now.date())
counted, _, _ = asyncio.run(local_day_queries.figures(store, [7], chosen))
body = msgspec.to_builtins(figure_fields(counted))
loaded = sorted(m for m in ("pandas", "pyarrow") if m in sys.modules)
print(json.dumps({"plays": body["plays"], "listeners": body["listeners"], "loaded": loaded}))
store.close()
"""


def test_the_embedded_engine_serves_insights_without_pandas_or_pyarrow(tmp_path: Path) -> None:
    answer = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "clickhouse")],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert answer.returncode == 0, answer.stderr[-3000:]
    result = json.loads(answer.stdout.strip().splitlines()[-1])
    expected = {"total": 10, "period": 10}, {"total": 3, "unique": 3}
    assert (result["plays"], result["listeners"], result["loaded"]) == (*expected, [])
