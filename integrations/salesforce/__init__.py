"""Salesforce adapter: simple-salesforce over REST v59.0 (client.py is the only SDK importer)."""
