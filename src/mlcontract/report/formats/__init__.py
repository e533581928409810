"""Report formats, one module each, each defining FORMAT (report.ReportFormat): found by
report.report_formats(). A module without FORMAT is a helper the formats share."""
