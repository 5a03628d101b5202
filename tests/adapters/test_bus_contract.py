"""One contract, every bus adapter: the embedded SQLite log and real Apache Kafka."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections import defaultdict

from ccshared import bus

from tests.infra.waiting import drain, drain_quiet


def _publish(event_bus: bus.Bus, topic: str, items: list[tuple[str, bytes]]) -> None:
    producer = event_bus.producer()
    producer.publish_all([(topic, key, value) for key, value in items])
    producer.close()


def test_messages_of_one_key_arrive_in_order(event_bus, topic):
    event_bus.ensure_topics([topic])
    items = [(f"key-{n % 5}", f"{n % 5}:{n // 5}".encode()) for n in range(60)]
    _publish(event_bus, topic, items)

    got = drain(event_bus.consumer(f"{topic}-orders", [topic]), 60)

    per_key: dict[str, list[int]] = defaultdict(list)
    for message in got:
        key, seq = message.value.decode().split(":")
        assert message.key == f"key-{key}"
        per_key[key].append(int(seq))
    assert len(got) == 60
    assert all(seqs == list(range(12)) for seqs in per_key.values()), per_key


def test_two_groups_each_see_every_event(event_bus, topic):
    event_bus.ensure_topics([topic])
    _publish(event_bus, topic, [(f"k{n}", str(n).encode()) for n in range(20)])

    first = drain(event_bus.consumer(f"{topic}-group-a", [topic]), 20)
    second = drain(event_bus.consumer(f"{topic}-group-b", [topic]), 20)

    assert sorted(int(m.value) for m in first) == list(range(20))
    assert sorted(int(m.value) for m in second) == list(range(20))


def test_restarted_consumer_resumes_after_its_last_commit(event_bus, topic):
    event_bus.ensure_topics([topic])
    _publish(event_bus, topic, [("one-key", str(n).encode()) for n in range(10)])

    consumer = event_bus.consumer(f"{topic}-resume", [topic])
    first = drain(consumer, 10)
    consumer.commit(first[:6])
    consumer.close()
    _publish(event_bus, topic, [("one-key", str(n).encode()) for n in range(10, 13)])

    again = drain_quiet(event_bus.consumer(f"{topic}-resume", [topic]), 7)

    assert [int(m.value) for m in again] == list(range(6, 13))


def test_rewind_delivers_the_message_again(event_bus, topic):
    event_bus.ensure_topics([topic])
    _publish(event_bus, topic, [("k", b"0"), ("k", b"1")])
    consumer = event_bus.consumer(f"{topic}-rewinder", [topic])
    first = drain(consumer, 2)

    consumer.rewind(first[1])
    again = drain(consumer, 1)

    assert [m.value for m in again] == [b"1"]
    consumer.close()


def test_an_event_from_another_process_is_consumed_here(event_bus, bus_url, topic):
    event_bus.ensure_topics([topic])
    script = textwrap.dedent(
        f"""
        from ccshared import bus
        producer = bus.connect({bus_url!r}).producer()
        producer.publish_all([({topic!r}, "from-child", b"hello-" + str(n).encode()) for n in range(3)])
        producer.close()
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)

    got = drain(event_bus.consumer(f"{topic}-cross-process", [topic]), 3)

    assert [m.value for m in got] == [b"hello-0", b"hello-1", b"hello-2"]


def test_another_process_consumes_what_this_one_published(event_bus, bus_url, topic):
    event_bus.ensure_topics([topic])
    _publish(event_bus, topic, [("k", b"ping-1"), ("k", b"ping-2")])
    script = textwrap.dedent(
        f"""
        import time
        from ccshared import bus
        consumer = bus.connect({bus_url!r}).consumer({topic + "-child"!r}, [{topic!r}])
        got, deadline = [], time.monotonic() + 60
        while len(got) < 2 and time.monotonic() < deadline:
            got.extend(consumer.poll(0.5))
        consumer.commit(got)
        print(",".join(m.value.decode() for m in got))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], check=True, timeout=120, capture_output=True, text=True
    )

    assert result.stdout.strip() == "ping-1,ping-2"


def test_sqlite_log_gives_a_group_topic_to_one_member_at_a_time(tmp_path, topic):
    """Like a Kafka partition's single owner: a standby member takes over only when the owner leaves."""
    event_bus = bus.connect(f"sqlite:///{tmp_path}/events.db")
    _publish(event_bus, topic, [(f"k{n}", str(n).encode()) for n in range(30)])
    owner = event_bus.consumer(f"{topic}-shared-group", [topic])
    standby = event_bus.consumer(f"{topic}-shared-group", [topic])

    taken = owner.poll(0.3, max_messages=10)
    owner.commit(taken)
    assert standby.poll(0.3) == []
    owner.close()
    rest = drain(standby, 20)

    assert [int(m.value) for m in taken + rest] == list(range(30))


def test_a_topic_prefix_keeps_two_environments_apart(bus_url, topic):
    join = "&" if "?" in bus_url else "?"
    staging = bus.connect(f"{bus_url}{join}topic_prefix=staging-")
    live = bus.connect(bus_url)
    staging.ensure_topics([topic])
    live.ensure_topics([topic])
    _publish(staging, topic, [("k", b"staging-only")])
    _publish(live, topic, [("k", b"live-only")])

    got = drain_quiet(staging.consumer(f"{topic}-reader", [topic]), 1, quiet_s=1.0)

    assert [(m.topic, m.value) for m in got] == [(topic, b"staging-only")]
