"""Article pages: what a fetched page holds, as an article.

Two modules, both pure:

    extract.py   extract_page: main text and metadata by trafilatura and htmldate, the canonical link
    fields.py    metadata as feeds and pages write it (links, language tags, times, names, tags) made
                 into the fields of an ArticleIn; shared with services/ingest/feeds/items.py
"""
