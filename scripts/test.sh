#!/usr/bin/env bash
# scripts/test.sh — THE one command that runs SellerGuard's whole test suite.
#
# Works on a fresh Debian 12 machine as root (also as a normal user when the
# packages are already installed), from any working directory, without a
# terminal or stdin (CI=true). It:
#
#   1. installs the outside programs the tests use, if missing (apt-get):
#      postgresql, chromium, python3-aiosmtpd, oathtool, python3-dkim,
#      podman, systemd (systemd-analyze), ca-certificates, tzdata, testssl.sh,
#      fonts-wqy-microhei (Chinese glyphs for the browser tests), and
#      gcc/libc6-dev for the race detector; and axe-core (npm install -g,
#      with Debian's npm if there is none) for the accessibility check;
#   2. starts a throwaway PostgreSQL cluster (as the postgres user, 127.0.0.1
#      on a free port, data in a temp dir) and exports its superuser URL as
#      SELLERGUARD_TEST_POSTGRES_URL; it is stopped and removed on exit;
#   3. exports SELLERGUARD_TEST_STRICT=1, so a test whose outside dependency
#      is missing FAILS instead of skipping (see internal/testenv);
#   4. checks gofmt, go mod tidy, go vet, staticcheck and errcheck;
#   5. runs go test -race -count=1 -timeout 25m ./...
#   6. runs every fuzz target of the parsers of reported phishing
#      (internal/phishing: FuzzMIME, FuzzLinks, FuzzSPF) for a short time each
#      (SELLERGUARD_FUZZ_TIME, default 10s; longer runs by hand with
#      -fuzztime 10m); a crash fails the script and leaves its input in
#      internal/phishing/testdata/fuzz/ (a run that ends only on Go 1.26's
#      fuzzing deadline race, go.dev/issue/75804, is run once more); and
#      the strength estimator's
#      fork against upstream (internal/zxcvbn: FuzzSameAsUpstream)
#
# Usage: scripts/test.sh [PACKAGES...]   (default ./...; the packages are
# passed to go vet, staticcheck and go test; gofmt always checks all files)
#
# Every step runs even when an earlier check failed, so one run reports
# everything; the exit status is non-zero if anything failed.
set -euo pipefail

