"""The statistics the language knows."""
