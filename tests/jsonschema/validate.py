"""Validates TOML files against trimtab's JSON Schema with the reference `jsonschema` package.

    validate.py SCHEMA FILE...

Each file is read with Python's own `tomllib` and its date-times written as strings (JSON has
none), then checked against the schema, draft 07. One line per file: `ok FILE`, or
`invalid FILE: PATH: MESSAGE` for each error. Exits 0 when every file is valid, 1 otherwise,
2 on a usage or schema error.
"""

import datetime
import json
import sys
import tomllib

import jsonschema


def jsonable(value):
    """The TOML value as JSON sees it: date-times as their ISO text."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    return value


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    all_valid = True
    for path in argv[2:]:
        with open(path, "rb") as f:
            document = jsonable(tomllib.load(f))
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
        if not errors:
            print(f"ok {path}")
            continue
        all_valid = False
        for e in errors:
            where = ".".join(str(p) for p in e.absolute_path) or "(root)"
            print(f"invalid {path}: {where}: {e.message}")
    return 0 if all_valid else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
