"""Follow the store's live feed over HTTP with the standard library, resuming after any disconnect."""

import json
import os
import sys
import time
import urllib.parse
import urllib.request

url = os.environ.get("STORE_URL", "http://127.0.0.1:8002") + "/v1/stream?"
url += urllib.parse.urlencode([tuple(arg.split("=", 1)) for arg in sys.argv[1:]])  # entity="Sergey Lavrov"
last_id = None
while True:
    headers = {"Last-Event-ID": last_id} if last_id else {}  # resume exactly after the last event seen
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60) as feed:
            event, data = None, []
            for line in feed:
                line = line.decode().rstrip("\r\n")
                if line.startswith("id:"):
                    last_id = line[3:].strip()
                elif line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
                elif not line and data:  # a blank line ends an event; ":" lines are heartbeats
                    body = json.loads("\n".join(data))
                    if event == "article":
                        print(last_id, body["id"], body["title"], flush=True)
                    else:
                        print("feed says:", body, file=sys.stderr, flush=True)
                    event, data = None, []
    except OSError as exc:  # refused, reset, timed out: try again shortly
        print("feed interrupted:", exc, file=sys.stderr, flush=True)
    time.sleep(1)
