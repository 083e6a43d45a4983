"""Data access for the API's prediction log (table ``prediction_log``, migration 002).

The log never holds text: only a keyed hash of it (see ``core.serving.cache.text_hash``),
the outputs, the latency, the model version that served and who called.
"""

from __future__ import annotations

import json

from core.storage.db import Store, utcnow


def insert_predictions(store: Store, rows: list[dict]) -> int:
    """Append rows {endpoint, text_hash, model_version, outputs (dict), latency_ms, caller} in one transaction."""
    if not rows:
        return 0
    ts = utcnow()
    with store.tx():
        store.db.conn.executemany(
            "INSERT INTO prediction_log (ts, endpoint, text_hash, model_version, outputs, latency_ms, caller) "
            "VALUES (?,?,?,?,?,?,?)",
            [[r.get("ts") or ts, r["endpoint"], r["text_hash"], r["model_version"],
              json.dumps(r["outputs"], separators=(",", ":")), float(r["latency_ms"]), r.get("caller", "")]
             for r in rows],
        )
    return len(rows)


def predictions_since(store: Store, since_ts: str, *, endpoints: tuple[str, ...] = (),
                      model_version: str | None = None, limit: int = 200_000) -> list[dict]:
    """Log rows with ts >= since_ts (ISO-8601 UTC), newest last; outputs decoded."""
    sql = "SELECT id, ts, endpoint, text_hash, model_version, outputs, latency_ms, caller FROM prediction_log " \
          "WHERE ts >= ?"
    params: list = [since_ts]
    if endpoints:
        sql += f" AND endpoint IN ({','.join('?' for _ in endpoints)})"
        params += list(endpoints)
    if model_version is not None:
        sql += " AND model_version = ?"
        params.append(model_version)
    sql += " ORDER BY ts, id LIMIT ?"
    params.append(int(limit))
    cur = store.db.execute(sql, params)
    cols = [c[0] for c in cur.description]
    out = []
    for r in cur.fetchall():
        row = dict(zip(cols, r))
        row["outputs"] = json.loads(row["outputs"])
        out.append(row)
    return out


def count_predictions(store: Store) -> int:
    return store.db.execute("SELECT COUNT(*) FROM prediction_log").fetchone()[0]
