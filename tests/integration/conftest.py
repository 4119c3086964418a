"""Fixtures of the integration tests that need a broker of their own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from insights.kafka_local import LocalKafka


@pytest.fixture
def kafka(tmp_path: Path) -> Iterator[LocalKafka]:
    """A fresh single-node Kafka for one test (3 partitions by default), stopped after it."""
    broker = LocalKafka(tmp_path / "kafka", partitions=3)
    broker.start()
    yield broker
    broker.stop()
