#!/usr/bin/env python3
"""Sample scheduled script: produces `count` made-up people (connector
parameter, default 10) with every attribute the task maps. Copy it to a new
name to build a real one."""

import json

import common_subroutines_efecte_library as sdk

args = sdk.initialize_script()
log = args["log_filename"]
parameters = args["connector_parameters"]
count = int(parameters.get("count", 10))
attributes = args["data_extraction_attributes"]

sdk.log_line(log, "generating %d sample records for a %s run" % (count, args["run_type"]))
records = []
for n in range(1, count + 1):
    record = {}
    for attribute in attributes:
        name = sdk.get_value_from_json(attribute, "attributeName")
        value = "%s-%d" % (name, n)
        record[name] = [value] if sdk.get_value_from_json(attribute, "multivalue") else value
    records.append(record)
    if n % 10000 == 0:
        sdk.update_heartbeat(args["heartbeat_filename"])

with open(args["expected_output_filename"], "w", encoding="utf-8") as handle:
    json.dump(records, handle)
sdk.update_heartbeat(args["heartbeat_filename"])
sdk.log_line(log, "done")
