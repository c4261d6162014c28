#!/usr/bin/env bash
# scripts/deps.sh run|test|check — installs the Debian packages sluice needs.
#
#   run   what building and running sluiced needs
#   test  that plus the reference servers and real client libraries the
#         tests drive (pytest-xdist runs the integration suites in
#         parallel), and the npm packages of tests/clients/node
#   check what `make check` needs: clang, clang-format
#
# Only missing packages are installed, and only when running as root (CI and
# a fresh Debian 12 machine); otherwise the missing ones are listed and the
# script fails so the reason is clear.
set -eu
cd "$(dirname "$0")/.."
what=${1:-run}

RUN_PKGS="gcc make libc6-dev librdkafka-dev libyaml-dev pkgconf
  zlib1g-dev liblz4-dev libzstd-dev libsnappy-dev libssl-dev
  liblua5.1-0-dev lua-cjson-dev lua-bitop-dev"
TEST_PKGS="$RUN_PKGS
  redis-server redis-tools beanstalkd kcat librdkafka-dev iperf3 openssl stunnel4
  python3 python3-pytest python3-pytest-timeout python3-pytest-xdist
  python3-confluent-kafka python3-kafka python3-redis python3-rq python3-celery
  golang-go golang-github-shopify-sarama-dev golang-github-gomodule-redigo-dev
  php-cli php-pda-pheanstalk php-predis ruby ruby-beaneater ruby-sidekiq nodejs npm
  chromium fonts-dejavu-core python3-prometheus-client"

case $what in
run) pkgs=$RUN_PKGS ;;
test) pkgs=$TEST_PKGS ;;
check) pkgs="$RUN_PKGS clang clang-format git" ;;
*) echo "usage: $0 run|test|check" >&2; exit 2 ;;
esac

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# node/npm may come from outside Debian on a developer machine.
if [ -n "$missing" ] && command -v node >/dev/null && command -v npm >/dev/null; then
	missing=$(echo "$missing" | tr ' ' '\n' | grep -vxE 'nodejs|npm' | tr '\n' ' ')
fi
missing=$(echo $missing)
if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps.sh: missing Debian packages (run as root to install): $missing" >&2
		exit 1
	fi
	echo "deps.sh: installing: $missing"
	export DEBIAN_FRONTEND=noninteractive
	# Serialise with other installers (parallel make runs, dpkg's own lock).
	exec 9>/tmp/sluice-deps.lock
	flock 9
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi


# Each tests/clients/<name>/ with a package.json is an npm project with a
# committed lock file; install it when node_modules is missing or stale.
if [ "$what" = test ]; then
	for pj in tests/clients/*/package.json; do
		[ -e "$pj" ] || continue
		d=$(dirname "$pj")
		# npm writes node_modules/.package-lock.json last: without it an
		# install was cut short (an empty node_modules is not an install).
		done_mark="$d/node_modules/.package-lock.json"
		if [ ! -f "$done_mark" ] || [ "$d/package-lock.json" -nt "$done_mark" ]; then
			(cd "$d" && npm ci --no-audit --no-fund --loglevel=error) && touch "$done_mark"
		fi
	done
fi
exit 0
