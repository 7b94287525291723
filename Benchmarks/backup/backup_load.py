"""Backup under load: a release `rein collector` is filled with N records
(4 sidecars, batches of 1,000, gzip NDJSON as sidecars ship them), then
`rein collector backup` runs while the second half of the batches is
shipped. Prints how long the backup took, its size, the ingest rate before
and during it (one client: the client is a bound too), and whether every
sidecar's chain verifies afterwards. Figures only; never fails on a number.

    python3 Benchmarks/backup/backup_load.py REIN_BIN RECORDS OUT_DIR
"""

import gzip
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "Tests" / "interop"))
from collector_harness import Collector, ScriptedChain  # noqa: E402
from sidecar_harness import clean_env  # noqa: E402


def main():
    rein, records, out = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    c = Collector(rein)
    try:
        chains = [ScriptedChain(f"sc-{i}") for i in range(4)]
        bodies = [(ch.sidecar_id, gzip.compress(b"".join(ch.seal() for _ in range(1000)), 1))
                  for _ in range(max(1, records // 4000)) for ch in chains]

        def post(sidecar, raw):
            status, _, data = c.call("POST", "/v1/audit/batches", role="sidecar", raw=raw,
                                     headers={"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip",
                                              "X-Rein-Sidecar-Id": sidecar})
            assert status == 200, data

        half = len(bodies) // 2
        started = time.time()
        for sidecar, raw in bodies[:half]:
            post(sidecar, raw)
        before = half * 1000 / (time.time() - started)
        during = []

        def shipper():
            t = time.time()
            for sidecar, raw in bodies[half:]:
                post(sidecar, raw)
            during.append((len(bodies) - half) * 1000 / (time.time() - t))

        thread = threading.Thread(target=shipper)
        thread.start()
        time.sleep(0.5)
        started = time.time()
        r = subprocess.run([rein, "collector", "backup", str(out), "--config", str(c.config_path)],
                           capture_output=True, text=True, env=clean_env())
        took = time.time() - started
        thread.join()
        manifest = json.loads((out / "backup.json").read_text()) if r.returncode == 0 else {}
        store = next((f for f in manifest.get("files", []) if f["role"] == "store"), {})
        verified = []
        for ch in chains:
            status, _, data = c.call("GET", f"/v1/audit/verify?sidecar={ch.sidecar_id}", timeout=600)
            verified.append(status == 200 and json.loads(data)["findings"] == [])
        print(r.stderr, end="")
        print(f"RESULT backup_rc={r.returncode} backup_s={took:.1f} store_mib={store.get('bytes', 0) / 1048576:.0f} "
              f"store_records={manifest.get('contents', {}).get('records', 0)} ingest_before_rps={before:.0f} "
              f"ingest_during_rps={during[0]:.0f} chains_verify={all(verified)}")
    finally:
        c.stop()


if __name__ == "__main__":
    main()
