"""The two endpoints intake is measured against in the same run (issue 12): `naive` (FastAPI + SQLAlchemy
ORM, the row and an outbox row in one transaction) and `lean` (raw ASGI on uvloop + httptools + asyncpg)."""
