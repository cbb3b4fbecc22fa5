#!/usr/bin/env bash
# Run every fuzz target for a bounded time each (default 60 s): websocket payloads, the link
# codec, markup rendering (and the ANSI output holding no control character from a text run),
# the command parser, the config loader, the telnet input path and the websocket frame counter.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Needs a nightly toolchain; installs cargo-fuzz if it is missing. Crashes are left in
# fuzz/artifacts/<target>/ — turn each one into a regression test in the ordinary suite.
# FUZZ_SANITIZER (default "none": our code is safe Rust, and the sanitizer-free build is several
# times faster) is passed to cargo fuzz as --sanitizer.
set -euo pipefail

cd "$(dirname "$0")/.."
secs="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(wire link markup ansi_controls parser config telnet wsframes)
fi

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz.sh: a nightly toolchain is needed (rustup toolchain install nightly)" >&2
    exit 2
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

sanitizer="${FUZZ_SANITIZER:-none}"
failed=()
for t in "${targets[@]}"; do
    echo "== fuzzing $t for ${secs}s"
    mkdir -p "fuzz/corpus/$t"
    if ! cargo +nightly fuzz run --sanitizer "$sanitizer" "$t" "fuzz/corpus/$t" -- \
        -max_total_time="$secs" -max_len=65536 -rss_limit_mb=4096 -print_final_stats=1; then
        failed+=("$t")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz.sh: crashes in: ${failed[*]} (see fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz.sh: no crashes"
