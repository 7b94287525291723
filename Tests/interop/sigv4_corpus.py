#!/usr/bin/env python3
"""Deterministic SigV4 interop corpus, signed by botocore's own signers.

Every record is one random request signed with botocore.auth.SigV4Auth,
S3SigV4Auth, SigV4QueryAuth or S3SigV4QueryAuth (plus a small share of S3
requests signed the way curl does, with no x-amz-content-sha256 header: a
SigV4Auth subclass that only keeps the S3 path rules), at a frozen random
time, and written out as the exact HTTP/1.1 wire bytes botocore would send.

    python3 sigv4_corpus.py --count 2000 --seed 1 --out corpus.jsonl [--check]

JSONL, one object per line:
  id                 "<seed>-<index>"
  form               "header" | "query"
  service, region    the credential scope's service and region
  time               signing time, yyyymmddThhmmssZ
  expires            X-Amz-Expires (query form) or null
  access_key_id, secret_access_key, session_token (str or null)
  signer             name of the botocore signer class used
  request            base64 of the raw signed request (CRLF, Host header =
                     botocore's _host_from_url, every header botocore had,
                     Content-Length when there is a body, blank line, body)
  canonical_request  botocore's canonical request
  string_to_sign     botocore's string to sign
  signature          botocore's hex signature
  mutated            base64 of the same raw request with exactly one signed
                     component changed
  mutation           short description of that change

--check re-parses every raw request, recomputes the signature with botocore
from the wire bytes alone, and checks that it matches and that the mutated
request does not.
"""

import argparse
import base64
import calendar
import contextlib
import datetime
import email.utils
import hashlib
import json
import random
import sys
import time
import uuid
import zlib
from urllib.parse import quote, unquote, urlsplit

import botocore.auth
from botocore.auth import (
    S3SigV4Auth,
    S3SigV4QueryAuth,
    SigV4Auth,
    SigV4QueryAuth,
    _host_from_url,
)
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

S3_FAMILY = {"s3", "s3control", "s3-object-lambda", "s3-outposts", "s3express"}
NON_S3 = [
    "dynamodb", "sts", "sqs", "lambda", "iam", "kms", "ec2", "execute-api",
    "secretsmanager", "sns", "logs", "monitoring",
]
REGIONS = [
    "us-east-1", "us-west-2", "eu-west-3", "eu-central-1", "ap-southeast-2",
    "ap-northeast-1", "sa-east-1", "cn-north-1", "us-gov-west-1",
]
METHODS = ["GET", "PUT", "POST", "DELETE", "HEAD", "PATCH"]
PRESIGN_EXPIRES = [60, 300, 900, 3600, 43200, 604800]
AUTH_QUERY_KEYS = {
    "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
    "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token",
}
MUTATIONS = ["method", "path", "query", "header", "body", "date", "region",
             "signature"]

ASCII_WORDS = ["foo", "Bar", "data", "v1", "items", "object.txt", "a1b2",
               "UPPER", "MiXeD", "2024", "report-final", "x_y"]
UNICODE_WORDS = ["café", "naïve", "日本語", "Ελληνικά", "emoji-🚀", "straße",
                 "Ω", "über", "файл", "中文 空格"]
RESERVED_WORDS = ["a b", "a+b", "x=y", "p&q", "semi;colon", "com,ma", "at@",
                  "bang!", "star*", "(paren)", "quote'", "colon:", "dollar$",
                  "percent%", "hash#", "q?", "slash/inside", "tilde~", "-_.",
                  "[br]", '"dq"', "<lt>", "back\\slash", "^caret", "`tick`",
                  "{brace}", "pipe|", "%41"]
QUERY_KEYS = ["prefix", "max-keys", "list-type", "partNumber", "uploadId",
              "Action", "Version", "marker", "delimiter", "filter", "Name",
              "ключ", "a b", "a+b", "k=v", "k&j", "x~y", "Z", "a", "A",
              "versionId", "response-content-type"]
BARE_KEYS = ["uploads", "acl", "tagging", "versioning", "delete", "location",
             "policy", "cors"]
