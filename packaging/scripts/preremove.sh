#!/bin/sh
# postseal prerm (deb: remove|upgrade|deconfigure|failed-upgrade). Stops the
# service when the package goes away; an upgrade restarts it in postinst.
# rpm: rpm-preremove.sh.
set -e

if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
	deb-systemd-invoke stop postseal.service >/dev/null || true
fi
exit 0
