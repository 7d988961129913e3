#!/bin/sh
# changelog.sh VERSION — the Debian changelog of a build (installed as
# /usr/share/doc/postseal/changelog.Debian.gz). The project's history is its
# git log; this entry names the commit the package was built from, dated
# with the commit time so that a rebuild gives the same file.
set -eu
cd "$(dirname "$0")/.."
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
when=$(git log -1 --format=%cD 2>/dev/null || date -R)
cat <<EOT
postseal ($1) unstable; urgency=medium

  * Built from git commit $commit; see the project's git history for the
    changes.

 -- postseal maintainers <postseal@example.org>  $when
EOT
