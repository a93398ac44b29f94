#!/usr/bin/env bash
# Installs and starts the AWS emulators that the integration tests talk to
# (see tests/common/emulators.rs). No Docker needed: both run from Python venvs.
#
#   emulator.sh install moto|localstack|exporter|jsonschema
#       Idempotent; installs into $TRIMTAB_EMULATOR_DIR (default: <repo>/target/emulators).
#       `exporter` is PyPI's prometheus_client, which tests/exporters/exporter.py (one app task
#       per process, tests/prometheus_tasks.rs) runs on; `jsonschema` is the reference JSON
#       Schema validator tests/jsonschema/validate.py (tests/schema.rs) runs on. Neither has a
#       server to start here.
#   emulator.sh start moto|localstack WATCH_PID
#       Installs if needed, starts the server on a free 127.0.0.1 port, waits until it answers,
#       prints "http://127.0.0.1:PORT" and exits. The server is killed (whole process group)
#       by a watchdog as soon as process WATCH_PID is gone.
#
# moto serves ECS (and SNS); LocalStack serves CloudWatch (rpc-v2-cbor, real alarm evaluation)
# and SNS. Environment overrides:
#   TRIMTAB_EMULATOR_DIR        install cache dir
#   TRIMTAB_MOTO_PYTHON         python for the moto venv (default: python3)
#   TRIMTAB_LOCALSTACK_PYTHON   python >= 3.12 for the LocalStack venv (default: searched)
#   TRIMTAB_EMULATOR_KEEP_LOGS  if set to 1, the server's temp dir (with server.log) is kept
set -euo pipefail

# Versions verified together on 2026-11 (bump all and re-run the tests).
readonly MOTO_VERSION=5.2.5
readonly PROMETHEUS_CLIENT_VERSION=0.26.0
readonly JSONSCHEMA_VERSION=4.26.0
readonly LOCALSTACK_VERSION=2026.3.0
# Without these pins LocalStack fails at import time.
readonly LOCALSTACK_PINS=('cbor2==5.9.0' 'pyopenssl==24.3.0' 'cryptography==44.0.3' 'service-identity==24.2.0')

# Bump when the install steps below change, so existing venvs get rebuilt.
readonly RECIPE=2

readonly MOTO_TIMEOUT=30
readonly LOCALSTACK_TIMEOUT=90

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo_root=$(cd "$script_dir/../.." && pwd -P)
cache_dir=${TRIMTAB_EMULATOR_DIR:-$repo_root/target/emulators}

die() {
    printf 'emulator.sh: %s\n' "$*" >&2
    exit 1
}

usage() {
    die "usage: emulator.sh install moto|localstack|exporter|jsonschema | emulator.sh start moto|localstack WATCH_PID"
}

# Prints a python >= 3.12 for LocalStack.
localstack_python() {
    local candidates=() c root
    if [[ -n ${TRIMTAB_LOCALSTACK_PYTHON:-} ]]; then
        candidates+=("$TRIMTAB_LOCALSTACK_PYTHON")
    fi
    candidates+=(python3.13 python3.12)
    if command -v pyenv >/dev/null 2>&1 && root=$(pyenv root 2>/dev/null); then
        for c in "$root"/versions/3.13*/bin/python "$root"/versions/3.12*/bin/python; do
            [[ -x $c ]] && candidates+=("$c")
        done
    fi
    for c in "${candidates[@]}"; do
        if "$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then
            printf '%s\n' "$c"
            return 0
        fi
    done
    die "LocalStack needs Python >= 3.12; none found (set TRIMTAB_LOCALSTACK_PYTHON)"
}

