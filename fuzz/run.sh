#!/usr/bin/env bash
# Runs one fuzz campaign: ./run.sh TARGET [SECONDS] [extra libFuzzer flags...]
#
# Works on a stable toolchain: cargo-fuzz's instrumentation flags are stable except the
# sanitizer ones (-Zsanitizer=...), which RUSTC_BOOTSTRAP=1 unlocks. The default sanitizer is
# `none`: every userql crate forbids unsafe code, so AddressSanitizer mostly costs throughput;
# set SANITIZER=address to use it anyway (e.g. after bumping a dependency with unsafe code).
#
# Corpus layout: seeds/TARGET (committed, read-only here) and, for hub_query and assist, the lines
# of grammar/corpus/*.txt; campaigns grow corpus/TARGET (git-ignored). Crashes land in
# artifacts/TARGET/; the libFuzzer log in logs/TARGET.log.
set -euo pipefail
cd "$(dirname "$0")"
target="${1:?usage: run.sh TARGET [SECONDS] [libFuzzer flags...]}"
seconds="${2:-600}"
shift $(( $# >= 2 ? 2 : 1 ))
sanitizer="${SANITIZER:-none}"
export RUSTC_BOOTSTRAP=1 CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

mkdir -p "corpus/$target" "artifacts/$target" logs
if [[ "$target" == hub_query || "$target" == assist ]]; then
    # One file per grammar corpus line (comments and blank lines skipped).
    n=0
    for file in ../grammar/corpus/*.txt; do
        while IFS= read -r line || [[ -n "$line" ]]; do
            [[ -z "${line// }" || "$line" == \#* ]] && continue
            n=$((n + 1))
            printf '%s' "$line" > "corpus/$target/grammar-$(basename "$file" .txt)-$n"
        done < "$file"
    done
fi

flags=(-max_total_time="$seconds" -timeout=1 -rss_limit_mb=2048 -print_final_stats=1
       -artifact_prefix="artifacts/$target/")
[[ -f "dict/$target.dict" ]] && flags+=(-dict="dict/$target.dict")
# assist tries every caret, so its cost is quadratic in length; it cuts inputs at 256 bytes anyway.
[[ "$target" == assist ]] && flags+=(-max_len=256)

cargo fuzz run -s "$sanitizer" "$target" "corpus/$target" "seeds/$target" -- "${flags[@]}" "$@" \
    2>&1 | tee "logs/$target.log" | grep -E --line-buffered 'DONE|ERROR|panicked|Done [0-9]+ runs|stat::|SUMMARY|crash-|timeout-|oom-|leak-' || true
# Exit status of cargo fuzz (non-zero on a crash), not of grep.
exit "${PIPESTATUS[0]}"
