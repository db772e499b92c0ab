"""Python client for the interop tests: send one task, print the outcome as one JSON line.

usage: client.py '{"task": "proj.tasks.add", "args": [2, 3], "kwargs": {}, "countdown": null,
                   "queue": "celery", "timeout": 10}'
       client.py '{"chain": [["proj.tasks.add", [2, 2]], ["proj.tasks.add", [4]]], "queue": "q"}'
       client.py '{"chord": {"header": [["proj.tasks.add", [1, 1], "q1"]], "body": ["proj.tasks.xsum", [], "q2"]}}'
"""
import json
import sys
import time

from proj.celery import app

spec = json.loads(sys.argv[1])
options = {}
if spec.get("countdown") is not None:
    options["countdown"] = spec["countdown"]
if spec.get("queue"):
    options["queue"] = spec["queue"]
sent = time.time()
if spec.get("chord"):
    # A chord built in Python: header and body as [task, args, queue] (needs a chord-capable backend).
    from celery import chord

    header = [app.signature(name, args=tuple(args), queue=q) for name, args, q in spec["chord"]["header"]]
    name, args, q = spec["chord"]["body"]
    result = chord(header)(app.signature(name, args=tuple(args), queue=q))
elif spec.get("chain"):
    # A chain built in Python: [[task, args], ...], every step on the given queue.
    from celery import chain

    steps = [app.signature(name, args=tuple(args), queue=spec.get("queue")) for name, args in spec["chain"]]
    result = chain(*steps).apply_async()
else:
    result = app.send_task(spec["task"], args=spec.get("args", []), kwargs=spec.get("kwargs", {}), **options)
try:
    value = result.get(timeout=spec.get("timeout", 10))
    out = {"status": result.state, "result": value}
except Exception as exc:  # the interop test wants to see exactly what Python raised
    out = {"status": result.state, "exc_type": type(exc).__name__, "exc_module": type(exc).__module__, "message": str(exc)}
out["elapsed"] = time.time() - sent
out["id"] = result.id
print(json.dumps(out))
