"""Runs the image's compiled code the way the chart runs it, without Docker or a cluster.

- The server: `node services/recommender/dist/server.js` from the image layout, with the environment
  the chart's Deployment sets (paths and ports pointed at local ones), until /readyz answers; then
  the Dockerfile's HEALTHCHECK script, /metrics and /v1/info; then SIGTERM must end it cleanly.
- The batch Jobs: the score Job's shell for every shard and the merge Job's wait loop and merge
  command, with the real compiled CLI; the merged submission must equal an unsharded run byte for byte.

Needs in the environment: APP_DIR (validate.sh's replay of the image build: the /app layout with
services/recommender/dist, config/ and node_modules), TINY_BUNDLE (artifacts/tiny-bundle, from
`make tiny-bundle`, which `make test` runs in test-node), HELM and K8S_VERSION.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.request
from pathlib import Path

from chart_assertions import VALUES_DIR, env_of, helm_template, one

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_DIR = Path(os.environ.get("APP_DIR", ""))
TINY_BUNDLE = Path(os.environ.get("TINY_BUNDLE", REPO_ROOT / "artifacts" / "tiny-bundle"))
CLI = "services/recommender/dist/cli/main.js"
SHARDS = 3

TOPICS = [
    # id, title, description, language, parent
    ("t-root-en", "Mathematics", "", "en", ""),
    ("t-alg", "Algebra", "Equations and expressions", "en", "t-root-en"),
    ("t-lin", "Linear equations", "Solving one and two step equations", "en", "t-alg"),
    ("t-geo", "Geometry", "Shapes, angles and area", "en", "t-root-en"),
    ("t-tri", "Triangles", "Angles in a triangle add up to 180 degrees", "en", "t-geo"),
    ("t-root-es", "Matemáticas", "", "es", ""),
    ("t-frac", "Fracciones", "Sumar y restar fracciones", "es", "t-root-es"),
    ("t-prob", "Probabilidad", "Sucesos y frecuencias", "es", "t-root-es"),
]
CONTENT = [
    # id, title, description, text, language
    ("c-1", "Solving linear equations", "Video lesson", "Isolate the variable by doing the same to both sides", "en"),
    ("c-2", "Two-step equations practice", "Exercise", "Solve 2x + 3 = 11 and similar equations", "en"),
    ("c-3", "Angles in triangles", "Video", "The interior angles of a triangle sum to 180 degrees", "en"),
    ("c-4", "Area of shapes", "Worksheet", "Find the area of rectangles, triangles and circles", "en"),
    ("c-5", "Expressions and terms", "Reading", "Collect like terms and simplify expressions", "en"),
    ("c-6", "Quadratic graphs", "Video", "Parabolas, roots and turning points", "en"),
    ("c-7", "Suma de fracciones", "Vídeo", "Para sumar fracciones se busca un denominador común", "es"),
    ("c-8", "Resta de fracciones", "Ejercicio", "Restar fracciones con distinto denominador", "es"),
    ("c-9", "Probabilidad básica", "Lectura", "La probabilidad de un suceso entre cero y uno", "es"),
    ("c-10", "Frecuencia relativa", "Ejercicio", "Lanzar una moneda cien veces y contar caras", "es"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 5) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def write_csv(path: Path, header: list[str], rows) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


class ImageSmoke(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not (APP_DIR / CLI).is_file():
            raise AssertionError(f"APP_DIR={APP_DIR}: no compiled {CLI} (validate.sh sets APP_DIR to its image build replay)")
        if not (TINY_BUNDLE / "manifest.json").is_file():
            raise AssertionError(f"{TINY_BUNDLE} is missing: run `make tiny-bundle` (make test does it in test-node)")
        cls.tmp = Path(tempfile.mkdtemp(prefix="image-smoke-"))
        cls.data = cls.tmp / "data"
        cls.data.mkdir()
        write_csv(cls.data / "topics.csv", ["id", "title", "description", "channel", "category", "level", "language", "parent", "has_content"],
                  [(i, t, d, "ch-" + lang, "source", 0, lang, p, "True") for i, t, d, lang, p in TOPICS])
        write_csv(cls.tmp / "content.csv", ["id", "title", "description", "kind", "text", "language", "copyright_holder", "license"],
                  [(i, t, d, "video", x, lang, "", "") for i, t, d, x, lang in CONTENT])
        cls.bundle = cls.tmp / "models" / "bundle"
        cls.index = cls.tmp / "models" / "index"
        shutil.copytree(TINY_BUNDLE, cls.bundle)
        cls.cli("index", "build", "--bundle", str(cls.bundle), "--content", str(cls.tmp / "content.csv"), "--out", str(cls.index))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def cli(cls, *args: str) -> str:
        result = subprocess.run(["node", CLI, *args], cwd=APP_DIR, capture_output=True, text=True, timeout=300, check=False)
        if result.returncode != 0:
            raise AssertionError(f"cli {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
        return result.stdout

    def chart_env(self, container: dict, **overrides: str) -> dict[str, str]:
        """The container's env from the chart, with the model paths pointed at the local copies."""
        env = {k: v for k, v in env_of(container).items() if v is not None}
        env.update(BUNDLE_PATH=str(self.bundle), INDEX_PATH=str(self.index))
        env.update(overrides)
        env.update(PATH=os.environ.get("PATH", "/usr/bin:/bin"), HOME=str(self.tmp))
        return env

    def test_server_with_the_chart_environment(self):
        container = one(helm_template("--show-only", "templates/deployment.yaml"), "Deployment")["spec"]["template"]["spec"]["containers"][0]
        http, grpc = free_port(), free_port()
        env = self.chart_env(container, HTTP_PORT=str(http), GRPC_PORT=str(grpc), HOST="127.0.0.1", LOG_LEVEL="warn")
        self.assertEqual(env["ORT_INTRA_OP_THREADS"], "2")
        log = (self.tmp / "server.log").open("w")
        server = subprocess.Popen(["node", "--enable-source-maps", "services/recommender/dist/server.js"], cwd=APP_DIR, env=env,
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            base = f"http://127.0.0.1:{http}"
            deadline = time.monotonic() + 120
            status = None
            while time.monotonic() < deadline and server.poll() is None:
                try:
                    status, _ = http_get(f"{base}/readyz", timeout=2)
                except OSError:
                    status = None
                if status == 200:
                    break
                time.sleep(0.5)
            self.assertEqual(status, 200, f"/readyz never answered 200; server log:\n{(self.tmp / 'server.log').read_text()[-3000:]}")
            health = subprocess.run(["node", str(REPO_ROOT / "deploy" / "docker" / "healthcheck.mjs")], env={**env, "HTTP_PORT": str(http)},
                                    capture_output=True, text=True, timeout=30, check=False)
            self.assertEqual(health.returncode, 0, health.stderr)
            status, metrics = http_get(f"{base}/metrics")
            self.assertEqual(status, 200)
            self.assertIn("# HELP", metrics)
            status, info = http_get(f"{base}/v1/info")
            self.assertEqual(status, 200)
            self.assertIsInstance(json.loads(info), dict)
            server.send_signal(signal.SIGTERM)
            self.assertEqual(server.wait(timeout=30), 0, "SIGTERM must end the server cleanly (exit 0)")
        finally:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
            log.close()

    def test_sharded_batch_jobs_equal_an_unsharded_run(self):
        docs = helm_template("-f", str(VALUES_DIR / "batch-only.yaml"), "--set", f"batch.data.mountPath={self.data}",
                             "--set", f"batch.shards={SHARDS}", "--set", "batch.merge.extraArgs=null")
        score = one(docs, "Job", "-score-")["spec"]["template"]["spec"]["containers"][0]
        for i in range(SHARDS):
            env = self.chart_env(score, JOB_COMPLETION_INDEX=str(i))
            result = subprocess.run(score["args"], cwd=APP_DIR, env=env, capture_output=True, text=True, timeout=300, check=False)
            self.assertEqual(result.returncode, 0, f"shard {i}:\n{result.stderr[-3000:]}")
        out_dir = self.data / "out"
        self.assertEqual(sorted(p.name for p in out_dir.iterdir()), [f"shard-{i}-of-{SHARDS}.csv" for i in range(SHARDS)])

        merge_pod = one(docs, "Job", "-merge-")["spec"]["template"]["spec"]
        wait = merge_pod["initContainers"][0]
        waited = subprocess.run(wait["args"], env=self.chart_env(wait), capture_output=True, text=True, timeout=30, check=False)
        self.assertEqual(waited.returncode, 0, waited.stderr)
        merge = merge_pod["containers"][0]
        merged = subprocess.run(merge["args"], cwd=APP_DIR, env=self.chart_env(merge), capture_output=True, text=True, timeout=120, check=False)
        self.assertEqual(merged.returncode, 0, merged.stderr)

        unsharded = self.tmp / "unsharded.csv"
        self.cli("score", "--bundle", str(self.bundle), "--index", str(self.index), "--topics", str(self.data / "topics.csv"),
                 "--threads", "1", "--out", str(unsharded))
        submission = out_dir / "submission.csv"
        self.assertEqual(submission.read_bytes(), unsharded.read_bytes())
        with submission.open(encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        self.assertGreater(len(rows), 0)
        self.assertTrue(set(r["topic_id"] for r in rows) <= {t[0] for t in TOPICS})


if __name__ == "__main__":
    unittest.main()
