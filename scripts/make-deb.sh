#!/usr/bin/env bash
# make deb: raqam_VERSION_amd64.deb, built with dpkg-deb from a staged install.
#   scripts/make-deb.sh [OUT_DIR]        (DEB_VERSION=… to set the version; default raqamctl's)
# The binaries are built with the Swift runtime linked in (--static-swift-stdlib, scratch
# .build-static): the package installs and runs on a Debian 12 without Swift. Its files are
# those of `make install` (scripts/install-tree.sh) with PREFIX=/usr and the unit in
# /usr/lib/systemd/system; the maintainer scripts are packaging/debian/; lintian checks the
# result (errors fail the build). Prints the package's path last.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.build-deb}
mkdir -p "$out"
out=$(cd "$out" && pwd)
step() { echo "make deb: $*" >&2; }

step "building raqamd and raqamctl with the Swift runtime linked in (.build-static)"
for product in raqamd raqamctl; do
    swift build -c release --static-swift-stdlib --scratch-path .build-static --product $product >/tmp/raqam-deb-build.log 2>&1 \
        || { tail -20 /tmp/raqam-deb-build.log >&2; exit 1; }
done
bin=.build-static/release
version=${DEB_VERSION:-$("$bin/raqamctl" --version)}

root=$out/root
rm -rf "$root"
mkdir -p "$root/DEBIAN"
step "staging version $version in $root"
scripts/install-tree.sh "$bin" "$root" /usr /usr/lib/systemd/system
# Symbols are of no use to an admin and are most of the binaries' size.
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/raqamctl" "$root/usr/sbin/raqamd"

doc=$root/usr/share/doc/raqam
install -m 0644 packaging/debian/copyright "$doc/copyright"
{
    echo "raqam ($version) stable; urgency=medium"
    echo
    git log -20 --format='  * %s' 2>/dev/null | cut -c1-78 || echo "  * Built from a tree without git history."
    echo
    echo " -- raqam developers <raqam@digital.uz>  $(date -R -u -d "@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")"
} | gzip -9n > "$doc/changelog.gz"

install -d "$root/usr/share/lintian/overrides"
install -m 0644 packaging/debian/lintian-overrides "$root/usr/share/lintian/overrides/raqam"
# Each man page renders without a warning, and the bash completion loads.
for page in "$root"/usr/share/man/man*/*.gz; do
    warnings=$(zcat "$page" | MANWIDTH=80 man -l - 2>&1 >/dev/null || true)
    [ -z "$warnings" ] || { echo "make deb: man -l $(basename "$page"): $warnings" >&2; exit 1; }
done
completion=$root/usr/share/bash-completion/completions/raqamctl
bash -n "$completion" || { echo "make deb: bash -n $completion failed" >&2; exit 1; }
bash -c "source '$completion' && complete -p raqamctl" >/dev/null || { echo "make deb: the bash completion defines no completion for raqamctl" >&2; exit 1; }

for script in postinst prerm postrm; do
    install -m 0755 "packaging/debian/$script" "$root/DEBIAN/$script"
done
(cd "$root" && find etc -type f | sort | sed 's|^|/|') > "$root/DEBIAN/conffiles"

# Depends from the libraries the binaries link (dpkg-shlibdeps wants a debian/control).
shlib=$(mktemp -d)
trap 'rm -rf "$shlib"' EXIT
mkdir -p "$shlib/debian"
printf 'Source: raqam\n\nPackage: raqam\nArchitecture: amd64\n' > "$shlib/debian/control"
depends=$(cd "$shlib" && dpkg-shlibdeps -O "$root/usr/bin/raqamctl" "$root/usr/sbin/raqamd" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "make deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@SIZE@|$size|" -e "s|@DEPENDS@|$depends|" packaging/debian/control.in > "$root/DEBIAN/control"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"

deb=$out/raqam_${version}_amd64.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
step "$(du -h "$deb" | cut -f1) $deb"

if command -v lintian >/dev/null; then
    step "lintian"
    lintian --tag-display-limit 0 "$deb" >&2 || { echo "make deb: lintian found errors" >&2; exit 1; }
fi
echo "$deb"
