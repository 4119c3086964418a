"""The `insights` command: run Insights (up, api, worker, migrate), ask it how it is (status), make
API tokens (token) and send it synthetic traffic (generate). `insights COMMAND --help` tells more."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from insights.dev.generate import add_generate_arguments, run_generate
from insights.dev.kafka_local import KafkaLaunchError
from insights.logs import configure_logging
from insights.settings import Settings, SettingsError
from insights.status import DEFAULT_URL, run_status
from insights.token_commands import add_token_arguments, run_token_command
from pipeline import failpoints
from schemas.tokens import create_token


def installed_version() -> str:
    try:
        return version("insights")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        data_dir=getattr(args, "data_dir", None),
        port=getattr(args, "port", None),
        host=getattr(args, "host", None),
    )


def add_common(parser: argparse.ArgumentParser, *, serves: bool = False) -> None:
    parser.add_argument("--data-dir", help="local state directory (INSIGHTS_DATA_DIR, default ./.insights)")
    if serves:
        parser.add_argument("--port", type=int, help="HTTP port (default 8000)")
        parser.add_argument("--host", help="HTTP address (default 127.0.0.1)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="insights", description=__doc__)
    parser.add_argument("--version", action="version", version=f"insights {installed_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="local Kafka, migrations, worker and API in one process")
    add_common(up, serves=True)
    up.add_argument("--demo", action="store_true", help="fill a fresh install with demo data")
    add_common(commands.add_parser("api", help="the HTTP API alone"), serves=True)
    add_common(commands.add_parser("worker", help="the pipeline worker alone"))
    migrate = commands.add_parser("migrate", help="apply pending ClickHouse migrations")
    add_common(migrate)
    migrate.add_argument("--json", action="store_true", help="print JSON instead of text")
    status = commands.add_parser("status", help="health, consumer lag and freshness of a running API")
    status.add_argument("--url", default=DEFAULT_URL, help=f"the API to ask (default {DEFAULT_URL})")
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")

    kafka = commands.add_parser("kafka", help="Kafka identity").add_subparsers(
        dest="kafka_command", required=True
    )
    reset = kafka.add_parser(
        "accept-reset",
        help="acknowledge that Kafka's log was deliberately reset (or a topic recreated): counting resumes",
    )
    add_common(reset)
    reset.add_argument("--url", default=DEFAULT_URL, help=f"the running API (default {DEFAULT_URL})")
    reset.add_argument("--token", help="an admin token (default: one signed with the data dir's secret)")
    reset.add_argument("--reason", default="acknowledged by an operator", help="recorded with the new epoch")
    reset.add_argument("--json", action="store_true", help="print the API's answer as JSON instead of text")

    generate = commands.add_parser("generate", help="synthetic catalog and traffic, through the API")
    add_common(generate)
    add_generate_arguments(generate)

    token = commands.add_parser("token", help="API tokens").add_subparsers(
        dest="token_command", required=True
    )
    add_token_arguments(token, add_common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = settings_from(args)
        configure_logging(settings.log_level, settings.log_format)
        failpoints.arm(settings.failpoints)
        if args.command == "status":
            return run_status(args.url, args.json)
        return dispatch(args, settings)
    except (SettingsError, KafkaLaunchError, ValueError) as error:
        print(f"insights: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "token":
        return run_token_command(args, settings)
    if args.command == "generate":
        bearer = args.token or create_token(
            settings.existing_secret(), subject="generate", scopes=["admin"], days=1
        )
        summary = sys.stdout if args.json else None
        return run_generate(
            args.url, bearer, args.events, args.tracks, args.rate, args.seed, args.days, summary=summary
        )
    if args.command == "kafka":
        from insights.kafka_identity import request_reset

        bearer = args.token or create_token(
            settings.existing_secret(), subject="kafka-reset", scopes=["admin"], days=1
        )
        return request_reset(args.url, bearer, args.reason, as_json=args.json)
    settings.require_engine()  # every command below opens the store
    from insights.migrate import MigrationError, migrate  # imported here so `token create` stays fast

    if args.command == "migrate":
        from insights import consumer_group
        from insights.store import Store

        store = Store(settings.clickhouse_dsn)
        try:
            applied = migrate(
                store, group_members=consumer_group.counter(settings.kafka_bootstrap, store.embedded)
            )
        except MigrationError as error:
            print(f"insights migrate: {error}", file=sys.stderr)
            return 1
        finally:
            store.close()
        if args.json:
            print(json.dumps({"applied": [m.name for m in applied]}))
        else:
            print(f"applied {len(applied)} migration(s)" if applied else "up to date")
        return 0
    modes = {
        "up": {"api": True, "worker": True, "local_kafka": True},
        "api": {"api": True, "worker": False, "local_kafka": False},
        "worker": {"api": False, "worker": True, "local_kafka": False},
    }
    if modes[args.command]["api"]:
        settings.secret()  # a weak or unreadable key is refused now, not after Kafka and the worker start
    from insights import runner

    try:
        asyncio.run(runner.run(settings, **modes[args.command], demo=getattr(args, "demo", False)))
    except MigrationError as error:  # e.g. one that needs the workers stopped while they run
        print(f"insights {args.command}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
