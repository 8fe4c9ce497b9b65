"""External data sources, mapping their errors to TransientError / PermanentError."""
