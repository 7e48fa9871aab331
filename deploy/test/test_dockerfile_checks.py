"""The Dockerfile checks pass on the real Dockerfile and catch each essential when it is broken.

Each broken case is a one-line mutation of the real Dockerfile, so the cases follow the file as it
changes. Run: python -m unittest deploy/test/test_dockerfile_checks.py (validate.sh does).
"""
from __future__ import annotations

import json
import re
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dockerfile_checks import REPO_ROOT, check, context_problems, ignored, ignore_rules, parse, repository_files  # noqa: E402

DOCKERFILE = (REPO_ROOT / "Dockerfile").read_text(encoding="utf-8")
DEFAULTS = json.loads((REPO_ROOT / "config" / "defaults.json").read_text(encoding="utf-8"))
DOCKERIGNORE = (REPO_ROOT / ".dockerignore").read_text(encoding="utf-8")
FILES = repository_files(REPO_ROOT)


def mutate(pattern: str, replacement: str, text: str = DOCKERFILE) -> str:
    changed, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    assert count > 0, f"mutation pattern {pattern!r} no longer matches the Dockerfile: update the test"
    return changed


class RealDockerfile(unittest.TestCase):
    def test_passes(self):
        self.assertEqual(check(DOCKERFILE, DEFAULTS), [])

    def test_default_target_is_the_mounted_runtime(self):
        stages = parse(DOCKERFILE)
        self.assertEqual(stages[-1].name, "runtime")
        self.assertIn("baked", [s.name for s in stages])

    def test_runtime_base_is_node20_slim(self):
        stages = {s.name: s for s in parse(DOCKERFILE)}
        self.assertEqual(stages["base"].base, "node:${NODE_VERSION}-bookworm-slim")
        self.assertRegex(DOCKERFILE, r"ARG NODE_VERSION=20\.")


class BrokenDockerfiles(unittest.TestCase):
    def assertProblem(self, text: str, fragment: str):
        problems = check(text, DEFAULTS)
        self.assertTrue(any(fragment in p for p in problems), f"expected a problem containing {fragment!r}, got {problems}")

    def test_missing_user_runs_as_root(self):
        self.assertProblem(mutate(r"^USER .*$", ""), "no USER")

    def test_root_user(self):
        self.assertProblem(mutate(r"^USER .*$", "USER 0"), "is root")

    def test_named_user_is_not_verifiable(self):
        self.assertProblem(mutate(r"^USER .*$", "USER node"), "not numeric")

    def test_user_reset_to_root_in_final_stage(self):
        self.assertProblem(DOCKERFILE + "USER root\n", "not numeric")

    def test_missing_grpc_port(self):
        self.assertProblem(mutate(r"^EXPOSE .*$", "EXPOSE 8000"), "port 50051")

    def test_port_follows_shared_defaults(self):
        defaults = json.loads(json.dumps(DEFAULTS))
        defaults["service"]["http_port"] = 9000
        self.assertTrue(any("port 9000" in p for p in check(DOCKERFILE, defaults)))

    def test_missing_healthcheck(self):
        text = mutate(r"^HEALTHCHECK .*\\\n.*\n", "")
        self.assertProblem(text, "no HEALTHCHECK")

    def test_healthcheck_with_curl(self):
        text = mutate(r'CMD \["node", "/app/deploy/docker/healthcheck.mjs"\]', "CMD curl -f http://localhost:8000/healthz")
        self.assertProblem(text, "must run node")

    def test_dev_dependencies_copied(self):
        self.assertProblem(mutate(r"npm ci --omit=dev", "npm ci"), "installs dev dependencies")

    def test_node_modules_from_build_stage(self):
        self.assertProblem(mutate(r"COPY --from=prod-deps /app/node_modules/", "COPY --from=build /app/node_modules/"), "installs dev dependencies")

    def test_npm_install_in_runtime(self):
        text = mutate(r"^USER 1000:1000$", "RUN npm ci --omit=dev\nUSER 1000:1000")
        self.assertProblem(text, "in the runtime image")

    def test_runtime_built_from_build_stage(self):
        self.assertProblem(mutate(r"^FROM base AS runtime-common$", "FROM build AS runtime-common"), "in the runtime image")

    def test_onnxruntime_install_not_skipped(self):
        self.assertProblem(mutate(r"^ENV ONNXRUNTIME_NODE_INSTALL=skip \\$", "ENV \\\\"), "without ONNXRUNTIME_NODE_INSTALL=skip")

    def test_defaults_json_not_copied(self):
        self.assertProblem(mutate(r"^COPY config/defaults.json config/\n(?=COPY proto)", ""), "defaults.json is not copied")

    def test_model_paths(self):
        self.assertProblem(mutate(r"BUNDLE_PATH=/models/bundle", "BUNDLE_PATH=/data/bundle"), "ENV BUNDLE_PATH")


class BuildContext(unittest.TestCase):
    def test_every_copy_source_reaches_the_build(self):
        self.assertEqual(context_problems(DOCKERFILE, DOCKERIGNORE, FILES), [])

    def test_context_leaves_out_bulk(self):
        rules = ignore_rules(DOCKERIGNORE)
        for path in ("node_modules/express/package.json", "training/curriculum_training/train.py", "data/oak/topics.csv",
                     "artifacts/checkpoints/default/model.pt", "services/recommender/test/text.test.ts", ".git/HEAD"):
            self.assertTrue(ignored(path, rules), path)
        for path in ("artifacts/bundles/default/manifest.json", "artifacts/index/default/CURRENT", "proto/curriculum/recommender/v1/recommender.proto"):
            self.assertFalse(ignored(path, rules), path)

    def test_excluded_copy_source_is_reported(self):
        without_proto = "\n".join(line for line in DOCKERIGNORE.splitlines() if line != "!proto/**")
        problems = context_problems(DOCKERFILE, without_proto, FILES)
        self.assertTrue(any("COPY proto/" in p and "excludes proto/" in p for p in problems), problems)

    def test_missing_copy_source_is_reported(self):
        text = mutate(r"COPY proto/ proto/", "COPY protos/ protos/")
        self.assertTrue(any("COPY protos/: no such file" in p for p in context_problems(text, DOCKERIGNORE, FILES)))


if __name__ == "__main__":
    unittest.main()
