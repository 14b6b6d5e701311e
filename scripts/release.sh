#!/usr/bin/env bash
# scripts/release.sh — build SellerGuard release binaries (and the container
# image).
#
# Static binaries (CGO_ENABLED=0: the SQLite driver is pure Go), built with
# -trimpath, with the version, commit and build date stamped in, so
# `sellerguard version` names exactly what runs:
#
#   OUT/sellerguard_VERSION_OS_ARCH     one per target
#   OUT/SHA256SUMS
#
# With --image it also builds the container image (packaging/Containerfile,
# FROM scratch: no base image to pull) for the machine's architecture with
# podman (or buildah), tagged IMAGE (default sellerguard:VERSION).
#
# Settings (environment):
#   VERSION  default: git describe --tags --always --dirty
#   TARGETS  default: "linux/amd64 linux/arm64"
#   OUT      default: dist
#   IMAGE    default: sellerguard:VERSION
#   SOURCE_DATE_EPOCH  build date (default: the commit's time), for
#            reproducible builds
#   BINARY   with --image: package this already built static linux binary
#            instead of building (the container test uses it to save a
#            build)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

image=0
for arg in "$@"; do
	case $arg in
	--image) image=1 ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "scripts/release.sh: unknown argument $arg (try --help)" >&2
		exit 2
		;;
	esac
done

commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
TARGETS=${TARGETS:-linux/amd64 linux/arm64}
OUT=${OUT:-dist}
IMAGE=${IMAGE:-sellerguard:$VERSION}
if [[ -z ${SOURCE_DATE_EPOCH:-} ]]; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
fi
date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
ldflags="-s -w -X main.version=$VERSION -X main.commit=$commit -X main.date=$date"

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd -P)
sums=()
[[ -n ${BINARY:-} ]] && TARGETS=""
for target in $TARGETS; do
	os=${target%/*}
	arch=${target#*/}
	bin="$OUT/sellerguard_${VERSION}_${os}_${arch}"
	echo "==> $bin" >&2
	CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -ldflags "$ldflags" -o "$bin" ./cmd/sellerguard
	sums+=("$(basename "$bin")")
done
if ((${#sums[@]})); then
	(cd "$OUT" && sha256sum "${sums[@]}" >SHA256SUMS)
fi

if ((image)); then
	arch=$(go env GOARCH)
	bin=${BINARY:-"$OUT/sellerguard_${VERSION}_linux_${arch}"}
	if [[ ! -x $bin ]]; then
		echo "scripts/release.sh: no linux/$arch binary among TARGETS ($TARGETS)" >&2
		exit 1
	fi
	ctx="$OUT/image-context"
	rm -rf "$ctx"
	mkdir -p "$ctx/rootfs/usr/local/bin" "$ctx/rootfs/etc/ssl/certs" "$ctx/rootfs/usr/share" "$ctx/rootfs/tmp" "$ctx/data"
	chmod 1777 "$ctx/rootfs/tmp"
	chmod 700 "$ctx/data"
	cp "$bin" "$ctx/rootfs/usr/local/bin/sellerguard"
	cp /etc/ssl/certs/ca-certificates.crt "$ctx/rootfs/etc/ssl/certs/" ||
		{ echo "scripts/release.sh: no CA certificates (apt-get install ca-certificates)" >&2; exit 1; }
	cp -a /usr/share/zoneinfo "$ctx/rootfs/usr/share/" ||
		{ echo "scripts/release.sh: no time-zone data (apt-get install tzdata)" >&2; exit 1; }
	printf 'sellerguard:x:65532:65532:SellerGuard:/var/lib/sellerguard:/nonexistent\n' >"$ctx/rootfs/etc/passwd"
	printf 'sellerguard:x:65532:\n' >"$ctx/rootfs/etc/group"
	tool=podman
	command -v podman >/dev/null || tool=buildah
	command -v "$tool" >/dev/null || { echo "scripts/release.sh: --image needs podman or buildah" >&2; exit 1; }
	echo "==> image $IMAGE ($tool)" >&2
	if [[ $tool == buildah ]]; then
		buildah bud --pull=false --format docker --timestamp "$SOURCE_DATE_EPOCH" -f packaging/Containerfile -t "$IMAGE" "$ctx" >&2
	else
		podman build --pull=never --format docker --timestamp "$SOURCE_DATE_EPOCH" -f packaging/Containerfile -t "$IMAGE" "$ctx" >&2
	fi
	echo "$IMAGE"
fi
