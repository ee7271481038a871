"""The web adapter: server-rendered GOV.UK pages over the same application layer as ``api/``."""
