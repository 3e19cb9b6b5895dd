"""The Dockerfile, the compose file and the Kubernetes example agree with each other and with
the server: the command is one ``paysim serve`` accepts, every variable is a setting, ports,
probes, user and grace periods match. And ``server/check_image.py`` fails on the steps that
would fail in ``docker build``; the image's entrypoint explains an unwritable data directory.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from paysim.cli import build_parser
from paysim.config import Settings
from paysim.config_values import declared

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))
import check_image  # noqa: E402 - server/ is not a package: the script is imported from its folder

DOCKERFILE = ROOT / "Dockerfile"
SETTINGS = {d.env: d for d in declared(Settings)}


def image() -> dict[str, Any]:
    """The runtime stage's ENV, USER, EXPOSE, CMD and ENTRYPOINT as the Dockerfile says them."""
    found: dict[str, Any] = {"env": {}}
    for instruction in check_image.parse(DOCKERFILE.read_text()):
        if instruction.keyword == "FROM":
            found = {"env": {}, "from": instruction.args}
        elif instruction.keyword == "ENV":
            found["env"].update(pair.split("=", 1) for pair in instruction.args.split())
        elif instruction.keyword in {"USER", "EXPOSE", "STOPSIGNAL"}:
            found[instruction.keyword] = instruction.args
        elif instruction.keyword in {"CMD", "ENTRYPOINT"}:
            found[instruction.keyword] = json.loads(instruction.args)
    return found


def kubernetes() -> dict[str, dict[str, Any]]:
    documents = list(yaml.safe_load_all((ROOT / "deploy" / "kubernetes.yaml").read_text()))
    return {document["kind"]: document for document in documents}


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    return loaded


# --- the Dockerfile -------------------------------------------------------------------------------


def test_the_dockerfile_pulls_nothing_but_its_pinned_base_image() -> None:
    text = DOCKERFILE.read_text()
    assert "# syntax=" not in text  # that line pulls a frontend image at build time
    bases = [i.args.split()[0] for i in check_image.parse(text) if i.keyword == "FROM"]
    assert bases and all("@sha256:" in base for base in bases)
    assert len(set(bases)) == 1  # builder and runtime from the same bytes


def test_the_image_runs_paysim_serve_with_settings_paysim_knows() -> None:
    built = image()
    assert built["CMD"] == ["paysim", "serve"]
    build_parser().parse_args(built["CMD"][1:])  # a command line `paysim` accepts
    unknown = [name for name in built["env"] if name.startswith("PAYSIM_") and name not in SETTINGS]
    assert not unknown
    assert built["env"]["PAYSIM_LISTEN"].rsplit(":", 1)[1] == built["EXPOSE"]
    assert built["USER"] == "10001:10001"  # numeric: what the README and the Kubernetes example name
    assert built["env"]["PAYSIM_INSECURE"] == "true"  # 0.0.0.0 in plaintext is meant here


