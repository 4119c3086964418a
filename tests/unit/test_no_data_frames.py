"""The worker's process never loads numpy, pandas or pyarrow (insights/store.py,
`leave_data_frames_out`): clickhouse-connect would import them at its first insert only to ask whether
it was given a data frame, which cost every worker start 0.4 s or more and 77 MiB."""

from __future__ import annotations

import json
import subprocess
import sys

# A fresh interpreter: this one may have loaded them for other tests.
SCRIPT = """
import json, sys
from clickhouse_connect.datatypes.registry import get_from_name
from clickhouse_connect.driver.insert import InsertContext
from clickhouse_connect.driver.transform import NativeTransform
import insights.store
types = [get_from_name(name) for name in ("UInt16", "UInt64", "String")]
names = ("kafka_partition", "generation", "owner")
context = InsertContext("partition_owners", names, types, [[1, 2, "w@2"]])
body = b"".join(NativeTransform.build_insert(context))
loaded = sorted(m for m in ("numpy", "pandas", "pyarrow") if m in sys.modules)
print(json.dumps({"bytes": len(body), "loaded": loaded}))
"""


def test_an_insert_as_the_worker_builds_it_loads_no_data_frame_package() -> None:
    run = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout)
    assert answer["bytes"] > 0 and answer["loaded"] == []
