#!/usr/bin/env bash
# Builds the libFuzzer targets and runs each for SECONDS (default 300), on a scratch copy of
# its committed seed corpus, after replaying every input that once crashed it
# (fuzz/regressions/<target>/). Exit non-zero when a target crashes; the crashing input is
# left in .build-fuzz/ to be added to fuzz/regressions/ with a regression test.
set -euo pipefail
seconds=${1:-300}
cd "$(dirname "$0")/.."
export SWIFT_BACKTRACE=enable=no
mkdir -p .build-fuzz
build() {  # name, module, sources…
    local name=$1 module=$2; shift 2
    swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name "$module" "$@" -o ".build-fuzz/$name" 2>&1 \
        | grep -v "ld.gold: warning: Cannot export local symbol" || true
}
run() {  # name
    local name=$1 work
    work=$(mktemp -d)
    cp "fuzz/corpus/$name"/* "$work/"
    if compgen -G "fuzz/regressions/$name/*" > /dev/null; then
        (cd .build-fuzz && "./$name" ../fuzz/regressions/"$name"/* > /dev/null 2>&1) || { echo "fuzz: $name crashes on a regression input"; exit 1; }
    fi
    echo "fuzz: $name for ${seconds}s"
    (cd .build-fuzz && "./$name" -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 "$work" 2>&1 | grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|==.*ERROR|SUMMARY)" ) 
    local status=${PIPESTATUS[0]}
    rm -rf "$work"
    return "$status"
}
build event-decoder RaqamModel Sources/RaqamModel/*.swift fuzz/EventDecoderFuzz.swift
run event-decoder
