#!/usr/bin/env bash
# The man pages, generated: raqamctl(1) (every subcommand) and raqamd(8) from the argument
# parser (swift-argument-parser's generate-manual reads each binary's
# --experimental-dump-help), raqamd.yaml(5) from docs/configuration.md.
#   scripts/gen-man.sh BIN_DIR OUT_DIR
# The date is the last commit's (SOURCE_DATE_EPOCH when set), so that a rebuild is identical.
set -euo pipefail
cd "$(dirname "$0")/.."
bin_dir=$1 out=$2
mkdir -p "$out"
checkout=""
for scratch in .build-static .build; do
    [ -d "$scratch/checkouts/swift-argument-parser" ] && { checkout=$scratch/checkouts/swift-argument-parser; break; }
done
[ -n "$checkout" ] || { echo "gen-man: no swift-argument-parser checkout (build raqam first)" >&2; exit 1; }
swift build -c release --package-path "$checkout" --scratch-path .build-manual --product generate-manual >/tmp/raqam-gen-man-build.log 2>&1 \
    || { tail -20 /tmp/raqam-gen-man-build.log >&2; exit 1; }
generate=.build-manual/release/generate-manual
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
date=$(date -u -d "@$epoch" +%Y-%m-%d)
version=$("$bin_dir/raqamctl" --version)
"$generate" "$bin_dir/raqamctl" --section 1 --date "$date" --authors "raqam developers" --output-directory "$out"
"$generate" "$bin_dir/raqamd" --section 8 --date "$date" --authors "raqam developers" --output-directory "$out"
RAQAM_DOCDIR=${RAQAM_DOCDIR:-/usr/share/doc/raqam} python3 scripts/man-from-markdown.py docs/configuration.md raqamd.yaml 5 "$date" "$version" \
    "configuration of raqamd, the Digital Uzbekistan 2030 monitor" "raqamd(8)" "raqamctl(1)" "systemd.exec(5)" > "$out/raqamd.yaml.5"
# generate-manual keeps the blank lines of a discussion, which mdoc warns about: a paragraph
# break there.
sed -i 's/^$/.Pp/' "$out/raqamctl.1" "$out/raqamd.8"
# raqamd takes no subcommand: generate-manual counts the parser's implicit help as one.
sed -i '/^\.Sh SYNOPSIS$/,/^\.Sh DESCRIPTION$/{/^\.Ar subcommand$/d}' "$out/raqamd.8"
for page in raqamctl.1 raqamd.8 raqamd.yaml.5; do
    [ -s "$out/$page" ] || { echo "gen-man: $page was not written" >&2; exit 1; }
done
