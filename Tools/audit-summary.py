#!/usr/bin/env python3
"""Prints audit records (JSON lines on stdin) one per line, for people."""
import json
import sys

for line in sys.stdin:
    if not line.strip():
        continue
    r = json.loads(line)
    grant = r["grants"][0] if r.get("grants") else {"action": "-", "resources": []}
    resources = ",".join(grant["resources"])
    print(f'{r["time"]}  {r["decision"]:<6} {r.get("operation") or "-":<16} {grant["action"]:<18} {resources}  '
          f'forwarded={str(r["forwarded"]).lower()} status={r.get("upstream_status") or r.get("error_code") or "-"}')
