"""Checks the essentials of the repository's Dockerfile from the file itself (no Docker engine needed).

What must hold for the image the Dockerfile builds by default (its last stage, followed through the
stages it is built FROM):
  - it runs as a numeric, non-root USER (Kubernetes' runAsNonRoot can only verify a numeric uid);
  - it EXPOSEs the HTTP and gRPC ports of config/defaults.json;
  - it has a HEALTHCHECK run with node (the slim base image has neither curl nor wget);
  - it carries no dev dependencies: it is not built FROM a stage that ran a full `npm ci`, runs no
    npm install itself, and copies node_modules only from stages that installed with --omit=dev;
  - it copies config/defaults.json (the service reads it) and points BUNDLE_PATH / INDEX_PATH at
    /models/bundle and /models/index (where the chart mounts them);
  - every stage that runs `npm ci` / `npm install` has ONNXRUNTIME_NODE_INSTALL=skip in its
    environment (otherwise onnxruntime-node's install script tries to download CUDA binaries);
  - every COPY from the build context names files that exist and that .dockerignore lets through.

Usage: python dockerfile_checks.py [Dockerfile] [config/defaults.json]   (exit 1 on any problem)
"""
from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
MODELS_ENV = {"BUNDLE_PATH": "/models/bundle", "INDEX_PATH": "/models/index"}


@dataclass
class Instruction:
    line: int
    keyword: str
    args: str


@dataclass
class Stage:
    index: int
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Joins backslash continuations and drops comments; returns (first line number, text) pairs."""
    out: list[tuple[int, str]] = []
    buf: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not buf and (not stripped or stripped.startswith("#")):
            continue
        if buf and stripped.startswith("#"):  # comment lines inside a continuation are ignored
            continue
        if not buf:
            start = number
        if stripped.endswith("\\"):
            buf.append(stripped[:-1].strip())
            continue
        buf.append(stripped)
        out.append((start, " ".join(part for part in buf if part)))
        buf = []
    if buf:
        out.append((start, " ".join(buf)))
    return out


def parse(text: str) -> list[Stage]:
    stages: list[Stage] = []
    for line, content in logical_lines(text):
        keyword, _, args = content.partition(" ")
        keyword = keyword.upper()
        args = args.strip()
        if keyword == "FROM":
            words = [w for w in args.split() if not w.startswith("--")]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(index=len(stages), base=words[0], name=name))
        elif stages:
            stages[-1].instructions.append(Instruction(line, keyword, args))
    return stages


def chain(stages: list[Stage], stage: Stage) -> list[Stage]:
    """The stage preceded by the stages it is built FROM (outermost first)."""
    by_name = {s.name: s for s in stages if s.name}
    result = [stage]
    while result[0].base in by_name:
        result.insert(0, by_name[result[0].base])
    return result


def parse_env(args: str) -> dict[str, str]:
    words = shlex.split(args)
    if len(words) >= 2 and "=" not in words[0]:  # legacy form: ENV KEY value
        return {words[0]: " ".join(words[1:])}
    return dict(word.split("=", 1) for word in words if "=" in word)


def effective(stages: list[Stage], stage: Stage) -> dict:
    """What a stage's image ends up with: env, user, exposed ports, healthcheck, instructions."""
    env: dict[str, str] = {}
    user = None
    exposed: set[int] = set()
    healthcheck = None
    instructions: list[tuple[Stage, Instruction]] = []
    for s in chain(stages, stage):
        for ins in s.instructions:
            instructions.append((s, ins))
            if ins.keyword == "ENV":
                env.update(parse_env(ins.args))
            elif ins.keyword == "USER":
                user = ins.args.split()[0]
            elif ins.keyword == "EXPOSE":
                exposed.update(int(p.split("/")[0]) for p in ins.args.split())
            elif ins.keyword == "HEALTHCHECK":
                healthcheck = ins.args
    return {"env": env, "user": user, "exposed": exposed, "healthcheck": healthcheck, "instructions": instructions}


