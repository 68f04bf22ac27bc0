"""The REST bridge (grpc-gateway style); built by the gateway issue."""
