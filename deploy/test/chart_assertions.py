"""What the Helm chart's rendered manifests must say (beyond being schema-valid Kubernetes).

Renders helm/recommender with `helm template` for the scenarios in deploy/test/values/ and asserts
probes, security, env, thread derivation, Service/HPA/PDB/ServiceMonitor wiring and the sharded batch
Jobs. Needs HELM (path to helm) and K8S_VERSION in the environment; validate.sh sets both.
Run: HELM=.tools/bin/helm K8S_VERSION=1.37.0 .tools/venv/bin/python -m unittest deploy/test/chart_assertions.py
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import unittest
from functools import lru_cache
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART = REPO_ROOT / "helm" / "recommender"
VALUES_DIR = Path(__file__).resolve().parent / "values"
DEFAULTS = json.loads((REPO_ROOT / "config" / "defaults.json").read_text(encoding="utf-8"))
HELM = os.environ.get("HELM", str(REPO_ROOT / ".tools" / "bin" / "helm"))
K8S_VERSION = os.environ.get("K8S_VERSION", "1.37.0")

# Every setting the chart passes to the service, with the value deploy/test/values/full.yaml sets.
FULL_ENV = {
    "BUNDLE_PATH": "/models/bundle",
    "INDEX_PATH": "/models/index",
    "HTTP_PORT": str(DEFAULTS["service"]["http_port"]),
    "GRPC_PORT": str(DEFAULTS["service"]["grpc_port"]),
    "ORT_INTRA_OP_THREADS": "1",  # limits.cpu 1500m -> one whole core
    "ORT_INTER_OP_THREADS": "2",
    "ENCODER_VARIANT": "distilled-int8",
    "EXECUTION_PROVIDER": "cpu",
    "LOG_LEVEL": "debug",
    "MAX_TOPICS_PER_REQUEST": "512",
    "MAX_BODY_BYTES": "10485760",
    "MAX_BATCH_TOKENS": "16384",
    "MAX_BATCH_WAIT_MS": "2.5",
    "SELECTION_MARGIN": "0.18",
    "MAX_CANDIDATES": "64",
}


def helm_template(*args: str) -> list[dict]:
    result = subprocess.run(
        [HELM, "template", "rel", str(CHART), "--namespace", "curriculum", "--kube-version", K8S_VERSION, *args],
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"helm template {' '.join(args)} failed:\n{result.stderr}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@lru_cache(maxsize=None)
def render(values_file: str | None = None) -> tuple:
    args = ("-f", str(VALUES_DIR / values_file)) if values_file else ()
    return tuple(helm_template(*args))


def one(docs, kind: str, name_part: str = "") -> dict:
    found = [d for d in docs if d["kind"] == kind and name_part in d["metadata"]["name"]]
    if len(found) != 1:
        raise AssertionError(f"expected one {kind} named *{name_part}*, found {[d['metadata']['name'] for d in found]}")
    return found[0]


def env_of(container: dict) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def server_container(docs) -> dict:
    return one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]


def deployment_threads(*set_args: str) -> str:
    docs = helm_template("--show-only", "templates/deployment.yaml", *set_args)
    return env_of(docs[0]["spec"]["template"]["spec"]["containers"][0])["ORT_INTRA_OP_THREADS"]


class DefaultRender(unittest.TestCase):
    def setUp(self):
        self.docs = render()

    def test_kinds(self):
        kinds = sorted(d["kind"] for d in self.docs)
        self.assertEqual(kinds, ["Deployment", "HorizontalPodAutoscaler", "Pod", "PodDisruptionBudget", "Service", "ServiceAccount"])

    def test_probes(self):
        c = server_container(self.docs)
        self.assertEqual(c["readinessProbe"]["httpGet"], {"path": "/readyz", "port": "http"})
        self.assertEqual(c["livenessProbe"]["httpGet"], {"path": "/healthz", "port": "http"})
        self.assertIn("httpGet", c["startupProbe"])
        # startup must allow a long bundle + index load before liveness can restart the pod
        startup = c["startupProbe"]
        self.assertGreaterEqual(startup["periodSeconds"] * startup["failureThreshold"], 300)

    def test_ports_follow_shared_defaults(self):
        c = server_container(self.docs)
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        self.assertEqual(ports, {"http": DEFAULTS["service"]["http_port"], "grpc": DEFAULTS["service"]["grpc_port"]})
        env = env_of(c)
        self.assertEqual(env["HTTP_PORT"], str(ports["http"]))
        self.assertEqual(env["GRPC_PORT"], str(ports["grpc"]))

    def test_security(self):
        d = one(self.docs, "Deployment")["spec"]["template"]["spec"]
        self.assertTrue(d["securityContext"]["runAsNonRoot"])
        self.assertNotEqual(d["securityContext"]["runAsUser"], 0)
        self.assertFalse(d["automountServiceAccountToken"])
        sc = d["containers"][0]["securityContext"]
        self.assertTrue(sc["readOnlyRootFilesystem"])
        self.assertFalse(sc["allowPrivilegeEscalation"])
        self.assertEqual(sc["capabilities"]["drop"], ["ALL"])
        mounts = {m["mountPath"]: m["name"] for m in d["containers"][0]["volumeMounts"]}
        volumes = {v["name"]: v for v in d["volumes"]}
        self.assertIn("emptyDir", volumes[mounts["/tmp"]], "read-only root needs an emptyDir /tmp")

    def test_resources_and_threads(self):
        c = server_container(self.docs)
        self.assertIn("cpu", c["resources"]["limits"])
        self.assertIn("memory", c["resources"]["limits"])
        self.assertIn("cpu", c["resources"]["requests"])
        self.assertEqual(env_of(c)["ORT_INTRA_OP_THREADS"], str(int(float(c["resources"]["limits"]["cpu"]))))

    def test_models_from_pvc_read_only(self):
        spec = one(self.docs, "Deployment")["spec"]["template"]["spec"]
        env = env_of(spec["containers"][0])
        self.assertEqual((env["BUNDLE_PATH"], env["INDEX_PATH"]), ("/models/bundle", "/models/index"))
        models = next(v for v in spec["volumes"] if v["name"] == "models")
        self.assertEqual(models["persistentVolumeClaim"], {"claimName": "curriculum-models", "readOnly": True})
        mount = next(m for m in spec["containers"][0]["volumeMounts"] if m["name"] == "models")
        self.assertTrue(mount["readOnly"])
        self.assertNotIn("initContainers", spec)

    def test_unset_settings_are_left_to_the_service(self):
        env = env_of(server_container(self.docs))
        for name in ("ENCODER_VARIANT", "MAX_TOPICS_PER_REQUEST", "MAX_BODY_BYTES", "MAX_BATCH_TOKENS", "MAX_BATCH_WAIT_MS", "SELECTION_MARGIN"):
            self.assertNotIn(name, env, f"{name} is null in values.yaml: the service default must apply")

    def test_service_selects_the_server_pods(self):
        svc = one(self.docs, "Service")
        pod_labels = one(self.docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
        self.assertLessEqual(svc["spec"]["selector"].items(), pod_labels.items())
        ports = {p["name"]: (p["port"], p["targetPort"]) for p in svc["spec"]["ports"]}
        self.assertEqual(ports, {"http": (8000, "http"), "grpc": (50051, "grpc")})

    def test_hpa_on_cpu_and_no_fixed_replicas(self):
        hpa = one(self.docs, "HorizontalPodAutoscaler")
        self.assertEqual(hpa["apiVersion"], "autoscaling/v2")
        self.assertEqual(hpa["spec"]["scaleTargetRef"]["name"], one(self.docs, "Deployment")["metadata"]["name"])
        self.assertEqual(hpa["spec"]["metrics"][0]["resource"]["name"], "cpu")
        self.assertNotIn("replicas", one(self.docs, "Deployment")["spec"], "the HPA owns the replica count")

    def test_pdb_selects_the_server_pods(self):
        pdb = one(self.docs, "PodDisruptionBudget")
        pod_labels = one(self.docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
        self.assertLessEqual(pdb["spec"]["selector"]["matchLabels"].items(), pod_labels.items())
        self.assertEqual(pdb["spec"]["maxUnavailable"], 1)

    def test_values_ports_match_shared_defaults(self):
        values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
        expected = {"http": DEFAULTS["service"]["http_port"], "grpc": DEFAULTS["service"]["grpc_port"]}
        self.assertEqual(values["containerPorts"], expected)
        self.assertEqual((values["service"]["httpPort"], values["service"]["grpcPort"]), (expected["http"], expected["grpc"]))


class ThreadsFromCpuLimit(unittest.TestCase):
    CASES = [
        (("--set", "resources.limits.cpu=2"), "2"),
        (("--set-string", "resources.limits.cpu=1500m"), "1"),
        (("--set-string", "resources.limits.cpu=500m"), "1"),
        (("--set-string", "resources.limits.cpu=4000m"), "4"),
        (("--set", "resources.limits.cpu=2.5"), "2"),
        (("--set", "resources.limits.cpu=8", "--set", "resources.requests.cpu=8"), "8"),
        (("--set", "resources.limits.cpu=null", "--set-string", "resources.requests.cpu=3"), "3"),
        (("--set", "config.ortIntraOpThreads=6"), "6"),
    ]

    def test_cases(self):
        for args, expected in self.CASES:
            with self.subTest(args=args):
                self.assertEqual(deployment_threads(*args), expected)


class FullRender(unittest.TestCase):
    def setUp(self):
        self.docs = render("full.yaml")

    def test_every_setting_reaches_the_environment(self):
        self.assertEqual(env_of(server_container(self.docs)), FULL_ENV)

    def test_models_fetched_by_init_container(self):
        spec = one(self.docs, "Deployment")["spec"]["template"]["spec"]
        init = spec["initContainers"][0]
        self.assertEqual(init["name"], "fetch-models")
        init_env = env_of(init)
        self.assertTrue(init_env["BUNDLE_URL"].endswith("bundle-0.1.0.tar.gz"))
        self.assertEqual(len(init_env["BUNDLE_SHA256"]), 64)
        self.assertIn("fetch-archive.mjs", init["args"][-1])
        models = next(v for v in spec["volumes"] if v["name"] == "models")
        self.assertIn("emptyDir", models)
        self.assertTrue(init["securityContext"]["readOnlyRootFilesystem"])

    def test_service_monitor(self):
        sm = one(self.docs, "ServiceMonitor")
        self.assertEqual(sm["apiVersion"], "monitoring.coreos.com/v1")
        self.assertEqual(sm["metadata"]["labels"]["release"], "prometheus")
        self.assertLessEqual(sm["spec"]["selector"]["matchLabels"].items(), one(self.docs, "Service")["metadata"]["labels"].items())
        self.assertEqual(sm["spec"]["endpoints"][0]["port"], "http")
        self.assertEqual(sm["spec"]["endpoints"][0]["path"], "/metrics")

    def test_indexed_score_job(self):
        job = one(self.docs, "Job", "-score-")
        spec = job["spec"]
        self.assertEqual(job["metadata"]["name"], "rel-recommender-score-oak-2026-11")
        self.assertEqual(spec["completionMode"], "Indexed")
        self.assertEqual((spec["completions"], spec["parallelism"]), (6, 3))
        pod = spec["template"]["spec"]
        self.assertEqual(pod["restartPolicy"], "Never")
        container = pod["containers"][0]
        script = container["args"][-1]
        self.assertIn('--shard "${JOB_COMPLETION_INDEX}/6"', script)
        self.assertIn("score", script)
        self.assertIn('--topics "/data/channels/oak/topics.csv"', script)
        self.assertIn('--bundle "$BUNDLE_PATH" --index "$INDEX_PATH"', script)
        self.assertIn('--threads "$ORT_INTRA_OP_THREADS"', script)
        self.assertIn('${ENCODER_VARIANT:+--variant "$ENCODER_VARIANT"}', script)
        self.assertIn('${SELECTION_MARGIN:+--margin "$SELECTION_MARGIN"}', script)
        self.assertIn("'--correlations' '/data/channels/oak/correlations.csv'", script)
        self.assertRegex(script, r'--out "\$out\.partial".*\n\s*mv "\$out\.partial" "\$out"')
        self.assertIn('out="/data/runs/oak-2026-11/shard-${JOB_COMPLETION_INDEX}-of-6.csv"', script)
        env = env_of(container)
        self.assertEqual(env["ORT_INTRA_OP_THREADS"], "4", "batch pods derive threads from batch.resources")
        self.assertEqual(env["ENCODER_VARIANT"], "distilled-int8")
        claim = next(v for v in pod["volumes"] if v["name"] == "data")["persistentVolumeClaim"]["claimName"]
        self.assertEqual(claim, "batch-data")
        self.assertEqual(pod["initContainers"][0]["name"], "fetch-models")

    def test_merge_job_waits_for_and_joins_every_shard(self):
        job = one(self.docs, "Job", "-merge-")
        pod = job["spec"]["template"]["spec"]
        shards = [f"/data/runs/oak-2026-11/shard-{i}-of-6.csv" for i in range(6)]
        args = pod["containers"][0]["args"]
        self.assertEqual(args[:5], ["node", "services/recommender/dist/cli/main.js", "merge", "--out", "/data/runs/oak-2026-11/submission.csv"])
        self.assertEqual(args[5:], shards)
        wait = pod["initContainers"][0]["args"][-1]
        self.assertIn("seq 0 5", wait)
        self.assertIn('"/data/runs/oak-2026-11/shard-$i-of-6.csv"', wait)
        self.assertRegex(wait, r'"\$ready" -eq 6')


class BatchScriptsRun(unittest.TestCase):
    """Runs the shell the batch Jobs run (score pod i, the merge's wait loop, the merge command) with a
    stand-in `node` on PATH that records its arguments and writes the --out file the CLI would."""

    STUB_NODE = """#!/bin/sh
printf '%s\\n' "$@" > "$STUB_LOG.$$"
cat "$STUB_LOG.$$" >> "$STUB_LOG"; echo "--" >> "$STUB_LOG"
out=$(grep -A1 -x -- --out "$STUB_LOG.$$" | tail -n 1)
echo "topic_id,content_ids" > "$out"
# a shard that crashes after writing part of its output
if [ -n "$STUB_FAIL_SHARD" ] && grep -qx "$STUB_FAIL_SHARD/6" "$STUB_LOG.$$"; then exit 3; fi
"""

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="batch-scripts-"))
        self.data = self.tmp / "data"
        self.data.mkdir()
        bin_dir = self.tmp / "bin"
        bin_dir.mkdir()
        (bin_dir / "node").write_text(self.STUB_NODE, encoding="utf-8")
        (bin_dir / "node").chmod(0o755)
        self.path = f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}"
        self.log = self.tmp / "node-calls.log"
        self.docs = helm_template("-f", str(VALUES_DIR / "full.yaml"), "--set", f"batch.data.mountPath={self.data}")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_container(self, container: dict, extra_env: dict | None = None, drop_env: tuple = (), timeout: float = 20):
        """Runs the container's `/bin/sh -ec SCRIPT`; returns (exit code or None on timeout, stdout, stderr).
        On timeout the whole process group (the script and its `sleep`) is killed."""
        env = {"PATH": self.path, "STUB_LOG": str(self.log)}
        env.update({k: v for k, v in env_of(container).items() if v is not None and k not in drop_env})
        env.update(extra_env or {})
        args = container["args"]
        self.assertEqual(args[:2], ["/bin/sh", "-ec"])
        proc = subprocess.Popen(["/bin/sh", "-ec", args[2]], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
            return proc.returncode, out, err
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            return None, out, err

    def calls(self) -> list[list[str]]:
        text = self.log.read_text(encoding="utf-8") if self.log.exists() else ""
        return [block.strip("\n").split("\n") for block in text.split("--\n") if block.strip()]

    def test_every_shard_publishes_its_file_and_the_merge_finds_them(self):
        score = one(self.docs, "Job", "-score-")["spec"]["template"]["spec"]["containers"][0]
        out_dir = self.data / "runs" / "oak-2026-11"
        for i in range(6):
            code, _, err = self.run_container(score, {"JOB_COMPLETION_INDEX": str(i)})
            self.assertEqual(code, 0, err)
        self.assertEqual(sorted(p.name for p in out_dir.iterdir()), [f"shard-{i}-of-6.csv" for i in range(6)])
        first = self.calls()[0]
        self.assertEqual(first[:2], ["services/recommender/dist/cli/main.js", "score"])
        flags = dict(zip(first[2::2], first[3::2]))
        self.assertEqual(flags["--shard"], "0/6")
        self.assertEqual(flags["--threads"], "4")
        self.assertEqual(flags["--variant"], "distilled-int8")
        self.assertEqual(flags["--margin"], "0.18")
        self.assertEqual(flags["--bundle"], "/models/bundle")
        self.assertEqual(flags["--index"], "/models/index")
        self.assertEqual(flags["--correlations"], "/data/channels/oak/correlations.csv")
        self.assertEqual(flags["--out"], f"{out_dir}/shard-0-of-6.csv.partial")

        merge_pod = one(self.docs, "Job", "-merge-")["spec"]["template"]["spec"]
        code, out, err = self.run_container(merge_pod["initContainers"][0])
        self.assertEqual(code, 0, err)
        self.assertIn("6/6 shards ready", out)
        merge_args = merge_pod["containers"][0]["args"]
        self.assertTrue(all(Path(a).exists() for a in merge_args if a.endswith("-of-6.csv")))

    def test_unset_variant_and_margin_are_not_passed(self):
        score = one(self.docs, "Job", "-score-")["spec"]["template"]["spec"]["containers"][0]
        code, _, err = self.run_container(score, {"JOB_COMPLETION_INDEX": "1"}, drop_env=("ENCODER_VARIANT", "SELECTION_MARGIN"))
        self.assertEqual(code, 0, err)
        call = self.calls()[0]
        self.assertNotIn("--variant", call)
        self.assertNotIn("--margin", call)
        self.assertIn("1/6", call)

    def test_a_failed_shard_publishes_nothing_and_the_merge_keeps_waiting(self):
        score = one(self.docs, "Job", "-score-")["spec"]["template"]["spec"]["containers"][0]
        for i in range(6):
            code, _, err = self.run_container(score, {"JOB_COMPLETION_INDEX": str(i), "STUB_FAIL_SHARD": "2"})
            self.assertEqual(code != 0, i == 2, err)
        self.assertFalse((self.data / "runs" / "oak-2026-11" / "shard-2-of-6.csv").exists())
        wait = one(self.docs, "Job", "-merge-")["spec"]["template"]["spec"]["initContainers"][0]
        code, out, _ = self.run_container(wait, timeout=2)
        self.assertIsNone(code, "the merge must not start while a shard is missing")
        self.assertIn("5/6 shards ready", out)


class ImageSourceRender(unittest.TestCase):
    def setUp(self):
        self.docs = render("image-source.yaml")

    def test_copy_init_container_and_fixed_replicas(self):
        deployment = one(self.docs, "Deployment")
        self.assertEqual(deployment["spec"]["replicas"], 3)
        self.assertFalse([d for d in self.docs if d["kind"] == "HorizontalPodAutoscaler"])
        init = deployment["spec"]["template"]["spec"]["initContainers"][0]
        self.assertEqual(init["image"], "registry.example.org/curriculum-recommender:0.1.0-baked")
        self.assertIn('cp -R "/models/bundle/." "/target/bundle/"', init["args"][0])
        self.assertEqual(env_of(deployment["spec"]["template"]["spec"]["containers"][0])["ORT_INTRA_OP_THREADS"], "4")

    def test_pdb_min_available(self):
        pdb = one(self.docs, "PodDisruptionBudget")["spec"]
        self.assertEqual(pdb.get("minAvailable"), 2)
        self.assertNotIn("maxUnavailable", pdb)


class BatchOnlyRender(unittest.TestCase):
    def test_only_the_jobs(self):
        docs = render("batch-only.yaml")
        self.assertEqual(sorted(d["kind"] for d in docs), ["Job", "Job", "ServiceAccount"])
        merge = one(docs, "Job", "-merge-")["spec"]["template"]["spec"]["containers"][0]["args"]
        self.assertEqual(merge[-4:], ["--correlations", "/data/correlations.csv", "--topics", "/data/topics.csv"])
        self.assertEqual(merge[5:8], [f"/data/out/shard-{i}-of-3.csv" for i in range(3)])
        score = one(docs, "Job", "-score-")
        self.assertEqual(score["metadata"]["name"], "rel-recommender-score-r1", "default run id: r<helm revision>")
        models = next(v for v in score["spec"]["template"]["spec"]["volumes"] if v["name"] == "models")
        self.assertEqual(models["persistentVolumeClaim"]["claimName"], "curriculum-models")


class BakedRender(unittest.TestCase):
    def test_nothing_mounted(self):
        spec = one(render("baked.yaml"), "Deployment")["spec"]["template"]["spec"]
        self.assertNotIn("initContainers", spec)
        self.assertEqual([v["name"] for v in spec["volumes"]], ["tmp"])
        self.assertEqual(env_of(spec["containers"][0])["BUNDLE_PATH"], "/models/bundle")
        self.assertTrue(spec["containers"][0]["image"].endswith(":0.1.0-baked"))


class Notes(unittest.TestCase):
    """NOTES.txt is only printed by `helm install` (which wants a cluster), so a copy of the chart gets a
    probe template that renders NOTES.txt with `tpl` into a ConfigMap, which `helm template` shows."""

    def render_notes(self, values_file: str) -> str:
        with tempfile.TemporaryDirectory() as tmp:
            chart = Path(tmp) / "recommender"
            shutil.copytree(CHART, chart)
            shutil.copy(chart / "templates" / "NOTES.txt", chart / "notes-under-test.txt")
            (chart / "templates" / "zz-notes-probe.yaml").write_text(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: |\n"
                '{{ tpl (.Files.Get "notes-under-test.txt") . | indent 4 }}\n',
                encoding="utf-8",
            )
            result = subprocess.run(
                [HELM, "template", "rel", str(chart), "--namespace", "curriculum", "--kube-version", K8S_VERSION,
                 "-f", str(VALUES_DIR / values_file), "--show-only", "templates/zz-notes-probe.yaml"],
                capture_output=True, text=True, check=False,
            )
        self.assertEqual(result.returncode, 0, result.stderr)
        return yaml.safe_load(result.stdout)["data"]["notes"]

    def test_notes_render_thread_count_and_batch_commands(self):
        notes = self.render_notes("full.yaml")
        self.assertIn("intra-op 1 (CPU limit 1500m)", notes)
        self.assertIn("kubectl -n curriculum get job rel-recommender-score-oak-2026-11 -w", notes)
        self.assertIn("/data/runs/oak-2026-11/submission.csv", notes)
        self.assertIn("BUNDLE_PATH=/models/bundle", notes)
        self.assertNotRegex(notes, re.compile(r"<no value>|%!"))

    def test_notes_without_the_server(self):
        notes = self.render_notes("batch-only.yaml")
        self.assertIn("Online service: disabled", notes)
        self.assertNotIn("port-forward", notes)
        self.assertIn("get job rel-recommender-score-r1", notes)


if __name__ == "__main__":
    unittest.main()
