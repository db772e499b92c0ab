"""One remote-control request from Python's control client, as Flower sends them: print the
reply of NODE as JSON ({"reply": ...}, or {"replied": false}).

usage: broadcast.py METHOD NODE '{"arg": ...}'
"""
import json
import sys

from proj.celery import app

method, node = sys.argv[1], sys.argv[2]
arguments = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
replies = app.control.broadcast(method, arguments=arguments, destination=[node], reply=True, timeout=5)
for r in replies:
    if node in r:
        print(json.dumps({"reply": r[node]}, default=repr))
        break
else:
    print(json.dumps({"replied": False}))
