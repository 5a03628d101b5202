"""Smoke tests proving the real engines start, serve their protocols and survive restarts."""

from __future__ import annotations

import uuid

import pytest
from kafka import KafkaConsumer, KafkaProducer
from pymongo import MongoClient

from .ferretdb import FerretDB
from .kafka import KafkaBroker
from .waiting import wait_for


def test_kafka_produce_and_consume_with_group(kafka: KafkaBroker, kafka_topic_prefix: str) -> None:
    topic = f"{kafka_topic_prefix}smoke"
    sent = {f"key-{i}".encode(): f"value-{i}".encode() for i in range(3)}
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")
    try:
        for key, value in sent.items():
            producer.send(topic, key=key, value=value).get(timeout=30)
    finally:
        producer.close()

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=kafka.bootstrap,
        group_id=f"group-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    received: dict[bytes, bytes] = {}

    def all_received() -> bool:
        for records in consumer.poll(timeout_ms=500).values():
            received.update((r.key, r.value) for r in records)
        return len(received) >= len(sent)

    try:
        wait_for(all_received, 30, f"the {len(sent)} messages sent to {topic}", interval=0)
        consumer.commit()
    finally:
        consumer.close()
    assert received == sent


def test_mongo_insert_find_update(mongo: FerretDB, fresh_mongo_db: str) -> None:
    with MongoClient(mongo.url, serverSelectionTimeoutMS=5000) as client:
        centres = client[fresh_mongo_db]["centres"]
        centres.insert_one({"_id": "c1", "name": "Alpha", "places": 10})
        centres.update_one({"_id": "c1"}, {"$inc": {"places": -3}})
        assert centres.find_one({"_id": "c1"}) == {"_id": "c1", "name": "Alpha", "places": 7}


def test_mongo_looks_documents_up_by_id_through_the_id_index(mongo: FerretDB, fresh_mongo_db: str) -> None:
    """The patches in tools/ferretdb/patches.json: without them every _id lookup scans the table.

    FerretDB's explain returns the backend's own query plan for the statement it runs:
    SQLite's, or PostgreSQL's with FERRETDB_BACKEND=postgresql.
    """
    with MongoClient(mongo.url, serverSelectionTimeoutMS=5000) as client:
        db = client[fresh_mongo_db]
        db["clocks"].insert_many([{"_id": f"c{n}", "state": "open"} for n in range(20)])
        explained = db.command("explain", {"find": "clocks", "filter": {"_id": "c7"}})
    plan = str(explained["queryPlanner"])
    if mongo.backend == "postgresql":
        assert "Index Scan" in plan and "Seq Scan" not in plan, plan
    else:
        assert "USING INDEX" in plan and "SCAN" not in plan, plan


@pytest.mark.parametrize("halt", ["stop", "kill"])
def test_mongo_keeps_data_across_restart(mongo: FerretDB, fresh_mongo_db: str, halt: str) -> None:
    with MongoClient(mongo.url, serverSelectionTimeoutMS=5000) as client:
        client[fresh_mongo_db]["visits"].insert_one({"_id": 1, "child": "A"})
    try:
        getattr(mongo, halt)()
        assert not mongo.running
        mongo.start()
    finally:
        if not mongo.running:
            mongo.start()
    with MongoClient(mongo.url, serverSelectionTimeoutMS=5000) as client:
        assert client[fresh_mongo_db]["visits"].find_one({"_id": 1}) == {"_id": 1, "child": "A"}


def test_a_wait_that_gives_up_says_what_it_last_saw() -> None:
    seen = []

    def answered() -> bool:
        seen.append(f"503 after try {len(seen) + 1}")
        return False

    with pytest.raises(TimeoutError, match=r"waiting for a 200; last: 503 after try \d+$"):
        wait_for(answered, 0.05, lambda: f"a 200; last: {seen[-1]}", interval=0.01)
    assert len(seen) >= 2
