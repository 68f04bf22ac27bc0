"""A lean HTTP/2 (cleartext) client for unary gRPC calls: the gateway's hot path upstream.

grpcio's client spends 300-400 µs of CPU per call here, most of it in handing each call between
its own threads and the event loop. Unary calls are a small part of HTTP/2: one HEADERS, one
DATA, one answer. This package speaks exactly that on the event loop's own sockets, and leaves
every other kind of call (streams, health) to grpcio.
"""
