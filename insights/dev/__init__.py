"""Tools for development, tests and demos, not for production: the local single-node Kafka launcher and
the traffic generator behind `insights generate` and the demo."""