HEADER_WS = [" ", "  ", "\t", " \t ", "   ", "\t\t", " \t"]


class S3UnhashedSigV4Auth(SigV4Auth):
    """S3 request signed like curl: S3 path rules, no x-amz-content-sha256."""

    def _normalize_url_path(self, path):
        return path


@contextlib.contextmanager
def frozen_time(dt):
    """Freeze botocore's signing clock (auth.py calls get_current_datetime)."""
    original = botocore.auth.get_current_datetime
    botocore.auth.get_current_datetime = lambda *a, **k: dt
    try:
        yield
    finally:
        botocore.auth.get_current_datetime = original


# ----------------------------------------------------------------- random bits

def rand_key(rng, n, alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"):
    return "".join(rng.choice(alphabet) for _ in range(n))


def rand_secret(rng):
    alphabet = ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                "0123456789/+")
    return "".join(rng.choice(alphabet) for _ in range(40))


def rand_token(rng):
    raw = bytes(rng.getrandbits(8) for _ in range(rng.randint(60, 220)))
    return base64.b64encode(raw).decode()


def rand_word(rng, unicode_ok=True, reserved_ok=True):
    pools = [ASCII_WORDS, ASCII_WORDS]
    if unicode_ok:
        pools.append(UNICODE_WORDS)
    if reserved_ok:
        pools.append(RESERVED_WORDS)
    return rng.choice(rng.choice(pools))


def rand_datetime(rng):
    start = calendar.timegm((2015, 1, 1, 0, 0, 0))
    end = calendar.timegm((2030, 12, 31, 23, 59, 59))
    ts = rng.randint(start, end)
    # Some requests exactly at / next to midnight (scope-date edge cases).
    if rng.random() < 0.05:
        ts -= ts % 86400
        ts += rng.choice([0, 1, 86399])
    return datetime.datetime(*time.gmtime(ts)[:6])


def odd_spacing(rng, words):
    value = ""
    for i, w in enumerate(words):
        if i:
            value += rng.choice(HEADER_WS)
        value += w
    if rng.random() < 0.5:
        value = rng.choice(HEADER_WS) + value
    if rng.random() < 0.5:
        value = value + rng.choice(HEADER_WS)
    return value


def rand_header_words(rng):
    pool = ["alpha", "Beta", "1", "x=y", "a,b", "q;r", "(c)", "\"quoted\"",
            "UPPER", "lower", "mixed-Case", "/path", "k:v", "z"]
    return [rng.choice(pool) for _ in range(rng.randint(1, 4))]


def rand_case(rng, name):
    r = rng.random()
    if r < 0.5:
        return name
    if r < 0.75:
        return name.lower()
    if r < 0.85:
        return name.upper()
    return "".join(c.upper() if rng.random() < 0.5 else c.lower()
                   for c in name)


# ------------------------------------------------------------------ endpoints

def dns_suffix(region):
    return "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"


CUSTOM_ENDPOINTS = ["http://localhost:4566", "http://127.0.0.1:9000",
                    "https://localhost:8443", "http://[::1]:5000",
                    "https://rein.internal:443", "http://10.0.0.7"]


def rand_endpoint(rng, service, region):
    """Return (scheme://netloc, path_prefix, s3_bucket_in_host)."""
    if rng.random() < 0.12:
        return rng.choice(CUSTOM_ENDPOINTS), "", False
    sfx = dns_suffix(region)
    if service == "s3":
        bucket = rng.choice(["my-bucket", "data-2024", "logs.example",
                             "bkt", "a-b-c-1"])
        style = rng.random()
        if style < 0.45 and "." not in bucket:
            return f"https://{bucket}.s3.{region}.{sfx}", "", True
        if style < 0.55 and region == "us-east-1":
            return f"https://s3.{sfx}", "/" + bucket, False
        if style < 0.65:
            return (f"https://s3.dualstack.{region}.{sfx}", "/" + bucket,
                    False)
        return f"https://s3.{region}.{sfx}", "/" + bucket, False
    if service == "s3control":
        acct = "".join(rng.choice("0123456789") for _ in range(12))
        return f"https://{acct}.s3-control.{region}.{sfx}", "", False
    if service == "s3-object-lambda":
        return (f"https://ap-{rand_key(rng, 6).lower()}-123456789012."
                f"s3-object-lambda.{region}.{sfx}"), "", False
    if service == "s3-outposts":
        return f"https://s3-outposts.{region}.{sfx}", "", False
    if service == "execute-api":
        api = rand_key(rng, 10, "abcdefghijklmnopqrstuvwxyz0123456789")
        return f"https://{api}.execute-api.{region}.{sfx}", "", False
    if service == "iam":
        return f"https://iam.{sfx}", "", False
    if service == "sts" and rng.random() < 0.3:
        return f"https://sts.{sfx}", "", False
    if service == "sqs" and rng.random() < 0.2:
        return f"https://queue.{sfx}", "", False
    return f"https://{service}.{region}.{sfx}", "", False


