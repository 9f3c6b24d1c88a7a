"""Naive baseline: FastAPI + the SQLAlchemy ORM; one transaction inserts the initiative and an outbox row.

Run: `BENCH_DATABASE_URL=postgresql+asyncpg://... uvicorn bench.baselines.naive:app` (plain asyncio + h11).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, EmailStr, Field
from sqlalchemy import JSON, DateTime, String, Text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class InitiativeRow(Base):
    __tablename__ = "naive_initiatives"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OutboxRow(Base):
    __tablename__ = "naive_outbox"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(200))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Originator(BaseModel):
    organisation_name: str = Field(min_length=2, max_length=200)
    organisation_type: str
    contact_name: str = Field(min_length=2, max_length=200)
    contact_email: EmailStr


class Submission(BaseModel):
    title: str = Field(min_length=5, max_length=200)
    summary: str = Field(min_length=1, max_length=500)
    description: str = ""
    originator: Originator
    themes: list[str] = Field(min_length=1)
    seeking: list[str] = Field(min_length=1)
    competences_needed: list[str] = []
    consent: bool


engine = create_async_engine(os.environ["BENCH_DATABASE_URL"], pool_size=20, max_overflow=20)
sessions = async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan)


@app.post("/api/v1/initiatives", status_code=201)
async def submit(body: Submission) -> dict[str, str]:
    now = datetime.now(UTC)
    row = InitiativeRow(
        id=uuid.uuid4(), title=body.title, summary=body.summary, description=body.description,
        payload=body.model_dump(mode="json"), submitted_at=now,
    )  # fmt: skip
    async with sessions() as session, session.begin():
        session.add(row)
        session.add(OutboxRow(id=uuid.uuid4(), topic="initiatives", payload=json.dumps({"id": str(row.id)}),
                              created_at=now))  # fmt: skip
    return {"id": str(row.id), "status": "submitted"}
