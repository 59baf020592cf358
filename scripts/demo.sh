#!/usr/bin/env bash
# make demo: a fresh state directory, the reference data, a sample of H1-2021 reports, then
# what raqamctl shows of them, and who the bundled rules flag. (The daemon and the full H1-2021
# scenario come later; see README.)
set -euo pipefail
dir=$1
bin=$2
ctl() { echo; echo "\$ raqamctl $*"; "$bin/raqamctl" "$@"; }
export RAQAM_STATE_DIR=$dir
echo "raqam demo: state directory $dir"
ctl init --clock events
ctl append examples/h1-2021-sample.ndjson
ctl append examples/h1-2021-sample.ndjson
ctl events --since 2020-10-01
ctl events --subject district:1703202 -o ndjson
ctl show district:1703202 --at 2021-06-30
ctl show nation --at 2021-07-31 -o json
ctl summary --scope region --sort projects.planned --descending
ctl rules check rules/
ctl lagging --at 2021-06-30 --scope region
echo; echo "\$ raqamctl lagging --at 2021-06-30 --scope district | tail -n 4"; "$bin/raqamctl" lagging --at 2021-06-30 --scope district | tail -n 4
ctl stats
ctl verify
echo
echo "Explore it yourself:  export RAQAM_STATE_DIR=$dir; $bin/raqamctl --help"
