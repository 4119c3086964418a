"""The worker's recorded Kafka member id (pipeline/rejoin.py): kept whole, and only an id is read back."""

from __future__ import annotations

from pathlib import Path

from pipeline.rejoin import read_member, record_member


def test_a_recorded_member_id_is_read_back(tmp_path: Path) -> None:
    path = tmp_path / "kafka-member"
    record_member(path, "faust-0.15.3-13543906-0525-428c-be7e-c7d8b861d3a5")
    record_member(path, "faust-0.15.3-0f0e4c1a-1111-4222-8333-944455556666")
    assert read_member(path) == "faust-0.15.3-0f0e4c1a-1111-4222-8333-944455556666"
    assert [p.name for p in tmp_path.iterdir()] == ["kafka-member"]  # nothing staged left behind


def test_no_file_an_empty_one_or_anything_but_an_id_reads_as_none(tmp_path: Path) -> None:
    path = tmp_path / "kafka-member"
    assert read_member(path) is None
    for content in (b"", b"\n", b"\xff\xfe", b"a\x00b", b"x" * 256):
        path.write_bytes(content)
        assert read_member(path) is None, content


def test_a_member_id_that_cannot_be_recorded_is_only_logged(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir" / "kafka-member"
    record_member(missing, "faust-0.15.3-x")  # the next start joins as new
    assert read_member(missing) is None
