"""Held-out history for fitting the knn classifier (leave-one-out over stored outcomes)."""

from __future__ import annotations

import psycopg
from pgvector.psycopg import register_vector

from agent.classify.base import Neighbour
from agent.classify.knn_fit import FitReport, HeldOut, fit_knn
from agent.taxonomy import Taxonomy


def held_out_history(database_url: str, *, n: int, k: int, seed: int = 0) -> list[HeldOut]:
    """``n`` history tickets (a seeded random sample) with their k nearest other outcomes."""
    with psycopg.connect(database_url) as conn:
        register_vector(conn)
        conn.execute("SET hnsw.ef_search = 100")
        sample = conn.execute(
            "SELECT ticket_id, queue, priority, embedding FROM outcomes "
            "WHERE embedding IS NOT NULL ORDER BY md5(ticket_id::text || %s) LIMIT %s",
            (str(seed), n),
        ).fetchall()
        cases = []
        for ticket_id, queue, priority, embedding in sample:
            rows = conn.execute(
                "SELECT ticket_id, queue, priority, embedding <=> %s AS d FROM outcomes "
                "WHERE ticket_id <> %s AND embedding IS NOT NULL ORDER BY embedding <=> %s "
                "LIMIT %s",
                (embedding, ticket_id, embedding, k),
            ).fetchall()
            neighbours = [Neighbour(str(r[0]), "", r[1], r[2], float(r[3])) for r in rows]
            cases.append(HeldOut(queue=queue, priority=priority, neighbours=neighbours))
    return cases


def calibrate_knn(
    database_url: str, taxonomy: Taxonomy, *, n: int = 1000, k: int = 15, seed: int = 0
) -> FitReport:
    """Fit the knn parameters on held-out history drawn from the database."""
    cases = [
        c
        for c in held_out_history(database_url, n=n, k=k, seed=seed)
        if c.queue in taxonomy.queue_names
    ]
    return fit_knn(cases, queues=taxonomy.queue_names, priorities=taxonomy.priority_names, k=k)