# ---------------------------------------------------------------------- paths

def rand_non_s3_path(rng, service):
    segs = []
    if service == "lambda":
        segs = ["2015-03-31", "functions", rand_word(rng), "invocations"]
    elif service == "execute-api":
        segs = [rng.choice(["prod", "dev", "v1"])]
    for _ in range(rng.randint(0 if segs else 0, 4)):
        segs.append(rand_word(rng))
    encoded = [quote(s, safe="~") for s in segs]
    if rng.random() < 0.3:
        # dot segments / empty segments, as an HTTP client may send them
        for _ in range(rng.randint(1, 3)):
            encoded.insert(rng.randint(0, len(encoded)),
                           rng.choice([".", "..", ""]))
    path = "/" + "/".join(encoded)
    if rng.random() < 0.15 and not path.endswith("/"):
        path += "/"
    return path


def rand_s3_key(rng):
    parts = [rand_word(rng) for _ in range(rng.randint(1, 4))]
    if rng.random() < 0.12:
        parts.insert(rng.randint(0, len(parts)), rng.choice(["", ".", ".."]))
    key = "/".join(parts)
    if rng.random() < 0.1:
        key += "/"
    return key


def rand_s3_path(rng, service, prefix):
    if service == "s3control":
        return "/v20180820/" + rng.choice([
            "jobs/" + rand_key(rng, 8).lower(),
            "accesspoint/" + quote(rand_word(rng, reserved_ok=False),
                                   safe="/~"),
            "storagelens/" + quote(rand_s3_key(rng), safe="/~"),
        ])
    if rng.random() < 0.15:
        return prefix or "/"
    return prefix + "/" + quote(rand_s3_key(rng), safe="/~")


# ---------------------------------------------------------------------- query

def encode_q(x):
    return quote(x, safe="-_.~")


def rand_query(rng, s3):
    """A raw query string as a botocore serializer would produce it."""
    if rng.random() < 0.35:
        return ""
    items = []
    if s3 and rng.random() < 0.3:
        items.append(rng.choice(BARE_KEYS))
    for _ in range(rng.randint(0, 4)):
        key = rng.choice(QUERY_KEYS)
        r = rng.random()
        if r < 0.15:
            value = ""
        elif r < 0.6:
            value = rand_word(rng)
        else:
            value = str(rng.randint(0, 100000))
        items.append(f"{encode_q(key)}={encode_q(value)}")
        if rng.random() < 0.15:
            # repeated key, same or different value
            other = value if rng.random() < 0.3 else rand_word(rng)
            items.append(f"{encode_q(key)}={encode_q(other)}")
    if rng.random() < 0.1:
        items.append(encode_q(rng.choice(QUERY_KEYS)))  # bare key, no '='
    rng.shuffle(items)
    return "&".join(items)


# -------------------------------------------------------------------- bodies

