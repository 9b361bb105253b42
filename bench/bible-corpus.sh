#!/usr/bin/env bash
# bible-corpus.sh CACHE BYTES - the King James Bible repeated to BYTES bytes,
# made once as CACHE/bible-BYTES.txt (the name bench/run.sh uses too); prints
# its path. Installs bible-kjv with apt-get when the text is missing.
set -euo pipefail
cache=$1 bytes=$2
mkdir -p "$cache"
corpus="$cache/bible-$bytes.txt"
if [ ! -s "$corpus" ]; then
    kjv="$cache/bible-kjv.txt"
    if [ ! -s "$kjv" ]; then
        command -v bible >/dev/null || apt-get install -y -qq bible-kjv >/dev/null
        env -u COLUMNS bible 'Gen1:1-Rev22:21' >"$kjv"
    fi
    copies=$(((bytes + $(stat -c %s "$kjv") - 1) / $(stat -c %s "$kjv")))
    # head stops reading at BYTES: the last cat may die of SIGPIPE, which is fine.
    for ((i = 0; i < copies; i++)); do cat "$kjv"; done | head -c "$bytes" >"$corpus.tmp" ||
        [ "$(stat -c %s "$corpus.tmp")" -eq "$bytes" ]
    mv "$corpus.tmp" "$corpus"
fi
echo "$corpus"
