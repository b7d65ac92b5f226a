"""Feeds: what Wirestream polls, and turning what it fetches into articles.

The pure part, bytes in and models out (no Redis, no HTTP):

    items.py     parse_feed: RSS 0.9x/1.0/2.0, Atom and JSON Feed into FeedItems, each an ArticleIn
    opml.py      parse_opml: the feeds an OPML subscription list names, its folders as tags

Page extraction for items that carry only a summary is services/ingest/pages/.
"""
