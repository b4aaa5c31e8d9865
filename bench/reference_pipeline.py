"""A straightforward Python pipeline, the reference the engine is measured
against: json.load the script output, hash each record, diff with the
previous state kept in sqlite3, write the changes in one transaction.

usage: reference_pipeline.py OUTPUT.json DATABASE.sqlite ID_ATTRIBUTE
"""

import hashlib
import json
import sqlite3
import sys


def main():
    output, database, id_attribute = sys.argv[1:4]
    with open(output, encoding="utf-8") as handle:
        records = json.load(handle)
    db = sqlite3.connect(database)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE IF NOT EXISTS cards (key TEXT PRIMARY KEY, hash TEXT, data TEXT)")
    previous = dict(db.execute("SELECT key, hash FROM cards"))
    inserts, updates = [], []
    for record in records:
        data = json.dumps(record, sort_keys=True)
        digest = hashlib.md5(data.encode()).hexdigest()
        key = str(record[id_attribute])
        old = previous.get(key)
        if old is None:
            inserts.append((key, digest, data))
        elif old != digest:
            updates.append((digest, data, key))
    with db:
        db.executemany("INSERT INTO cards (key, hash, data) VALUES (?, ?, ?)", inserts)
        db.executemany("UPDATE cards SET hash = ?, data = ? WHERE key = ?", updates)
    print(json.dumps({"created": len(inserts), "updated": len(updates)}))


if __name__ == "__main__":
    main()
