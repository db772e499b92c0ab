"""`celery inspect` as a library call: print {node: reply} for one inspect method as JSON."""
import json
import sys

from proj.celery import app

method = sys.argv[1]
timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
inspector = app.control.inspect(timeout=timeout)
print(json.dumps(getattr(inspector, method)() or {}))
