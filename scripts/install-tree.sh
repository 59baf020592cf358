#!/usr/bin/env bash
# The files raqam installs, in one place for `make install` and `make deb`:
#   scripts/install-tree.sh BIN_DIR DESTDIR PREFIX UNITDIR
# BIN_DIR holds the built raqamd and raqamctl; DESTDIR is empty for a live install (then the
# operator's /etc/raqam/raqamd.yaml and rules are never overwritten) or a staging root for a
# package (everything lands there). Man pages and completions are generated from the binaries
# (scripts/gen-man.sh); the unit's paths follow PREFIX.
set -euo pipefail
cd "$(dirname "$0")/.."
bin_dir=$1 destdir=$2 prefix=$3 unitdir=$4
root=$destdir
lib=$root/usr/lib
share=$root$prefix/share

install -d "$root$prefix/bin" "$root$prefix/sbin" "$share/raqam/rules/tests" "$root$unitdir" \
    "$lib/systemd/catalog" "$lib/sysusers.d" "$lib/tmpfiles.d" \
    "$share/man/man1" "$share/man/man5" "$share/man/man8" "$share/doc/raqam/data" \
    "$share/bash-completion/completions" "$share/zsh/vendor-completions" "$share/fish/vendor_completions.d"
install -m 0755 "$bin_dir/raqamctl" "$root$prefix/bin/raqamctl"
install -m 0755 "$bin_dir/raqamd" "$root$prefix/sbin/raqamd"

# The bundled rules beside the binaries, and as the live rules when an install has none yet.
install -m 0644 rules/*.yaml "$share/raqam/rules/"
install -m 0644 rules/tests/* "$share/raqam/rules/tests/"
if [ -n "$destdir" ] || [ ! -d /etc/raqam/rules ]; then
    install -d "$root/etc/raqam/rules"
    install -m 0644 rules/*.yaml "$root/etc/raqam/rules/"
fi
if [ -n "$destdir" ] || [ ! -f /etc/raqam/raqamd.yaml ]; then
    install -d "$root/etc/raqam"
    install -m 0644 systemd/raqamd.yaml "$root/etc/raqam/raqamd.yaml"
fi

# systemd: the unit (paths rewritten for PREFIX), its user and groups, the state directory,
# the journal catalog (its Support: links name the man pages installed below).
sed -e "s|/usr/local/sbin/|$prefix/sbin/|g" -e "s|/usr/local/bin/|$prefix/bin/|g" \
    -e "s|/usr/local/share/|$prefix/share/|g" systemd/raqamd.service > "$root$unitdir/raqamd.service"
chmod 0644 "$root$unitdir/raqamd.service"
install -m 0644 systemd/raqam.sysusers "$lib/sysusers.d/raqam.conf"
install -m 0644 systemd/raqam.tmpfiles "$lib/tmpfiles.d/raqam.conf"
install -m 0644 systemd/raqamd.catalog "$lib/systemd/catalog/raqamd.catalog"

# Man pages (compressed, as Debian ships them) and shell completions.
pages=$(mktemp -d)
trap 'rm -rf "$pages"' EXIT
scripts/gen-man.sh "$bin_dir" "$pages"
gzip -9n < "$pages/raqamctl.1" > "$share/man/man1/raqamctl.1.gz"
gzip -9n < "$pages/raqamd.8" > "$share/man/man8/raqamd.8.gz"
gzip -9n < "$pages/raqamd.yaml.5" > "$share/man/man5/raqamd.yaml.5.gz"
chmod 0644 "$share"/man/man*/raqam*.gz
# bash-completion sources its scripts: no #! line.
"$bin_dir/raqamctl" --generate-completion-script bash | sed '1{/^#!/d}' > "$share/bash-completion/completions/raqamctl"
"$bin_dir/raqamctl" --generate-completion-script zsh > "$share/zsh/vendor-completions/_raqamctl"
"$bin_dir/raqamctl" --generate-completion-script fish > "$share/fish/vendor_completions.d/raqamctl.fish"
chmod 0644 "$share/bash-completion/completions/raqamctl" "$share/zsh/vendor-completions/_raqamctl" "$share/fish/vendor_completions.d/raqamctl.fish"

# The docs, the README and the reference data's provenance.
install -m 0644 docs/*.md docs/api.yaml "$share/doc/raqam/"
install -m 0644 README.md "$share/doc/raqam/README.md"
install -m 0644 data/README.md data/SOURCES.md "$share/doc/raqam/data/"
