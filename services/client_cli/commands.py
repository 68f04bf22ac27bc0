"""The client's commands on the `filmstudio` parser, and the clear errors they end with."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Collection
from typing import Any

from services.common.config import Settings

# The top-level commands this module adds; services/cli.py starts them without the studio.
NAMES = (
    "signup",
    "login",
    "logout",
    "projects",
    "project",
    "generate",
    "jobs",
    "cancel",
    "credits",
    "download",
)

Action = Callable[[Any, argparse.Namespace], int]


def register(commands: Any, skip: Collection[str] = ()) -> None:
    """Add the client commands, except those in `skip` (names another module already took)."""
    from services.client_cli import actions

    def add(name: str, help_text: str, action: Action) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = commands.add_parser(name, help=help_text)
        _common(parser, action)
        return parser

    wanted = [name for name in NAMES if name not in skip]
    for name in ("signup", "login"):
        if name in wanted:
            help_text = "create an account and sign in" if name == "signup" else "sign in"
            parser = add(name, help_text, getattr(actions, name))
            parser.add_argument("--email", help="the account's email (asked when left out)")
            parser.add_argument(
                "--password-stdin", action="store_true", help="read the password from stdin"
            )
            if name == "signup":
                parser.add_argument("--first-name", help="your given name")
    if "logout" in wanted:
        add("logout", "sign out and forget the stored tokens", actions.logout)
    if "projects" in wanted:
        _limit(add("projects", "list your projects", actions.projects))
    if "project" in wanted:
        _project(commands, actions)
    if "generate" in wanted:
        _generate(add("generate", "make the film of a project", actions.generate))
    if "jobs" in wanted:
        parser = _limit(add("jobs", "list your jobs", actions.jobs))
        parser.add_argument("--project", help="only this project's jobs")
    if "cancel" in wanted:
        add("cancel", "cancel a job", actions.cancel).add_argument("job", help="jobs/ID or ID")
    if "credits" in wanted:
        parser = _limit(add("credits", "your credit balance", actions.credits))
        parser.add_argument("--history", action="store_true", help="also the latest entries")
    if "download" in wanted:
        parser = add("download", "download a film, its subtitles or thumbnail", actions.fetch)
        parser.add_argument("target", help="projects/ID (its latest film), ID, or jobs/ID")
        parser.add_argument(
            "--what", choices=("mp4", "srt", "vtt", "thumbnail"), default="mp4", help="(mp4)"
        )
        parser.add_argument("--output", "-o", help="a file or directory (default: here)")


def _common(parser: argparse.ArgumentParser, action: Action) -> None:
    parser.add_argument("--server", help="the studio's gRPC HOST:PORT (default: GRPC_HOST:PORT)")
    parser.add_argument("--json", action="store_true", help="JSON on stdout, for scripts")
    parser.set_defaults(handler=_handler(action))


def _limit(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--limit", type=int, default=20, help="at most this many (20)")
    return parser


def _project(commands: Any, actions: Any) -> None:
    project = commands.add_parser("project", help="work on one project")
    verbs = project.add_subparsers(dest="verb", required=True)
    create = verbs.add_parser("create", help="create a project from a script file")
    _common(create, actions.project_create)
    create.add_argument("--script", required=True, help="a Fountain screenplay or prose, UTF-8")
    create.add_argument("--title", help="(default: the file's name)")
    create.add_argument("--style", choices=actions.STYLES, default="cinematic")
    create.add_argument("--duration", type=int, default=60, help="target seconds, 10 to 600 (60)")
    create.add_argument("--aspect-ratio", choices=tuple(actions.ASPECTS), default="16:9")
    create.add_argument("--resolution", choices=tuple(actions.RESOLUTIONS), default="720p")
    create.add_argument(
        "--voice", choices=("male_narrator", "female_narrator"), default="male_narrator"
    )


def _generate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", help="projects/ID or ID")
    parser.add_argument("--watch", action="store_true", help="follow it with a live progress bar")
    parser.add_argument(
        "--render-height", type=int, default=0, help="a smaller picture for drafts, e.g. 180"
    )


def _handler(action: Action) -> Callable[[argparse.Namespace, Settings], int]:
    def run(args: argparse.Namespace, settings: Settings) -> int:
        from services.client_cli.errors import guarded

        return guarded(action, args, args.server or settings.grpc_target)

    return run
