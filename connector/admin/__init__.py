"""Admin writes shared by the web UI and the API (model drafts, webhook endpoints, link decisions)."""
