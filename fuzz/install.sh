#!/usr/bin/env sh
# Installs the cargo-fuzz driver used by `fuzz/run.sh`.
#
# cargo-fuzz itself builds on stable; only the *fuzz targets* need nightly-only
# rustc flags (`-Zsanitizer=...`, sancov passes). On a stable toolchain we set
# RUSTC_BOOTSTRAP=1 when building targets (see run.sh / README.md), not here.
set -eu
if command -v cargo-fuzz >/dev/null 2>&1; then
    echo "cargo-fuzz already installed: $(cargo fuzz --version 2>/dev/null || echo unknown)"
    exit 0
fi
cargo install cargo-fuzz --locked -j "${JOBS:-2}"
