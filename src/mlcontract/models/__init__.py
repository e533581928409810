"""Model-side work: loaded models, metrics, quality, robustness, latency and training histories."""
