"""Notifications through a transactional outbox: webhooks and e-mail."""
