"""One contract, every store adapter: embedded SQLite and a real MongoDB-wire database.

On that database (FerretDB) each case runs twice, through the plain pymongo adapter that
production runs on MongoDB and through the test-engine shim; the racing cases run on the
shim only (why: tests/adapters/conftest.py).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from ccshared import store
from ccshared.store import BadFilter, DuplicateKey
from ccshared.store.ferretdb_shim import FerretDbCollection, FerretDbStore
from ccshared.store.mongo_store import MongoCollection, MongoStore


@pytest.fixture
def centres(doc_store):
    collection = doc_store.collection("centres")
    docs = [
        {
            "_id": "a",
            "name": "Alder",
            "area": "north",
            "n": 1,
            "tags": ["play", "health"],
            "at": "2026-01-01T00:00:00.000000Z",
        },
        {
            "_id": "b",
            "name": "beech",
            "area": "south",
            "n": 2,
            "tags": ["play"],
            "at": "2026-02-01T00:00:00.000000Z",
            "gone": None,
        },
        {
            "_id": "c",
            "name": "Cedar",
            "area": "north",
            "n": 3,
            "tags": [],
            "at": "2026-03-01T00:00:00.000000Z",
            "meta": {"ward": "Anfield"},
        },
    ]
    for doc in docs:
        collection.insert(doc)
    return collection


def ids(docs):
    return [doc["_id"] for doc in docs]


def test_insert_and_get_round_trip(centres):
    assert centres.get("c") == {
        "_id": "c",
        "name": "Cedar",
        "area": "north",
        "n": 3,
        "tags": [],
        "at": "2026-03-01T00:00:00.000000Z",
        "meta": {"ward": "Anfield"},
    }
    assert centres.get("missing") is None


def test_inserting_an_existing_id_is_a_duplicate(centres):
    with pytest.raises(DuplicateKey):
        centres.insert({"_id": "a", "name": "again"})


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"area": "north"}, ["a", "c"]),
        ({"n": {"$gte": 2}}, ["b", "c"]),
        ({"n": {"$gt": 1, "$lt": 3}}, ["b"]),
        ({"area": {"$in": ["south", "east"]}}, ["b"]),
        ({"area": {"$nin": ["north"]}}, ["b"]),
        ({"area": {"$ne": "north"}}, ["b"]),
        ({"at": {"$lt": "2026-02-15T00:00:00.000000Z"}}, ["a", "b"]),
        ({"tags": {"$all": ["play"]}}, ["a", "b"]),
        ({"tags": {"$all": ["play", "health"]}}, ["a"]),
        ({"name": {"$regex": "^b", "$options": "i"}}, ["b"]),
        ({"name": {"$regex": "EDA", "$options": "i"}}, ["c"]),
        ({"meta.ward": "Anfield"}, ["c"]),
        ({"meta": {"$exists": True}}, ["c"]),
        ({"gone": None}, ["a", "b", "c"]),
        ({"$or": [{"n": 1}, {"area": "south"}]}, ["a", "b"]),
        ({"$and": [{"area": "north"}, {"n": {"$gt": 1}}]}, ["c"]),
    ],
)
def test_find_filters_the_same_on_every_adapter(centres, query, expected):
    assert ids(centres.find(query)) == expected
    assert centres.count(query) == len(expected)


def test_sort_skip_and_limit_page_in_a_stable_order(centres):
    assert ids(centres.find({}, sort=[("area", 1), ("n", -1)])) == ["c", "a", "b"]
    assert ids(centres.find({}, sort=[("n", 1)], skip=1, limit=1)) == ["b"]


def test_replace_with_the_read_version_wins_and_a_stale_one_loses(centres):
    doc = centres.get("a") | {"_version": 1}
    centres.replace(doc)

    assert centres.replace(doc | {"name": "Alder 2", "_version": 2}, expected_version=1) is True
    assert centres.replace(doc | {"name": "Stale", "_version": 2}, expected_version=1) is False
    assert centres.get("a")["name"] == "Alder 2"


def test_a_conditional_update_is_claimed_exactly_once(centres):
    claim = {"_id": "a", "n": 1}

    first = centres.update(claim, {"n": 2, "claimed_by": "one"})
    second = centres.update(claim, {"n": 2, "claimed_by": "two"})

    assert (first, second) == (1, 0)
    assert centres.get("a")["claimed_by"] == "one"


def test_update_sets_nested_fields(centres):
    centres.update({"_id": "c"}, {"meta.ward": "Everton"})
    assert centres.get("c")["meta"] == {"ward": "Everton"}


def test_upsert_inserts_then_replaces(doc_store):
    collection = doc_store.collection("read_model")
    collection.upsert({"_id": "x", "v": 1})
    collection.upsert({"_id": "x", "v": 2})
    assert collection.find({}) == [{"_id": "x", "v": 2}]


def test_unique_index_rejects_a_second_document_with_the_same_value(doc_store):
    collection = doc_store.collection("contacts")
    collection.ensure_index(["reference"], unique=True)
    collection.insert({"_id": "1", "reference": "L-1"})
    with pytest.raises(DuplicateKey):
        collection.insert({"_id": "2", "reference": "L-1"})


def test_index_creation_is_idempotent(doc_store):
    collection = doc_store.collection("clocks")
    collection.ensure_index(["next_check_at"])
    collection.ensure_index(["next_check_at"])
    collection.insert({"_id": "1", "next_check_at": "2026-01-01T00:00:00.000000Z"})
    assert collection.count({"next_check_at": {"$lte": "2026-01-02T00:00:00.000000Z"}}) == 1


def test_delete_removes_only_matches(centres):
    assert centres.delete({"area": "north"}) == 2
    assert ids(centres.find({})) == ["b"]


def test_a_delete_by_id_with_a_condition_deletes_only_while_it_holds(centres):
    """Through the FerretDB shim this runs as a lookup by `_id` under the document's lock."""
    assert centres.delete({"_id": "a", "$or": [{"n": {"$gt": 5}}, {"gone": {"$exists": True}}]}) == 0
    assert centres.delete({"_id": "b", "$or": [{"n": {"$gt": 5}}, {"gone": {"$exists": True}}]}) == 1
    assert centres.delete({"_id": "c", "n": 3}) == 1
    assert ids(centres.find({})) == ["a"]


