"""Report formats: how a RunResult is shown (terminal: the rich table)."""
