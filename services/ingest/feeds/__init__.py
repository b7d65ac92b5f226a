"""Feeds: what Wirestream polls, and turning what it fetches into articles.

The pure part, bytes in and models out (no Redis, no HTTP):

    items.py     parse_feed: RSS 0.9x/1.0/2.0, Atom and JSON Feed into FeedItems, each an ArticleIn
    opml.py      parse_opml: the feeds an OPML subscription list names, its folders as tags
    articles.py  an item as its feed's article (source, tags, language), or a request for its page

Kept in Redis, behind ingest's /v1/feeds routes (routes.py):

    registry.py  the feeds and their status
    schedule.py  when each feed is due; leases so that one poller at a time polls it; backoff

The feeds process, ``python -m services.ingest.feeds`` (app.py, settings.py):

    poller.py    claim due feeds, fetch, parse, publish through ingest's publisher, reschedule

Page extraction and the fetch stage that reads ``<prefix>:fetch`` are services/ingest/pages/.
"""
