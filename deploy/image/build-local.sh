#!/usr/bin/env bash
# Builds deploy/Containerfile on a machine that reaches no container registry (this project's CI machines),
# then runs one server from it the way the manifests do (read-only root, no capabilities, a tmpfs /tmp,
# uid 10001) and asks its /healthz. Run from the repository root after `pnpm install` (whose pnpm store and
# metadata cache the offline install in the deps stage reads):
#   bash deploy/image/build-local.sh [tag]          (default localhost/gatehouse:dev)
# Needs podman, runc and busybox-static from Debian. Measured here: 4.5 to 5 minutes on the shared
# 2-core machine, most of it the install and layer copies, which is why CI checks the definition instead.
set -euo pipefail
tag="${1:-localhost/gatehouse:dev}"
conf="$(mktemp -d)"
trap 'podman rm -f gatehouse-image-probe >/dev/null 2>&1 || true; rm -rf "$conf"' EXIT
# crun fails on this machine's cgroups; runc works once podman stops setting ulimits it may not.
printf '[containers]\ndefault_ulimits = []\n' > "$conf/containers.conf"
export CONTAINERS_CONF="$conf/containers.conf"
store="$(dirname "$(pnpm store path)")"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/pnpm"

base="$(bash "$(dirname "$0")/local-base.sh")"
podman build --runtime /usr/sbin/runc --network none \
  -v "$store:/pnpm-store" -v "$cache:/root/.cache/pnpm:ro" \
  -f deploy/Containerfile --ignorefile deploy/Containerfile.dockerignore \
  --build-arg NODE_IMAGE="$base" --build-arg PNPM_INSTALL_FLAGS="--offline --store-dir /pnpm-store" \
  -t "$tag" .

port=18732
podman --runtime /usr/sbin/runc run -d --name gatehouse-image-probe --read-only --tmpfs /tmp \
  --cap-drop ALL --security-opt no-new-privileges --user 10001:10001 -p "127.0.0.1:$port:7102" \
  -e GATEHOUSE_HOST=0.0.0.0 -e GATEHOUSE_PORT=7102 -e HUBSPOT_ACCESS_TOKEN=pat-image-probe-0000 \
  "$tag" servers/crm-read/src/main.ts http >/dev/null
for _ in $(seq 1 60); do
  if body="$(curl -fsS "http://127.0.0.1:$port/healthz" 2>/dev/null)"; then
    echo "$tag: crm-read answers /healthz: $body"
    exit 0
  fi
  sleep 1
done
podman logs gatehouse-image-probe >&2
echo "$tag: crm-read did not answer /healthz within 60 s" >&2
exit 1
