"""Shared runtime: configuration, logging, database, errors, auth, interceptors, server."""
