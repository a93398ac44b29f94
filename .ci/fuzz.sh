#!/usr/bin/env bash
# The fuzz targets (fuzz/, issue 14): builds them all and runs each for a short, bounded time; any
# crash, timeout or out-of-memory fails the run, naming the input that did it.
#
#   bash .ci/fuzz.sh install          the pinned nightly toolchain and cargo-fuzz, nothing else
#   bash .ci/fuzz.sh                  install, check formatting, build, then every target for
#                                     $FUZZ_SECONDS (25) each
#   bash .ci/fuzz.sh run TARGET [S]   one target for S seconds (default 300), as the README says
#
# Each run starts from the committed seeds (fuzz/seeds/TARGET) and grows fuzz/corpus/TARGET;
# crashes land in fuzz/artifacts/TARGET. Neither is committed (fuzz/.gitignore).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

NIGHTLY=nightly-2026-05-20
CARGO_FUZZ_VERSION=0.13.2
# No sanitizer: the crate forbids unsafe code, and without ASan the build is shorter and the
# targets run faster. Debug assertions and overflow checks stay on (cargo fuzz's default).
BUILD_FLAGS=(--sanitizer none)
TARGETS=(config duration promtext ecs_metadata decide api_bodies)

# Per target: the longest input worth trying (seeds included) and the dictionary, if any.
max_len() {
  case "$1" in
    duration) echo 64 ;;
    decide) echo 512 ;;
    api_bodies) echo 1024 ;;
    config | promtext) echo 4096 ;;
    ecs_metadata) echo 16384 ;;
    *) echo 4096 ;; # a new target gets a sane bound, never an empty -max_len=
  esac
}

install() {
  rustup toolchain list | grep -q "^$NIGHTLY" || rustup toolchain install "$NIGHTLY" --profile minimal
  if ! cargo fuzz --version 2>/dev/null | grep -qF "$CARGO_FUZZ_VERSION"; then
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
  fi
}

# Runs one target for $2 seconds; non-zero on a crash, timeout or OOM.
run() {
  local target=$1 seconds=$2
  local flags=(-max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len="$(max_len "$target")")
  [[ -f fuzz/dicts/$target.dict ]] && flags+=(-dict="fuzz/dicts/$target.dict")
  local corpora=("fuzz/corpus/$target")
  [[ -d fuzz/seeds/$target ]] && corpora+=("fuzz/seeds/$target")
  mkdir -p "fuzz/corpus/$target"
  cargo +"$NIGHTLY" fuzz run "${BUILD_FLAGS[@]}" "$target" "${corpora[@]}" -- "${flags[@]}"
}

case "${1:-all}" in
  install)
    install
    ;;
  run)
    run "${2:?which target}" "${3:-300}"
    ;;
  all)
    install
    (cd fuzz && cargo fmt --check)
    start=$SECONDS
    cargo +"$NIGHTLY" fuzz build "${BUILD_FLAGS[@]}"
    echo "fuzz targets built in $((SECONDS - start))s"
    failed=()
    for target in "${TARGETS[@]}"; do
      echo "--- fuzzing $target for ${FUZZ_SECONDS:-25}s"
      log="fuzz/$target.log"
      if run "$target" "${FUZZ_SECONDS:-25}" >"$log" 2>&1; then
        grep -E '^(Done|stat::number_of_executed_units|#[0-9]+.*DONE)' "$log" | tail -n 2
      else
        tail -n 40 "$log"
        failed+=("$target")
      fi
    done
    if ((${#failed[@]})); then
      echo "fuzzing found crashes in: ${failed[*]} (inputs in fuzz/artifacts/; README, Fuzzing, says how to reproduce)"
      exit 1
    fi
    echo "fuzzing: ${#TARGETS[@]} targets, no crash"
    ;;
  *)
    echo "usage: $0 [install | run TARGET [SECONDS]]" >&2
    exit 2
    ;;
esac
