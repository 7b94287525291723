"""The sidecar against a collector whose answers are wrong: a proxy or
cache in front of it, a buggy or impostor collector. Records leave the
spool only on an acknowledgement of their batch, a registration counts
only when it accepts this sidecar, and a policy route that answers at
once is not asked in a loop."""
import os
import stat
import tempfile
import time
from pathlib import Path

import pytest

from fake_collector import FakeCollector
from sidecar_harness import Sidecar, wait_for
from test_audit_sidecar import NO_RETRY, POLICY, link

POLICY_TEXT = POLICY.format(prefix="odd-")


@pytest.fixture
def fake():
    f = FakeCollector()
    yield f
    f.stop()


def token_file():
    path = Path(tempfile.mkdtemp(prefix="rein-odd-")) / "sidecar.token"
    path.write_text("tok-odd-collector-0123456789abcdef\n")
    path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    return str(path)


def metric(sidecar, name):
    for line in sidecar.metrics().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return None


def start(rein_bin, moto, fake, sidecar_id, extra=""):
    return Sidecar(rein_bin, moto.url, POLICY_TEXT, sidecar_id=sidecar_id, extra_config=link(fake.url, token_file(), extra))


def make_calls(sidecar, bucket, n=4):
    c = sidecar.agent_session().client("s3", region_name="us-east-1", endpoint_url=sidecar.url, config=NO_RETRY)
    c.create_bucket(Bucket=bucket)
    for i in range(n - 1):
        c.put_object(Bucket=bucket, Key=f"k{i}", Body=b"x")
    assert len(sidecar.wait_audit(n)) == n


@pytest.mark.parametrize("answer", ["generic", "short", "other-sidecar"])
def test_a_200_that_does_not_acknowledge_the_batch_keeps_it_spooled(rein_bin, moto, fake, answer):
    def batch(h, request):
        receipt = fake.receipt(request)
        if answer == "generic":
            receipt = {"accepted": 0, "duplicates": 0, "checkpoints": 0, "findings": 0}
        elif answer == "short":  # one record fewer than sent, through the one before the last
            taken = receipt["accepted"] + receipt["duplicates"]
            receipt.update(accepted=taken - 1, duplicates=0, through_sequence=receipt["through_sequence"] - 1)
        else:
            receipt["sidecar_id"] = "sc-someone-else"
        fake.send(h, 200, receipt)

    fake.routes["batch"] = batch
    sc = start(rein_bin, moto, fake, f"sc-odd-{answer}")
    try:
        make_calls(sc, f"odd-{answer}")
        wait_for(lambda: fake.count("batch") >= 3, timeout=20, what="the shipper to try a few times")
        assert metric(sc, "rein_audit_spool_depth_records") >= 4
        assert metric(sc, "rein_audit_shipper_consecutive_failures") >= 1
        assert "does not acknowledge the batch" in sc.log_text()
        # The real answer then empties it.
        fake.routes.pop("batch")
        wait_for(lambda: metric(sc, "rein_audit_spool_depth_records") == 0, timeout=20, what="the spool to ship")
    finally:
        sc.stop()


def test_a_collector_from_before_receipts_named_the_sidecar_is_acknowledged(rein_bin, moto, fake):
    """The previous release's receipt (no sidecar_id) acknowledges by its
    sequence and counts: an upgraded sidecar keeps shipping to it."""
    def old_receipt(h, request):
        receipt = fake.receipt(request)
        del receipt["sidecar_id"]
        fake.send(h, 200, receipt)

    fake.routes["batch"] = old_receipt
    sc = start(rein_bin, moto, fake, "sc-odd-old")
    try:
        make_calls(sc, "odd-old")
        wait_for(lambda: metric(sc, "rein_audit_spool_depth_records") == 0, timeout=20, what="the spool to ship")
        assert len(fake.stored) == 4
    finally:
        sc.stop()


