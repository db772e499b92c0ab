"""Tasks a Python worker runs for celeryts clients (names: proj.tasks.<name>)."""
import os
import time

from .celery import app


@app.task
def add(x, y):
    return x + y


@app.task
def xsum(numbers):
    """A chord body: the sum of the header's results."""
    return sum(numbers)


@app.task
def mul(x, y):
    return x * y


@app.task
def fail(message):
    raise ValueError(message)


# The bench's two tasks (bench/tasks.ts registers the same names): see bench/lib/marks.ts.
@app.task(name="bench.noop")
def bench_noop():
    return None


@app.task(name="bench.mark")
def bench_mark(path):
    """Write the time it ran at (ms since the epoch) to `path`, atomically."""
    with open(path + ".tmp", "w") as f:
        f.write(repr(time.time() * 1000))
    os.replace(path + ".tmp", path)
    return None


@app.task(bind=True, max_retries=3)
def flaky(self, succeed_on):
    """Retries itself until request.retries reaches succeed_on; returns the retry count."""
    if self.request.retries < succeed_on:
        raise self.retry(countdown=0.1, exc=RuntimeError("not yet"))
    return self.request.retries


@app.task
def sleep(seconds):
    """Holds its worker (the restore tests kill it meanwhile); tasks-example has the same task."""
    time.sleep(seconds)
    return seconds
