#!/bin/sh
# postseal prerm (deb: remove|upgrade|deconfigure|failed-upgrade; rpm
# %preun: 0 erase, 1 upgrade). Stops the service when the package goes
# away; an upgrade restarts it in postinst instead.
set -e

case "$1" in
remove | 0)
	if [ -d /run/systemd/system ]; then
		systemctl disable --now postseal.service >/dev/null 2>&1 || true
	fi
	;;
esac
exit 0
