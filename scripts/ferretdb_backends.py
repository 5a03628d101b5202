"""Compare FerretDB's SQLite and PostgreSQL backends on what the stores rely on, with plain pymongo.

    .venv/bin/python scripts/ferretdb_backends.py [--backend sqlite|postgresql ...] [--threads 8]

For each backend it starts the test harness's FerretDB (tests/infra/ferretdb.py) and checks:

* races: conditional writes from threads released together, without the DocumentLocks shim
  of ccshared.store.ferretdb_shim (STORE_URL=ferretdb://). On MongoDB each of these is
  atomic per document, so every count printed is 0 there:
  - `$inc` by update_one on a non-_id filter: increments lost;
  - compare-and-set, update_one({_id, v: seen}, {$set: {v: seen + 1}}): writes that report a
    match but were overwritten (successes minus the final version);
  - the same compare-and-set with a filter on an indexed non-_id field instead of _id;
  - claims, find_one_and_update({state: "free"}, {$set: {state: "claimed"}}): documents handed
    to more than one thread.
* explain: the plan for an equality filter and for a `$lte` range filter on a date, each on
  an indexed field, and the time of such a query at the given number of documents.

Prints one Markdown table, used in docs/benchmarks.md ("FerretDB backends").
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pymongo import MongoClient, ReturnDocument
from pymongo.database import Database

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.infra.ferretdb import BACKENDS, FerretDB  # noqa: E402


def released_together(threads: int, work: Callable[[int], None]) -> None:
    barrier = threading.Barrier(threads)

    def body(n: int) -> None:
        barrier.wait()
        work(n)

    runners = [threading.Thread(target=body, args=(n,)) for n in range(threads)]
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join()


def lost_increments(db: Database, threads: int, rounds: int) -> tuple[int, int]:
    c = db["race_inc"]
    c.create_index("key")
    c.insert_one({"_id": "counter", "key": "k", "n": 0})
    released_together(
        threads, lambda _: [c.update_one({"key": "k"}, {"$inc": {"n": 1}}) for _ in range(rounds)]
    )
    expected = threads * rounds
    return expected - c.find_one({"_id": "counter"})["n"], expected


def lost_cas_writes(db: Database, threads: int, rounds: int, by: str) -> tuple[int, int]:
    """Each thread reads the version, then writes version + 1 conditional on it, `rounds` times.
    A write that matched was a win; wins beyond the final version overwrote another win."""
    c = db[f"race_cas_{by}"]
    c.create_index("key")
    c.insert_one({"_id": "doc", "key": "k", "v": 0})
    wins = Counter()

    def work(n: int) -> None:
        for _ in range(rounds):
            seen = c.find_one({"_id": "doc"})["v"]
            where = {"_id": "doc", "v": seen} if by == "id" else {"key": "k", "v": seen}
            if c.update_one(where, {"$set": {"v": seen + 1, "by": n}}).matched_count:
                wins[n] += 1

    released_together(threads, work)
    total = sum(wins.values())
    return total - c.find_one({"_id": "doc"})["v"], total


def double_claims(db: Database, threads: int, documents: int) -> tuple[int, int]:
    c = db["race_claim"]
    c.create_index("state")
    c.insert_many([{"_id": f"job{i}", "state": "free"} for i in range(documents)])
    claimed: list[str] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        while True:
            doc = c.find_one_and_update(
                {"state": "free"},
                {"$set": {"state": "claimed", "by": n}},
                return_document=ReturnDocument.AFTER,
            )
            if doc is None:
                return
            with lock:
                claimed.append(doc["_id"])

    released_together(threads, work)
    return len(claimed) - documents, documents


def plans(db: Database, documents: int) -> dict[str, str]:
    c = db["explain"]
    c.create_index("key")
    c.create_index("due")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    batch = [
        {"_id": f"d{i}", "key": f"k{i}", "due": start + timedelta(minutes=i), "pad": "x" * 200}
        for i in range(documents)
    ]
    for offset in range(0, documents, 1000):
        c.insert_many(batch[offset : offset + 1000])
    out: dict[str, str] = {}
    queries = {
        "_id": {"_id": f"d{documents // 2}"},
        "equality": {"key": f"k{documents // 2}"},
        "range": {"due": {"$lte": start + timedelta(minutes=10)}},
    }
    for name, query in queries.items():
        explained = db.command("explain", {"find": c.name, "filter": query}, verbosity="queryPlanner")
        out[f"{name} plan"] = summarise(explained)
        out[f"{name} pushdown"] = str(explained.get("filterPushdown", explained.get("pushdown", "?")))
        runs = 5
        begun = time.perf_counter()
        for _ in range(runs):
            found = list(c.find(query))
        out[f"{name} ms"] = f"{(time.perf_counter() - begun) / runs * 1000:.1f}"
        out[f"{name} found"] = str(len(found))
        out[f"{name} raw"] = json.dumps(explained.get("queryPlanner"), default=str)[:1500]
    return out


def summarise(explained: dict) -> str:
    """The scan kind out of FerretDB's queryPlanner: PostgreSQL's EXPLAIN JSON or SQLite's EXPLAIN QUERY PLAN."""
    text = json.dumps(explained.get("queryPlanner"), default=str)
    found = []
    for marker in (
        "Index Only Scan",
        "Bitmap Index Scan",
        "Index Scan",
        "Seq Scan",
        "USING INDEX",
        "SEARCH",
        "SCAN",
    ):
        if marker in text and not any(marker in f for f in found):
            found.append(marker)
    return ", ".join(found) or text[:200]


def measure(backend: str, threads: int, rounds: int, documents: int) -> dict[str, str]:
    with tempfile.TemporaryDirectory(prefix=f"cc-ferretdb-{backend}-") as workdir:
        server = FerretDB(Path(workdir), backend=backend)
        server.start()
        try:
            with MongoClient(server.url, tz_aware=True) as client:
                db = client["backends"]
                row: dict[str, str] = {}
                lost, of = lost_increments(db, threads, rounds)
                row["$inc lost"] = f"{lost} of {of}"
                lost, of = lost_cas_writes(db, threads, rounds, "id")
                row["CAS on {_id, v}: overwritten wins"] = f"{lost} of {of}"
                lost, of = lost_cas_writes(db, threads, rounds, "key")
                row["CAS on {key, v}: overwritten wins"] = f"{lost} of {of}"
                extra, of = double_claims(db, threads, rounds * 4)
                row["claims beyond one per document"] = f"{extra} of {of}"
                row.update(plans(db, documents))
                return row
        finally:
            server.stop()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", choices=BACKENDS, action="append")
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--rounds", type=int, default=50)
    p.add_argument("--documents", type=int, default=20000)
    p.add_argument("--raw", action="store_true", help="print each plan as FerretDB returned it")
    args = p.parse_args()
    backends = args.backend or list(BACKENDS)
    rows = {backend: measure(backend, args.threads, args.rounds, args.documents) for backend in backends}
    keys = [k for k in rows[backends[0]] if not k.endswith(" raw")]
    print(f"{args.threads} threads; {args.documents:,} documents for explain\n")
    print("| check | " + " | ".join(backends) + " |")
    print("| --- |" + " --- |" * len(backends))
    for key in keys:
        print(f"| {key} | " + " | ".join(rows[b][key] for b in backends) + " |")
    if args.raw:
        for backend in backends:
            for key, value in rows[backend].items():
                if key.endswith(" raw"):
                    print(f"\n{backend} {key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
