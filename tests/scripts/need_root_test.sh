#!/usr/bin/env bash
# The README's two commands (scripts/demo, scripts/test) and scripts/bootstrap
# as root, as a user with sudo, and as a user with neither: as root they run;
# as a user they run themselves again under sudo with the same arguments; with
# no sudo they stop at once with one sentence saying what to do. Runs as root
# (it becomes the user "nobody" with setpriv); the sudo is a stand-in that
# records how it was called, since the real one would need a password.
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
fails=0
check() {  # description, condition result
  if [ "$2" = 0 ]; then echo "ok: $1"; else echo "FAILED: $1"; fails=$((fails + 1)); fi
}
[ "$(id -u)" = 0 ] || { echo "FAILED: this test needs root (it runs scripts as nobody)"; exit 1; }

mkdir -p "$tmp/scripts/lib"
cp "$src/scripts/demo" "$src/scripts/test" "$src/scripts/bootstrap" "$tmp/scripts/"
cp "$src/scripts/lib/need-root" "$tmp/scripts/lib/"
cat > "$tmp/fake-sudo" <<'FAKE'
#!/bin/sh
printf '%s\n' "$@" > "$(dirname "$0")/sudo-args"
exit 0
FAKE
chmod -R a+rX "$tmp"
chmod a+rwx "$tmp"
chmod 755 "$tmp/fake-sudo"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- env "$@"; }

# As root: the guard lets the script go on.
printf '#!/usr/bin/env bash\nset -eu\n. "$(dirname "$0")/lib/need-root"\necho "went on as $(id -u)"\n' \
  > "$tmp/scripts/probe"
chmod 755 "$tmp/scripts/probe"
out=$(bash "$tmp/scripts/probe" 2>&1)
check "as root the script goes on" "$([ "$out" = "went on as 0" ]; echo $?)"

# Run through sudo (SUDO_UID set), what the script made goes back to the user.
printf '#!/usr/bin/env bash\nset -eu\n. "$(dirname "$0")/lib/need-root"\nmkdir -p "$1/made"\ntouch "$1/made/f"\ngive_back "$1/made"\n' \
  > "$tmp/scripts/maker"
chmod 755 "$tmp/scripts/maker"
SUDO_UID=65534 SUDO_GID=65534 bash "$tmp/scripts/maker" "$tmp"
check "what a script run by sudo made is the user's (got $(stat -c %u "$tmp/made/f"))" \
  "$([ "$(stat -c %u:%g "$tmp/made" "$tmp/made/f" | sort -u)" = "65534:65534" ]; echo $?)"

for script in demo test; do
  # A user without sudo: one sentence on stderr, exit 1, nothing else done.
  err=$(cd "$tmp" && as_nobody BYPASS_SUDO=/nonexistent/sudo "$tmp/scripts/$script" 2>&1 >/dev/null)
  rc=$?
  check "$script without root or sudo exits 1 (got $rc)" "$([ $rc = 1 ]; echo $?)"
  check "$script says what to do: $err" \
    "$(echo "$err" | grep -q "^scripts/$script needs root: run it as root, or as a user who may use sudo" ; echo $?)"
  check "$script says it in one line" "$([ "$(echo "$err" | wc -l)" = 1 ]; echo $?)"
  check "$script did not go on to build" "$([ ! -e "$tmp/build" ]; echo $?)"

  # A user with sudo: the same script, same arguments, under sudo.
  rm -f "$tmp/sudo-args"
  (cd "$tmp" && as_nobody BYPASS_SUDO="$tmp/fake-sudo" "$tmp/scripts/$script" -t 3 >/dev/null 2>&1)
  rc=$?
  check "$script with sudo exits as sudo did (got $rc)" "$([ $rc = 0 ]; echo $?)"
  want=$(printf '%s\n' "--preserve-env=CI,BYPASS_HUGEPAGES,JOBS" "--" "$tmp/scripts/$script" "-t" "3")
  got=$(cat "$tmp/sudo-args" 2>/dev/null)
  check "$script ran itself again under sudo with its arguments" "$([ "$got" = "$want" ]; echo $?)"
done

# bootstrap as a user with sudo runs itself under sudo too.
rm -f "$tmp/sudo-args"
(cd "$tmp" && as_nobody BYPASS_SUDO="$tmp/fake-sudo" "$tmp/scripts/bootstrap" >/dev/null 2>&1)
check "bootstrap with sudo ran itself again under sudo" \
  "$(grep -qx -- "$tmp/scripts/bootstrap" "$tmp/sudo-args" 2>/dev/null; echo $?)"

exit $((fails > 0))
