"""Embedded document store on SQLite: one table per collection, JSON documents.

Filters are translated to SQL over json_extract(); indexes are expression
indexes on the same expressions, so an indexed range query is a range scan.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ..bus.sqlite_log import open_db
from .base import BadFilter, Document, DuplicateKey, Filter, Sort, StoreError, StoreUnavailable

_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _regexp(pattern: str, value: Any) -> bool:
    return isinstance(value, str) and re.search(pattern, value) is not None


class SqliteStore:
    def __init__(self, path: str):
        self.path = path
        self._local = threading.local()

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = open_db(self.path)
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"store {self.path}: {exc}") from exc
            conn.create_function("regexp", 2, _regexp, deterministic=True)
            self._local.conn = conn
        return conn

    def collection(self, name: str) -> SqliteCollection:
        if not _NAME.match(name):
            raise ValueError(f"bad collection name {name!r}")
        return SqliteCollection(self, name)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One transaction for this thread's writes in the block (nested blocks join it).

        Saves a commit per write: the consumer loops handle a whole batch of events in
        one. BEGIN IMMEDIATE takes the write lock at once, so the block cannot fail
        half-way for want of it; other connections wait (busy_timeout) meanwhile.
        """
        conn = self._conn()
        if conn.in_transaction:
            yield
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"store {self.path}: {exc}") from exc
        try:
            yield
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StoreUnavailable(f"store {self.path}: {exc}") from exc

    def ping(self) -> None:
        try:
            self._conn().execute("SELECT 1").fetchone()
        except sqlite3.Error as exc:
            raise StoreUnavailable(str(exc)) from exc

    def scrub(self) -> None:
        """Checkpoint the WAL into the database and truncate it. With secure_delete on
        (ccshared.bus.sqlite_log.open_db), freed space in the database is zeroed as it is
        freed, but the WAL keeps old page images until a checkpoint overwrites it."""
        try:
            busy, _, _ = self._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"store {self.path}: {exc}") from exc
        if busy:
            raise StoreUnavailable(f"store {self.path}: a reader kept the WAL from being checkpointed")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


