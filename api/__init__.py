"""The HTTP adapter (FastAPI): routes, schemas, bearer tokens and problem+json errors over the
application layer (``funding_engine.application``) and the domain; the contract is docs/API.md."""