STATICCHECK_VERSION=v0.8.2 # staticcheck 2026.2.2, supports Go 1.26
ERRCHECK_VERSION=v1.30.0
GO_TEST_TIMEOUT=25m
PKGS=("$@")
((${#PKGS[@]})) || PKGS=(./...)

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO_ROOT=$(pwd -P)
exec </dev/null

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'scripts/test.sh: %s\n' "$*" >&2; exit 1; }

IS_ROOT=0
[[ $(id -u) -eq 0 ]] && IS_ROOT=1

command -v go >/dev/null || die "go is not installed (need the toolchain named in go.mod)"

# ---------------------------------------------------------------- packages
export DEBIAN_FRONTEND=noninteractive

pkg_installed() {
	[[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true) == installed ]]
}

missing_pkgs=()
need_pkg() { # need_pkg PACKAGE CHECK-COMMAND...
	local pkg=$1
	shift
	if ! pkg_installed "$pkg" || ! "$@" >/dev/null 2>&1; then
		missing_pkgs+=("$pkg")
	fi
}
have_pg_bin() { compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; }
have_chromium() { [[ -x /usr/bin/chromium ]] || command -v chromium; }

need_pkg postgresql have_pg_bin
need_pkg chromium have_chromium
need_pkg python3-aiosmtpd /usr/bin/python3 -c 'import aiosmtpd.handlers'
need_pkg oathtool command -v oathtool
need_pkg fonts-wqy-microhei test -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc # Chinese glyphs for the 390 px check and screenshots
need_pkg python3-dkim command -v dkimverify
need_pkg swaks command -v swaks
need_pkg podman command -v podman                   # container image test
need_pkg systemd command -v systemd-analyze         # systemd unit test
need_pkg ca-certificates test -f /etc/ssl/certs/ca-certificates.crt # copied into the image
need_pkg tzdata test -d /usr/share/zoneinfo          # copied into the image
need_pkg testssl.sh command -v testssl              # TLS listener test
# The race detector needs cgo and a C toolchain.
if [[ $(go env CC) == gcc ]]; then
	need_pkg gcc command -v gcc
	need_pkg libc6-dev true
fi
export CGO_ENABLED=1

if ((${#missing_pkgs[@]})); then
	log "installing missing packages: ${missing_pkgs[*]}"
	apt_get=(apt-get)
	if ((!IS_ROOT)); then
		command -v sudo >/dev/null || die "need root (or sudo) to install: ${missing_pkgs[*]}"
		apt_get=(sudo -n env DEBIAN_FRONTEND=noninteractive apt-get)
	fi
	"${apt_get[@]}" update -qq
	"${apt_get[@]}" install -y -qq -o Dpkg::Use-Pty=0 "${missing_pkgs[@]}" >/dev/null
fi

# ---------------------------------------------------------------- axe-core
# The accessibility check of the browser tests injects axe-core's
# axe.min.js (the npm package) into Chromium; internal/testenv.AxePath finds
# it under npm's global root (or at $SELLERGUARD_AXE_JS).
AXE_VERSION=4.14.1
have_axe() {
	[[ -n ${SELLERGUARD_AXE_JS:-} && -f ${SELLERGUARD_AXE_JS:-} ]] ||
		[[ -f /usr/lib/node_modules/axe-core/axe.min.js || -f /usr/local/lib/node_modules/axe-core/axe.min.js ]]
}
if ! have_axe; then
	if ! command -v npm >/dev/null; then
		log "installing npm (for axe-core)"
		apt_get=(apt-get)
		((IS_ROOT)) || apt_get=(sudo -n env DEBIAN_FRONTEND=noninteractive apt-get)
		"${apt_get[@]}" update -qq
		"${apt_get[@]}" install -y -qq -o Dpkg::Use-Pty=0 npm >/dev/null
	fi
	log "installing axe-core $AXE_VERSION (npm install -g)"
	npm_g=(npm)
	((IS_ROOT)) || npm_g=(sudo -n npm)
	"${npm_g[@]}" install -g --no-audit --no-fund "axe-core@$AXE_VERSION" >/dev/null
	have_axe || die "axe-core installed, but axe.min.js is not under /usr/lib or /usr/local/lib/node_modules (npm root -g: $(npm root -g))"
fi

# ---------------------------------------------------------------- PostgreSQL
PG_BIN=$(compgen -G '/usr/lib/postgresql/*/bin' | sort -V | tail -n 1)
[[ -x $PG_BIN/initdb && -x $PG_BIN/pg_ctl ]] || die "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin"

TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/sellerguard-test.XXXXXX")
PG_DATA=$TEST_TMP/pgdata
PG_SOCK=$TEST_TMP/pgsock
PG_LOG=$TEST_TMP/postgres.log
PG_STARTED=0

# PostgreSQL refuses to run as root: run it as the postgres user then.
as_pg() {
	if ((IS_ROOT)); then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if ((PG_STARTED)); then
		as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
	fi
	rm -rf "$TEST_TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$PG_SOCK"
if ((IS_ROOT)); then
	chown -R postgres:postgres "$TEST_TMP"
fi
chmod 700 "$TEST_TMP"

locale=C
if locale -a 2>/dev/null | grep -qix 'c\.utf-\?8'; then
	locale=C.UTF-8
fi
log "creating a PostgreSQL cluster in $PG_DATA ($($PG_BIN/postgres --version))"
if ! as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust --encoding=UTF8 \
	--locale="$locale" --no-sync >"$TEST_TMP/initdb.log" 2>&1; then
	cat "$TEST_TMP/initdb.log" >&2
	die "initdb failed"
fi

free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

for attempt in 1 2 3 4 5; do
	PG_PORT=$(free_port)
	# Throwaway cluster: durability off for speed; plenty of connections for
	# test packages running in parallel.
	if as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 -o \
		"-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_SOCK -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
		start >/dev/null; then
		PG_STARTED=1
		break
	fi
	log "PostgreSQL did not start on port $PG_PORT (attempt $attempt); log:"
	cat "$PG_LOG" >&2 || true
done
((PG_STARTED)) || die "could not start PostgreSQL"

for _ in $(seq 1 120); do
	if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres; then
		break
	fi
	sleep 0.25
done
"$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres || {
	cat "$PG_LOG" >&2
	die "PostgreSQL is not ready on 127.0.0.1:$PG_PORT"
}
log "PostgreSQL ready on 127.0.0.1:$PG_PORT"

export SELLERGUARD_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable"
export SELLERGUARD_TEST_STRICT=1

# ---------------------------------------------------------------- checks
failed=()

log "gofmt -l"
go_files=()
if git -C "$REPO_ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	while IFS= read -r -d '' f; do
		[[ -f $f && $f != */testdata/* && $f != testdata/* && $f != vendor/* ]] && go_files+=("$f")
	done < <(git ls-files -z --cached --others --exclude-standard -- '*.go')
else
	while IFS= read -r -d '' f; do
		go_files+=("$f")
	done < <(find . -name '*.go' -not -path '*/testdata/*' -not -path './vendor/*' -not -path '*/.*' -print0)
fi
if ((${#go_files[@]})); then
	unformatted=$(gofmt -l "${go_files[@]}" 2>&1 || true)
	if [[ -n $unformatted ]]; then
		printf 'gofmt: these files need formatting (run gofmt -w):\n%s\n' "$unformatted" >&2
		failed+=("gofmt")
	fi
fi

log "go mod tidy -diff"
go mod tidy -diff || failed+=("go mod tidy (run go mod tidy)")

log "go vet ${PKGS[*]}"
go vet "${PKGS[@]}" || failed+=("go vet")

log "staticcheck $STATICCHECK_VERSION ${PKGS[*]}"
go run "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION" "${PKGS[@]}" || failed+=("staticcheck")

# Unchecked errors: none, but for the few functions .errcheck-excludes
# names with its reason (an intentional ignore is written `_ =`).
log "errcheck $ERRCHECK_VERSION ${PKGS[*]}"
go run "github.com/kisielk/errcheck@$ERRCHECK_VERSION" -exclude .errcheck-excludes "${PKGS[@]}" || failed+=("errcheck")

# ---------------------------------------------------------------- tests
log "go test -race -count=1 -parallel 4 -timeout $GO_TEST_TIMEOUT ${PKGS[*]}"
go test -race -count=1 -parallel 4 -timeout "$GO_TEST_TIMEOUT" "${PKGS[@]}" || failed+=("go test")

# ---------------------------------------------------------------- fuzzing
FUZZ_TIME=${SELLERGUARD_FUZZ_TIME:-10s}
# fuzz TARGET PACKAGE runs one fuzz target. Go 1.26's fuzzing coordinator
# can end a -fuzztime run with a bare "context deadline exceeded" and no
# failing input (go.dev/issue/75804, fixed in Go 1.27): such a run alone
# is run once more. A real finding writes its input to testdata/fuzz,
# which the second run replays first, so it still fails.
fuzz() {
	local target=$1 pkg=$2 out
	out=$(mktemp)
	log "go test -fuzz $target -fuzztime $FUZZ_TIME $pkg"
	if go test -run '^$' -fuzz "^$target\$" -fuzztime "$FUZZ_TIME" "$pkg" 2>&1 | tee "$out"; then # pipefail: go test's status
		rm -f "$out"
		return 0
	fi
	if grep -q 'context deadline exceeded' "$out" && ! grep -q 'Failing input written' "$out"; then
		log "go test -fuzz $target again: the run above ended on Go's fuzzing deadline race (go.dev/issue/75804), no failing input"
		rm -f "$out"
		go test -run '^$' -fuzz "^$target\$" -fuzztime "$FUZZ_TIME" "$pkg" && return 0
	fi
	rm -f "$out"
	failed+=("fuzz $target")
}
if [[ " ${PKGS[*]} " == *" ./... "* || " ${PKGS[*]} " == *internal/phishing* ]]; then
	for target in FuzzMIME FuzzLinks FuzzSPF; do
		fuzz "$target" ./internal/phishing
	done
fi
if [[ " ${PKGS[*]} " == *" ./... "* || " ${PKGS[*]} " == *internal/zxcvbn* ]]; then
	fuzz FuzzSameAsUpstream ./internal/zxcvbn
fi

if ((${#failed[@]})); then
	printf '\nscripts/test.sh: FAILED: %s\n' "$(IFS=,; echo "${failed[*]}" | sed 's/,/, /g')" >&2
	exit 1
fi
printf '\nscripts/test.sh: all checks and tests passed\n' >&2