class SqliteCollection:
    def __init__(self, store: SqliteStore, name: str):
        self.store = store
        self.name = name
        self.table = f'"c_{name}"'
        self._run(f"CREATE TABLE IF NOT EXISTS {self.table} (id TEXT PRIMARY KEY, doc TEXT NOT NULL)")

    def _run(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        try:
            return self.store._conn().execute(sql, params)
        except sqlite3.IntegrityError as exc:
            raise DuplicateKey(f"{self.name}: {exc}") from exc
        except sqlite3.OperationalError as exc:
            raise StoreUnavailable(f"{self.name}: {exc}") from exc
        except sqlite3.Error as exc:
            raise StoreError(f"{self.name}: {exc}") from exc

    def insert(self, doc: Document) -> None:
        self._run(f"INSERT INTO {self.table} (id, doc) VALUES (?, ?)", (doc["_id"], _dump(doc)))

    def get(self, doc_id: str) -> Document | None:
        row = self._run(f"SELECT doc FROM {self.table} WHERE id = ?", (doc_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def find(
        self, filter: Filter | None = None, sort: Sort = (), skip: int = 0, limit: int = 0
    ) -> list[Document]:
        where, params = _where(filter or {})
        order = ", ".join(
            f"{_extract(field)} {'DESC' if direction < 0 else 'ASC'}" for field, direction in sort
        )
        order = f"{order}, id ASC" if order else "id ASC"
        sql = f"SELECT doc FROM {self.table} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?"
        rows = self._run(sql, [*params, limit if limit > 0 else -1, skip]).fetchall()
        return [json.loads(row[0]) for row in rows]

    def count(self, filter: Filter | None = None) -> int:
        where, params = _where(filter or {})
        return self._run(f"SELECT COUNT(*) FROM {self.table} WHERE {where}", params).fetchone()[0]

    def replace(self, doc: Document, expected_version: int | None = None) -> bool:
        if expected_version is None:
            cursor = self._run(f"UPDATE {self.table} SET doc = ? WHERE id = ?", (_dump(doc), doc["_id"]))
        else:
            cursor = self._run(
                f"UPDATE {self.table} SET doc = ? WHERE id = ? AND json_extract(doc, '$._version') = ?",
                (_dump(doc), doc["_id"], expected_version),
            )
        return cursor.rowcount > 0

    def upsert(self, doc: Document) -> None:
        self._run(
            f"INSERT INTO {self.table} (id, doc) VALUES (?, ?) "
            "ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
            (doc["_id"], _dump(doc)),
        )

    def update(self, filter: Filter, set: Document) -> int:
        return self.update_each([(filter, set)])

    def update_each(self, changes: Sequence[tuple[Filter, Document]]) -> int:
        conn = self.store._conn()
        matched = 0
        # Inside a batch (a transaction already open), a savepoint keeps this all-or-nothing.
        begin, commit, rollback = (
            (
                "SAVEPOINT update_each",
                "RELEASE update_each",
                ("ROLLBACK TO update_each", "RELEASE update_each"),
            )
            if conn.in_transaction
            else ("BEGIN IMMEDIATE", "COMMIT", ("ROLLBACK",))
        )
        try:
            conn.execute(begin)
            for filter, set in changes:
                where, params = _where(filter)
                rows = conn.execute(f"SELECT id, doc FROM {self.table} WHERE {where}", params).fetchall()
                for doc_id, raw in rows:
                    doc = json.loads(raw)
                    for path, value in set.items():
                        _set_path(doc, path, value)
                    conn.execute(f"UPDATE {self.table} SET doc = ? WHERE id = ?", (_dump(doc), doc_id))
                matched += len(rows)
            conn.execute(commit)
            return matched
        except sqlite3.Error as exc:
            if conn.in_transaction:
                for statement in rollback:
                    conn.execute(statement)
            if isinstance(exc, sqlite3.IntegrityError):
                raise DuplicateKey(f"{self.name}: {exc}") from exc
            raise StoreUnavailable(f"{self.name}: {exc}") from exc

    def delete(self, filter: Filter) -> int:
        where, params = _where(filter)
        return self._run(f"DELETE FROM {self.table} WHERE {where}", params).rowcount

    def ensure_index(self, fields: Sequence[str], unique: bool = False) -> None:
        for field in fields:
            _check_field(field)
        name = f'"ix_{self.name}_{"_".join(f.replace(".", "_") for f in fields)}"'
        columns = ", ".join(_extract(field) for field in fields)
        kind = "UNIQUE INDEX" if unique else "INDEX"
        self._run(f"CREATE {kind} IF NOT EXISTS {name} ON {self.table} ({columns})")


def _dump(doc: Document) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def _check_field(field: str) -> None:
    if not _FIELD.match(field):
        raise BadFilter(f"bad field name {field!r}")


def _extract(field: str) -> str:
    _check_field(field)
    if field == "_id":
        return "id"
    return f"json_extract(doc, '$.{field}')"


def _param(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if value is None or isinstance(value, (int, float, str)):
        return value
    raise BadFilter(f"unsupported filter value {value!r}")


def _where(filter: Filter) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for key, condition in filter.items():
        if key in ("$or", "$and"):
            parts = [_where(part) for part in condition]
            if not parts:
                clauses.append("1" if key == "$and" else "0")
                continue
            joiner = " OR " if key == "$or" else " AND "
            clauses.append("(" + joiner.join(f"({sql})" for sql, _ in parts) + ")")
            for _, part_params in parts:
                params.extend(part_params)
            continue
        if key.startswith("$"):
            raise BadFilter(f"unsupported top-level operator {key}")
        column = _extract(key)
        conditions = condition if isinstance(condition, dict) else {"$eq": condition}
        for op, value in conditions.items():
            sql, op_params = _condition(key, column, op, value, conditions)
            if sql:
                clauses.append(sql)
                params.extend(op_params)
    return (" AND ".join(clauses) or "1"), params


def _condition(field: str, column: str, op: str, value: Any, all_ops: dict) -> tuple[str, list[Any]]:
    comparisons = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
    if op == "$eq":
        return (f"{column} IS NULL", []) if value is None else (f"{column} = ?", [_param(value)])
    if op == "$ne":
        if value is None:
            return f"{column} IS NOT NULL", []
        return f"({column} IS NULL OR {column} != ?)", [_param(value)]
    if op in comparisons:
        return f"{column} {comparisons[op]} ?", [_param(value)]
    if op in ("$in", "$nin"):
        values = [_param(v) for v in value]
        marks = ", ".join("?" for _ in values)
        if op == "$in":
            return (f"{column} IN ({marks})", values) if values else ("0", [])
        return (f"({column} IS NULL OR {column} NOT IN ({marks}))", values) if values else ("1", [])
    if op == "$exists":
        path = "id" if field == "_id" else f"json_type(doc, '$.{field}')"
        return f"{path} IS {'NOT ' if value else ''}NULL", []
    if op == "$all":
        parts = [f"EXISTS (SELECT 1 FROM json_each(doc, '$.{field}') WHERE value = ?)" for _ in value]
        return ("(" + " AND ".join(parts) + ")" if parts else "1"), [_param(v) for v in value]
    if op == "$regex":
        flags = "(?i)" if "i" in all_ops.get("$options", "") else ""
        return f"regexp(?, {column})", [flags + str(value)]
    if op == "$options":
        return "", []
    raise BadFilter(f"unsupported operator {op} on {field}")


def _set_path(doc: Document, path: str, value: Any) -> None:
    *parents, last = path.split(".")
    target = doc
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = value