def test_a_huge_answer_is_refused_not_buffered(rein_bin, moto, fake):
    """A sidecar runs under a memory limit: an answer far beyond a receipt's
    size (a proxy's page, a loop) is cut off, and the records stay."""
    fake.routes["batch"] = lambda h, request: fake.send(h, 200, b" " * (8 << 20) + b"{}")
    sc = start(rein_bin, moto, fake, "sc-odd-huge")
    try:
        make_calls(sc, "odd-huge", 2)
        wait_for(lambda: "response exceeds 262144 bytes" in sc.log_text(), timeout=20, what="the oversized answer to be refused")
        assert metric(sc, "rein_audit_spool_depth_records") >= 2
    finally:
        sc.stop()


def records_in(request):
    return sum('"schema":"rein.checkpoint/v1"' not in line for line in request["body"].decode().splitlines())


def test_retry_after_is_heeded_and_a_413_makes_batches_smaller(rein_bin, moto, fake):
    """A collector shedding load (503 Retry-After: 3) is left alone that
    long; a proxy with a smaller body limit (413) gets smaller batches
    rather than the same one for ever."""
    busy = lambda h, request: fake.send(h, 503, {"code": "ServiceUnavailable", "message": "busy"}, headers={"Retry-After": "3"})
    fake.routes["batch"] = busy
    sc = start(rein_bin, moto, fake, "sc-odd-413", extra="  batch_max_records: 8\n")
    try:
        make_calls(sc, "odd-413", 8)
        wait_for(lambda: fake.count("batch") >= 3, timeout=30, what="three attempts")
        times = [r["t"] for r in fake.requests if r["route"] == "batch"][:3]
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert min(gaps) >= 2.9, f"Retry-After: 3 was not heeded: {gaps}"

        def small_only(h, request):
            if records_in(request) > 4:
                return fake.send(h, 413, {"code": "EntityTooLarge", "message": "proxy limit"})
            fake.send(h, 200, fake.receipt(request))

        fake.routes["batch"] = small_only
        wait_for(lambda: metric(sc, "rein_audit_spool_depth_records") == 0, timeout=30, what="the spool to ship in smaller batches")
        assert len(fake.stored) == 8
        assert "sending smaller ones" in sc.log_text()
    finally:
        sc.stop()


def test_a_registration_that_is_not_accepted_ships_nothing(rein_bin, moto, fake):
    fake.routes["register"] = lambda h, request: fake.send(h, 200, {"sidecar_id": "sc-odd-reg", "key_status": "mismatch",
                                                                    "code": "KeyMismatch"})
    sc = start(rein_bin, moto, fake, "sc-odd-reg")
    try:
        make_calls(sc, "odd-reg", 2)
        wait_for(lambda: fake.count("register") >= 3, timeout=20, what="registration retries")
        assert fake.count("batch") == 0
        assert "does not accept it" in sc.log_text()
    finally:
        sc.stop()


@pytest.mark.parametrize("answer", ["304-at-once", "200-same-version"])
def test_a_policy_route_answering_at_once_is_not_asked_in_a_loop(rein_bin, moto, fake, answer):
    fake.policy = ("1", POLICY_TEXT)
    sc = start(rein_bin, moto, fake, f"sc-odd-{answer[:4]}")
    try:
        wait_for(lambda: fake.count("policy") >= 1, timeout=20, what="the first policy fetch")
        if answer == "304-at-once":
            fake.routes["policy"] = lambda h, request: fake.send(h, 304, b"", ctype=None, headers={"ETag": '"1"'})
        else:
            fake.routes["policy"] = lambda h, request: fake.send(h, 200, POLICY_TEXT, ctype="application/yaml",
                                                                 headers={"ETag": '"1"', "X-Rein-Policy-Version": "1"})
        time.sleep(1.5)
        applied = sc.log_text().count("applied the collector's policy")
        before = fake.count("policy")
        time.sleep(5)
        asked = fake.count("policy") - before
        assert asked <= 7, f"{asked} policy requests in 5 s"
        # The version in force again is not applied (nor its last-known-good copy rewritten) again.
        assert sc.log_text().count("applied the collector's policy") == applied
    finally:
        sc.stop()
