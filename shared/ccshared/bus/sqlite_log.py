"""An embedded, durable event log on SQLite that processes on one machine share.

Each topic is an append-only sequence (one partition); each consumer group keeps
its committed offset per topic. Within a group, one consumer at a time holds a
renewable lease on a topic and reads it, as one Kafka partition has one owner,
so a second instance of a service stands by instead of double-handling.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Sequence

from .. import private
from .base import BusUnavailable, Message

LEASE_SECONDS = 10.0
_SCHEMA = """
CREATE TABLE IF NOT EXISTS log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    key TEXT,
    value BLOB NOT NULL,
    appended_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS log_topic_seq ON log (topic, seq);
CREATE TABLE IF NOT EXISTS offsets (
    grp TEXT NOT NULL, topic TEXT NOT NULL, next_seq INTEGER NOT NULL,
    PRIMARY KEY (grp, topic)
);
CREATE TABLE IF NOT EXISTS leases (
    grp TEXT NOT NULL, topic TEXT NOT NULL, owner TEXT NOT NULL, expires REAL NOT NULL,
    PRIMARY KEY (grp, topic)
);
"""


def open_db(path: str) -> sqlite3.Connection:
    """A connection in WAL mode that waits for other processes' writes to finish, and
    zeroes what is deleted (secure_delete) so that erased personal data leaves no bytes
    in free pages. A new file is private to its owner (0600 in a 0700 folder)."""
    _create_private(path)
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA secure_delete=ON")
    _switch_to_wal(conn)
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


_CREATING = threading.Lock()


def _create_private(path: str) -> None:
    """A new database file is made 0600 (in a 0700 folder) before SQLite opens it; SQLite
    gives its -wal and -shm files the database file's mode. Under the lock, no other
    thread connects to a file in the instant between its creation and its descriptor's close.
    """
    try:
        private.make_dir(os.path.dirname(os.path.abspath(path)))
        with _CREATING:
            private.create_empty(path)
    except OSError as exc:
        raise sqlite3.OperationalError(f"cannot create {path}: {exc}") from exc


def _switch_to_wal(conn: sqlite3.Connection, deadline_s: float = 30.0) -> None:
    """Switching a new file to WAL needs a moment alone with it, and SQLite answers
    "database is locked" at once, without its busy wait, when another process is
    opening the same file: retry for a bounded time."""
    give_up = time.monotonic() + deadline_s
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > give_up:
                raise
            time.sleep(0.05)


class _Connections:
    """One SQLite connection per thread, created on first use."""

    def __init__(self, path: str):
        self.path = path
        self._local = threading.local()
        self._lock = threading.Lock()
        self._initialised = False

    def get(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = open_db(self.path)
                with self._lock:
                    if not self._initialised:
                        conn.executescript(_SCHEMA)
                        self._initialised = True
            except sqlite3.Error as exc:
                raise BusUnavailable(f"event log {self.path}: {exc}") from exc
            self._local.conn = conn
        return conn


class SqliteBus:
    def __init__(self, path: str):
        self.path = path
        self._connections = _Connections(path)

    def producer(self) -> SqliteProducer:
        return SqliteProducer(self._connections)

    def consumer(self, group: str, topics: Sequence[str]) -> SqliteConsumer:
        return SqliteConsumer(self._connections, group, topics)

    def ensure_topics(self, topics: Sequence[str]) -> None:
        self._connections.get()

    def ping(self) -> None:
        try:
            self._connections.get().execute("SELECT 1").fetchone()
        except sqlite3.Error as exc:
            raise BusUnavailable(str(exc)) from exc


class SqliteProducer:
    def __init__(self, connections: _Connections):
        self._connections = connections

    def publish(self, topic: str, key: str, value: bytes) -> None:
        self.publish_all([(topic, key, value)])

    def publish_all(self, items: Sequence[tuple[str, str, bytes]]) -> None:
        if not items:
            return
        conn = self._connections.get()
        now = time.time()
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "INSERT INTO log (topic, key, value, appended_at) VALUES (?, ?, ?, ?)",
                [(topic, key, value, now) for topic, key, value in items],
            )
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            _rollback(conn)
            raise BusUnavailable(f"event log append failed: {exc}") from exc

    def close(self) -> None:
        pass


class SqliteConsumer:
    def __init__(self, connections: _Connections, group: str, topics: Sequence[str]):
        self._connections = connections
        self.group = group
        self.topics = list(topics)
        self.owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._position: dict[str, int] = {}
        self._held: set[str] = set()

    def poll(self, timeout: float, max_messages: int = 100) -> list[Message]:
        deadline = time.monotonic() + timeout
        while True:
            messages = self._read(max_messages)
            if messages or time.monotonic() >= deadline:
                return messages
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))

    def _read(self, max_messages: int) -> list[Message]:
        conn = self._connections.get()
        found: list[Message] = []
        for topic in self.topics:
            if not self._hold_lease(conn, topic):
                self._position.pop(topic, None)
                self._held.discard(topic)
                continue
            self._held.add(topic)
            start = self._position.get(topic)
            if start is None:
                start = self._committed(conn, topic)
            rows = conn.execute(
                "SELECT seq, key, value, appended_at FROM log WHERE topic = ? AND seq >= ? ORDER BY seq LIMIT ?",
                (topic, start, max_messages - len(found)),
            ).fetchall()
            found.extend(Message(topic, 0, seq, key, bytes(value), at) for seq, key, value, at in rows)
            if rows:
                self._position[topic] = rows[-1][0] + 1
            if len(found) >= max_messages:
                break
        return found

    def _committed(self, conn: sqlite3.Connection, topic: str) -> int:
        row = conn.execute(
            "SELECT next_seq FROM offsets WHERE grp = ? AND topic = ?", (self.group, topic)
        ).fetchone()
        return row[0] if row else 0

    def _hold_lease(self, conn: sqlite3.Connection, topic: str) -> bool:
        now = time.time()
        try:
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute(
                "SELECT owner, expires FROM leases WHERE grp = ? AND topic = ?", (self.group, topic)
            ).fetchone()
            mine = row is None or row[0] == self.owner or row[1] < now
            if mine:
                conn.execute(
                    "INSERT OR REPLACE INTO leases (grp, topic, owner, expires) VALUES (?, ?, ?, ?)",
                    (self.group, topic, self.owner, now + LEASE_SECONDS),
                )
            conn.execute("COMMIT")
            return mine
        except sqlite3.Error as exc:
            _rollback(conn)
            raise BusUnavailable(f"event log lease failed: {exc}") from exc

    def commit(self, messages: Iterable[Message]) -> None:
        latest: dict[str, int] = {}
        for message in messages:
            latest[message.topic] = max(latest.get(message.topic, -1), message.offset)
        if not latest:
            return
        conn = self._connections.get()
        try:
            conn.execute("BEGIN IMMEDIATE")
            for topic, offset in latest.items():
                conn.execute(
                    "INSERT INTO offsets (grp, topic, next_seq) VALUES (?, ?, ?) "
                    "ON CONFLICT (grp, topic) DO UPDATE SET next_seq = MAX(next_seq, excluded.next_seq)",
                    (self.group, topic, offset + 1),
                )
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            _rollback(conn)
            raise BusUnavailable(f"event log commit failed: {exc}") from exc

    def rewind(self, message: Message) -> None:
        self._position[message.topic] = message.offset

    def lag(self) -> dict[tuple[str, int], int]:
        """Messages after the position in each topic whose lease this consumer holds."""
        conn = self._connections.get()
        lags = {}
        try:
            for topic in sorted(self._held):
                start = self._position.get(topic)
                if start is None:
                    start = self._committed(conn, topic)
                (count,) = conn.execute(
                    "SELECT COUNT(*) FROM log WHERE topic = ? AND seq >= ?", (topic, start)
                ).fetchone()
                lags[(topic, 0)] = count
        except sqlite3.Error as exc:
            raise BusUnavailable(f"event log lag: {exc}") from exc
        return lags

    def close(self) -> None:
        conn = self._connections.get()
        try:
            conn.execute("DELETE FROM leases WHERE grp = ? AND owner = ?", (self.group, self.owner))
        except sqlite3.Error:
            pass


def _rollback(conn: sqlite3.Connection) -> None:
    try:
        conn.execute("ROLLBACK")
    except sqlite3.Error:
        pass
