"""The same topology in containers: MySQL 8.4 and MariaDB 11.4 replicate, the delayed one waits."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import mysql.connector
import pytest

from drkit.sandbox.state import load_state


def drkit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "drkit", *args],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


@pytest.mark.parametrize("flavour", ["mysql", "mariadb"])
def test_container_topology_replicates(tmp_path: Path, flavour: str) -> None:
    directory = tmp_path / flavour
    args = ["sandbox", "up", "--docker", "--dir", str(directory), "--delay", "5"]
    if flavour == "mysql":
        args.append("--mysql")
    done = drkit(*args)
    assert done.returncode == 0, done.stderr
    try:
        state = load_state(directory / "sandbox.json")
        assert state is not None

        def connect(node: str) -> mysql.connector.MySQLConnection:
            return mysql.connector.connect(
                host="127.0.0.1",
                port=state.nodes[node].port,
                user="drkit",
                password=state.admin.password,
                autocommit=True,
            )

        conn = connect("primary")
        cur = conn.cursor()
        cur.execute("CREATE DATABASE shop")
        cur.execute("CREATE TABLE shop.t (id INT PRIMARY KEY)")
        cur.execute("INSERT INTO shop.t VALUES (1), (2), (3)")
        conn.close()
        deadline = time.monotonic() + 30
        count = 0
        while time.monotonic() < deadline and count != 3:
            rep = connect("replica").cursor()
            rep.execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA='shop'")
            if rep.fetchone()[0]:
                rep.execute("SELECT COUNT(*) FROM shop.t")
                count = rep.fetchone()[0]
            time.sleep(0.2)
        assert count == 3
        status = drkit("--config", str(directory / "drkit.toml"), "status", "--json")
        assert status.returncode == 0, status.stderr
        nodes = {n["name"]: n for n in json.loads(status.stdout)["nodes"]}
        assert nodes["primary"]["flavour"] == flavour
        assert nodes["delayed"]["replication"]["sql_delay"] == 5
        assert nodes["replica"]["read_only"] is True
    finally:
        drkit("sandbox", "down", "--dir", str(directory), "--purge")
