#!/usr/bin/env bash
# Installs the Debian packages emotive's features use, only those missing.
#   espeak-ng                           : phone timings of the talking portrait (text -> phonemes)
#   fluidsynth, libfluidsynth3          : music audio preview
#   chromium, chromium-driver           : browser tests of the demo
set -euo pipefail
PKGS=(espeak-ng fluidsynth libfluidsynth3 chromium chromium-driver)
missing=()
for p in "${PKGS[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup_system: not a Debian system; please install: ${missing[*]}" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "setup_system: need root to install: ${missing[*]} (features using them will say so)" >&2
    exit 0
  fi
fi
echo "setup_system: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
