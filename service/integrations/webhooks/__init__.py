"""Webhooks: subscriptions to changes, an outbox filled in the change's own transaction,
and a worker that delivers it as Standard Webhooks."""
