#!/usr/bin/env bash
# make demo: a fresh state directory, the reference data, a sample of H1-2021 reports, then
# what raqamctl shows of them. (The daemon and the full H1-2021 scenario come later; see README.)
set -euo pipefail
dir=$1
bin=$2
ctl() { echo; echo "\$ raqamctl $*"; "$bin/raqamctl" "$@"; }
export RAQAM_STATE_DIR=$dir
echo "raqam demo: state directory $dir"
ctl init
ctl append examples/h1-2021-sample.ndjson
ctl append examples/h1-2021-sample.ndjson
ctl events --since 2020-10-01
ctl events --subject district:1703202 -o ndjson
ctl show district:1703202 --at 2021-06-30
ctl show nation --at 2021-07-31 -o json
ctl summary --scope region --sort projects.planned --descending
ctl stats
ctl verify
echo
echo "Explore it yourself:  export RAQAM_STATE_DIR=$dir; $bin/raqamctl --help"
