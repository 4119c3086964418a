"""The read side: the analytics, chart, audience and listing endpoints, their queries over the rollups, and
the response cache."""
