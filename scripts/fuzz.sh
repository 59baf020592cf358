#!/usr/bin/env bash
# Builds the libFuzzer targets (event-decoder, rule-parser) and runs each for SECONDS (default 300), on a scratch copy of
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
    rm -f ".build-fuzz/$name"
    swiftc -sanitize=fuzzer,address -parse-as-library -O -package-name raqam -module-name "$module" "$@" -o ".build-fuzz/$name" 2>&1 \
        | grep -v "ld.gold: warning: Cannot export local symbol" || true
    [ -x ".build-fuzz/$name" ] || { echo "fuzz: building $name failed"; exit 1; }
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
# The rule parser needs Yams and the projections: Yams is compiled as its own module (its C
# part as objects), then RaqamModel, the fold of Projections and Rules into one module with
# the fuzz entry (their imports of each other removed).
build_rule_parser() {
    local yams=.build/checkouts/Yams/Sources out=.build-fuzz/rule-parser-deps src=.build-fuzz/rule-parser-src
    [ -d "$yams" ] || { echo "fuzz: $yams is missing (run swift build first)"; exit 1; }
    rm -rf "$src" "$out" && mkdir -p "$src" "$out"
    for c in "$yams"/CYaml/src/*.c; do
        clang -c -O1 -fsanitize=fuzzer-no-link,address -I "$yams/CYaml/include" "$c" -o "$out/$(basename "$c" .c).o"
    done
    swiftc -sanitize=fuzzer,address -parse-as-library -O -wmo -D SWIFT_PACKAGE -I "$yams/CYaml/include" -module-name Yams \
        -emit-module -emit-module-path "$out/Yams.swiftmodule" -c "$yams"/Yams/*.swift -o "$out/Yams.o" 2>&1 | grep -v warning || true
    for f in Sources/RaqamModel/*.swift Sources/Rules/*.swift Sources/Projections/*.swift; do
        case "$f" in */Replay.swift|*/SnapshotStore.swift) continue ;; esac
        sed -E '/^((public|package) )?import (RaqamModel|Projections|RaqamStore|EventLog)$/d' "$f" > "$src/$(basename "$(dirname "$f")")-$(basename "$f")"
    done
    build rule-parser RulesFuzz -I "$out" -I "$yams/CYaml/include" "$src"/*.swift "$out"/*.o fuzz/RuleParserFuzz.swift
}
build event-decoder RaqamModel Sources/RaqamModel/*.swift fuzz/EventDecoderFuzz.swift
build_rule_parser
run event-decoder
run rule-parser
