"""Pydantic models of the wire contract (../shared/CONTRACT.md), one module per service API.

These modules import nothing from the rest of the project, so every service, the gateway
and the tests share one definition of each body.
"""
