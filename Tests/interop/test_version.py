"""`rein version` reports the system libraries Rein is linked against."""

import json
import subprocess


def test_version_reports_system_openssl_curl_and_sqlite(rein_bin):
    out = subprocess.run([rein_bin, "version", "--json"], capture_output=True, check=True, timeout=30)
    info = json.loads(out.stdout)
    assert info["openssl"].startswith("OpenSSL 3."), info
    # libcurl must be the OpenSSL flavour: Rein's outbound TLS is OpenSSL too.
    assert info["libcurl_tls"].startswith("OpenSSL/3."), info
    assert info["sqlite"].startswith("3."), info
    assert info["fips_provider"] in ("available", "not installed")
    # The same facts in the text form.
    text = subprocess.run([rein_bin, "version"], capture_output=True, check=True, timeout=30).stdout.decode()
    assert "openssl" in text and info["libcurl"] in text
