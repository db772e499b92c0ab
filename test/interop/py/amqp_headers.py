"""py-amqp on its own (the library kombu, Celery and Flower read RabbitMQ with): take N messages
off a queue and print each one's application headers as a JSON line.

usage: amqp_headers.py QUEUE N [TIMEOUT]   (BROKER_URL: amqp://user:pass@host:port/vhost)
A header py-amqp cannot decode raises here, as it does inside a Python worker or Flower.
"""
import json
import os
import sys
import time
from urllib.parse import unquote, urlparse

import amqp

url = urlparse(os.environ["BROKER_URL"])
queue, n = sys.argv[1], int(sys.argv[2])
timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 10.0
vhost = unquote(url.path[1:]) if len(url.path) > 1 else "/"
conn = amqp.Connection(
    host=f"{url.hostname}:{url.port or 5672}",
    userid=unquote(url.username or "guest"),
    password=unquote(url.password or "guest"),
    virtual_host=vhost,
)
conn.connect()
channel = conn.channel()
got = 0
deadline = time.monotonic() + timeout
while got < n and time.monotonic() < deadline:
    msg = channel.basic_get(queue, no_ack=True)
    if msg is None:
        time.sleep(0.05)
        continue
    got += 1
    print(json.dumps(msg.headers), flush=True)
conn.close()
sys.exit(0 if got == n else 2)
