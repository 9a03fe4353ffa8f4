"""A compressed archive on real servers: recovery replays it, LOAD DATA's files stay private."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import mysql.connector

from drkit import compression
from tests.support.indexing import binlog_dir, following, last_gtid, wait_indexed
from tests.support.sandbox import Sandbox, wait_for
from tests.support.workload import (
    create_shop,
    delayed_status,
    drkit_json,
    fingerprint,
    index,
    latest_destructive,
)


def _load_data(box: Sandbox, source: Path) -> None:
    """LOAD DATA LOCAL logged as a statement: the binlog carries the file's bytes, and the
    binlog tool writes them to a temporary file when it replays the statement."""
    admin = box.state.admin
    conn: Any = mysql.connector.connect(
        host="127.0.0.1",
        port=box.port("primary"),
        user=admin.user,
        password=admin.password,
        autocommit=True,
        allow_local_infile=True,
        allow_local_infile_in_path=str(source.parent),
        use_pure=True,
    )
    try:
        cur = conn.cursor()
        cur.execute("SET SESSION binlog_format = 'STATEMENT'")
        cur.execute(
            f"LOAD DATA LOCAL INFILE '{source}' INTO TABLE shop.audit "
            "FIELDS TERMINATED BY ',' (what)"
        )
    finally:
        conn.close()


def test_archive_recovery_replays_compressed_files_and_load_data(
    box: Sandbox, tmp_path: Path
) -> None:
    with box.config_file.open("a", encoding="utf-8") as config:
        config.write('\n[retention]\ncompress = "zstd"\n')
    create_shop(box)
    wait_for(
        lambda: (
            delayed_status(box)["Gtid_IO_Pos"] == box.value("primary", "SELECT @@gtid_binlog_pos")
        ),
        what="the delayed replica to receive the schema",
    )
    box.sql("delayed", "STOP SLAVE IO_THREAD")
    source = tmp_path / "audit.csv"
    source.write_text("".join(f"loaded line {i}\n" for i in range(500)), encoding="utf-8")
    for i in range(30):
        box.sql("primary", f"INSERT INTO shop.audit (what) VALUES ('before {i}')", app=True)
    box.sql("primary", "FLUSH BINARY LOGS")
    _load_data(box, source)
    box.sql("primary", "UPDATE shop.orders SET total = total + 1 WHERE id <= 20", app=True)
    box.sql("primary", "FLUSH BINARY LOGS")
    for i in range(10):
        box.sql("primary", f"INSERT INTO shop.audit (what) VALUES ('after {i}')", app=True)
    orders = fingerprint(box, "primary", "shop.orders")
    audit = fingerprint(box, "primary", "shop.audit")
    assert box.value("primary", "SELECT COUNT(*) FROM shop.audit WHERE what LIKE 'loaded%'") == 500
    box.sql("primary", "DELETE FROM shop.orders", app=True)
    index(box)

    archive = box.config().index.archive_dir
    packed = sorted(p.name for p in archive.iterdir() if p.name.endswith(".zst"))
    assert len(packed) >= 2, "every file the index read past is compressed"
    assert not any((archive / name.removesuffix(".zst")).exists() for name in packed)

    # History and flashback read row images at the index's offsets inside compressed files.
    _, events = drkit_json(box, "events", "--table", "shop.orders")
    ((update_id, update_file),) = [(e["id"], e["file"]) for e in events if e["rows"]["update"]]
    assert update_file in {name.removesuffix(".zst") for name in packed}
    done, versions = drkit_json(box, "history", "--table", "shop.orders", "--key", "id=7")
    assert done.returncode == 0, done.stderr
    changed = [v for v in versions["versions"] if v["operation"] == "update"]
    assert [(v["before"]["total"], v["after"]["total"]) for v in changed] == [("21.07", "22.07")]
    sql = tmp_path / "reverse.sql"
    done = box.drkit("flashback", str(update_id), "--sql", str(sql), "--yes")
    assert done.returncode == 0, done.stderr
    assert sql.read_text(encoding="utf-8").count("UPDATE") == 20

    box.kill("primary")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    done, report = drkit_json(
        box, "recover", "--before", "latest-destructive", "--yes", env={"TMPDIR": str(scratch)}
    )
    assert done.returncode == 0, done.stderr
    assert report["strategy"] == "archive"
    assert fingerprint(box, "delayed", "shop.orders") == orders
    assert fingerprint(box, "delayed", "shop.audit") == audit
    prev_seq = int(latest_destructive(box)["gtid"].rsplit("-", 1)[1]) - 1
    assert box.value("delayed", "SELECT @@gtid_slave_pos") == f"0-1-{prev_seq}"
    # The LOAD DATA's temporary file went to a private folder in the archive, now gone.
    assert list(scratch.iterdir()) == []
    assert not [p.name for p in archive.iterdir() if p.name.startswith(".drkit-load-")]


def test_the_follower_compresses_closed_files_and_they_hold_the_primarys_bytes(
    box: Sandbox, tmp_path: Path
) -> None:
    with box.config_file.open("a", encoding="utf-8") as config:
        config.write('\n[retention]\ncompress = "zstd"\n')
    create_shop(box)
    archive = box.config().index.archive_dir
    with following(box, tmp_path / "follow.log"):
        for round_ in range(3):
            for i in range(20):
                box.sql("primary", f"INSERT INTO shop.audit (what) VALUES ('r{round_} {i}')")
            box.sql("primary", "FLUSH BINARY LOGS")
        box.sql("primary", "INSERT INTO shop.audit (what) VALUES ('last')")
        wait_indexed(box.config().index.path, {last_gtid(box)})
        logs = [str(row["Log_name"]) for row in box.sql("primary", "SHOW BINARY LOGS")]
        closed = logs[:-1]
        # The compactor runs beside the follower: the closed files get compressed meanwhile.
        wait_for(
            lambda: all((archive / f"{name}.zst").exists() for name in closed),
            timeout=20,
            what="every closed file compressed",
        )
        assert not (archive / f"{logs[-1]}.zst").exists(), "the file being written stays plain"
    source = binlog_dir(box)
    for name in closed:
        assert not (archive / name).exists()
        out = io.BytesIO()
        compression.stream_binlog(archive / f"{name}.zst", out)
        assert out.getvalue() == (source / name).read_bytes(), name
