"""Article pages: what a fetched page holds, as an article, and the stage that fetches them.

Pure:

    extract.py   extract_page: main text and metadata by trafilatura and htmldate, the canonical link
    fields.py    metadata as feeds and pages write it (links, language tags, times, names, tags) made
                 into the fields of an ArticleIn; shared with services/ingest/feeds/items.py
    article.py   the article a queued page becomes: the page's fields, the feed item's in its gaps

On Redis:

    queue.py     pages queued on <prefix>:fetch, once per article id within the de-duplication window
    stage.py     the fetch stage (run by the feeds process): fetch, extract, publish, or dead-letter
"""
