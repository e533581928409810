"""Stages evaluate and report: computed values → results (report.results) → what users read."""
