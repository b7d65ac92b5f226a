"""Alembic migrations of the store's schema; ``services.store.db.migrate`` runs them."""
