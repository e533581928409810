"""Report formats, one module each: `write(result, target, context)` (docs/reports.md)."""
