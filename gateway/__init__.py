"""The REST bridge, grpc-gateway style: routes, transcoding, streaming, OpenAPI from descriptors.

Run it beside the gRPC server with `gateway.filmstudio.serve_gateway(settings, backend)` (or
start and stop a `GatewayServer`), or alone with `python -m gateway --backend HOST:PORT`.
"""
