"""Administration (scope `admin`): token revocation and acknowledging a deliberate Kafka reset."""
