"""A throwaway PostgreSQL cluster for tests: initdb + pg_ctl in a temp dir, unix socket only.

The server listens on no TCP address (`listen_addresses = ''`); clients reach it through a
socket in the cluster's own directory, named after a port that was free when it started.
PostgreSQL refuses to run as root, so under root the server runs as the `postgres` system
user (the one the PostgreSQL packages create). Missing binaries raise -- tests that need a
server must fail, never skip, when there is none.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import psycopg
from psycopg import sql

USER = "signalyard"
SERVER_SETTINGS = {
    "listen_addresses": "''",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "20",
    "shared_buffers": "32MB",
}


def find_bindir() -> Path:
    """The directory holding initdb and pg_ctl: $PG_BINDIR, the newest packaged one, pg_config."""
    candidates = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(Path(os.environ["PG_BINDIR"]))
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted(
        (Path(p) for p in versions), key=lambda p: int(p.parent.name), reverse=True
    )
    if shutil.which("pg_config"):
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        if found.returncode == 0:
            candidates.append(Path(found.stdout.strip()))
    for path in candidates:
        if (path / "initdb").is_file() and (path / "pg_ctl").is_file():
            return path
    raise RuntimeError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found in $PG_BINDIR, "
        f"/usr/lib/postgresql/*/bin or `pg_config --bindir` (looked in {candidates}); "
        "install the PostgreSQL server package -- postgres tests do not skip"
    )


def _free_port() -> int:
    """A TCP port nobody listens on right now (it only names the socket file here)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class PostgresCluster:
    """A running throwaway cluster."""

    bindir: Path
    root: Path
    port: int
    run_as: str | None

    @property
    def datadir(self) -> Path:
        """The cluster's data directory."""
        return self.root / "data"

    def conninfo(self, dbname: str = "postgres") -> str:
        """A libpq connection string for the unix socket."""
        return f"host={self.root} port={self.port} user={USER} dbname={dbname}"

    def connect(self, dbname: str = "postgres", **kwargs: object) -> psycopg.Connection:
        """A new psycopg connection (autocommit off unless asked)."""
        return psycopg.connect(self.conninfo(dbname), **kwargs)

    def _run(self, *args: str) -> None:
        """Run a server binary as the cluster's owner; raise with its output on failure."""
        done = subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            user=self.run_as,
            cwd=self.root,
        )
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{args[0]} failed ({done.returncode}): {done.stdout}{done.stderr}{tail}"
            )

    def stop(self) -> None:
        """Stop the server now and delete the cluster."""
        try:
            self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_cluster() -> PostgresCluster:
    """initdb a new cluster in a temp dir and start it; the caller stops it."""
    bindir = find_bindir()
    root = Path(tempfile.mkdtemp(prefix="signalyard-pg-"))
    run_as = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root, ignore_errors=True)
            raise RuntimeError(
                "PostgreSQL refuses to run as root and there is no 'postgres' user to run it as"
            ) from None
        os.chown(root, owner.pw_uid, owner.pw_gid)
        run_as = "postgres"
    cluster = PostgresCluster(bindir=bindir, root=root, port=_free_port(), run_as=run_as)
    try:
        cluster._run(
            "initdb", "-D", str(cluster.datadir), "-U", USER, "--auth=trust",
            "--encoding=UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        options = " ".join(f"-c {key}={value}" for key, value in SERVER_SETTINGS.items())
        options += f" -c unix_socket_directories='{root}' -p {cluster.port}"
        cluster._run(
            "pg_ctl", "-D", str(cluster.datadir), "-l", str(root / "server.log"),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return cluster


def load_bars(
    conn: psycopg.Connection,
    table: str,
    rows: pd.DataFrame,
    timestamp_type: str = "timestamp",
) -> None:
    """Create `table` shaped like int_bars_resampled and COPY `rows` in (NaN as NULL)."""
    schema, _, _ = table.rpartition(".")
    ident = sql.Identifier(*table.split("."))
    if schema:
        conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
    columns = [
        ("symbol", "text"),
        ("timeframe", "text"),
        ("ts", timestamp_type),
        *((name, "double precision") for name in ("open", "high", "low", "close", "volume")),
        ("available_at", timestamp_type),
    ]
    conn.execute(
        sql.SQL("create table {} ({})").format(
            ident,
            sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind))
                for name, kind in columns
            ),
        )
    )
    names = [name for name, _ in columns]
    frame = rows[names].astype(object).where(rows[names].notna(), None)
    with conn.cursor().copy(
        sql.SQL("copy {} ({}) from stdin").format(
            ident, sql.SQL(", ").join(map(sql.Identifier, names))
        )
    ) as copy:
        for record in frame.itertuples(index=False):
            values = [
                value.to_pydatetime() if isinstance(value, pd.Timestamp) else value
                for value in record
            ]
            if timestamp_type == "timestamptz":
                values = [v.replace(tzinfo=UTC) if isinstance(v, datetime) else v for v in values]
            copy.write_row(values)
    conn.commit()
