"""The tasks that bench/events_peers.py runs on Celery and Dramatiq workers.

Both peers get the same three handlers, each a no-op apart from one Redis command that lets
the benchmark see it ran:

- ``noop(key, total)``: ``INCR key``, the completion count of the throughput workload; the
  handler that brings it to ``total`` also pushes to ``key:all``, which the benchmark awaits;
- ``stamp(key, seq, published)``: ``RPUSH key "<seq> <ms since published>"``, for the latency
  workload;
- ``warm(key)``: ``SADD key <pid>``, so the benchmark knows every worker process is up.

The Redis client is made per process on first use (after the workers fork). Celery runs as
``celery -A _events_peer_tasks:celery_app worker``, Dramatiq as
``dramatiq _events_peer_tasks``, both from bench/. Both peers are defined here, whichever
runs, so that the module is the same for both.
"""

import os
import time

import dramatiq
import redis
from celery import Celery
from dramatiq.brokers.redis import RedisBroker

REDIS_URL = "redis://127.0.0.1:6379/0"
CELERY_QUEUE = "dolmen-bench-celery"
# Kombu's bookkeeping of delivered, unacknowledged messages, under names of our own so that
# purging them cannot touch another Celery app on the same Redis.
CELERY_UNACKED_KEYS = {
    "unacked_key": CELERY_QUEUE + ":unacked",
    "unacked_index_key": CELERY_QUEUE + ":unacked_index",
    "unacked_mutex_key": CELERY_QUEUE + ":unacked_mutex",
}
DRAMATIQ_QUEUE = "dolmen-bench-dramatiq"

_client: redis.Redis | None = None


def _redis() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(REDIS_URL)
    return _client


def _noop(key: str, total: int) -> None:
    if _redis().incr(key) == total:
        _redis().rpush(key + ":all", 1)


def _stamp(key: str, seq: int, published: float) -> None:
    _redis().rpush(key, f"{seq} {(time.time() - published) * 1000.0:.3f}")


def _warm(key: str) -> None:
    _redis().sadd(key, os.getpid())


# Celery: no result backend, results ignored; acks after the handler ran (at-least-once, as
# durable events are), the prefork pool and the rest of the defaults.
celery_app = Celery("events_peers", broker=REDIS_URL)
celery_app.conf.update(
    task_default_queue=CELERY_QUEUE,
    task_ignore_result=True,
    task_acks_late=os.environ.get("EVENTS_PEERS_CELERY_ACKS", "late") == "late",
    broker_transport_options=CELERY_UNACKED_KEYS,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)
celery_noop = celery_app.task(name="bench.noop")(_noop)
celery_stamp = celery_app.task(name="bench.stamp")(_stamp)
celery_warm = celery_app.task(name="bench.warm")(_warm)

# Dramatiq: its RedisBroker with the default middleware (acks after the handler ran).
dramatiq_broker = RedisBroker(url=REDIS_URL)
dramatiq.set_broker(dramatiq_broker)
dramatiq_noop = dramatiq.actor(_noop, actor_name="bench_noop", queue_name=DRAMATIQ_QUEUE)
dramatiq_stamp = dramatiq.actor(_stamp, actor_name="bench_stamp", queue_name=DRAMATIQ_QUEUE)
dramatiq_warm = dramatiq.actor(_warm, actor_name="bench_warm", queue_name=DRAMATIQ_QUEUE)
