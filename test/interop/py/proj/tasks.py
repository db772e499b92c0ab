"""Tasks a Python worker runs for celeryts clients (names: proj.tasks.<name>)."""
from .celery import app


@app.task
def add(x, y):
    return x + y


@app.task
def mul(x, y):
    return x * y


@app.task
def fail(message):
    raise ValueError(message)
