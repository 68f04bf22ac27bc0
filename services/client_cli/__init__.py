"""The terminal client: `filmstudio login`, `projects`, `generate --watch`, ... over the gRPC API.

It talks to a studio only through the public gRPC contracts (the generated stubs), never through
the studio's own code, so it is as light to start as a standalone command.
"""
