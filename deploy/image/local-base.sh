#!/usr/bin/env bash
# Makes a Node 24 base image from this machine's own files, for building deploy/Containerfile where no
# registry image can be pulled:   bash deploy/image/local-base.sh [image-name]   (default localhost/gatehouse-node:24)
# then:  podman build --build-arg NODE_IMAGE=localhost/gatehouse-node:24 …
# The image holds the node binary and the shared libraries it links, a static busybox for the shell the
# Containerfile's RUN lines use, pnpm (for the deps stage only; the runtime stage removes it) and /tmp.
# Needs: node 24 on PATH, podman, busybox-static (apt-get install busybox-static).
set -euo pipefail
image="${1:-localhost/gatehouse-node:24}"
node_bin="$(readlink -f "$(command -v node)")"
[[ "$("$node_bin" --version)" == v24.* ]] || { echo "local-base: node on PATH is $("$node_bin" --version), not 24" >&2; exit 2; }
busybox="$(command -v busybox || true)"
[[ -n "$busybox" ]] && file_out="$(ldd "$busybox" 2>&1 || true)" && [[ "$file_out" == *"not a dynamic executable"* ]] \
  || { echo "local-base: needs a static busybox (apt-get install busybox-static)" >&2; exit 2; }
pnpm_dir="$(dirname "$(readlink -f "$(command -v pnpm)")")/.."

root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,etc,tmp,usr/local/bin,usr/local/lib/node_modules,root}
chmod 1777 "$root/tmp"
install -m 0755 "$node_bin" "$root/usr/local/bin/node"
# The loader and every library node links against, at the paths the binary asks for.
for lib in $(ldd "$node_bin" | grep -o '/[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
install -m 0755 "$busybox" "$root/bin/busybox"
for applet in sh rm mkdir cp ls cat env; do ln -s busybox "$root/bin/$applet"; done
cp -r "$(readlink -f "$pnpm_dir")" "$root/usr/local/lib/node_modules/pnpm"
printf '#!/bin/sh\nexec /usr/local/bin/node /usr/local/lib/node_modules/pnpm/bin/pnpm.cjs "$@"\n' > "$root/usr/local/bin/pnpm"
chmod 0755 "$root/usr/local/bin/pnpm"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
tar -C "$root" -c . | podman import \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' --change 'CMD ["node"]' - "$image" >/dev/null
echo "$image"
