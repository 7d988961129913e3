#!/bin/sh
# postseal %posttrans (rpm): pick up a changed unit and restart a running
# service after an upgrade. As usual on RPM systems the service is not
# started at installation: edit /etc/postseal/postseal.toml, then
# `systemctl enable --now postseal`.
set -e

if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
	systemctl try-restart postseal.service >/dev/null 2>&1 || true
fi
exit 0
