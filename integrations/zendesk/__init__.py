"""Zendesk Support adapter: zenpy client, pure request builders, mapping and error table."""
