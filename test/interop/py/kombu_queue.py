"""kombu on its own, for the Redis wire tests: put messages on a queue, or take them off.

usage: kombu_queue.py put QUEUE '[{"body": "...", "priority": 5}, ...]'
       kombu_queue.py get QUEUE N      -> prints one JSON line per message: body, priority, headers
"""
import json
import os
import sys

from kombu import Connection, Exchange, Queue

url = os.environ["BROKER_URL"]
cmd, name = sys.argv[1], sys.argv[2]
queue = Queue(name, Exchange(name), routing_key=name)
with Connection(url) as conn:
    if cmd == "put":
        producer = conn.Producer(serializer="json")
        for m in json.loads(sys.argv[3]):
            producer.publish(m["body"], exchange="", routing_key=name, priority=m.get("priority", 0), headers=m.get("headers", {}), declare=[queue])
    else:
        n = int(sys.argv[3])
        got = []
        with conn.SimpleQueue(queue) as q:
            for _ in range(n):
                msg = q.get(timeout=5)
                got.append({"body": msg.payload, "priority": msg.properties.get("priority"), "headers": msg.headers, "redelivered": msg.delivery_info.get("redelivered")})
                msg.ack()
        for g in got:
            print(json.dumps(g))
