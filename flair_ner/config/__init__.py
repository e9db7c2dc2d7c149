"""Options: every configuration field with its default, check and help (one dataclass per concern)."""
