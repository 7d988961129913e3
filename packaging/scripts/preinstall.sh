#!/bin/sh
# postseal preinst (deb: install|upgrade; rpm %pre: 1 install, 2 upgrade).
# The user and group exist before the files are unpacked, so the rpm can
# give the configuration to group postseal.
set -e

case "$1" in
install | upgrade | 1 | 2) ;;
*) exit 0 ;;
esac

if ! getent group postseal >/dev/null; then
	groupadd --system postseal
fi
if ! getent passwd postseal >/dev/null; then
	useradd --system --gid postseal --home-dir /var/lib/postseal --no-create-home \
		--shell /usr/sbin/nologin --comment "postseal secure-email gateway" postseal
fi
exit 0
