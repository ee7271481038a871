"""The HTTP adapter (FastAPI): arrives with the API issue, built on funding_engine."""
