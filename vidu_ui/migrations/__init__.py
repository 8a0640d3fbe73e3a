"""Alembic migrations of the history database; ``vidu_ui.store`` runs them when it opens the database."""
