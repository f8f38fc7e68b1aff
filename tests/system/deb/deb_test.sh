#!/usr/bin/env bash
# deb_test.sh BUILD_DIR VERSION: packs the built programs (cpack), checks the package, and
# installs, removes and purges it in a throwaway root (dpkg --root, maintainer scripts run
# chrootless with $DPKG_ROOT). Never touches the host: the hisgate user is created in the
# root's /etc/passwd, systemctl acts only with --root. Exit 77 (skip) without dpkg.
set -euo pipefail
build=$1 version=$2
command -v dpkg >/dev/null && command -v dpkg-deb >/dev/null || { echo "SKIP: dpkg is not installed"; exit 77; }

work=$(mktemp -d /tmp/hisgate-deb-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
check() { local what=$1; shift; "$@" || fail "$what"; }

host_user_before=$(getent passwd hisgate || true)
host_lib_before=$([ -e /var/lib/hisgate ] && echo yes || echo no)

# The package, from the programs already built (cpack builds nothing: the install rules
# need only the three programs).
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1 \
  || { cat "$work/cpack.log"; fail "cpack"; }
deb=$(ls "$work"/out/hisgate_"$version"_*.deb) || fail "no hisgate_${version}_*.deb from cpack"
echo "packed $(basename "$deb"): $(stat -c %s "$deb") bytes"

# --- the package's metadata and files ----------------------------------------------------
info=$(dpkg-deb --info "$deb")
grep -q "^ Package: hisgate$" <<<"$info" || fail "package name"
grep -q "^ Version: $version$" <<<"$info" || fail "version"
grep -q "^ Depends: .*passwd" <<<"$info" || fail "Depends names passwd: $(grep Depends <<<"$info")"
grep -q "^ Depends: .*libc6" <<<"$info" || fail "Depends from dpkg-shlibdeps"
mkdir "$work/control"
dpkg-deb --control "$deb" "$work/control"
for s in postinst prerm postrm; do
  check "$s is an executable script" test -x "$work/control/$s"
  check "$s honours DPKG_ROOT" grep -q 'DPKG_ROOT' "$work/control/$s"
  check "$s parses" sh -n "$work/control/$s"
done
check "postinst names the package version" grep -q "^VERSION=\"$version\"$" "$work/control/postinst"
diff <(sort "$work/control/conffiles") <(printf '%s\n' /etc/hisgate/agent.json /etc/hisgate/params.json.example \
     /etc/hisgate/updater.json /etc/logrotate.d/hisgate | sort) || fail "conffiles"

contents=$(dpkg-deb --contents "$deb")
expect_entry() {  # MODE OWNER PATH: one line of dpkg-deb --contents
  grep -qE "^$1 $2 +[0-9]+ [0-9-]+ [0-9:]+ \./$3( |$)" <<<"$contents" || fail "package entry $1 $2 $3"
}
expect_entry -rwxr-xr-x root/root usr/bin/hisgate-updater
expect_entry -rwxr-xr-x root/root usr/bin/hisgate
expect_entry -rwxr-xr-x root/root usr/lib/hisgate/bin/hisgate-agent
expect_entry lrwxrwxrwx root/root "usr/bin/hisgate-agent -> /var/lib/hisgate/current/bin/hisgate-agent"
for f in lib/systemd/system/hisgate-agent.service lib/systemd/system/hisgate-updater.service \
         etc/hisgate/agent.json etc/hisgate/updater.json etc/hisgate/params.json.example etc/logrotate.d/hisgate \
         usr/share/doc/hisgate/install.md; do
  expect_entry -rw-r--r-- root/root "$f"
done
# Nothing else: no test programs, no headers, no static libraries.
files=$(grep -c '^-' <<<"$contents")
[ "$files" -eq 12 ] || fail "12 files expected, found $files: $(grep '^-' <<<"$contents" | awk '{print $6}')"
dpkg-deb -x "$deb" "$work/x"
if file "$work/x/usr/bin/hisgate-updater" 2>/dev/null | grep -q "not stripped"; then fail "binaries stripped"; fi
for unit in hisgate-agent hisgate-updater; do
  u="$work/x/lib/systemd/system/$unit.service"
  for need in Restart=on-failure NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes CapabilityBoundingSet; do
    grep -q "^$need" "$u" || fail "$unit.service has $need"
  done
done
grep -q "^User=hisgate$" "$work/x/lib/systemd/system/hisgate-agent.service" || fail "agent runs as hisgate"
grep -q "^CapabilityBoundingSet=$" "$work/x/lib/systemd/system/hisgate-agent.service" || fail "agent: no capabilities"
grep -q "^StateDirectory=hisgate" "$work/x/lib/systemd/system/hisgate-agent.service" || fail "agent: StateDirectory"
grep -q "^ReadWritePaths=/etc/hisgate/params$" "$work/x/lib/systemd/system/hisgate-agent.service" || fail "agent: a pushed parameter set can be written"
# Not started before hospital IT wrote the parameter file / the operator's key is there.
grep -q "^ConditionPathExists=/etc/hisgate/params/params.json$" "$work/x/lib/systemd/system/hisgate-agent.service" || fail "agent waits for params.json"
grep -q "^ConditionPathExists=/etc/hisgate/release-root.pub$" "$work/x/lib/systemd/system/hisgate-updater.service" || fail "updater waits for the root key"
for j in agent updater; do
  python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$work/x/etc/hisgate/$j.json" || fail "$j.json is JSON"
done

# --- the throwaway root --------------------------------------------------------------------
root="$work/root"
mkdir -p "$root/etc" "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/log"
touch "$root/var/lib/dpkg/status" "$root/var/lib/dpkg/available"
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
echo 'root:*:19000:0:99999:7:::' >"$root/etc/shadow"
echo 'root:*::' >"$root/etc/gshadow"
chmod 640 "$root/etc/shadow" "$root/etc/gshadow"
dpkg_root() { dpkg --root="$root" --force-script-chrootless --force-not-root --force-depends --log=/dev/null "$@"; }

dpkg_root -i "$deb" >"$work/install.log" 2>&1 || { cat "$work/install.log"; fail "dpkg -i"; }
grep -q '^hisgate:x:[0-9]*:[0-9]*:.*:/var/lib/hisgate:/usr/sbin/nologin$' "$root/etc/passwd" || fail "user in the root's passwd"
uid=$(awk -F: '$1 == "hisgate" { print $3 }' "$root/etc/passwd")
gid=$(awk -F: '$1 == "hisgate" { print $3 }' "$root/etc/group")
[ -n "$gid" ] || fail "group in the root's group file"
expect_stat() {  # PATH MODE UID GID
  local got; got=$(stat -c '%a %u %g' "$root/$1") || fail "$1 exists"
  [ "$got" = "$2 $3 $4" ] || fail "$1: expected mode/uid/gid $2 $3 $4, found $got"
}
expect_stat var/lib/hisgate 755 0 0
expect_stat var/lib/hisgate/versions 755 0 0
expect_stat var/lib/hisgate/state 700 "$uid" "$gid"
expect_stat var/lib/hisgate/spool 700 "$uid" "$gid"
expect_stat var/log/hisgate 750 "$uid" "$gid"
expect_stat etc/hisgate 755 0 0
expect_stat etc/hisgate/params 700 "$uid" "$gid"
grep -q '"params_file": "/etc/hisgate/params/params.json"' "$root/etc/hisgate/agent.json" || fail "agent.json names params/params.json"
expect_stat "var/lib/hisgate/versions/$version/bin/hisgate-agent" 755 0 0
[ "$(readlink "$root/var/lib/hisgate/current")" = "versions/$version" ] || fail "current -> versions/$version"
[ "$(cat "$root/var/lib/hisgate/current/bin/VERSION")" = "$version" ] || fail "VERSION stamp"
# The agent reports its version through current (its stamp beside it); the CLI runs.
reported=$("$root/var/lib/hisgate/current/bin/hisgate-agent" --version)
[ "$reported" = "hisgate-agent $version" ] || fail "agent --version through current: $reported"
"$root/usr/bin/hisgate" params validate "$root/etc/hisgate/params.json.example" >/dev/null || fail "example parameter file validates"
ls "$root"/var/lib/hisgate/versions/.staging-* >/dev/null 2>&1 && fail "staging directory left behind"
if command -v systemctl >/dev/null; then
  for unit in hisgate-agent hisgate-updater; do
    [ -L "$root/etc/systemd/system/multi-user.target.wants/$unit.service" ] || fail "$unit enabled in the root"
  done
fi
if command -v systemd-analyze >/dev/null; then
  # Verified against the root, where ExecStart's programs exist; the host's targets and
  # slices and /bin/kill (ExecReload) stand in for the base system the root lacks.
  mkdir -p "$root/bin"
  cp /bin/kill "$root/bin/kill"
  cp -a /lib/systemd/system/*.target /lib/systemd/system/*.slice "$root/lib/systemd/system/"
  if ! SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no --root="$root" \
        "$root/lib/systemd/system/hisgate-agent.service" "$root/lib/systemd/system/hisgate-updater.service" \
        >"$work/verify.log" 2>&1; then
    cat "$work/verify.log"; fail "systemd-analyze verify"
  fi
  if grep -i "unknown\|invalid\|failed to parse\|ignoring" "$work/verify.log"; then fail "systemd-analyze verify warnings"; fi
fi

# An upgrade by apt (postinst configure <old version>): `current` follows the package only
# when it still names the version the old package installed; a version the updater
# installed since stays. (The package's own postinst, run as dpkg runs it chrootless.)
lib="$root/var/lib/hisgate"
mkdir -p "$lib/versions/0.2.0/bin" "$lib/versions/9.9.0/bin"
ln -sfn versions/0.2.0 "$lib/current"
DPKG_ROOT="$root" sh "$work/control/postinst" configure 0.2.0 || fail "postinst configure 0.2.0"
[ "$(readlink "$lib/current")" = "versions/$version" ] || fail "apt upgrade from 0.2.0 moves current"
ln -sfn versions/9.9.0 "$lib/current"
DPKG_ROOT="$root" sh "$work/control/postinst" configure 0.2.0 2>"$work/upgrade.err" || fail "postinst over 9.9.0"
[ "$(readlink "$lib/current")" = "versions/9.9.0" ] || fail "the updater's 9.9.0 stays current"
grep -q "stays on 9.9.0" "$work/upgrade.err" || fail "postinst says the agent stays on 9.9.0"
ln -sfn "versions/$version" "$lib/current"
rm -rf "$lib/versions/0.2.0" "$lib/versions/9.9.0"

# Hospital IT's own files, and the agent's state, as after a while in service.
install -m 600 -o "$uid" -g "$gid" "$root/etc/hisgate/params.json.example" "$root/etc/hisgate/params/params.json"
echo "edited" >>"$root/etc/hisgate/agent.json"
echo "queue" >"$root/var/lib/hisgate/state/agent.db"

# Installing again (a reinstall / upgrade to the same version) keeps all of it.
dpkg_root -i "$deb" >"$work/reinstall.log" 2>&1 || { cat "$work/reinstall.log"; fail "dpkg -i again"; }
grep -q "^edited$" "$root/etc/hisgate/agent.json" || fail "the changed conffile kept on reinstall"
[ "$(grep -c '^hisgate:' "$root/etc/passwd")" -eq 1 ] || fail "one hisgate user after reinstall"

# --- remove: programs go; state, configuration and user stay -----------------------------
dpkg_root -r hisgate >"$work/remove.log" 2>&1 || { cat "$work/remove.log"; fail "dpkg -r"; }
for gone in usr/bin/hisgate-updater usr/bin/hisgate usr/bin/hisgate-agent usr/lib/hisgate/bin/hisgate-agent \
            lib/systemd/system/hisgate-agent.service; do
  [ ! -e "$root/$gone" ] && [ ! -L "$root/$gone" ] || fail "remove deletes $gone"
done
for kept in etc/hisgate/agent.json etc/hisgate/params/params.json var/lib/hisgate/state/agent.db \
            "var/lib/hisgate/versions/$version/bin/hisgate-agent" var/lib/hisgate/current; do
  [ -e "$root/$kept" ] || fail "remove keeps $kept"
done
grep -q '^hisgate:' "$root/etc/passwd" || fail "remove keeps the user"
if command -v systemctl >/dev/null; then
  [ ! -e "$root/etc/systemd/system/multi-user.target.wants/hisgate-agent.service" ] || fail "remove disables the agent"
fi

# --- purge: everything the package made goes, the user too --------------------------------
dpkg_root -P hisgate >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "dpkg -P"; }
for gone in etc/hisgate var/lib/hisgate var/log/hisgate; do
  [ ! -e "$root/$gone" ] || fail "purge deletes $gone"
done
grep -q '^hisgate:' "$root/etc/passwd" && fail "purge deletes the user"
grep -q '^hisgate:' "$root/etc/group" && fail "purge deletes the group"
grep -q '^root:' "$root/etc/passwd" || fail "purge keeps the other users"

# --- the host is untouched ----------------------------------------------------------------
[ "$(getent passwd hisgate || true)" = "$host_user_before" ] || fail "the host's users changed"
[ "$([ -e /var/lib/hisgate ] && echo yes || echo no)" = "$host_lib_before" ] || fail "the host's /var/lib/hisgate changed"
echo "PASS: package $(basename "$deb") installed, reinstalled, removed and purged in a throwaway root"
