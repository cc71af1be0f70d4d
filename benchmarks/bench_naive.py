"""(b) naive: what a tutorial consumer does, one record at a time.

Per record: decode, load the product through the ORM, set the count, commit the transaction,
commit the offset. No validation beyond what the database refuses, no dead letters.
"""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import String, create_engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


class Base(DeclarativeBase):
    pass


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    inventory_count: Mapped[int]


def measure_naive(
    *, database_url: str, bootstrap: str, topic: str, group: str, events: int
) -> dict[str, Any]:
    from kafka import KafkaConsumer

    engine = create_engine(database_url)
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    seen = applied = 0
    first = last = time.perf_counter()
    try:
        with Session(engine) as session:
            for message in consumer:
                if not seen:
                    first = time.perf_counter()
                applied += _apply(session, message.value)
                consumer.commit()
                seen += 1
                if seen == events:
                    break
        last = time.perf_counter()
    finally:
        consumer.close(autocommit=False)
        engine.dispose()
    return {
        "records": seen,
        "applied": applied,
        "records_per_s": seen / max(last - first, 1e-9),
    }


def _apply(session: Session, value: bytes) -> int:
    """1 if the record changed a product, else 0 (skipped or refused)."""
    try:
        event = json.loads(value)
        product = session.scalars(
            select(Product).where(Product.code == event["product_code"])
        ).one_or_none()
        if product is None:
            return 0
        product.inventory_count = event["inventory_count"]
        session.commit()
    except (ValueError, KeyError, TypeError, SQLAlchemyError):
        session.rollback()
        return 0
    return 1
