"""The Kafka names both sides agree on: the topics ingest writes and the worker reads, and the worker's
consumer group. One home, imported by the API, the pipeline and the tools."""

EVENTS_TOPIC = "insights.events"
DLQ_TOPIC = "insights.events.dlq"
CATALOG_TOPIC = "insights.catalog"
CHANGES_TOPIC = "insights.changes"
CONSUMER_GROUP = "insights-worker"
