#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Install what xgw needs from Debian (by package name, only what is missing)
# and build it into build/. Idempotent; needs root for apt-get.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${XGW_BUILD:-$ROOT/build}

PKGS=(
	# build
	gcc meson ninja-build pkg-config clang llvm bpftool
	libbpf-dev libxdp-dev libelf-dev zlib1g-dev libjansson-dev libyaml-dev
	libcurl4-openssl-dev libssl-dev libnghttp2-dev
	# tests and the quick start
	iproute2 curl wrk clang-format libclang-rt-14-dev python3 python3-yaml openssl procps
	nghttp2-client
	# the conformance runner's gRPC client (selftests/conformance/grpcclient.py)
	python3-grpcio
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "setup: missing packages: ${missing[*]}; run as root (sudo) to install them" >&2
		exit 1
	fi
	echo "setup: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -f "$BUILD/build.ninja" ]; then
	meson setup "$BUILD" "$ROOT" >/dev/null
fi
ninja -C "$BUILD" >/dev/null
echo "setup: built into $BUILD"