def test_racing_conditional_deletes_have_exactly_one_winner(shim_store):
    collection = shim_store.collection("race_delete")
    for trial in range(5):
        collection.insert({"_id": f"d{trial}", "state": "stale"})
        deleted = _race(lambda n, t=trial: collection.delete({"_id": f"d{t}", "state": "stale"}))
        assert sum(deleted) == 1, deleted


def test_writes_in_a_batch_are_read_back_within_it_and_kept_after_it(doc_store):
    collection = doc_store.collection("batched")
    with doc_store.batch():
        collection.insert({"_id": "a", "n": 1})
        collection.upsert({"_id": "b", "n": 2})
        assert (
            collection.update_each([({"_id": "a", "n": 1}, {"n": 10}), ({"_id": "b", "n": 9}, {"n": 20})])
            == 1
        )
        with pytest.raises(DuplicateKey):
            collection.insert({"_id": "a", "n": 3})
        assert collection.replace({"_id": "b", "n": 3}) is True
        assert [doc["n"] for doc in collection.find({})] == [10, 3]
    assert [doc["n"] for doc in collection.find({})] == [10, 3]


def test_the_url_chooses_the_plain_adapter_or_the_ferretdb_shim():
    """Production's mongodb:// never takes the shim's locks; only ferretdb:// does."""
    plain, shim = store.connect("mongodb://127.0.0.1:9/db"), store.connect("ferretdb://127.0.0.1:9/db")
    try:
        assert type(plain) is MongoStore and type(plain.collection("c")) is MongoCollection
        assert isinstance(shim, FerretDbStore) and isinstance(shim.collection("c"), FerretDbCollection)
    finally:
        plain.close()
        shim.close()


def test_a_batch_on_sqlite_is_one_transaction(tmp_path):
    """Committed as one, and not at all if the block raises; other connections see it whole."""
    url = f"sqlite:///{tmp_path}/batch.db"
    mine, other = store.connect(url), store.connect(url)
    collection = mine.collection("batched")
    with mine.batch():
        collection.insert({"_id": "a"})
        with mine.batch():  # a nested block joins the open transaction
            collection.insert({"_id": "b"})
        assert other.collection("batched").count() == 0
    assert other.collection("batched").count() == 2
    with pytest.raises(RuntimeError), mine.batch():
        collection.insert({"_id": "c"})
        raise RuntimeError("handler failed")
    assert ids(other.collection("batched").find({})) == ["a", "b"]


def test_operator_injection_is_refused(centres):
    with pytest.raises(BadFilter):
        centres.find({"$where": "sleep(1000)"})
    with pytest.raises(BadFilter):
        centres.find({"name": {"$function": "x"}})


def test_update_each_applies_many_conditional_updates_at_once(centres):
    matched = centres.update_each([({"_id": "a", "n": 1}, {"n": 10}), ({"_id": "b", "n": 99}, {"n": 20})])

    assert matched == 1
    assert (centres.get("a")["n"], centres.get("b")["n"]) == (10, 2)


def _race(work, contenders: int = 6) -> list:
    """Run work(n) in threads released together; return their results."""
    barrier = threading.Barrier(contenders)

    def contend(n):
        barrier.wait()
        return work(n)

    with ThreadPoolExecutor(contenders) as pool:
        return list(pool.map(contend, range(contenders)))


def test_racing_compare_and_set_has_exactly_one_winner(shim_store):
    collection = shim_store.collection("race_cas")
    for trial in range(5):
        collection.insert({"_id": f"d{trial}", "_version": 1, "winner": None})
        wins = _race(lambda n, t=trial: collection.replace({"_id": f"d{t}", "_version": 2, "winner": n}, 1))
        assert wins.count(True) == 1, wins
        assert collection.get(f"d{trial}")["winner"] == wins.index(True)


def test_racing_conditional_claims_have_exactly_one_winner(shim_store):
    collection = shim_store.collection("race_claim")
    for trial in range(5):
        collection.insert({"_id": f"c{trial}", "state": "open"})
        claims = _race(
            lambda n, t=trial: collection.update({"_id": f"c{t}", "state": "open"}, {"state": f"by-{n}"})
        )
        assert sum(claims) == 1, claims
        assert collection.get(f"c{trial}")["state"] == f"by-{claims.index(1)}"


def test_scrub_after_a_delete_keeps_the_rest(centres, doc_store):
    centres.delete({"_id": "c"})

    doc_store.scrub()

    assert centres.get("c") is None and ids(centres.find({}, sort=[("_id", 1)])) == ["a", "b"]
