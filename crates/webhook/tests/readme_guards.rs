//! README.md's claims name their guards. Every table whose last column is headed `guarded by`
//! (the "Differences from the OpenTelemetry Operator" table must be one) names, in each row, the
//! tests that fail when that row's behaviour breaks, as `` `path/to/file.rs::test_fn` ``. This
//! test fails when a row names none, or names a file or test function that does not exist, so a
//! claim cannot lose its guard without anyone noticing.

use std::path::PathBuf;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    // Pipes inside backticks belong to the cell (none today, but a regex or shell snippet
    // would have them): split only outside code spans.
    let (mut out, mut cur, mut code) = (Vec::new(), String::new(), false);
    for ch in inner.chars() {
        match ch {
            '`' => {
                code = !code;
                cur.push(ch);
            }
            '|' if !code => out.push(std::mem::take(&mut cur).trim().to_string()),
            _ => cur.push(ch),
        }
    }
    out.push(cur.trim().to_string());
    out
}

/// `(first cell of the row, guard)` for every row of every `guarded by` table.
fn guarded_rows(readme: &str) -> Vec<(String, Vec<String>)> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut rows = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let header = cells(lines[i]);
        let is_table = lines[i].trim_start().starts_with('|')
            && lines
                .get(i + 1)
                .is_some_and(|l| l.trim_start().starts_with("|---"));
        if !is_table || header.last().map(String::as_str) != Some("guarded by") {
            i += 1;
            continue;
        }
        i += 2;
        while i < lines.len() && lines[i].trim_start().starts_with('|') {
            let row = cells(lines[i]);
            let guards = row
                .last()
                .map(|c| {
                    c.split('`')
                        .skip(1)
                        .step_by(2)
                        .filter(|g| g.contains("::"))
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default();
            rows.push((row.first().cloned().unwrap_or_default(), guards));
            i += 1;
        }
    }
    rows
}

#[test]
fn every_guarded_claim_names_tests_that_exist() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let differences = readme
        .split("## Differences from the OpenTelemetry Operator")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("README has the Differences section");
    let rows = guarded_rows(differences);
    assert!(
        rows.len() >= 10,
        "the Differences table has lost its `guarded by` column or its rows: {rows:?}"
    );
    let mut problems = Vec::new();
    for (claim, guards) in guarded_rows(&readme) {
        if guards.is_empty() {
            problems.push(format!("{claim}: names no test"));
        }
        for guard in guards {
            let Some((file, test)) = guard.rsplit_once("::") else {
                continue;
            };
            let Ok(source) = std::fs::read_to_string(repo_root().join(file)) else {
                problems.push(format!("{claim}: {file} does not exist"));
                continue;
            };
            let defined = source.lines().any(|l| {
                let l = l.trim_start();
                let l = l
                    .strip_prefix("pub(crate) ")
                    .or_else(|| l.strip_prefix("pub "))
                    .unwrap_or(l);
                let l = l.strip_prefix("async ").unwrap_or(l);
                l.strip_prefix("fn ")
                    .and_then(|rest| rest.strip_prefix(test))
                    .is_some_and(|rest| rest.starts_with('(') || rest.starts_with('<'))
            });
            if !defined {
                problems.push(format!("{claim}: no fn {test} in {file}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "README guards:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_checker_sees_a_missing_guard() {
    let table = "| where | guarded by |\n|---|---|\n| a | `crates/webhook/tests/readme_guards.rs::cells` |\n| b | nothing |\n";
    let rows = guarded_rows(table);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].1, ["crates/webhook/tests/readme_guards.rs::cells"]);
    assert!(rows[1].1.is_empty());
}
