"""The store's database: one code path over SQLite and PostgreSQL, schema, writes, queries, search."""
