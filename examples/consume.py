"""Follow the enriched stream with plain redis-py: no Wirestream code needed."""

import json, os, redis

r = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"), decode_responses=True)
stream, last = os.environ.get("STREAM_PREFIX", "news") + ":enriched", "0"  # "$" = only new entries
while True:
    for _name, entries in r.xread({stream: last}, count=100, block=5000) or []:
        for last, fields in entries:
            article = json.loads(fields["__data__"])["body"]
            print(article["id"], article["title"], [e["name"] for e in article["entities"][:5]], flush=True)
