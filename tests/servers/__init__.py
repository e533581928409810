"""Test helpers that serve fixture models over real HTTP (FastAPI + uvicorn, on loopback)."""
