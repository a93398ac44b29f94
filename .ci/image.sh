#!/usr/bin/env bash
# The container image's build without Docker (CI has no engine): copies exactly what the
# Dockerfile's build stage COPYs into an empty directory and runs its RUN lines there, in order, as
# Docker would (the dependency layer first), then checks that
# the binary fits the runtime stage: stripped, linked only against what distroless/cc provides,
# and working as the image's non-root user with nothing writable (config from the environment,
# the health check against a running agent). Prints the binary's size for the README.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# The build stage is everything between the first and the second FROM.
build_stage() { awk '/^FROM /{n++; next} n==1' Dockerfile; }

# COPY and RUN lines in their order, as Docker runs them (the dependency layer's RUN comes between
# two COPYs).
copy() {
  # shellcheck disable=SC2206
  local words=($1)
  local dest=${words[-1]} src
  for src in "${words[@]:0:${#words[@]}-1}"; do
    if [[ -d $src ]]; then
      mkdir -p "$stage/$dest" && cp -R "$src/." "$stage/$dest/"
    else
      mkdir -p "$stage/$(dirname "$dest/x")" && cp "$src" "$stage/$dest"
    fi
    echo "COPY $src -> $dest"
  done
}
export CARGO_TARGET_DIR="$repo/target/image"
while read -r instruction rest; do
  case $instruction in
    COPY)
      if [[ $rest != --from* ]]; then
        copy "$rest"
      fi
      ;;
    RUN)
      echo "RUN $rest"
      (cd "$stage" && eval "$rest")
      ;;
  esac
done < <(build_stage)

# The runtime stage copies /src/target/release/trimtab.
bin="$CARGO_TARGET_DIR/release/trimtab"
test -x "$bin"

echo "--- checks"
if readelf -S "$bin" | grep -q '\.symtab'; then
  echo "not stripped: $bin has a symbol table" >&2
  exit 1
fi
# distroless/cc-debian12 has glibc 2.36, libgcc_s and libstdc++, nothing else.
allowed='^(libc\.so\.6|libm\.so\.6|libgcc_s\.so\.1|libstdc\+\+\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|ld-linux-x86-64\.so\.2|ld-linux-aarch64\.so\.1)$'
needed=$(readelf -d "$bin" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p')
echo "needs: $(echo "$needed" | tr '\n' ' ')"
if echo "$needed" | grep -Ev "$allowed"; then
  echo "needs a library distroless/cc does not have" >&2
  exit 1
fi
glibc=$(objdump -T "$bin" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
echo "newest glibc symbol: $glibc"
if [[ "$(printf '%s\nGLIBC_2.36\n' "$glibc" | sort -V | tail -1)" != "GLIBC_2.36" ]]; then
  echo "needs a glibc newer than bookworm's 2.36" >&2
  exit 1
fi

# As the image runs it: user 65532, a read-only working directory, no HOME, the config from
# the environment.
as_nonroot=()
if [[ $(id -u) == 0 ]]; then
  as_nonroot=(setpriv --reuid=65532 --regid=65532 --clear-groups)
  chmod 755 "$stage"
  cp "$bin" "$stage/trimtab" && chmod 555 "$stage/trimtab" && bin="$stage/trimtab"
fi
ro=$(mktemp -d) && chmod 555 "$ro"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
config="[agent]
interval = \"1s\"
listen = \"127.0.0.1:$port\""
(cd "$ro" && env -i PATH=/usr/bin:/bin TRIMTAB_CONFIG="$config" "${as_nonroot[@]}" "$bin" run --local --once >/dev/null 2>&1)
(cd "$ro" && env -i PATH=/usr/bin:/bin TRIMTAB_CONFIG="$config" "${as_nonroot[@]}" "$bin" run --local >/dev/null 2>&1) &
agent=$!
healthy=no
for _ in $(seq 1 50); do
  if (cd "$ro" && env -i TRIMTAB_CONFIG="$config" "${as_nonroot[@]}" "$bin" health >/dev/null 2>&1); then
    healthy=yes
    break
  fi
  sleep 0.2
done
kill "$agent" && wait "$agent" || true
rmdir "$ro"
[[ $healthy == yes ]] || { echo "trimtab health never succeeded against the running agent" >&2; exit 1; }
echo "ran as uid $(( ${#as_nonroot[@]} ? 65532 : $(id -u) )) in a read-only directory; trimtab health: ok"

size=$(stat -c %s "$bin")
awk -v s="$size" 'BEGIN { printf "trimtab binary: %d bytes (%.1f MiB), stripped\n", s, s / 1048576 }'