NPM_INSTALL = re.compile(r"\bnpm\s+(ci|install|i)\b([^&;|]*)")


def npm_installs(ins: Instruction) -> list[str]:
    """The argument strings of every npm ci/install in a RUN instruction."""
    if ins.keyword != "RUN":
        return []
    return [m.group(0) for m in NPM_INSTALL.finditer(ins.args)]


def installs_dev_dependencies(command: str) -> bool:
    return not re.search(r"--omit[= ]dev\b|--production\b|--only[= ]prod", command)


def check(dockerfile_text: str, defaults: dict) -> list[str]:
    stages = parse(dockerfile_text)
    if not stages:
        return ["Dockerfile: no FROM instruction"]
    problems: list[str] = []
    final = stages[-1]
    label = f"final stage '{final.name or final.index}'"
    state = effective(stages, final)
    by_name = {s.name: s for s in stages if s.name}

    # Non-root, numeric user.
    user = state["user"]
    if user is None:
        problems.append(f"{label}: no USER instruction, the container would run as root")
    else:
        uid = user.split(":")[0]
        if not uid.isdigit():
            problems.append(f"{label}: USER {user} is not numeric; Kubernetes runAsNonRoot cannot verify a user name")
        elif int(uid) == 0:
            problems.append(f"{label}: USER {user} is root")

    # Ports from the shared defaults.
    for key in ("http_port", "grpc_port"):
        port = defaults["service"][key]
        if port not in state["exposed"]:
            problems.append(f"{label}: port {port} (config/defaults.json service.{key}) is not EXPOSEd")

    # Healthcheck with node.
    hc = state["healthcheck"]
    if hc is None or hc.upper().startswith("NONE"):
        problems.append(f"{label}: no HEALTHCHECK")
    elif not re.search(r'CMD\s+(\[\s*"node"|node\b)', hc):
        problems.append(f"{label}: HEALTHCHECK must run node (the slim image has no curl/wget): {hc}")

    # No dev dependencies in the final image.
    base_chain = chain(stages, final)
    for s in base_chain:
        for ins in s.instructions:
            for cmd in npm_installs(ins):
                problems.append(f"{label}: line {ins.line} runs '{cmd.strip()}' in the runtime image (install in a build stage and copy node_modules)")
    for s, ins in state["instructions"]:
        if ins.keyword != "COPY" or "node_modules" not in ins.args:
            continue
        source = re.search(r"--from=(\S+)", ins.args)
        if not source:
            problems.append(f"{label}: line {ins.line} copies node_modules from the build context")
            continue
        src_stage = by_name.get(source.group(1))
        if src_stage is None:
            problems.append(f"{label}: line {ins.line} copies node_modules from unknown stage {source.group(1)}")
            continue
        installs = [c for st in chain(stages, src_stage) for i in st.instructions for c in npm_installs(i)]
        if not installs:
            problems.append(f"{label}: line {ins.line} copies node_modules from '{src_stage.name}', which installs none")
        for cmd in installs:
            if installs_dev_dependencies(cmd):
                problems.append(f"{label}: line {ins.line} copies node_modules from '{src_stage.name}', whose '{cmd.strip()}' installs dev dependencies")

    # Shared defaults and model locations.
    copies_defaults = any(ins.keyword == "COPY" and "config/defaults.json" in ins.args for _, ins in state["instructions"])
    if not copies_defaults:
        problems.append(f"{label}: config/defaults.json is not copied (the service reads it)")
    for var, path in MODELS_ENV.items():
        if state["env"].get(var) != path:
            problems.append(f"{label}: ENV {var} should be {path} (found {state['env'].get(var)!r})")

    # onnxruntime-node's install script must be skipped wherever npm installs.
    for stage in stages:
        env = effective(stages, stage)["env"]
        for ins in stage.instructions:
            for cmd in npm_installs(ins):
                inline = "ONNXRUNTIME_NODE_INSTALL=skip" in ins.args
                if env.get("ONNXRUNTIME_NODE_INSTALL") != "skip" and not inline:
                    problems.append(f"stage '{stage.name or stage.index}': line {ins.line} runs '{cmd.strip()}' without ONNXRUNTIME_NODE_INSTALL=skip")
    return problems