def rand_body(rng, method, service):
    """Return (body bytes, content type or None)."""
    if method in ("GET", "HEAD") or rng.random() < 0.2:
        return b"", None
    r = rng.random()
    if service in ("sts", "sqs", "iam", "ec2", "sns", "monitoring") and r < 0.6:
        params = [("Action", rng.choice(["GetCallerIdentity", "ListUsers",
                                         "SendMessage", "DescribeInstances"])),
                  ("Version", "2011-06-15")]
        for _ in range(rng.randint(0, 3)):
            params.append((rand_word(rng, reserved_ok=False),
                           rand_word(rng)))
        body = "&".join(f"{encode_q(k)}={encode_q(v)}" for k, v in params)
        return (body.encode(),
                "application/x-www-form-urlencoded; charset=utf-8")
    if r < 0.55:
        doc = {rand_word(rng): rand_word(rng) for _ in range(rng.randint(0, 5))}
        if rng.random() < 0.3:
            doc["n"] = rng.randint(-5, 10 ** 9)
        text = json.dumps(doc, ensure_ascii=rng.random() < 0.5)
        ctype = ("application/x-amz-json-1.0" if service == "dynamodb"
                 else "application/json")
        return text.encode("utf-8"), ctype
    n = rng.choice([1, 2, 17, 64, 255, 1024, rng.randint(1, 4096)])
    data = bytes(rng.getrandbits(8) for _ in range(n))
    if rng.random() < 0.3:
        data = b"line one\r\nline two\r\n\r\nafter blank line\n" + data
    return data, rng.choice(["application/octet-stream", "text/plain",
                             "binary/octet-stream", None])


# ------------------------------------------------------------------ the wire

def build_wire(method, target, headers, body):
    """headers: list of (name, raw value as written after the colon)."""
    lines = [f"{method} {target} HTTP/1.1"]
    for name, value in headers:
        lines.append(f"{name}:{value}")
    head = "\r\n".join(lines) + "\r\n\r\n"
    return head.encode("utf-8") + body


def parse_wire(raw):
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        raise ValueError("no end of headers")
    lines = head.decode("utf-8").split("\r\n")
    method, target, version = lines[0].split(" ")
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon:
            raise ValueError(f"bad header line {line!r}")
        headers.append((name, value))
    return method, target, headers, body


def header_values(headers, lname):
    return [v.strip(" \t") for n, v in headers if n.lower() == lname]


def split_query(query):
    return query.split("&") if query else []


def query_pairs(query):
    out = []
    for item in split_query(query):
        k, _, v = item.partition("=")
        out.append((k, v))
    return out


# --------------------------------------------------------------- verification

def signer_class(form, service, s3_hashed=True):
    s3 = service in S3_FAMILY
    if form == "query":
        return S3SigV4QueryAuth if s3 else SigV4QueryAuth
    if s3:
        return S3SigV4Auth if s3_hashed else S3UnhashedSigV4Auth
    return SigV4Auth


def verify_wire(raw, secret):
    """Recompute the signature of raw wire bytes with botocore.

    Returns dict(ok, reason, canonical_request, string_to_sign, signature).
    Scope (access key, date, region, service) is taken from the request.
    """
    method, target, headers, body = parse_wire(raw)
    path, qmark, query = target.partition("?")
    lower = {}
    for n, v in headers:
        lower.setdefault(n.lower(), []).append(v.strip(" \t"))
    items = split_query(query)
    if "authorization" in lower:
        form = "header"
        auth = lower["authorization"][0]
        algo, _, rest = auth.partition(" ")
        fields = {}
        for part in rest.split(","):
            k, _, v = part.strip().partition("=")
            fields[k] = v
        credential = fields["Credential"]
        signed = fields["SignedHeaders"].split(";")
        received = fields["Signature"]
        if "x-amz-date" in lower:
            timestamp = lower["x-amz-date"][0]
        else:
            dt = email.utils.parsedate_to_datetime(lower["date"][0])
            timestamp = dt.strftime("%Y%m%dT%H%M%SZ")
        kept = items
    else:
        form = "query"
        params = dict(query_pairs(query))
        credential = unquote(params["X-Amz-Credential"])
        signed = unquote(params["X-Amz-SignedHeaders"]).split(";")
        received = params["X-Amz-Signature"]
        timestamp = params["X-Amz-Date"]
        kept = [i for i in items if i.partition("=")[0] != "X-Amz-Signature"]
    akid, date, region, service, term = credential.split("/")
    host = lower["host"][0]
    url = f"https://{host}{path}"
    if kept:
        url += "?" + "&".join(kept)
    has_sha = "x-amz-content-sha256" in lower
    cls = signer_class(form, service, s3_hashed=has_sha or form == "query")
    signer = cls(Credentials(akid, secret), service, region)
    req = AWSRequest(method=method, url=url, data=body or None)
    for n, v in headers:
        if n.lower() in signed:
            req.headers[n] = v.strip(" \t")
    req.context["timestamp"] = timestamp
    cr = signer.canonical_request(req)
    sts = signer.string_to_sign(req, cr)
    sig = signer.signature(sts, req)
    reason = None
    if sig != received:
        reason = "signature mismatch"
    elif date != timestamp[:8]:
        reason = "scope date differs from request date"
    elif has_sha:
        declared = lower["x-amz-content-sha256"][0]
        if (len(declared) == 64 and
                hashlib.sha256(body).hexdigest() != declared):
            reason = "body does not match x-amz-content-sha256"
    return {"ok": reason is None, "reason": reason, "canonical_request": cr,
            "string_to_sign": sts, "signature": sig}


