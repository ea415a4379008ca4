#!/bin/sh
# The real Chromium, for the tests, kept off the network it would reach on its own: even with
# --disable-background-networking and --disable-component-update, Chromium 156 resolves
# accounts.google.com (its sign-in's ListAccounts), update.googleapis.com (update checks) and
# clients2.google.com (network time) within seconds of starting, and after a page fails to resolve
# its error page's probe asks for google.com (through the system's resolver and 8.8.8.8): DNS
# packets off loopback. Google's names are added to the resolver rules the caller gave (or given
# alone), so they fail in Chromium before any lookup; pages in tests only visit 127.0.0.1. The
# error page's probe ignores those rules, so a new profile starts with it off (the pref
# alternate_error_pages.enabled; a profile that exists already is left as it is). Nothing else
# changes: the caller's rules keep their order, and exec keeps the pid, the name and the fds.
GOOGLE="MAP google.com ~NOTFOUND, MAP *.google.com ~NOTFOUND, MAP *.googleapis.com ~NOTFOUND, MAP *.gvt1.com ~NOTFOUND, MAP *.gvt2.com ~NOTFOUND"
found=""
profile=""
for arg in "$@"; do
  shift
  case "$arg" in
    --host-resolver-rules=*) arg="$arg, $GOOGLE"; found=1 ;;
    --user-data-dir=*) profile="${arg#--user-data-dir=}" ;;
  esac
  set -- "$@" "$arg"
done
if [ -n "$profile" ] && [ ! -e "$profile/Default/Preferences" ]; then
  mkdir -p "$profile/Default" && printf '{"alternate_error_pages":{"enabled":false}}' > "$profile/Default/Preferences"
fi
[ -n "$found" ] || set -- "--host-resolver-rules=$GOOGLE" "$@"
exec /usr/lib/chromium/chromium "$@"
