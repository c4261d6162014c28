#!/usr/bin/env bash
# scripts/check_includes.sh — the include-direction rule over every
# `#include "..."` line under src/ (STYLE.md's layers):
#
#   src/proto/X  -> proto/X (its own front), proto/front.h, proto/sniff.h
#                   (the helpers shared by every front), broker, store,
#                   net, core
#   src/http     -> http, proto/front.h, broker, store, net, core
#   src/broker   -> broker, store, net, core
#   src/store    -> store, net, core
#   src/net      -> net, core
#   src/core     -> core
#   src/main.c   -> anything
#
# Every layer may also include the public headers (include/sluice/). So
# nothing includes upward (store never sees the broker, the broker never
# sees a protocol) and the fronts never reach sideways into each other
# (kafka never includes resp/ or beanstalk/). Prints each violation as
# FILE:LINE: ... and exits 1 if there is any.
set -u
cd "$(dirname "$0")/.."

allowed() { # allowed FROM_LAYER INCLUDE_PATH
	local from=$1 inc=$2
	case $inc in
	sluice/*) return 0 ;;
	esac
	case $from in
	main) return 0 ;;
	core) case $inc in core/*) return 0 ;; esac ;;
	net) case $inc in core/* | net/*) return 0 ;; esac ;;
	store) case $inc in core/* | net/* | store/*) return 0 ;; esac ;;
	broker) case $inc in core/* | net/* | store/* | broker/*) return 0 ;; esac ;;
	http) case $inc in core/* | net/* | store/* | broker/* | http/* | proto/front.h) return 0 ;; esac ;;
	proto) case $inc in core/* | net/* | store/* | broker/* | proto/front.h | proto/sniff.h) return 0 ;; esac ;;
	proto/*) case $inc in core/* | net/* | store/* | broker/* | proto/front.h | proto/sniff.h | "$from"/*) return 0 ;; esac ;;
	esac
	return 1
}

layer_of() { # layer_of src/PATH
	local p=${1#src/}
	case $p in
	main.c) echo main ;;
	proto/*/*) echo "proto/$(cut -d/ -f2 <<<"$p")" ;;
	proto/*) echo proto ;;
	*/*) echo "${p%%/*}" ;;
	*) echo main ;;
	esac
}

bad=0
n=0
while IFS= read -r f; do
	from=$(layer_of "$f")
	while IFS=: read -r line inc; do
		n=$((n + 1))
		if ! allowed "$from" "$inc"; then
			echo "$f:$line: $from must not include \"$inc\""
			bad=$((bad + 1))
		fi
	done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
		sed -E 's/^([0-9]+):[^"]*"([^"]*)".*/\1:\2/')
done < <(find src -name '*.[ch]' | sort)
echo "includes: $n include lines checked, $bad violations"
[ "$bad" -eq 0 ]
