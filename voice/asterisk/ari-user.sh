#!/bin/sh
# Prints ari.conf's user section from the container's environment (ARI_USERNAME, ARI_PASSWORD), for ari.conf's
# `#exec`. Asterisk includes what this prints on stdout and logs what it prints on stderr as an error.
set -eu

user="${ARI_USERNAME:-flowyte}"
password="${ARI_PASSWORD:-}"

if [ -z "$password" ]; then
  echo "ARI_PASSWORD is empty: no ARI user defined, the Flowyte server cannot connect" >&2
  exit 1
fi
# A ';' would start a comment in Asterisk's config format and silently cut the password short.
case "$user$password" in
  *";"* | *"["* | *"]"* | *" "*)
    echo "ARI_USERNAME and ARI_PASSWORD must not contain ';', '[', ']' or spaces (openssl rand -hex 24 is safe)" >&2
    exit 1
    ;;
esac

printf '[%s]\ntype = user\nread_only = no\npassword_format = plain\npassword = %s\n' "$user" "$password"
