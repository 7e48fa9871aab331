#!/usr/bin/env bash
# The last step of `make demo`: start the service on the default bundle and index, wait until it is
# ready, ask it for recommendations for a few held-out topics the Kolibri Studio way, print them next
# to the curriculum's own answer, and stop the service.
set -euo pipefail
cd "$(dirname "$0")/.."

DATASET=${DATASET:-oak}
BUNDLE_PATH=${BUNDLE_PATH:-artifacts/bundles/default}
INDEX_PATH=${INDEX_PATH:-artifacts/index/default}
HTTP_PORT=${HTTP_PORT:-8000}
GRPC_PORT=${GRPC_PORT:-50051}
LOG=artifacts/demo-service.log
mkdir -p artifacts

if curl -fsS "http://127.0.0.1:$HTTP_PORT/connect" >/dev/null 2>&1; then
  echo "something already answers on port $HTTP_PORT: stop it or set HTTP_PORT/GRPC_PORT" >&2; exit 1
fi
echo "== starting the service (bundle $BUNDLE_PATH, index $INDEX_PATH, http :$HTTP_PORT, grpc :$GRPC_PORT)"
# node itself (not npm) is the background process, so the EXIT trap's SIGTERM reaches the server
# and it shuts down gracefully.
BUNDLE_PATH=$BUNDLE_PATH INDEX_PATH=$INDEX_PATH TOPICS_PATH=data/$DATASET/topics.csv \
  HTTP_PORT=$HTTP_PORT GRPC_PORT=$GRPC_PORT \
  node --import tsx services/recommender/src/server.ts >"$LOG" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT

for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null 2>&1; then break; fi
  if ! kill -0 $pid 2>/dev/null; then echo "the service exited; its log:"; cat "$LOG"; exit 1; fi
  sleep 1
done
curl -fsS "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null || { echo "not ready after 120 s; log:"; tail -50 "$LOG"; exit 1; }
echo "== ready: $(curl -fsS "http://127.0.0.1:$HTTP_PORT/connect")"

node scripts/demo-request.mjs --data "data/$DATASET" --url "http://127.0.0.1:$HTTP_PORT" --topics 3
echo "== service log: $LOG (make serve starts the service alone)"
