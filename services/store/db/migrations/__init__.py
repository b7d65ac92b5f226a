"""Alembic migrations of the store's schema; ``services.store.db.engine.migrate`` runs them."""
