#!/usr/bin/env python3
"""Convert a Rein TaskPolicy (YAML) to the equivalent IAM identity policy (JSON).

The IAM policy is what cloudsplaining and parliament see when the linter
comparison runs them over the corpus:

- `allow` and `hold` statements become `"Effect": "Allow"` (a hold is an allow
  that waits for a person; IAM has no such thing), `deny` stays `"Deny"`;
- actions, resources and conditions are carried over unchanged (Rein's
  condition syntax is IAM's: `{Operator: {key: [values]}}`);
- the statement id becomes an IAM `Sid` (IAM allows only [A-Za-z0-9], so
  `read-sales-data` becomes `ReadSalesData`);
- what IAM has no field for is dropped: the agent, the task and its validity
  window (notBefore/notAfter), the mode, and quotas.

Usage:
    python3 to_iam.py POLICY.yaml          print the IAM JSON
    python3 to_iam.py --write [DIR]        regenerate DIR/iam/*.json (DIR: this folder)
    python3 to_iam.py --check [DIR]        exit 1 if any DIR/iam/*.json is stale
"""

import json
import re
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
EFFECTS = {"allow": "Allow", "hold": "Allow", "deny": "Deny"}


def sid(statement_id: str) -> str:
    """`read-sales-data` -> `ReadSalesData` (IAM Sids are alphanumeric)."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", statement_id) if part)


def convert(policy: dict) -> dict:
    """The IAM policy document for a parsed Rein TaskPolicy."""
    statements = []
    for st in policy.get("statements") or []:
        effect = EFFECTS[st["effect"]]
        out = {
            "Sid": sid(st["id"]),
            "Effect": effect,
            "Action": list(st["actions"]),
            "Resource": list(st["resources"]),
        }
        if st.get("conditions"):
            out["Condition"] = {
                op: {key: [str(v) for v in (vals if isinstance(vals, list) else [vals])] for key, vals in body.items()}
                for op, body in st["conditions"].items()
            }
        statements.append(out)
    return {"Version": "2012-10-17", "Statement": statements}


def convert_file(path) -> dict:
    return convert(yaml.safe_load(Path(path).read_text()))


def render(path) -> str:
    return json.dumps(convert_file(path), indent=2) + "\n"


def corpus(directory: Path = HERE):
    return sorted(directory.glob("[0-9][0-9]-*.yaml"))


def main(argv) -> int:
    if argv and argv[0] in ("--write", "--check"):
        directory = Path(argv[1]) if len(argv) > 1 else HERE
        stale = []
        (directory / "iam").mkdir(exist_ok=True)
        for path in corpus(directory):
            target = directory / "iam" / (path.stem + ".json")
            text = render(path)
            if argv[0] == "--write":
                target.write_text(text)
            elif not target.is_file() or target.read_text() != text:
                stale.append(str(target))
        if stale:
            print("stale (run to_iam.py --write):", *stale, sep="\n  ", file=sys.stderr)
            return 1
        return 0
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    sys.stdout.write(render(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
