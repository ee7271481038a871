"""The HTTP routes, one module per part of the contract in docs/API.md."""
