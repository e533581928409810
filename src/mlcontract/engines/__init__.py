"""Stage execute: engines compute the plan's requests (engines.local: Polars + the Cython kernels)."""
