#!/usr/bin/env python3
"""Sample event script: reads the connector parameters and the mapped values
(one JSON line each on stdin) and reports them. Raising an exception sends the
workflow down its exception path with the exception's message."""

import json
import sys


def main():
    lines = sys.stdin.read().splitlines()
    if len(lines) != 2:
        raise Exception("expected two input lines, got %d" % len(lines))
    parameters = json.loads(lines[0])
    values = json.loads(lines[1])
    if parameters.get("refuse"):
        raise Exception("refused by connector setting 'refuse'")
    print("would write %d values to %s" % (len(values), parameters.get("host", "the backend")))


if __name__ == "__main__":
    main()
