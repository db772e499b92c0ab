"""A plain Python Celery app for the interop tests: same broker, rpc:// results (or RESULT_BACKEND)."""
import os

from celery import Celery

app = Celery(
    "proj",
    broker=os.environ.get("BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//"),
    backend=os.environ.get("RESULT_BACKEND", "rpc://"),
    include=["proj.tasks"],
)
app.conf.task_default_queue = os.environ.get("QUEUE", "celery")
app.conf.worker_hijack_root_logger = False
# Redis interop tests: kombu's visibility timeout, and acks late for the restore test.
if os.environ.get("VISIBILITY_TIMEOUT"):
    app.conf.broker_transport_options = {"visibility_timeout": float(os.environ["VISIBILITY_TIMEOUT"])}
if os.environ.get("ACKS_LATE"):
    app.conf.task_acks_late = True
