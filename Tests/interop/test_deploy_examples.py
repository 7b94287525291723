"""The deployment examples against this build: Deploy/kubernetes and
Deploy/container.

No cluster or container engine runs here, so each file is checked for what
would break it in one: the Kubernetes manifests' Rein configurations pass
`rein sidecar check-config` / `rein collector check-config` with their
volumes laid out as the kubelet would (Secrets root:fsGroup 0440, an emptyDir
0777, configuration files from the ConfigMaps), their ports, paths and
credentials agree with each other, and the agent container gets no AWS
credential. The container image's layout (Tools/install.sh) runs with the
build directory hidden, and its runtime packages provide every shared library
the binary loads.
"""

import os
import re
import secrets
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from sidecar_harness import clean_env

REPO = Path(__file__).resolve().parents[2]
KUBE = REPO / "Deploy" / "kubernetes"
DOCKERFILE = REPO / "Deploy" / "container" / "Dockerfile"
FS_GROUP = 65532
# What a compromised agent must never be handed: a credential AWS accepts, or a way to get one.
AWS_CREDENTIAL_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN",
                      "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE",
                      "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")


def documents(name):
    return [d for d in yaml.safe_load_all((KUBE / name).read_text()) if d]


def one(docs, kind, name=None):
    found = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, (kind, name, [d["metadata"]["name"] for d in docs if d["kind"] == kind])
    return found[0]


def host_port(listen):
    host, _, port = listen.rpartition(":")
    return host, int(port)


def mount_of(container, path):
    """The volume mount `path` lies under (the longest match)."""
    mounts = [m for m in container.get("volumeMounts", []) if path == m["mountPath"] or path.startswith(m["mountPath"].rstrip("/") + "/")]
    assert mounts, f"{path} is on no volume of container {container['name']}"
    return max(mounts, key=lambda m: len(m["mountPath"]))


def self_signed(directory, name):
    key, cert = directory / f"{name}.key", directory / f"{name}.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "30",
                    "-subj", f"/CN={name}", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return key.read_bytes(), cert.read_bytes()


def provision(root, container, volumes, configmaps):
    """Lays out `container`'s volumes under `root` as the kubelet would: a
    ConfigMap's files, a Secret's or projected token's (root:fsGroup 0440),
    an emptyDir (0777); returns {mountPath: host path}."""
    by_name = {v["name"]: v for v in volumes}
    placed = {}
    for m in container.get("volumeMounts", []):
        target = root / m["mountPath"].lstrip("/")
        target.mkdir(parents=True, exist_ok=True)
        volume = by_name[m["name"]]
        files = {}
        if "configMap" in volume:
            name = volume["configMap"]["name"]
            files = configmaps.get(name)
            if files is None:  # made by the operator (a CA bundle): a real certificate
                _, cert = self_signed(root, name)
                files = {"ca.crt": cert.decode()}
            for file, text in files.items():
                (target / file).write_text(text)
        elif "secret" in volume or "projected" in volume:
            mode = (volume.get("secret") or volume.get("projected")).get("defaultMode", 0o644)
            if "projected" in volume:
                files = {volume["projected"]["sources"][0]["serviceAccountToken"]["path"]: "eyJhbGciOiJSUzI1NiJ9.e30.sig"}
            elif volume["secret"]["secretName"].endswith("-tls"):
                key, cert = self_signed(root, volume["secret"]["secretName"])
                files = {"tls.key": key.decode(), "tls.crt": cert.decode()}
            else:  # the keys the header's `kubectl create secret` commands make
                files = {"token": secrets.token_hex(32), "agent-token": secrets.token_hex(32)}
            for file, text in files.items():
                (target / file).write_text(text)
                os.chown(target / file, 0, FS_GROUP)
                os.chmod(target / file, mode)
        elif "emptyDir" in volume:
            os.chmod(target, 0o777)
        elif "persistentVolumeClaim" in volume:  # a StatefulSet's claim: root:fsGroup, setgid
            os.chown(target, 0, FS_GROUP)
            os.chmod(target, 0o2775)
        placed[m["mountPath"]] = target
    return placed


def rewrite(text, placed):
    """The configuration with each container path moved under the test's root."""
    # One pass (longest mount first), so that a path already moved is not moved again.
    pattern = "|".join(re.escape(m) for m in sorted(placed, key=len, reverse=True))
    return re.sub(r"(?<![\w/])(" + pattern + r")(?=/|\s|$)", lambda m: str(placed[m.group(1)]), text, flags=re.M)


