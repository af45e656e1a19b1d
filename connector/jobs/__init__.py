"""Background work: Celery tasks (thin) and the APScheduler that only enqueues."""