install_emulator() {
    local name=$1 venv=$cache_dir/$1-venv py lock_fd
    local stamp=$venv/.trimtab-installed log=$cache_dir/$1-install.log
    local pkgs=()
    case $name in
        moto) pkgs=("moto[server,ecs,cloudwatch,sns]==$MOTO_VERSION") ;;
        exporter) pkgs=("prometheus_client==$PROMETHEUS_CLIENT_VERSION") ;;
        jsonschema) pkgs=("jsonschema==$JSONSCHEMA_VERSION") ;;
        localstack) pkgs=("localstack-core[runtime]==$LOCALSTACK_VERSION"
            "localstack==$LOCALSTACK_VERSION" "${LOCALSTACK_PINS[@]}") ;;
        *) usage ;;
    esac
    # The stamp holds the package list, so changing a pin above triggers a reinstall.
    local want="recipe $RECIPE: ${pkgs[*]}"
    if [[ -f $stamp && $(<"$stamp") == "$want" ]]; then
        return 0
    fi

    mkdir -p "$cache_dir"
    exec {lock_fd}>"$cache_dir/$name.lock"
    flock -w 1200 "$lock_fd" || die "timed out waiting for $cache_dir/$name.lock"
    # Another process may have installed it while we waited.
    if [[ -f $stamp && $(<"$stamp") == "$want" ]]; then
        exec {lock_fd}>&-
        return 0
    fi
    case $name in
        moto | exporter | jsonschema) py=${TRIMTAB_MOTO_PYTHON:-python3} ;;
        localstack) py=$(localstack_python) ;;
    esac
    printf 'emulator.sh: installing %s into %s (takes a minute or two; log: %s)\n' \
        "$name" "$venv" "$log" >&2
    rm -rf "$venv"
    if ! {
        "$py" -m venv "$venv" &&
            "$venv/bin/python" -m pip install --disable-pip-version-check --no-input \
                --progress-bar off "${pkgs[@]}" &&
            if [[ $name == localstack ]]; then build_service_catalog "$venv"; fi
    } >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        exec {lock_fd}>&-
        die "installing $name failed (full log: $log)"
    fi
    printf '%s\n' "$want" >"$stamp"
    exec {lock_fd}>&-
}

# LocalStack's index of all AWS service specs. Built lazily on the first request it takes 4-5 s
# and ~370 MB RSS; the Docker image ships it prebuilt in /usr/lib/localstack, so we build it once
# here and link it into each server's FILESYSTEM_ROOT/usr/lib/localstack.
build_service_catalog() {
    local venv=$1
    mkdir -p "$venv/trimtab-static"
    env -u TMPDIR OVERRIDE_IN_DOCKER=0 DISABLE_EVENTS=1 FILESYSTEM_ROOT="$venv/trimtab-static/fs" \
        "$venv/bin/python" -c '
import os, sys
from localstack.aws.spec import build_service_index_cache, _get_catalog_filename
build_service_index_cache(os.path.join(sys.argv[1], _get_catalog_filename()))
' "$venv/trimtab-static"
}

