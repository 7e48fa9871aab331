# syntax=docker/dockerfile:1.7
# Curriculum recommender: REST + gRPC service and batch-scoring CLI (services/recommender), CPU image.
#
# Stages:
#   toolchain      node slim + python3/make/g++ (hnswlib-node builds its addon with node-gyp)
#   build          every dependency (dev included) + TypeScript compiled to services/recommender/dist
#   prod-deps      production dependencies only (npm ci --omit=dev), other platforms' ORT binaries pruned
#   runtime-common the slim runtime: compiled JS, prod node_modules, config/defaults.json; non-root
#   baked          runtime + a bundle and an index copied in (docker build --target baked ...)
#   runtime        the default target: bundle and index are mounted at /models/bundle and /models/index
#
#   docker build -t curriculum-recommender:0.1.0 .
#   docker build --target baked --build-arg BUNDLE_DIR=artifacts/bundles/default \
#                --build-arg INDEX_DIR=artifacts/index/default -t curriculum-recommender:0.1.0-baked .
ARG NODE_VERSION=20.20.2

FROM node:${NODE_VERSION}-bookworm-slim AS base
# bash with pipefail: a failing command on the left of a pipe fails the build.
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /app
# onnxruntime-node's install script would download CUDA binaries from the internet; the CPU
# binaries already ship inside the npm package, so skip it (CPU is the image's execution provider).
ENV ONNXRUNTIME_NODE_INSTALL=skip \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

FROM base AS toolchain
# Debian's own versions of the compilers are what node-gyp expects; pinning them would break on
# every point release of the base image.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY services/recommender/package.json services/recommender/

FROM toolchain AS build
RUN --mount=type=cache,target=/root/.npm npm ci
COPY config/defaults.json config/
COPY services/recommender/tsconfig.json services/recommender/
COPY services/recommender/src/ services/recommender/src/
COPY deploy/docker/tsconfig.build.json services/recommender/
WORKDIR /app/services/recommender
# Compile src/ to dist/ (same depth as src/, so paths the code derives from its own location, such as
# the repository root holding config/, stay right); copy the non-TypeScript assets (the gRPC
# descriptor set) beside the JS; fail here, not at run time, if an entry point is missing.
# (pipefail is on: SHELL is inherited from the base stage, which hadolint does not follow.)
# hadolint ignore=DL4006
RUN /app/node_modules/.bin/tsc -p tsconfig.build.json \
 && tar -C src --exclude='*.ts' -cf - . | tar -C dist -xf - \
 && test -f dist/server.js && test -f dist/cli/main.js

FROM toolchain AS prod-deps
ARG TARGETARCH
# Compiler flags for the hnswlib-node addon (the Makefile's HNSW_CXXFLAGS): -mavx compiles hnswlib's
# AVX distance kernels (faster searches; the CPU is still checked at run time). Only x86 knows -mavx,
# so other architectures drop that default (other flags pass through). -march=native would tie the
# image to the build host's CPU.
ARG HNSW_CXXFLAGS=-mavx
# Production dependencies only. onnxruntime-node ships binaries for five platforms (~290 MB); keep
# the one this image runs on, then prove both native addons still load. The workspace's own
# node_modules folder (packages npm could not hoist) must exist for the runtime stage to copy it.
RUN --mount=type=cache,target=/root/.npm \
    case "${TARGETARCH:-amd64}/${HNSW_CXXFLAGS}" in amd64/*) cxxflags="${HNSW_CXXFLAGS}" ;; */-mavx) cxxflags= ;; *) cxxflags="${HNSW_CXXFLAGS}" ;; esac \
 && CXXFLAGS="${cxxflags}" npm ci --omit=dev \
 && case "${TARGETARCH:-amd64}" in amd64) ort_arch=x64 ;; *) ort_arch="${TARGETARCH}" ;; esac \
 && find node_modules/onnxruntime-node/bin -mindepth 3 -maxdepth 3 -type d ! -path "*/linux/${ort_arch}" -exec rm -rf {} + \
 && node -e "require('onnxruntime-node'); require('hnswlib-node')" \
 && mkdir -p services/recommender/node_modules

FROM base AS runtime-common
# tini as PID 1 forwards SIGTERM to node (so in-flight requests drain) and reaps zombies.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /models/bundle /models/index
ENV NODE_ENV=production \
    RECOMMENDER_DEFAULTS_PATH=/app/config/defaults.json \
    BUNDLE_PATH=/models/bundle \
    INDEX_PATH=/models/index \
    HTTP_PORT=8000 \
    GRPC_PORT=50051
COPY package.json ./
COPY services/recommender/package.json services/recommender/
COPY --from=prod-deps /app/node_modules/ node_modules/
# npm keeps a workspace's own copy of a package whose version conflicts with the hoisted one here.
COPY --from=prod-deps /app/services/recommender/node_modules/ services/recommender/node_modules/
COPY --from=build /app/services/recommender/dist/ services/recommender/dist/
COPY config/defaults.json config/
COPY proto/ proto/
COPY deploy/docker/healthcheck.mjs deploy/docker/fetch-archive.mjs deploy/docker/
# The image's "node" user (uid 1000), numeric so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 8000 50051
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD ["node", "/app/deploy/docker/healthcheck.mjs"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--enable-source-maps", "services/recommender/dist/server.js"]

# A self-contained image: the bundle and index inside it (they must be inside the build context and
# not excluded by .dockerignore; artifacts/bundles and artifacts/index are allowed).
FROM runtime-common AS baked
ARG BUNDLE_DIR=artifacts/bundles/default
ARG INDEX_DIR=artifacts/index/default
COPY ${BUNDLE_DIR}/ /models/bundle/
COPY ${INDEX_DIR}/ /models/index/

# Default target, last so that a plain `docker build .` gives it: bundle and index mounted at run time.
FROM runtime-common AS runtime
