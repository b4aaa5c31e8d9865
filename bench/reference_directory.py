"""A straightforward Python full read of a directory, the reference the
directory connector is measured against: the ldap3 package's paged search
of the users, each entry as a JSON document, written into sqlite3 in one
transaction (the shape of a first load).

usage: reference_directory.py URL BIND_DN BASE_DN FILTER DATABASE.sqlite  (the bind password on stdin)
"""

import json
import sqlite3
import sys

import ldap3


def main():
    url, bind_dn, base_dn, search_filter, database = sys.argv[1:6]
    password = sys.stdin.readline().rstrip("\n")
    connection = ldap3.Connection(ldap3.Server(url), user=bind_dn, password=password, auto_bind=True)
    entries = connection.extend.standard.paged_search(
        base_dn,
        search_filter,
        attributes=["entryUUID", "uid", "mail", "sn", "cn"],
        paged_size=500,
        generator=True,
    )
    db = sqlite3.connect(database)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE IF NOT EXISTS cards (key TEXT PRIMARY KEY, data TEXT)")
    count = 0
    with db:
        for entry in entries:
            if entry.get("type") != "searchResEntry":
                continue
            attributes = entry["attributes"]
            record = {name: (value[0] if isinstance(value, list) and value else value) for name, value in attributes.items()}
            record["dn"] = entry["dn"]
            db.execute("INSERT OR REPLACE INTO cards (key, data) VALUES (?, ?)", (str(record["entryUUID"]), json.dumps(record, default=str)))
            count += 1
    print(json.dumps({"entries": count}))


if __name__ == "__main__":
    main()
