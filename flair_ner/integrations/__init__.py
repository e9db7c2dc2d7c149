"""Optional integrations, imported only when used: ``tracking`` (MLflow)."""
