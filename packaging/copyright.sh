#!/bin/sh
# copyright.sh BINARY — write the machine-readable (DEP-5) copyright file for
# the packages to standard output: postseal itself, every Go module linked
# into BINARY (read from the binary's build information, so the list cannot
# drift from what ships), the Go standard library, and the third-party code
# in the embedded browser decryptor (web/LICENSES). Each module's licence
# text is copied from its module cache folder; Apache-2.0 and LGPL-3 point
# to /usr/share/common-licenses as Debian does.
set -eu

bin=$1
root=$(cd "$(dirname "$0")/.." && pwd)
modcache=$(go env GOMODCACHE)
goroot=$(go env GOROOT)

# indent turns a licence text into a DEP-5 field continuation.
indent() {
	sed -e 's/[[:space:]]*$//' -e 's/^$/./' -e 's/^/ /'
}

# classify names the licence of a licence text (SPDX short names).
classify() {
	if grep -q 'Apache License' "$1"; then
		echo Apache-2.0
	elif grep -q 'Mozilla Public License' "$1"; then
		echo MPL-2.0
	elif grep -q 'Redistribution and use in source and binary forms' "$1"; then
		if grep -qi 'neither the name' "$1" || grep -qi 'names of its contributors' "$1"; then
			echo BSD-3-Clause
		else
			echo BSD-2-Clause
		fi
	elif grep -q 'Permission is hereby granted, free of charge' "$1"; then
		if grep -q 'above copyright notice' "$1"; then echo MIT; else echo MIT-0; fi
	elif grep -q 'Permission to use, copy, modify, and/or distribute' "$1"; then
		echo ISC
	else
		echo "copyright.sh: cannot classify the licence in $1" >&2
		exit 1
	fi
}

# holders picks the Copyright lines out of a licence text.
holders() {
	c=$(grep -i '^[[:space:]]*copyright' "$1" | grep -v -i 'copyright notice\|copyright holder\|copyright owner\|copyright (c) <year>\|copyright law\|copyright license' | sed 's/^[[:space:]]*//' | sort -u || true)
	if [ -z "$c" ]; then
		echo "the $2 authors"
	else
		echo "$c" | sed -e 's/^Copyright:\{0,1\} *//I' -e 's/^(c) *//I' | sed '2,$s/^/ /'
	fi
}

cat <<'HEAD'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: postseal
Upstream-Contact: postseal maintainers <postseal@example.org>
Comment: postseal is one statically linked Go program. The stanzas after the
 first list the Go modules linked into it (from its build information), the
 Go standard library, and the third-party code in the browser decryptor
 that the program embeds in every secure message page.

Files: *
Copyright: 2026 The postseal authors
License: Apache-2.0
 On Debian systems the full text of the Apache License 2.0 is in
 /usr/share/common-licenses/Apache-2.0. The licences of the bundled
 components below apply to those components.
HEAD

go version -m "$bin" | awk '$1 == "dep" { m = $2; v = $3 } $1 == "=>" { m = $2; v = $3 } $1 == "dep" || $1 == "=>" { print m, v }' |
	awk '{ mods[$1] = $2 } END { for (m in mods) print m, mods[m] }' | sort |
	while read -r mod ver; do
		# The module cache escapes capital letters as !lower.
		esc=$(echo "$mod" | sed 's/\([A-Z]\)/!\1/g' | tr 'A-Z' 'a-z')
		dir=$modcache/$esc@$ver
		lic=$(ls "$dir"/LICENSE* "$dir"/LICENCE* "$dir"/COPYING* 2>/dev/null | head -n1 || true)
		if [ -z "$lic" ]; then
			echo "copyright.sh: no licence file for $mod $ver in $dir" >&2
			exit 1
		fi
		spdx=$(classify "$lic")
		printf '\nFiles: go-modules/%s/*\n' "$mod"
		printf 'Copyright: %s\n' "$(holders "$lic" "$mod")"
		printf 'Comment: Go module %s %s, linked into /usr/sbin/postseal.\n' "$mod" "$ver"
		case $spdx in
		Apache-2.0)
			printf 'License: Apache-2.0\n On Debian systems the full text of the Apache License 2.0 is in\n /usr/share/common-licenses/Apache-2.0.\n'
			;;
		*)
			printf 'License: %s\n' "$spdx"
			indent <"$lic"
			;;
		esac
	done

printf '\nFiles: go-stdlib/*\n'
printf 'Copyright: %s\n' "$(holders "$goroot/LICENSE" Go)"
printf 'Comment: The Go standard library and runtime (%s), linked into /usr/sbin/postseal.\n' "$(go env GOVERSION)"
printf 'License: BSD-3-Clause\n'
indent <"$goroot/LICENSE"

if [ -d "$root/web/LICENSES" ]; then
	cat <<'WEB'

Files: envelope/assets/decryptor.js
Copyright: Proton AG and the OpenPGP.js contributors (OpenPGP.js)
 2021-2025 Andris Reinman (postal-mime)
 Paul Miller (noble-hashes, noble-ciphers; their MIT notices are kept in the bundle)
 Cure53 and other contributors (DOMPurify)
Comment: The browser decryptor embedded in every securedoc page and served by
 the key service: OpenPGP.js 6.3.2 (LGPL-3.0-or-later), postal-mime 4.0.0
 (MIT-0) and DOMPurify 3.4.18 (Apache-2.0 or MPL-2.0), bundled with esbuild. The corresponding source of OpenPGP.js is the
 npm package openpgp@6.3.2; postseal's source repository holds the build
 (web/build.mjs, web/package.json) to rebuild the bundle with a modified
 OpenPGP.js. See web/LICENSES/README there.
License: LGPL-3.0+ and MIT-0 and (Apache-2.0 or MPL-2.0)
 On Debian systems the full text of the GNU Lesser General Public License
 version 3 is in /usr/share/common-licenses/LGPL-3, of the Apache License 2.0
 in /usr/share/common-licenses/Apache-2.0 and of the Mozilla Public License
 2.0 in /usr/share/common-licenses/MPL-2.0.
 .
 postal-mime is under MIT-0:
WEB
	indent <"$root/web/LICENSES/postal-mime-MIT-0.txt"
fi
