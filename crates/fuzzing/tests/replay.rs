//! Replays every committed fuzz input through its target function on the stable toolchain, so CI
//! checks the seeds and the regression inputs without nightly or libFuzzer:
//! `fuzz/seeds/<target>/*`, `fuzz/regressions/<target>/*`, and (for the query targets) every line
//! of `grammar/corpus/*.txt`. A panic names the file that caused it.

use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use userql_fuzzing::TARGETS;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Files of a directory in name order; a missing directory has none (a target may have no
/// regressions yet).
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The grammar corpus, one input per non-comment line (what `fuzz/run.sh` seeds campaigns with).
fn grammar_lines() -> Vec<(String, Vec<u8>)> {
    let mut inputs = Vec::new();
    for file in files(&repo().join("grammar/corpus")) {
        let text = fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for (number, line) in text.lines().enumerate() {
            if !line.trim().is_empty() && !line.starts_with('#') {
                inputs.push((
                    format!("{}:{}", file.display(), number + 1),
                    line.as_bytes().to_vec(),
                ));
            }
        }
    }
    inputs
}

/// Runs every input through `run`, collecting failures so one report lists them all.
fn replay(target: &str, run: fn(&[u8]), inputs: &[(String, Vec<u8>)]) -> Vec<String> {
    inputs
        .iter()
        .filter_map(|(name, bytes)| {
            catch_unwind(AssertUnwindSafe(|| run(bytes)))
                .err()
                .map(|_| format!("{target}: {name} panics (message above)"))
        })
        .collect()
}

fn file_inputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    files(dir)
        .into_iter()
        .map(|path| {
            let bytes = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (path.display().to_string(), bytes)
        })
        .collect()
}

#[test]
fn every_seed_and_regression_input_passes_its_target() {
    let fuzz = repo().join("fuzz");
    let mut failures = Vec::new();
    let mut replayed = 0;
    for &(target, run) in TARGETS {
        let seeds = file_inputs(&fuzz.join("seeds").join(target));
        assert!(!seeds.is_empty(), "fuzz/seeds/{target} has no seeds");
        let mut inputs = seeds;
        inputs.extend(file_inputs(&fuzz.join("regressions").join(target)));
        if target == "hub_query" || target == "assist" {
            inputs.extend(grammar_lines());
        }
        replayed += inputs.len();
        failures.extend(replay(target, run, &inputs));
    }
    assert!(
        failures.is_empty(),
        "{} of {replayed} inputs fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_target_has_a_cargo_fuzz_entry_point() {
    let fuzz = repo().join("fuzz");
    let manifest = fs::read_to_string(fuzz.join("Cargo.toml")).unwrap_or_default();
    for &(target, _) in TARGETS {
        let entry = fuzz.join("fuzz_targets").join(format!("{target}.rs"));
        let source =
            fs::read_to_string(&entry).unwrap_or_else(|e| panic!("{}: {e}", entry.display()));
        assert!(
            source.contains(&format!("userql_fuzzing::{target}(data)")),
            "{} calls another function",
            entry.display()
        );
        assert!(
            manifest.contains(&format!("name = \"{target}\"")),
            "fuzz/Cargo.toml has no [[bin]] {target}"
        );
    }
}

#[test]
fn targets_accept_empty_and_garbage_input() {
    let garbage: Vec<u8> = (0u8..=255).rev().cycle().take(1024).collect();
    for &(_, run) in TARGETS {
        run(&[]);
        run(&garbage);
    }
}

/// The differential target is only as good as its generator: if key names or value forms drift
/// from the grammar, queries stop parsing and the fuzzer silently compares nothing. The committed
/// seeds were chosen as answered cases (some over a store's update overlay), so most of them must
/// still reach the comparison.
#[test]
fn differential_seeds_reach_the_engine_comparison() {
    let inputs = file_inputs(&repo().join("fuzz/seeds/differential"));
    let cases: Vec<_> = inputs
        .iter()
        .filter_map(|(_, bytes)| userql_fuzzing::describe_differential(bytes))
        .collect();
    let answered = cases
        .iter()
        .filter(|case| matches!(case.outcome, Some(Ok(_))))
        .count();
    assert!(
        answered * 2 >= inputs.len(),
        "only {answered} of {} differential seeds are answered: {:#?}",
        inputs.len(),
        cases
    );
    assert!(
        cases
            .iter()
            .any(|case| case.overlay && matches!(case.outcome, Some(Ok(_)))),
        "no differential seed runs over a store overlay any more"
    );
}