# ------------------------------------------------------------------ mutations

def _alnum_positions(s):
    """Indexes of alphanumeric characters not inside a %XX escape."""
    out, i = [], 0
    while i < len(s):
        if s[i] == "%":
            i += 3
            continue
        if s[i].isascii() and s[i].isalnum():
            out.append(i)
        i += 1
    return out


def _swap_char(c):
    if c.isdigit():
        return str((int(c) + 1) % 10)
    return c.lower() if c.isupper() else c.upper()


def mutate(kind, rng, rec, parts):
    """Return (mutated raw, description) or None if kind does not apply."""
    method, target, headers, body = parts
    path, qmark, query = target.partition("?")
    form = rec["form"]
    headers = list(headers)

    def signed_names():
        if form == "header":
            auth = header_values(headers, "authorization")[0]
            return auth.split("SignedHeaders=")[1].split(",")[0].split(";")
        q = dict(query_pairs(query))
        return unquote(q["X-Amz-SignedHeaders"]).split(";")

    if kind == "method":
        new = rng.choice([m for m in METHODS if m != method])
        return (build_wire(new, target, headers, body),
                f"method {method} -> {new}")
    if kind == "path":
        pos = _alnum_positions(path)
        if not pos:
            return None
        i = rng.choice(pos)
        new_path = path[:i] + _swap_char(path[i]) + path[i + 1:]
        new_target = new_path + qmark + query
        return (build_wire(method, new_target, headers, body),
                f"path char {i} {path[i]!r} -> {new_path[i]!r}")
    if kind == "query":
        items = split_query(query)
        idx = [j for j, it in enumerate(items)
               if it.partition("=")[0] not in AUTH_QUERY_KEYS]
        if not idx:
            return None
        j = rng.choice(idx)
        k, eq, v = items[j].partition("=")
        items[j] = f"{k}={v}Z"
        new_target = path + "?" + "&".join(items)
        return (build_wire(method, new_target, headers, body),
                f"query value of {k!r}: {v!r} -> {v + 'Z'!r}")
    if kind == "header":
        names = [n for n in signed_names()
                 if n not in ("x-amz-date", "date", "x-amz-content-sha256",
                              "content-length")]
        # prefer headers other than host
        cands = [j for j, (n, v) in enumerate(headers)
                 if n.lower() in names and n.lower() != "host"]
        if not cands:
            cands = [j for j, (n, v) in enumerate(headers)
                     if n.lower() in names]
        if not cands:
            return None
        j = rng.choice(cands)
        n, v = headers[j]
        pos = [p for p, c in enumerate(v) if c.isascii() and c.isalnum()]
        if pos:
            p = rng.choice(pos)
            nv = v[:p] + _swap_char(v[p]) + v[p + 1:]
        else:
            nv = v + "Z"
        headers[j] = (n, nv)
        return (build_wire(method, target, headers, body),
                f"signed header {n}: {v!r} -> {nv!r}")
    if kind == "body":
        if not body or form != "header":
            return None
        sha = header_values(headers, "x-amz-content-sha256")
        if sha and sha[0] == "UNSIGNED-PAYLOAD":
            return None
        p = rng.randrange(len(body))
        nb = body[:p] + bytes([body[p] ^ 0x01]) + body[p + 1:]
        return (build_wire(method, target, headers, nb),
                f"body byte {p} {body[p]:#04x} -> {nb[p]:#04x}")
    if kind == "date":
        ts = rec["time"]
        dt = datetime.datetime.strptime(ts, "%Y%m%dT%H%M%SZ")
        delta = 1 if dt.strftime("%H%M%S") != "235959" else -1
        if dt.strftime("%H%M%S") == "000000":
            delta = 1
        nd = dt + datetime.timedelta(seconds=delta)
        nts = nd.strftime("%Y%m%dT%H%M%SZ")
        if form == "query":
            items = [f"X-Amz-Date={nts}" if it.startswith("X-Amz-Date=")
                     else it for it in split_query(query)]
            return (build_wire(method, path + "?" + "&".join(items), headers,
                               body), f"X-Amz-Date {ts} -> {nts} (query)")
        for j, (n, v) in enumerate(headers):
            if n.lower() == "x-amz-date":
                headers[j] = (n, " " + nts)
                return (build_wire(method, target, headers, body),
                        f"X-Amz-Date {ts} -> {nts}")
            if n.lower() == "date":
                nv = " " + email.utils.formatdate(calendar.timegm(
                    nd.timetuple()))
                headers[j] = (n, nv)
                return (build_wire(method, target, headers, body),
                        f"Date {v.strip()} -> {nv.strip()}")
        return None
    if kind == "region":
        region = rec["region"]
        new = rng.choice([r for r in REGIONS if r != region])
        if form == "query":
            items = []
            for it in split_query(query):
                if it.startswith("X-Amz-Credential="):
                    it = it.replace(f"%2F{region}%2F", f"%2F{new}%2F", 1)
                items.append(it)
            return (build_wire(method, path + "?" + "&".join(items), headers,
                               body), f"scope region {region} -> {new}")
        for j, (n, v) in enumerate(headers):
            if n.lower() == "authorization":
                headers[j] = (n, v.replace(f"/{region}/", f"/{new}/", 1))
        return (build_wire(method, target, headers, body),
                f"scope region {region} -> {new}")
    if kind == "signature":
        sig = rec["signature"]
        last = sig[-1]
        nl = "%x" % ((int(last, 16) + 1) % 16)
        nsig = sig[:-1] + nl
        if form == "query":
            new_target = target.replace(f"X-Amz-Signature={sig}",
                                        f"X-Amz-Signature={nsig}")
            return (build_wire(method, new_target, headers, body),
                    f"signature last hex digit {last} -> {nl}")
        for j, (n, v) in enumerate(headers):
            if n.lower() == "authorization":
                headers[j] = (n, v.replace(f"Signature={sig}",
                                           f"Signature={nsig}"))
        return (build_wire(method, target, headers, body),
                f"signature last hex digit {last} -> {nl}")
    raise ValueError(kind)


