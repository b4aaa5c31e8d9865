"""A straightforward Python partial HR run, the reference the HR connector
is measured against: csv-read the archived previous file and the new one,
diff the rows by id as dicts, write the new and changed rows into sqlite3 in
one transaction, keep the new file as the archive.

usage: reference_hr.py PREVIOUS.csv NEW.csv DATABASE.sqlite ID_COLUMN
"""

import csv
import json
import sqlite3
import sys


def rows(path, id_column):
    with open(path, encoding="utf-8", newline="") as handle:
        return {row[id_column]: row for row in csv.DictReader(handle, delimiter=";")}


def main():
    previous_path, new_path, database, id_column = sys.argv[1:5]
    previous = rows(previous_path, id_column)
    current = rows(new_path, id_column)
    db = sqlite3.connect(database)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE IF NOT EXISTS cards (key TEXT PRIMARY KEY, data TEXT)")
    changes = [(key, json.dumps(row)) for key, row in current.items() if previous.get(key) != row]
    with db:
        db.executemany("INSERT OR REPLACE INTO cards (key, data) VALUES (?, ?)", changes)
    print(json.dumps({"changed": len(changes)}))


if __name__ == "__main__":
    main()
