"""Ping one worker N times in a row with Python's control client (as Flower's polling does) and
print a JSON summary: how many answered, and the first error if one was raised.

usage: ping_loop.py NODE N
"""
import json
import sys

from proj.celery import app

node, n = sys.argv[1], int(sys.argv[2])
answered, error = 0, None
with app.connection_for_write() as conn:
    for i in range(n):
        try:
            replies = app.control.ping(destination=[node], timeout=3, connection=conn)
        except Exception as exc:  # what Flower and `celery status` die of
            error = f"ping {i + 1}: {type(exc).__name__}: {exc}"
            break
        if any(node in r for r in replies):
            answered += 1
print(json.dumps({"answered": answered, "error": error}))
