"""The verdict on Kafka's identity, alone: the cluster id and each partition's end against what is stored."""

from insights.kafka_identity import Observed, judge, offset_base

EVENTS, CATALOG = "insights.events", "insights.catalog"


def observed(cluster: str = "c1", **ends: int) -> Observed:
    return Observed(cluster, {(EVENTS, int(p[1:])): end for p, end in ends.items()} | {(CATALOG, 0): 5})


def test_the_same_kafka_with_offsets_at_or_past_what_is_stored_is_trusted() -> None:
    assert judge(observed(p0=10, p1=4), (0, "c1"), {(EVENTS, 0): 10, (EVENTS, 1): 2, (CATALOG, 0): 5}) is None


def test_another_cluster_is_refused_with_what_to_do() -> None:
    problem = judge(observed("c2", p0=10), (0, "c1"), {})
    assert problem is not None and "cluster id is c2" in problem and "insights kafka accept-reset" in problem


def test_a_partition_ending_below_the_stored_progress_is_refused() -> None:
    problem = judge(observed(p0=3, p1=4), (0, "c1"), {(EVENTS, 0): 900})
    assert problem is not None and "partition 0 ends at 3, but offset 900 of it is already stored" in problem


def test_a_partition_gone_is_refused() -> None:
    problem = judge(observed(p0=10), (0, "c1"), {(EVENTS, 5): 1})
    assert problem is not None and "insights.events has no partition 5" in problem


def test_each_epoch_orders_after_the_one_before() -> None:
    assert offset_base(0) == 0
    assert offset_base(1) > 2**39 and offset_base(1) + 0 > offset_base(0) + 10**12
