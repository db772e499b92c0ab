"""A Python Celery event receiver (what Flower and `celery events` run on): print one JSON line
per event from HOSTNAME, after a {"ready": true} line once it listens.

usage: events_receiver.py HOSTNAME
"""
import json
import sys

from proj.celery import app

hostname = sys.argv[1]


def on_event(ev):
    if ev.get("hostname") == hostname:
        print(json.dumps(ev), flush=True)


class Receiver(app.events.Receiver):
    def on_consume_ready(self, *args, **kwargs):
        print(json.dumps({"ready": True}), flush=True)
        super().on_consume_ready(*args, **kwargs)


with app.connection() as conn:
    Receiver(conn, handlers={"*": on_event}).capture(limit=None, timeout=None, wakeup=False)
