"""How the admin domain plugs into the studio: its contract, answered UNIMPLEMENTED for now."""

from __future__ import annotations

from filmstudio.v1 import admin_pb2_grpc

from services.common.registry import Domain, ServiceSpec

DOMAIN = Domain(
    key="admin",
    services=(
        ServiceSpec(
            "admin",
            "filmstudio.v1.AdminService",
            admin_pb2_grpc.AdminServiceServicer,
            admin_pb2_grpc.add_AdminServiceServicer_to_server,
        ),
    ),
)
