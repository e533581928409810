"""Sources: opening declared datasets (sources.datasets), model files and HTTP models."""