def test_the_entrypoint_explains_a_data_directory_it_cannot_write(tmp_path: Path) -> None:
    entrypoint = ROOT / "deploy" / "docker-entrypoint.sh"
    missing = tmp_path / "not-there"
    done = subprocess.run(
        [str(entrypoint), "true"],
        env={"PAYSIM_DATA_DIR": str(missing), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert f"paysim: the data directory {missing} is not writable by this container's user" in done.stderr
    assert "chown" in done.stderr and "--user" in done.stderr
    ok = subprocess.run(
        [str(entrypoint), "sh", "-c", "echo served"],
        env={"PAYSIM_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert (ok.returncode, ok.stdout) == (0, "served\n")


# --- compose --------------------------------------------------------------------------------------


def test_the_compose_file_builds_this_image_on_postgresql_and_redis() -> None:
    services = compose()["services"]
    paysim = services["paysim"]
    assert (ROOT / "deploy" / paysim["build"]["context"] / paysim["build"]["dockerfile"]).resolve() == DOCKERFILE
    assert set(paysim["depends_on"]) == {"postgres", "redis"}
    env = paysim["environment"]
    assert all(name in SETTINGS for name in env)
    assert env["PAYSIM_DATABASE_URL"].startswith("postgresql://") and "@postgres:5432/" in env["PAYSIM_DATABASE_URL"]
    assert env["PAYSIM_REDIS_URL"].startswith("redis://redis:")
    assert int(env["PAYSIM_WORKERS"]) > 1
    # Several processes on one database share their keys; each of at least 32 bytes.
    for name in ("PAYSIM_JWT_SECRET", "PAYSIM_FINGERPRINT_SECRET", "PAYSIM_WEBHOOK_SECRET_KEY"):
        assert len(env[name].encode()) >= 32, name
    Settings.from_env({k: str(v) for k, v in env.items()})  # the values are valid settings
    assert paysim["ports"] == [f"{image()['EXPOSE']}:{image()['EXPOSE']}"]
    assert "/data" in paysim["volumes"][0]
    assert int(paysim["stop_grace_period"].rstrip("s")) > Settings().grace_seconds


# --- Kubernetes -----------------------------------------------------------------------------------


def test_the_kubernetes_example_probes_and_runs_what_the_image_serves() -> None:
    kinds = kubernetes()
    assert set(kinds) == {"Secret", "Deployment", "Service", "PodDisruptionBudget"}
    pod = kinds["Deployment"]["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    port = int(image()["EXPOSE"])
    assert container["args"] == image()["CMD"]
    assert [p["containerPort"] for p in container["ports"]] == [port]
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["grpc"]["port"] == port, probe
    assert container["livenessProbe"]["failureThreshold"] * container["livenessProbe"]["periodSeconds"] > (
        container["readinessProbe"]["failureThreshold"] * container["readinessProbe"]["periodSeconds"]
    )
    env = {item["name"]: item for item in container["env"]}
    assert all(name in SETTINGS for name in env)
    assert env["PAYSIM_LISTEN"]["value"].endswith(f":{port}")
    secret_keys = set(kinds["Secret"]["stringData"])
    assert {item["valueFrom"]["secretKeyRef"]["key"] for item in env.values() if "valueFrom" in item} == secret_keys
    uid, gid = (int(part) for part in image()["USER"].split(":"))
    context = pod["spec"]["securityContext"]
    assert (context["runAsUser"], context["runAsGroup"], context["fsGroup"]) == (uid, gid, gid)
    assert pod["spec"]["terminationGracePeriodSeconds"] > Settings().grace_seconds
    assert container["volumeMounts"][0]["mountPath"] == image()["env"]["PAYSIM_DATA_DIR"]


def test_the_service_and_the_disruption_budget_select_the_deployments_pods() -> None:
    kinds = kubernetes()
    labels = kinds["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert kinds["Deployment"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert kinds["Service"]["spec"]["selector"].items() <= labels.items()
    assert kinds["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (service_port,) = kinds["Service"]["spec"]["ports"]
    (container,) = kinds["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert service_port["targetPort"] in [p["name"] for p in container["ports"]]
    assert kinds["PodDisruptionBudget"]["spec"]["minAvailable"] < kinds["Deployment"]["spec"]["replicas"]


# --- check_image.py fails where docker build would ------------------------------------------------

PINNED = "python:3.11-slim@sha256:" + "0" * 64


def _check(tmp_path: Path, dockerfile: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "Dockerfile").write_text(dockerfile)
    (tmp_path / "present.txt").write_text("here\n")
    (tmp_path / "secret.txt").write_text("left out\n")
    (tmp_path / ".dockerignore").write_text("secret.txt\n")
    script = str(ROOT / "server" / "check_image.py")
    return subprocess.run(
        [sys.executable, script, "--dockerfile", str(tmp_path / "Dockerfile"), "--context", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("dockerfile", "failure"),
    [
        ("FROM python:3.11-slim\n", "the base image is not pinned by digest"),
        (
            f"FROM {PINNED}\nCOPY missing.txt /app/\n",
            "line 2: `COPY missing.txt /app/`: missing.txt is not in the build context",
        ),
        (
            f"FROM {PINNED}\nCOPY secret.txt /app/\n",
            "secret.txt is not in the build context (or .dockerignore",
        ),
        (f"FROM {PINNED}\nCOPY present.txt /app/\nRUN test -f /app/present.txt && false\n", "`false` exited with 1"),
        (
            f'FROM {PINNED}\nCMD ["python", "-c", "raise SystemExit(3)"]\n'
            'HEALTHCHECK CMD ["python", "-c", "raise SystemExit(1)"]\n',
            "the image's command exited with 3 before it was healthy",
        ),
    ],
)
def test_check_image_fails_where_the_image_would(tmp_path: Path, dockerfile: str, failure: str) -> None:
    done = _check(tmp_path, dockerfile)
    assert done.returncode == 1, done.stdout + done.stderr
    assert failure in done.stderr, done.stderr


def test_check_image_runs_the_command_and_the_health_check(tmp_path: Path) -> None:
    # Healthy once it can take SIGTERM: a check that passed earlier would race the handler.
    server = (
        "import os,signal,sys,time; signal.signal(signal.SIGTERM, lambda *_: sys.exit(0)); "
        "open(os.environ['HEALTHY_FILE'], 'w').close(); time.sleep(60)"
    )
    dockerfile = (
        f"FROM {PINNED}\nWORKDIR /app\nCOPY present.txt ./\nENV HEALTHY_FILE=/app/ready.txt\n"
        f'CMD ["python", "-c", "{server}"]\n'
        'HEALTHCHECK --interval=1s CMD ["python", "-c", "import os; open(os.environ[\'HEALTHY_FILE\'])"]\n'
    )
    done = _check(tmp_path, dockerfile)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "HEALTHCHECK passed" in done.stdout and "stopped cleanly on SIGTERM" in done.stdout
