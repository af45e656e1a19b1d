"""The store: database engine and sessions, typed tables, upserts/cursors/installations, migrations."""
