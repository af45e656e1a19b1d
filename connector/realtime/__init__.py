"""Near real time: inbound vendor webhooks → targeted refresh of the accounts they name."""