# ------------------------------------------------------------------ one record

def make_record(seed, index):
    rng = random.Random(f"rein-sigv4-corpus:{seed}:{index}")
    r = rng.random()
    if r < 0.40:
        service = "s3"
    elif r < 0.50:
        service = rng.choice(["s3control", "s3-object-lambda", "s3-outposts"])
    else:
        service = rng.choice(NON_S3)
    s3 = service in S3_FAMILY
    region = "us-east-1" if service == "iam" else rng.choice(REGIONS)
    form = "query" if rng.random() < 0.3 else "header"
    method = rng.choice(METHODS)
    dt = rand_datetime(rng)
    token = rand_token(rng) if rng.random() < 1 / 3 else None
    akid = ("ASIA" if token else "AKIA") + rand_key(rng, 16)
    secret = rand_secret(rng)
    expires = rng.choice(PRESIGN_EXPIRES) if form == "query" else None

    base, prefix, _ = rand_endpoint(rng, service, region)
    if s3:
        path = rand_s3_path(rng, service, prefix)
    else:
        path = rand_non_s3_path(rng, service)
    query = rand_query(rng, s3)
    url = base + path + ("?" + query if query else "")

    body, ctype = rand_body(rng, method, service)
    sign_body = body
    wire_body = body
    if form == "query":
        # Presigned: botocore's query signers cannot carry a signed body.
        # For S3 a presigned PUT/POST still uploads one (UNSIGNED-PAYLOAD).
        sign_body = b""
        wire_body = body if s3 else b""
        if not s3:
            ctype = None

    # headers, in the order a botocore serializer + handlers would add them
    hdrs = []
    if ctype:
        hdrs.append(("Content-Type", ctype))
    if service == "dynamodb" and form == "header":
        hdrs.append(("X-Amz-Target", "DynamoDB_20120810." + rng.choice(
            ["GetItem", "PutItem", "Query", "Scan"])))
    custom = []
    for _ in range(rng.randint(0, 3)):
        name = rng.choice(["X-Amz-Meta-" + rng.choice(["Color", "a", "Key-2",
                                                       "x_y", "Empty"]),
                           "My-Header", "X-Custom", "X-Amz-Meta-Note"])
        words = rand_header_words(rng)
        value = odd_spacing(rng, words) if rng.random() < 0.7 else " ".join(words)
        if name.endswith("Empty") and rng.random() < 0.5:
            value = rng.choice(["", " ", "\t "])
        custom.append((rand_case(rng, name), value))
    if rng.random() < 0.2:
        name = rng.choice(["X-Amz-Meta-Dup", "My-Header", "x-list"])
        custom.append((rand_case(rng, name), odd_spacing(rng, rand_header_words(rng))))
        custom.append((rand_case(rng, name), odd_spacing(rng, rand_header_words(rng))))
    if s3 and rng.random() < 0.3:
        custom.append(("x-amz-acl", rng.choice(["private", "public-read"])))
    if s3 and rng.random() < 0.2:
        custom.append(("x-amz-storage-class", "STANDARD_IA"))
    if s3 and sign_body and rng.random() < 0.3:
        custom.append(("Content-MD5",
                       base64.b64encode(hashlib.md5(sign_body).digest()).decode()))
    if s3 and sign_body and rng.random() < 0.3:
        custom.append(("x-amz-checksum-crc32", base64.b64encode(
            zlib.crc32(sign_body).to_bytes(4, "big")).decode()))
    rng.shuffle(custom)
    hdrs += custom
    if rng.random() < 0.08:
        hdrs.append(("X-Amzn-Trace-Id", "Root=1-" + rand_key(rng, 8).lower()
                     + "-" + rand_key(rng, 24).lower()))
    if sign_body and method not in ("GET", "HEAD") and rng.random() < 0.1:
        hdrs.append(("Content-Length", str(len(sign_body))))  # signed
    use_date_header = (form == "header" and not s3 and rng.random() < 0.05)
    if use_date_header:
        hdrs.append(("Date", "placeholder, replaced by botocore"))
    hdrs.append(("User-Agent", "Boto3/1.43.11 md/Botocore#1.43.11 ua/2.1 "
                 "os/linux lang/python#3.11.7 Botocore/1.43.11"))
    if rng.random() < 0.5:
        hdrs.append(("amz-sdk-invocation-id", str(uuid.UUID(int=rng.getrandbits(128)))))
        hdrs.append(("amz-sdk-request", rng.choice(["attempt=1", "attempt=2; max=5"])))

    s3_hashed = True
    unsigned_payload = False
    if form == "header" and s3:
        x = rng.random()
        if x < 0.12:
            s3_hashed = False   # curl-style: no x-amz-content-sha256
        elif x < 0.35:
            unsigned_payload = True
    cls = signer_class(form, service, s3_hashed)
    creds = Credentials(akid, secret, token)
    signer = cls(creds, service, region, expires) if form == "query" else \
        cls(creds, service, region)

    req = AWSRequest(method=method, url=url, data=sign_body or None)
    for n, v in hdrs:
        req.headers[n] = v
    if unsigned_payload:
        req.context["client_config"] = Config(
            s3={"payload_signing_enabled": False})

    captured = {}
    orig_sts = signer.string_to_sign
    orig_sig = signer.signature

    def capture_sts(request, canonical_request):
        captured["canonical_request"] = canonical_request
        captured["string_to_sign"] = orig_sts(request, canonical_request)
        return captured["string_to_sign"]

    def capture_sig(string_to_sign, request):
        captured["signature"] = orig_sig(string_to_sign, request)
        return captured["signature"]

    signer.string_to_sign = capture_sts
    signer.signature = capture_sig
    with frozen_time(dt):
        signer.add_auth(req)

    # wire: Host (+ urllib3's unsigned Accept-Encoding), botocore's headers,
    # Content-Length as AWSRequestPreparer adds it.
    host = _host_from_url(req.url)
    split = urlsplit(req.url)
    target = split.path + ("?" + split.query if split.query else "")
    wire_headers = [("Host", " " + host)]
    if rng.random() < 0.6:
        wire_headers.append(("Accept-Encoding", " identity"))
    lnames = set()
    for n, v in req.headers.items():
        lnames.add(n.lower())
        sep = "" if (v[:1] in (" ", "\t") or rng.random() < 0.1) else " "
        wire_headers.append((n, sep + v))
    if "content-length" not in lnames and (
            wire_body or method not in ("GET", "HEAD", "OPTIONS")):
        wire_headers.append(("Content-Length", " " + str(len(wire_body))))
    raw = build_wire(method, target, wire_headers, wire_body)

    rec = {
        "id": f"{seed}-{index:05d}",
        "form": form,
        "service": service,
        "region": region,
        "time": dt.strftime("%Y%m%dT%H%M%SZ"),
        "expires": expires,
        "access_key_id": akid,
        "secret_access_key": secret,
        "session_token": token,
        "signer": cls.__name__,
        "request": base64.b64encode(raw).decode(),
        "canonical_request": captured["canonical_request"],
        "string_to_sign": captured["string_to_sign"],
        "signature": captured["signature"],
    }

    parts = (method, target, wire_headers, wire_body)
    start = index % len(MUTATIONS)
    for k in range(len(MUTATIONS)):
        kind = MUTATIONS[(start + k) % len(MUTATIONS)]
        res = mutate(kind, rng, rec, parts)
        if res is None:
            continue
        mraw, desc = res
        if verify_wire(mraw, secret)["ok"]:
            continue  # did not change what was signed (e.g. a '..' segment)
        rec["mutated"] = base64.b64encode(mraw).decode()
        rec["mutation"] = desc
        break
    else:
        raise RuntimeError(f"no mutation applies to record {rec['id']}")
    return rec


