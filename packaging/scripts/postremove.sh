#!/bin/sh
# postseal postrm (deb: remove|purge|upgrade|...; rpm %postun: 0 erase,
# 1 upgrade).
#
# remove keeps the state (/var/lib/postseal: database and master key —
# without the key no envelope opens again), the configuration and the
# user. purge (deb only) deletes them. rpm has no purge: `rpm -e` keeps
# /var/lib/postseal; remove it by hand when it is no longer wanted.
set -e

# deb: as dh_installsystemd does, a removed unit is masked so nothing starts
# it, and purge forgets its enable state.
if command -v deb-systemd-helper >/dev/null 2>&1; then
	case "$1" in
	remove)
		deb-systemd-helper mask postseal.service >/dev/null || true
		;;
	purge)
		deb-systemd-helper purge postseal.service >/dev/null || true
		deb-systemd-helper unmask postseal.service >/dev/null || true
		;;
	esac
fi

case "$1" in
purge)
	rm -rf /var/lib/postseal /run/postseal
	if command -v dpkg-statoverride >/dev/null 2>&1 &&
		dpkg-statoverride --list /etc/postseal/postseal.toml >/dev/null; then
		dpkg-statoverride --remove /etc/postseal/postseal.toml
	fi
	if getent group postseal >/dev/null && getent passwd postfix >/dev/null; then
		gpasswd -d postfix postseal >/dev/null 2>&1 || true
	fi
	if getent passwd postseal >/dev/null; then
		userdel postseal
	fi
	if getent group postseal >/dev/null; then
		groupdel postseal
	fi
	;;
esac

case "$1" in
remove | purge | 0)
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload >/dev/null || true
	fi
	;;
esac
exit 0
