#!/bin/sh
# postseal %preun (rpm: 0 erase, 1 upgrade): stop and disable the service
# when the package is erased.
set -e

if [ "$1" = 0 ] && [ -d /run/systemd/system ]; then
	systemctl --no-reload disable --now postseal.service >/dev/null 2>&1 || true
fi
exit 0
