"""Read a task's result by id through the configured result backend (RESULT_BACKEND), as a
Python web app would: print one JSON line with what AsyncResult(id) says.

usage: result.py <task id> [timeout seconds]
"""
import json
import sys

from proj.celery import app

task_id = sys.argv[1]
timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 10
r = app.AsyncResult(task_id)
try:
    value = r.get(timeout=timeout)
    out = {"status": r.state, "result": value}
except Exception as exc:  # the interop test wants to see exactly what Python raised
    out = {"status": r.state, "exc_type": type(exc).__name__, "exc_module": type(exc).__module__, "message": str(exc)}
out["date_done"] = r.date_done.isoformat() if r.date_done else None
out["traceback"] = r.traceback
out["children"] = [c.id for c in (r.children or [])]
print(json.dumps(out))
