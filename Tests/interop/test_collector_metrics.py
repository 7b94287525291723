"""The collector's Prometheus metrics through the real binary: what a scrape
with a `metrics` token (Prometheus: authorization.credentials_file) gets,
and that the token opens nothing else. All on 127.0.0.1.
"""

import subprocess

from collector_harness import ScriptedChain, ship


def test_prometheus_reads_the_collectors_metrics_with_a_metrics_token(rein_bin, collector):
    """What a Prometheus scrape (bearer token from a credentials file) gets
    from the real binary: its version, the ingest it has seen, the fleet;
    and that the metrics token opens nothing else."""
    chain = ScriptedChain("sc-m")
    status, body = ship(collector, "sc-m", [chain.seal() for _ in range(7)])
    assert status == 200, body
    status, headers, data = collector.call("GET", "/metrics", role="metrics")
    assert status == 200, data
    assert headers.get("Content-Type", headers.get("content-type", "")).startswith("text/plain; version=0.0.4")
    text = data.decode()
    version = subprocess.run([rein_bin, "--version"], capture_output=True, text=True).stdout.strip()
    assert f'rein_collector_build_info{{version="{version}"}} 1' in text, text[:500]
    assert "rein_collector_ingested_records_total 7" in text
    assert 'rein_collector_sidecars_count{status="ok"} 1' in text
    status, _, _ = collector.call("GET", "/v1/fleet", role="metrics")
    assert status == 403
    status, _, _ = collector.call("GET", "/metrics", role=None)
    assert status == 401
