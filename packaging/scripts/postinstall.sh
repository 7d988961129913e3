#!/bin/sh
# postseal postinst (deb: configure [OLD-VERSION]; rpm %post: 1 install,
# 2 upgrade). Never deletes or replaces state: the database and the master
# key under /var/lib/postseal survive upgrades and reinstalls.
set -e

first=no
case "$1" in
configure) [ -z "$2" ] && first=yes ;;
1) first=yes ;;
2) ;;
*) exit 0 ;;
esac

# The MTA reaches the milter socket (0660, group postseal) through the
# group. Postfix's daemons pick up supplementary groups when they start:
# run `postfix reload` once.
if getent passwd postfix >/dev/null && ! id -nG postfix | tr ' ' '\n' | grep -qx postseal; then
	usermod -a -G postseal postfix
fi

# The unit's StateDirectory; made here too so that the master key exists
# before the first start.
install -d -o postseal -g postseal -m 0750 /var/lib/postseal

# The configuration may hold a database password: readable by the service,
# not by everyone. A statoverride keeps it so across upgrades (deb); the rpm
# ships it with group postseal already.
if command -v dpkg-statoverride >/dev/null 2>&1 &&
	! dpkg-statoverride --list /etc/postseal/postseal.toml >/dev/null; then
	dpkg-statoverride --update --add root postseal 0640 /etc/postseal/postseal.toml
fi

# The master key, 0600, owned by postseal: first installation only. The
# command never replaces an existing key.
if [ "$first" = yes ]; then
	runuser -u postseal -- /usr/sbin/postseal init -c /etc/postseal/postseal.toml
fi

# The service, deb: what debhelper's dh_installsystemd does — enabled at
# installation unless an administrator disabled it, started on install,
# restarted on upgrade. rpm: rpm-posttrans.sh.
if command -v deb-systemd-helper >/dev/null 2>&1; then
	deb-systemd-helper unmask postseal.service >/dev/null || true
	if deb-systemd-helper --quiet was-enabled postseal.service; then
		deb-systemd-helper enable postseal.service >/dev/null || true
	else
		deb-systemd-helper update-state postseal.service >/dev/null || true
	fi
	if [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
		if [ "$first" = yes ]; then action=start; else action=restart; fi
		deb-systemd-invoke "$action" postseal.service >/dev/null || true
	fi
fi
exit 0