def check_config(rein_bin, kind, config_path, env=None):
    return subprocess.run([rein_bin, kind, "check-config", "--config", str(config_path)], env=env or clean_env(),
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def image_root(rein_bin, tmp_path):
    """The image's /usr/local, installed by Tools/install.sh from this build."""
    prefix = tmp_path / "image" / "usr" / "local"
    subprocess.run([str(REPO / "Tools" / "install.sh"), "--build-dir", str(Path(rein_bin).parent), "--prefix", str(prefix)],
                   check=True, capture_output=True, text=True)
    return prefix


def writable_tmp(container, volumes):
    """A read-only root filesystem leaves SQLite nowhere for its temporary
    files unless /tmp is a volume."""
    if not container.get("securityContext", {}).get("readOnlyRootFilesystem"):
        return True
    mount = next((m for m in container.get("volumeMounts", []) if m["mountPath"] == "/tmp"), None)
    return mount is not None and not mount.get("readOnly") and "emptyDir" in next(v for v in volumes if v["name"] == mount["name"])


def test_the_agent_pod_keeps_aws_credentials_from_the_agent_and_its_sidecar_configuration_checks(rein_bin, tmp_path):
    docs = documents("agent-with-rein.yaml")
    config_map = one(docs, "ConfigMap", "billing-agent-rein")
    account = one(docs, "ServiceAccount", "billing-agent")
    pod = one(docs, "Deployment", "billing-agent")["spec"]["template"]["spec"]
    config = yaml.safe_load(config_map["data"]["sidecar.yaml"])

    # Rein is a native sidecar: up before the agent, down after it, with time to ship.
    (rein,) = [c for c in pod["initContainers"] if c["name"] == "rein"]
    (agent,) = pod["containers"]
    assert rein["restartPolicy"] == "Always"
    assert pod["terminationGracePeriodSeconds"] >= 20  # 10 s for calls in flight, 5 s to ship, 3 s to say so
    assert rein["args"][:3] == ["sidecar", "--config", "/etc/rein/sidecar.yaml"]

    # No way to a real credential for the agent.
    assert pod["automountServiceAccountToken"] is False and account["automountServiceAccountToken"] is False
    assert not any(k.startswith("eks.amazonaws.com/") for k in account["metadata"].get("annotations", {}))
    names = {e["name"] for e in agent.get("env", [])}
    assert not names & set(AWS_CREDENTIAL_ENV), names & set(AWS_CREDENTIAL_ENV)
    agent_volumes = {m["name"] for m in agent.get("volumeMounts", [])}
    rein_only = {mount_of(rein, p)["name"] for p in (config["state_dir"], config["broker"]["token_file"], config["collector"]["token_file"])}
    assert not agent_volumes & rein_only, agent_volumes & rein_only
    broker_volume = next(v for v in pod["volumes"] if v["name"] == mount_of(rein, config["broker"]["token_file"])["name"])
    assert broker_volume["projected"]["sources"][0]["serviceAccountToken"]["audience"] == "sts.amazonaws.com"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert rein["securityContext"]["runAsUser"] == 65532 and "USER 65532:65532" in DOCKERFILE.read_text()
    assert pod["securityContext"]["fsGroup"] == FS_GROUP
    assert writable_tmp(rein, pod["volumes"])

    # What the agent is told matches where the sidecar listens.
    env = {e["name"]: e["value"] for e in agent["env"]}
    endpoint = urlparse(env["AWS_ENDPOINT_URL"])
    assert (endpoint.hostname, endpoint.port) == host_port(config["listen"])
    credentials = urlparse(env["AWS_CONTAINER_CREDENTIALS_FULL_URI"])
    assert (credentials.hostname, credentials.port) == host_port(config["credentials_listen"])
    assert env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] == config["agent_credentials"]["token_file"]
    assert mount_of(agent, env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"])["name"] == mount_of(rein, config["agent_credentials"]["token_file"])["name"]
    # The kubelet probes the pod IP: the admin listener is on it, on the probed port.
    admin_host, admin_port = host_port(config["admin_listen"])
    ports = {p["name"]: p["containerPort"] for p in rein["ports"]}
    assert admin_host == "0.0.0.0"
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert ports[rein[probe]["httpGet"]["port"]] == admin_port, probe
    assert rein["readinessProbe"]["httpGet"]["path"] == "/readyz" and rein["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert host_port(config["listen"])[0] == "127.0.0.1" and host_port(config["credentials_listen"])[0] == "127.0.0.1"
    # Only the admin port is open to the pod network, and only to monitoring.
    network = one(docs, "NetworkPolicy")["spec"]
    labels = one(docs, "Deployment", "billing-agent")["spec"]["template"]["metadata"]["labels"]
    assert network["podSelector"]["matchLabels"].items() <= labels.items() and network["policyTypes"] == ["Ingress"]
    assert [p["port"] for rule in network["ingress"] for p in rule["ports"]] == [admin_port]

    # The configuration itself, with the volumes in place.
    placed = provision(tmp_path / "pod", rein, pod["volumes"], {"billing-agent-rein": config_map["data"]})
    sidecar_yaml = placed["/etc/rein"] / "sidecar.yaml"
    sidecar_yaml.write_text(rewrite(config_map["data"]["sidecar.yaml"], placed))
    result = check_config(rein_bin, "sidecar", sidecar_yaml)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broker     web_identity (arn:aws:iam::123456789012:role/billing-agent-broker)" in result.stdout, result.stdout
    assert "the collector's for agent billing-agent" in result.stdout, result.stdout


def test_the_collector_statefulset_configuration_checks_with_its_volumes(rein_bin, image_root, tmp_path):
    docs = documents("collector.yaml")
    config_map = one(docs, "ConfigMap", "rein-collector")
    service = one(docs, "Service", "rein-collector")
    statefulset = one(docs, "StatefulSet", "rein-collector")
    pod = statefulset["spec"]["template"]["spec"]
    (collector,) = pod["containers"]
    config = yaml.safe_load(config_map["data"]["collector.yaml"])

    assert statefulset["spec"]["replicas"] == 1  # one SQLite writer
    claims = {c["metadata"]["name"] for c in statefulset["spec"]["volumeClaimTemplates"]}
    assert mount_of(collector, config["state_dir"])["name"] in claims  # the store outlives the pod
    ports = {p["name"]: p["containerPort"] for p in collector["ports"]}
    _, listen_port = host_port(config["listen"])
    assert ports[service["spec"]["ports"][0]["targetPort"]] == listen_port
    for probe in ("readinessProbe", "livenessProbe"):
        get = collector[probe]["httpGet"]
        assert ports[get["port"]] == listen_port and get["scheme"] == ("HTTPS" if "tls" in config else "HTTP"), probe
    assert pod["securityContext"]["runAsUser"] == 65532 and pod["securityContext"]["runAsNonRoot"] is True
    assert writable_tmp(collector, pod["volumes"])
    # The catalogs come from the image (Tools/install.sh puts them there).
    assert config["compliance_dir"] == "/usr/local/share/rein/compliance"

    root = tmp_path / "pod"
    claimed = [{"name": c, "persistentVolumeClaim": {"claimName": c}} for c in claims]
    placed = provision(root, collector, pod["volumes"] + claimed, {"rein-collector": config_map["data"]})
    placed["/usr/local"] = image_root
    config_dir = placed[mount_of(collector, collector["args"][2])["mountPath"]]
    collector_yaml = config_dir / "collector.yaml"
    collector_yaml.write_text(rewrite(config_map["data"]["collector.yaml"], placed))
    # Backups are copied off the volume with the ServiceAccount's role: the
    # environment EKS's pod identity webhook injects for IRSA.
    account = one(docs, "ServiceAccount", pod["serviceAccountName"])
    irsa = clean_env()
    irsa["AWS_ROLE_ARN"] = account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
    irsa["AWS_WEB_IDENTITY_TOKEN_FILE"] = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"
    result = check_config(rein_bin, "collector", collector_yaml, env=irsa)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(TLS, certificate" in result.stdout and "frameworks nist-ai-rmf-1.0, owasp-agentic" in result.stdout, result.stdout
    assert f"each copied to {config['backup']['copy_to']['url']}/ (eu-west-1; the bucket's default encryption; credentials: web_identity)" \
        in result.stdout, result.stdout
    # Without the role (no IRSA), the configuration names what is missing.
    result = check_config(rein_bin, "collector", collector_yaml)
    assert result.returncode != 0 and "backup.copy_to.credentials" in result.stderr and "AWS_ROLE_ARN" in result.stderr, result.stderr


def hidden_build_directory(command):
    """`command` in a mount namespace where the build directory is empty, so
    that only what the install put in place can be found."""
    empty = Path("/tmp") / f"rein-empty-{os.getpid()}"
    empty.mkdir(exist_ok=True)
    script = f'mount --bind {empty} {REPO / ".build"} && exec "$@"'
    return ["unshare", "-m", "sh", "-c", script, "sh"] + command


def test_the_installed_layout_runs_without_the_build_directory(rein_bin, image_root, tmp_path):
    if subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode != 0:
        pytest.skip("mount namespaces are not available to this user")
    policy = REPO / "Deploy" / "examples" / "policy.yaml"
    # Validating checks every action against the bundled AWS catalog (inside its task window).
    validate = ["policy", "validate", str(policy), "--at", "2026-11-20T00:00:00Z"]
    installed = subprocess.run(hidden_build_directory([str(image_root / "bin" / "rein")] + validate),
                               capture_output=True, text=True, cwd=tmp_path, env=clean_env(), timeout=60)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    # The same binary without the resource bundles beside it cannot find the AWS catalog: the check can fail.
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy2(image_root / "bin" / "rein", alone / "rein")
    bare = subprocess.run(hidden_build_directory([str(alone / "rein")] + validate),
                          capture_output=True, text=True, cwd=tmp_path, env=clean_env(), timeout=60)
    assert bare.returncode != 0 and "could not load resource bundle" in bare.stderr, bare.stdout + bare.stderr[-2000:]
    assert sorted(p.name for p in (image_root / "share" / "rein" / "compliance").glob("*.yaml")) == sorted(
        p.name for p in (REPO / "Compliance").glob("*.yaml"))


def package_of(library):
    for path in dict.fromkeys([os.path.realpath(library), library, library.replace("/lib/", "/usr/lib/", 1)]):
        found = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
        if found.returncode == 0:
            return found.stdout.split(":")[0].strip()
    raise AssertionError(f"no Debian package provides {library}")


def with_dependencies(packages):
    """`packages` and everything they depend on, as installed here."""
    seen, todo = set(), list(packages)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        out = subprocess.run(["dpkg-query", "-W", "-f=${Depends}, ${Pre-Depends}", p], capture_output=True, text=True)
        for alternative in out.stdout.split(","):
            name = alternative.split("|")[0].strip().split(" ")[0].split(":")[0]
            if name:
                todo.append(name)
    return seen


def test_the_image_build_context_holds_what_the_dockerfile_copies():
    ignore = (DOCKERFILE.parent / "Dockerfile.dockerignore").read_text().split("\n")
    kept = {line[1:] for line in ignore if line.startswith("!")}
    assert "*" in ignore  # never the build directory or .git
    copied = set()
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            copied.update(p.rstrip("/") for p in line.split()[1:-1])
    assert copied - {"./"} <= kept | {"Package.swift"}, copied - kept
    assert all((REPO / p).exists() for p in copied), copied


def test_the_image_runtime_packages_provide_every_library_the_binary_loads(rein_bin):
    declared = re.search(r'ARG RUNTIME_PACKAGES="([^"]+)"', DOCKERFILE.read_text()).group(1).split()
    toolchain = Path(os.path.realpath(shutil.which("swift"))).parents[1] / "lib"
    ldd = subprocess.run(["ldd", rein_bin], capture_output=True, text=True, check=True).stdout
    libraries = [m.group(1) for m in re.finditer(r"=> (/\S+)", ldd)]
    # The Swift runtime is linked statically in the image (--static-swift-stdlib); what it loads is not.
    system = [lib for lib in libraries if not os.path.realpath(lib).startswith(str(toolchain))]
    needed = {package_of(lib) for lib in system}
    assert {"libssl3", "libcurl4", "libsqlite3-0", "libxml2"} <= needed, needed  # libxml2: FoundationXML's
    provided = with_dependencies(declared) | {"libc6"}
    assert needed <= provided, f"add to RUNTIME_PACKAGES in {DOCKERFILE.name}: {sorted(needed - provided)}"