free_port() {
    "$1/bin/python" -c \
        'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Exits 0 once the server on $2 answers as expected.
probe() {
    local name=$1 port=$2 body
    case $name in
        moto)
            curl -sf --noproxy '*' --max-time 2 -o /dev/null "http://127.0.0.1:$port/moto-api/"
            ;;
        localstack)
            body=$(curl -sf --noproxy '*' --max-time 2 "http://127.0.0.1:$port/_localstack/health") &&
                [[ $body =~ \"cloudwatch\":\ *\"(available|running)\" ]]
            ;;
    esac
}

# Starts the server in its own session (so it leads its own process group) and prints its pid.
launch() {
    local name=$1 port=$2 workdir=$3 venv=$cache_dir/$1-venv
    case $name in
        moto)
            (cd "$workdir" && exec setsid "$venv/bin/moto_server" \
                -H 127.0.0.1 -p "$port") </dev/null >"$workdir/server.log" 2>&1 &
            ;;
        localstack)
            mkdir -p "$workdir/fs/usr/lib/localstack"
            ln -sf "$venv"/trimtab-static/*.dill "$workdir/fs/usr/lib/localstack/" || true
            # Only CloudWatch and SNS, eagerly loaded so the readiness check covers them.
            # hypercorn: the default twisted server ignores the host in GATEWAY_LISTEN (binds
            # 0.0.0.0). No DNS server (it would bind 0.0.0.0:53), no analytics, no certificate
            # download, and the LocalStack platform API (consulted for unsupported operations)
            # pointed at a closed loopback port. OVERRIDE_IN_DOCKER=0: if /.dockerenv exists,
            # LocalStack otherwise ignores FILESYSTEM_ROOT and keeps its state in $TMPDIR/localstack
            # and /var/lib/localstack, shared by all instances.
            (cd "$workdir" && exec env -u TMPDIR OVERRIDE_IN_DOCKER=0 \
                GATEWAY_LISTEN="127.0.0.1:$port" LOCALSTACK_HOST="127.0.0.1:$port" \
                FILESYSTEM_ROOT="$workdir/fs" \
                SERVICES=cloudwatch,sns EAGER_SERVICE_LOADING=1 GATEWAY_SERVER=hypercorn PERSISTENCE=0 \
                DNS_ADDRESS=0 DISABLE_EVENTS=1 SKIP_SSL_CERT_DOWNLOAD=1 \
                API_ENDPOINT=http://127.0.0.1:9/v1 ANALYTICS_API=http://127.0.0.1:9/v1 \
                setsid "$venv/bin/python" -m localstack.runtime.main) \
                </dev/null >"$workdir/server.log" 2>&1 &
            ;;
    esac
    # In a non-interactive shell the background job is not a group leader, so setsid does not
    # fork: $! is the server itself and its pid is also its process group id.
    printf '%s\n' "$!"
}

# Field 22 of /proc/PID/stat (start time), to notice a dead or reused WATCH_PID.
start_time() {
    local stat fields
    stat=$(<"/proc/$1/stat") || return 1
    read -ra fields <<<"${stat##*) }"
    [[ ${fields[0]} != Z ]] || return 1
    printf '%s\n' "${fields[19]}"
}

start_emulator() {
    local name=$1 watch_pid=$2 timeout attempt port workdir server_pid deadline watch_start
    case $name in
        moto) timeout=$MOTO_TIMEOUT ;;
        localstack) timeout=$LOCALSTACK_TIMEOUT ;;
        *) usage ;;
    esac
    [[ $watch_pid =~ ^[0-9]+$ ]] || die "WATCH_PID must be a process id, got '$watch_pid'"
    watch_start=$(start_time "$watch_pid") || die "process $watch_pid does not exist"
    install_emulator "$name"

    workdir=$(mktemp -d "${TMPDIR:-/tmp}/trimtab-$name.XXXXXX")
    # Retry in case another process grabs the port between free_port and the server's bind.
    for attempt in 1 2 3; do
        port=$(free_port "$cache_dir/$name-venv")
        server_pid=$(launch "$name" "$port" "$workdir")
        deadline=$((SECONDS + timeout))
        until probe "$name" "$port"; do
            if ! kill -0 "$server_pid" 2>/dev/null; then
                server_pid=
                break
            fi
            if ((SECONDS >= deadline)); then
                kill -KILL -- "-$server_pid" 2>/dev/null || true
                tail -n 40 "$workdir/server.log" >&2 || true
                die "$name did not answer on port $port within ${timeout}s (log: $workdir/server.log)"
            fi
            sleep 0.2
        done
        [[ -n $server_pid ]] && break
        if ((attempt == 3)); then
            tail -n 40 "$workdir/server.log" >&2 || true
            die "$name exited during startup (log: $workdir/server.log)"
        fi
    done

    # Watchdog: own session, no inherited pipes (a caller reading our stdout would never see EOF).
    setsid bash "$script_dir/emulator.sh" _watchdog "$watch_pid" "$watch_start" "$server_pid" \
        "$workdir" </dev/null >/dev/null 2>&1 &

    printf 'emulator.sh: %s (pid %s) on port %s, log %s\n' \
        "$name" "$server_pid" "$port" "$workdir/server.log" >&2
    printf 'http://127.0.0.1:%s\n' "$port"
}

# Waits until WATCH_PID is gone (or the server died), then kills the server's process group.
watchdog() {
    local watch_pid=$1 watch_start=$2 server_pid=$3 workdir=$4 _
    while [[ $(start_time "$watch_pid" 2>/dev/null) == "$watch_start" ]] &&
        kill -0 "$server_pid" 2>/dev/null; do
        sleep 1
    done
    kill -TERM -- "-$server_pid" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        kill -0 -- "-$server_pid" 2>/dev/null || break
        sleep 0.5
    done
    kill -KILL -- "-$server_pid" 2>/dev/null || true
    [[ ${TRIMTAB_EMULATOR_KEEP_LOGS:-} == 1 ]] || rm -rf "$workdir"
}

case ${1:-} in
    _watchdog)
        [[ $# == 5 ]] || usage
        watchdog "$2" "$3" "$4" "$5"
        ;;
    install)
        [[ $# == 2 ]] || usage
        install_emulator "$2"
        ;;
    start)
        [[ $# == 3 ]] || usage
        start_emulator "$2" "$3"
        ;;
    *) usage ;;
esac
