"""Start proj.tasks.sleep(SECONDS) on QUEUE, wait until NODE runs it, then revoke it the way
Flower and Python scripts do (`app.control.revoke(id, terminate=1)`); print the outcome as JSON.

usage: revoke_running.py QUEUE NODE SECONDS
"""
import json
import sys
import time

from proj.celery import app

queue, node, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
result = app.send_task("proj.tasks.sleep", args=[seconds], queue=queue)
deadline = time.time() + 15
while time.time() < deadline:
    active = app.control.inspect(destination=[node], timeout=1).active() or {}
    if any(t["id"] == result.id for t in active.get(node, [])):
        break
    time.sleep(0.1)
else:
    print(json.dumps({"error": "task never became active"}))
    sys.exit(1)
revoked_at = time.time()
app.control.revoke(result.id, terminate=1)
try:
    result.get(timeout=seconds)
    out = {"state": result.state}
except Exception as exc:
    out = {"state": result.state, "exc_type": type(exc).__name__}
out["after"] = time.time() - revoked_at
print(json.dumps(out))
