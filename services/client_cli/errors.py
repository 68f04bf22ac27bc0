"""Turn what can go wrong in a client command into one clear line and an exit status."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import grpc

from services.client_cli.client import Client, NotSignedIn
from services.client_cli.download import DownloadError
from services.client_cli.output import warn

# Exit statuses a script can branch on.
FAILED, NOT_SIGNED_IN, NOT_FOUND, UNREACHABLE = 1, 3, 4, 5


def guarded(action: Callable[[Any, argparse.Namespace], int], args: Any, server: str) -> int:
    """Run `action` with a Client for `server`; report errors without a traceback."""
    client = Client(server)
    try:
        return action(client, args)
    except NotSignedIn:
        warn(f"not signed in to {server}: run `filmstudio login`")
        return NOT_SIGNED_IN
    except grpc.RpcError as error:
        return _report(error, server)
    except DownloadError as error:
        warn(str(error))
        return FAILED
    except OSError as error:  # a script file that is not there, a download target not writable
        warn(f"{error.strerror or error}: {error.filename or ''}".rstrip(": "))
        return FAILED
    except KeyboardInterrupt:
        warn("interrupted (the job, if any, goes on: `filmstudio cancel JOB` stops it)")
        return 130
    finally:
        client.close()


def _report(error: Any, server: str) -> int:
    code, details = error.code(), error.details() or ""
    if code == grpc.StatusCode.UNAUTHENTICATED:
        warn(f"not signed in to {server} or the session ended ({details}): run `filmstudio login`")
        return NOT_SIGNED_IN
    if code == grpc.StatusCode.NOT_FOUND:
        warn(f"not found: {details}")
        return NOT_FOUND
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        warn(f"cannot reach the studio at {server} (is it running? --server sets it): {details}")
        return UNREACHABLE
    warn(f"{code.name.lower().replace('_', ' ')}: {details}")
    return FAILED
