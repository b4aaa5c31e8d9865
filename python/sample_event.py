#!/usr/bin/env python3
"""Sample event script, for both usages of an event task. It reads the
connector parameters and the mapped values (one JSON line each on stdin).
A write task reports what it would write; a read task hands back what it
"read" with the SDK's return_values. Raising an exception sends the workflow
down its exception path with the exception's message."""

import json
import sys

import common_subroutines_efecte_library as sdk


def main():
    lines = sys.stdin.read().splitlines()
    if len(lines) != 2:
        raise Exception("expected two input lines, got %d" % len(lines))
    parameters = json.loads(lines[0])
    values = json.loads(lines[1])
    if parameters.get("refuse"):
        raise Exception("refused by connector setting 'refuse'")
    backend = parameters.get("host", "the backend")
    if sdk.task_reads():
        # A real script would look the object up; the sample echoes what it was given.
        print("read %d values from %s" % (len(values), backend))
        sdk.return_values(values)
    else:
        print("would write %d values to %s" % (len(values), backend))


if __name__ == "__main__":
    main()
