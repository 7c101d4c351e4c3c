"""The ``news-monitor`` command: parse arguments, call the app, print.

Exit codes: 0 ok; 1 the command ran and found a problem (check errors, no match in
test-rule, a failed send-test); 2 it could not run (bad config, bad arguments,
state locked). ``run --once`` also: 3 a channel could not deliver (a message left
retrying or failed, a channel disabled), 4 every feed failed (docs/operations.md).
141: standard output was closed early (``news-monitor status | head -1``): the
command stops quietly, as a program killed by SIGPIPE would (:func:`main`).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

from monitor import __version__
from monitor.cli.historycmd import add_history_parser
from monitor.cli.messages import config_error_text
from monitor.cli.storecmd import add_store_parser
from monitor.config import MonitorConfig, find_config_path, load, statedir
from monitor.errors import ConfigError, MonitorError
from monitor.logs import setup_logging
from monitor.terminal import PrintableStream

SENDING_COMMANDS = frozenset({"run", "send-test"})
STDOUT_CLOSED = 141  # exit code when stdout's reader left early (_stdout_closed)
EPILOG = """\
config file: --config, else $NEWS_MONITOR_CONFIG, else /etc/news-monitor/monitor.yaml,
else ./config/monitor.yaml.  Start with `news-monitor check`, then `news-monitor run --once`.
state directory: --state-dir, else $NEWS_MONITOR_STATE_DIR, else the config's state_dir
(the systemd unit's is /var/lib/news-monitor).
"""
STATE_DIR_HELP = "the state directory (overrides $NEWS_MONITOR_STATE_DIR and state_dir)"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="news-monitor",
        description="Poll news feeds, match watch rules, deliver alerts and digests.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"news-monitor {__version__}")
    # The common options go before or after the command (`news-monitor --config X check`
    # or `news-monitor check --config X`): the subcommands' copies default to SUPPRESS,
    # so that they do not hide a value given before the command.
    common = argparse.ArgumentParser(add_help=False)
    for options, default in ((parser, None), (common, argparse.SUPPRESS)):
        options.add_argument(
            "--config", "-c", metavar="FILE", default=default, help="the config file (YAML)"
        )
        options.add_argument(
            "--log-level", choices=["debug", "info", "warning", "error"], default=default
        )
        options.add_argument("--state-dir", metavar="DIR", default=default, help=STATE_DIR_HELP)
        options.add_argument(
            "--log-format",
            choices=["text", "json"],
            default="text" if default is None else default,
            help="stderr log format",
        )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", parents=[common], help="run the daemon in the foreground")
    run.add_argument(
        "--once",
        action="store_true",
        help="one pass, then exit (3: a channel did not deliver, 4: all feeds failed)",
    )
    run.add_argument(
        "--retry-now",
        action="store_true",
        help="with --once: try messages waiting for a retry now, before their backoff"
        " or the destination's Retry-After",
    )
    sub.add_parser("check", parents=[common], help="validate config, rules, templates, examples")
    rule = sub.add_parser(
        "test-rule", parents=[common], help="run one query over feeds or documents"
    )
    rule.add_argument("query", help="a rule query, e.g. 'Pompeo AND Pyongyang'")
    rule.add_argument(
        "sources",
        nargs="*",
        metavar="SOURCE",
        default=[],  # not "required" in argparse's error message: none means stdin
        help="feed/article path or URL (default: standard input as one document)",
    )
    rule.add_argument("--json", action="store_true", help="one JSON object per item")
    rule.add_argument("--all", action="store_true", help="also list items that do not match")
    rule.add_argument("--explain", action="store_true", help="show why each item matched or not")
    rule.add_argument(
        "--stem", action="store_true", help="compare words by their stem, as a rule with stem: true"
    )
    fetch = sub.add_parser("fetch", parents=[common], help="fetch one feed, print its items")
    fetch.add_argument("source", metavar="SOURCE", help="feed path or URL")
    fetch.add_argument("--json", action="store_true", help="one JSON object per line")
    preview = sub.add_parser("preview", parents=[common], help="render what would be sent now")
    preview.add_argument("--channel", help="only this channel")
    preview.add_argument(
        "--format",
        choices=["text", "html", "json", "sent"],
        default="text",
        help="text, html or json: the digest's renderings; sent: each channel's own message "
        "(email headers and parts, Slack posts, webhook request) within its bounds",
    )
    send = sub.add_parser("send-test", parents=[common], help="send a test message")
    send.add_argument("channel", metavar="CHANNEL")
    opml = sub.add_parser(
        "import-opml", parents=[common], help="turn an OPML export into a feeds file to include"
    )
    opml.add_argument("opml_file", metavar="FILE", help="an OPML file (reader subscriptions)")
    opml.add_argument("--output", "-o", metavar="YAML", help="write here (default: stdout)")
    add_history_parser(sub, common)
    status = sub.add_parser("status", parents=[common], help="feeds, rules and channels")
    status.add_argument("--json", action="store_true")
    retry = sub.add_parser(
        "retry", parents=[common], help="send a channel's dead letters again (re-enables it)"
    )
    retry.add_argument("channel", metavar="CHANNEL")
    add_store_parser(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``news-monitor`` and ``python -m monitor``."""
    args = build_parser().parse_args(argv)
    _printable_output()
    if args.state_dir:  # the environment carries it to reloads (monitor.config.statedir)
        os.environ[statedir.STATE_DIR_ENV] = args.state_dir
    if args.command == "run":
        # Until the daemon installs its own handlers, SIGTERM means "do not start":
        # nothing is half-written yet (the store migrates in transactions).
        signal.signal(signal.SIGTERM, _stop_before_start)
    setup_logging(args.log_level or "info", args.log_format)
    from monitor.cli import commands

    handler = getattr(commands, "cmd_" + args.command.replace("-", "_"))
    try:
        code = _dispatch(args, handler)
        if sys.stdout is not None:  # a reader that left shows here, not at exit
            sys.stdout.flush()
        return code
    except BrokenPipeError:
        return _stdout_closed()


def _dispatch(args: argparse.Namespace, handler: Any) -> int:
    """Run the subcommand ``handler`` with what it takes; its exit code, or 2 for a
    config it cannot load or a :class:`MonitorError` (one line on stderr)."""
    from monitor.cli import commands

    try:
        if args.command == "import-opml":
            return handler(args)
        if args.command in ("test-rule", "fetch"):
            return asyncio.run(handler(args, _item_config(args)))
        if args.command == "check":
            return handler(args, find_config_path(args.config))
        try:
            config = _load_config(args)
        except ConfigError as exc:  # status and history then read the database alone
            if args.command == "history":
                from monitor.cli.historycmd import cmd_history_without_config

                return cmd_history_without_config(args, find_config_path(args.config), exc)
            if args.command != "status":
                raise
            return commands.cmd_status_without_config(args, find_config_path(args.config), exc)
        if not args.log_level:
            logging.getLogger().setLevel(config.log_level.upper())
        result = handler(args, config)
        return asyncio.run(result) if asyncio.iscoroutine(result) else result
    except ConfigError as exc:
        print(config_error_text(exc, find_config_path(args.config), args.config), file=sys.stderr)
        return 2
    except MonitorError as exc:
        print(f"news-monitor: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _stdout_closed() -> int:
    """Stop quietly when whoever read standard output has gone (``| head -1``).

    As the Python documentation recommends (docs.python.org/3/library/signal.html,
    "Note on SIGPIPE"): point file descriptor 1 at ``os.devnull``, so the interpreter's
    final flush of what is still buffered does not raise BrokenPipeError again (and
    print a traceback) at exit. The exit code is 141, what bash reports for a program
    killed by SIGPIPE (128 + signal 13; bash manual, "Exit Status"), rather than the
    1 of the documentation's example, which this CLI already means "ran and found a
    problem" (no match in ``test-rule``): ``set -o pipefail`` scripts tell them apart.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return STDOUT_CLOSED


def _printable_output() -> None:
    """Pass everything printed to stdout and stderr through ``printable``: commands print
    feed text and servers' words, which must not drive the terminal."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, PrintableStream):
            setattr(sys, name, PrintableStream(stream))


def _stop_before_start(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _load_config(args: argparse.Namespace) -> MonitorConfig:
    # Only commands that send need every secret; the others run in an admin shell
    # beside the unit, whose credentials only the service can read (a warning).
    secrets = "required" if args.command in SENDING_COMMANDS else "optional"
    return statedir.apply(load(find_config_path(args.config), secrets))


def _item_config(args: argparse.Namespace) -> MonitorConfig:
    """The config of ``fetch`` and ``test-rule``, for its limits.

    Found like every command's (``--config``, ``$NEWS_MONITOR_CONFIG``, the default
    paths); when neither is given and no file is at the default paths, the
    documented defaults of :mod:`monitor.config` (these commands need no config).
    """
    path = find_config_path(args.config)
    if not (args.config or os.environ.get("NEWS_MONITOR_CONFIG") or path.exists()):
        return MonitorConfig()
    config = load(path, "optional")
    if not args.log_level:
        logging.getLogger().setLevel(config.log_level.upper())
    return config