def check_record(rec):
    raw = base64.b64decode(rec["request"])
    got = verify_wire(raw, rec["secret_access_key"])
    problems = []
    if not got["ok"]:
        problems.append(f"does not verify: {got['reason']}")
    if got["canonical_request"] != rec["canonical_request"]:
        problems.append("canonical request does not round-trip")
    if got["signature"] != rec["signature"]:
        problems.append("signature does not round-trip")
    _, _, headers, _ = parse_wire(raw)
    names = [n.lower() for n, _ in headers]
    if names.count("host") != 1:
        problems.append("not exactly one Host header")
    mut = verify_wire(base64.b64decode(rec["mutated"]), rec["secret_access_key"])
    if mut["ok"]:
        problems.append("mutated request still verifies")
    return problems


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="-", help="JSONL file (default stdout)")
    ap.add_argument("--check", action="store_true",
                    help="re-verify every record with botocore from its wire bytes")
    args = ap.parse_args(argv)

    out = sys.stdout if args.out == "-" else open(args.out, "w",
                                                  encoding="utf-8")
    failures = 0
    started = time.monotonic()
    try:
        for i in range(args.count):
            rec = make_record(args.seed, i)
            if args.check:
                problems = check_record(rec)
                if problems:
                    failures += 1
                    print(f"{rec['id']}: {'; '.join(problems)}",
                          file=sys.stderr)
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    if args.check:
        print(f"checked {args.count} records in "
              f"{time.monotonic() - started:.1f}s: {failures} failed",
              file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
