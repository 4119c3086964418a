"""The write side's edge: POST /api/v1/events and /api/v1/catalog, and the one Kafka producer behind them."""
