"""Provisio's script SDK.

Scheduled scripts written for the incumbent connector manager import this
module by the name they already use and run unchanged:

    import common_subroutines_efecte_library as sdk
    args = sdk.initialize_script()
    ...write a JSON array to args['expected_output_filename'],
    ...touch args['heartbeat_filename'] regularly.

The host runs `python <script> <args.json>` in the run's working directory.
Secret connector parameters never travel in args.json (a file): the host
sends them on stdin and initialize_script() merges them back in.
"""

import datetime
import json
import os
import sys

__all__ = [
    "initialize_script",
    "get_value_from_json",
    "log_line",
    "get_timestamp",
    "update_heartbeat",
    "task_reads",
    "return_values",
]

_ARGUMENTS = None


def _set_at_pointer(document, pointer, value):
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    node = document
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    if parts:
        node[parts[-1]] = value


def initialize_script():
    """Returns the run's arguments as a dict (see SPEC §4 for the keys)."""
    global _ARGUMENTS
    if _ARGUMENTS is not None:
        return dict(_ARGUMENTS)
    if len(sys.argv) < 2:
        raise SystemExit(
            "this script is meant to be run by Provisio, which passes the path of its arguments file"
        )
    with open(sys.argv[1], encoding="utf-8") as handle:
        arguments = json.load(handle)
    parameters = arguments.get("connector_parameters") or {}
    if os.environ.get("PROVISIO_SECRETS_ON_STDIN") == "1":
        line = sys.stdin.readline()
        if line.strip():
            for pointer, value in json.loads(line).items():
                _set_at_pointer(parameters, pointer, value)
    arguments["connector_parameters"] = parameters
    _ARGUMENTS = arguments
    return dict(arguments)


def get_value_from_json(json_object, key):
    """The value of `key` in a dict (or a JSON text of one); None when absent."""
    if isinstance(json_object, (str, bytes)):
        json_object = json.loads(json_object)
    if isinstance(json_object, dict):
        return json_object.get(key)
    return None


def get_timestamp():
    """The current UTC time, e.g. 2026-11-23 13:45:07.123456."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def log_line(log_filename, text):
    """Appends one timestamped line to the script's log file."""
    with open(log_filename, "a", encoding="utf-8") as handle:
        handle.write(get_timestamp() + " " + str(text) + "\n")


def update_heartbeat(heartbeat_filename=None):
    """Touches the heartbeat file; call it at least once every heartbeat timeout."""
    if heartbeat_filename is None:
        heartbeat_filename = initialize_script()["heartbeat_filename"]
    with open(heartbeat_filename, "w", encoding="utf-8") as handle:
        handle.write("heartbeat updated: " + get_timestamp())


def task_reads():
    """True when this event script runs for a read task: it should hand the
    attributes it read back with return_values()."""
    return bool(os.environ.get("PROVISIO_RETURN_FILE"))


def return_values(values):
    """A read event task's result: a dict of the task's source attribute
    names to what was read from the backend (a list for a multi-value
    attribute). The engine checks it against the task's mappings and returns
    it to the workflow."""
    path = os.environ.get("PROVISIO_RETURN_FILE")
    if not path:
        raise Exception("return_values: this event task writes; only a read task hands values back")
    if not isinstance(values, dict):
        raise Exception("return_values: give a dict of attribute name to value")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(values, handle)