def ignore_rules(dockerignore_text: str) -> list[tuple[bool, re.Pattern]]:
    """.dockerignore as (is_exception, regex) rules: `**` any depth, `*` and `?` within one path part."""
    rules = []
    for raw in dockerignore_text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        pattern = line[1:].strip() if exception else line
        pattern = pattern.strip("/")
        regex = ""
        i = 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                regex += "(?:.*/)?"
                i += 3
            elif pattern.startswith("**", i):
                regex += ".*"
                i += 2
            elif pattern[i] == "*":
                regex += "[^/]*"
                i += 1
            elif pattern[i] == "?":
                regex += "[^/]"
                i += 1
            else:
                regex += re.escape(pattern[i])
                i += 1
        rules.append((exception, re.compile(regex + "$")))
    return rules


def ignored(path: str, rules: list[tuple[bool, re.Pattern]]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent folders decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    verdict = False
    for exception, regex in rules:
        if any(regex.match(c) for c in candidates):
            verdict = not exception
    return verdict


def context_problems(dockerfile_text: str, dockerignore_text: str, files: list[str]) -> list[str]:
    """Every COPY from the build context must find files that .dockerignore lets through."""
    rules = ignore_rules(dockerignore_text)
    problems = []
    for stage in parse(dockerfile_text):
        for ins in stage.instructions:
            if ins.keyword != "COPY" or "--from=" in ins.args:
                continue
            words = [w for w in ins.args.split() if not w.startswith("--")]
            for source in words[:-1]:
                if "$" in source:  # build-argument paths (the baked target's BUNDLE_DIR/INDEX_DIR)
                    continue
                prefix = source.rstrip("/")
                matched = [f for f in files if f == prefix or f.startswith(prefix + "/")]
                if not matched:
                    problems.append(f"line {ins.line}: COPY {source}: no such file in the repository")
                    continue
                blocked = [f for f in matched if ignored(f, rules)]
                if blocked:
                    problems.append(f"line {ins.line}: COPY {source}: .dockerignore excludes {blocked[0]}" + (f" and {len(blocked) - 1} more" if len(blocked) > 1 else ""))
    return problems


def repository_files(root: Path) -> list[str]:
    """Files a fresh clone has (tracked or not ignored), relative to root."""
    out = subprocess.run(["git", "-C", str(root), "ls-files", "--cached", "--others", "--exclude-standard"],
                         capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line]


def main(argv: list[str]) -> int:
    dockerfile = Path(argv[1]) if len(argv) > 1 else REPO_ROOT / "Dockerfile"
    defaults_path = Path(argv[2]) if len(argv) > 2 else REPO_ROOT / "config" / "defaults.json"
    text = dockerfile.read_text(encoding="utf-8")
    problems = check(text, json.loads(defaults_path.read_text(encoding="utf-8")))
    dockerignore = dockerfile.parent / ".dockerignore"
    if dockerignore.exists():
        problems += context_problems(text, dockerignore.read_text(encoding="utf-8"), repository_files(dockerfile.parent))
    else:
        problems.append(".dockerignore missing: the whole repository (node_modules, data, artifacts) would be sent as build context")
    for problem in problems:
        print(f"{dockerfile.name}: {problem}")
    if not problems:
        print(f"{dockerfile.name}: essentials OK (non-root numeric USER, EXPOSE, HEALTHCHECK, prod-only node_modules, defaults.json, model paths, ORT install skipped, COPY sources pass .dockerignore)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
