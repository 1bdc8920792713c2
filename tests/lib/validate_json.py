#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""validate_json.py SCHEMA_DIR FILE [--lines]: validates FILE (one JSON
document, or with --lines one per non-empty line) against the schema its own
"schema" field names (closer.X/N -> SCHEMA_DIR/closer.X.schema.json, whose
"schema" const must equal it). Prints "ok N" or the first error; exit 1 on
any error. Uses Debian's python3-jsonschema (a real validator)."""
import json, os, sys
import jsonschema

sdir, path = sys.argv[1], sys.argv[2]
lines = "--lines" in sys.argv[3:]
store = {}
for f in os.listdir(sdir):
    if f.endswith(".schema.json"):
        s = json.load(open(os.path.join(sdir, f)))
        store[s["$id"]] = s
text = open(path, encoding="utf-8", errors="strict").read()
docs = [json.loads(l) for l in text.splitlines() if l.strip()] if lines else [json.loads(text)]
if not docs:
    print("no JSON document in " + path); sys.exit(1)
for n, d in enumerate(docs):
    name = d.get("schema") if isinstance(d, dict) else None
    if not isinstance(name, str) or "/" not in name:
        print("document %d has no \"schema\": \"closer.X/N\" field" % n); sys.exit(1)
    sid = name.split("/")[0] + ".schema.json"
    if sid not in store:
        print("document %d: no schema file %s for %s" % (n, sid, name)); sys.exit(1)
    schema = store[sid]
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    resolver = jsonschema.RefResolver(base_uri=sid, referrer=schema, store=store)
    err = jsonschema.exceptions.best_match(cls(schema, resolver=resolver).iter_errors(d))
    if err:
        print("document %d (%s): %s at %s" % (n, name, err.message, "/".join(map(str, err.absolute_path))))
        sys.exit(1)
print("ok %d" % len(docs))
