//! The layering of `src/`: every `crate::…` path in a top-level module's
//! files (outside `#[cfg(test)]` parts) must name a module that layer may
//! import, as the table in `docs/ARCHITECTURE.md` says, and the table itself
//! must have no cycle. A failure names the file, the line and the import.

// Test and benchmark code: a failed unwrap is a failed run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The fenced block of `docs/ARCHITECTURE.md` that holds the table.
const FENCE: &str = "```layers";

/// `layer: allowed allowed …`, one line per layer. A layer is a top-level
/// module of `src/`, or `module::file` for one file given its own row.
fn table() -> BTreeMap<String, BTreeSet<String>> {
    let doc = std::fs::read_to_string(root().join("docs/ARCHITECTURE.md")).expect("docs/ARCHITECTURE.md");
    let start = doc.find(FENCE).expect("docs/ARCHITECTURE.md has a ```layers block") + FENCE.len();
    let end = start + doc[start..].find("```").expect("the ```layers block is closed");
    let mut table = BTreeMap::new();
    for line in doc[start..end].lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        // The first ':' that is not half of a '::'.
        let b = line.as_bytes();
        let colon = (0..b.len())
            .find(|&i| b[i] == b':' && b.get(i + 1) != Some(&b':') && (i == 0 || b[i - 1] != b':'))
            .unwrap_or_else(|| panic!("layer line without ':': {line}"));
        let (layer, allowed) = (&line[..colon], &line[colon + 1..]);
        let allowed = allowed.split_whitespace().map(str::to_string).collect();
        assert!(table.insert(layer.trim().to_string(), allowed).is_none(), "layer {layer} listed twice");
    }
    table
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir`.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The layer a file belongs to: its own row if the table has one, else its
/// top-level module; `None` for the crate root and the extra binaries.
fn layer_of(rel: &Path, table: &BTreeMap<String, BTreeSet<String>>) -> Option<String> {
    let parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string()).collect();
    let top = parts.first()?.clone();
    if matches!(top.as_str(), "lib" | "main" | "bin") {
        return None;
    }
    if parts.len() > 1 {
        let own = format!("{top}::{}", parts[1]);
        if table.contains_key(&own) {
            return Some(own);
        }
    }
    Some(top)
}

/// The code of a file without its `#[cfg(test)]` items (tests may reach
/// anywhere); lines keep their numbers.
fn without_tests(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut skip_depth: Option<i64> = None;
    let mut depth = 0i64;
    let mut pending = false;
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        if line.trim_start().starts_with("#[cfg(test)]") {
            pending = true;
            continue;
        }
        let opens = code.matches('{').count() as i64;
        let closes = code.matches('}').count() as i64;
        if pending && skip_depth.is_none() {
            if opens > 0 {
                skip_depth = Some(depth);
                pending = false;
            } else if code.trim_end().ends_with(';') {
                // `#[cfg(test)] mod tests;` or a one-line item.
                pending = false;
                continue;
            }
        }
        depth += opens - closes;
        match skip_depth {
            Some(d) if depth <= d => skip_depth = None,
            Some(_) => {}
            None => out.push((n + 1, code.to_string())),
        }
    }
    out
}

/// Joins a `use` that spans lines into one statement, numbered by its first line.
fn statements(lines: Vec<(usize, String)>) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (n, code) in lines {
        if let Some((first, mut acc)) = open.take() {
            acc.push_str(code.trim());
            if code.contains(';') {
                out.push((first, acc))
            } else {
                open = Some((first, acc))
            }
            continue;
        }
        let t = code.trim_start();
        let is_use = t.starts_with("use ") || t.starts_with("pub use ") || t.starts_with("pub(crate) use ");
        if is_use && !code.contains(';') { open = Some((n, code.trim().to_string())) } else { out.push((n, code)) }
    }
    out.extend(open);
    out
}

/// The top-level modules named by `crate::x` paths, `use crate::{x, y}`
/// groups included.
fn imports(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().last();
        rest = &rest[i + "crate::".len()..];
        // `$crate::` (macros) and `bidroom_crate::` are not paths of this crate.
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let inner = group.split('}').next().unwrap_or("");
            out.extend(inner.split(',').map(|p| ident(p.trim())).filter(|s| !s.is_empty()));
        } else {
            out.push(ident(rest));
        }
    }
    out
}

fn ident(s: &str) -> String {
    s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect()
}

/// The layer an import names: `module::file` if that file has a row and the
/// path goes there, else the top-level module.
fn target_of(code: &str, module: &str, table: &BTreeMap<String, BTreeSet<String>>) -> String {
    let sub = code.split(&format!("crate::{module}::")).nth(1).map(ident);
    match sub {
        Some(s) if table.contains_key(&format!("{module}::{s}")) => format!("{module}::{s}"),
        _ => module.to_string(),
    }
}

#[test]
fn every_import_follows_the_layer_table() {
    let table = table();
    let src = root().join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    all.sort();
    let mut violations = Vec::new();
    let mut seen_layers = BTreeSet::new();
    for path in &all {
        let rel = path.strip_prefix(&src).expect("under src");
        let Some(layer) = layer_of(rel, &table) else { continue };
        seen_layers.insert(layer.clone());
        let Some(allowed) = table.get(&layer) else {
            violations.push(format!("src/{}: layer '{layer}' is not in the table", rel.display()));
            continue;
        };
        let text = std::fs::read_to_string(path).expect("read");
        for (line, code) in statements(without_tests(&text)) {
            for module in imports(&code) {
                let target = target_of(&code, &module, &table);
                let own_module = layer.split("::").next() == Some(module.as_str());
                if own_module && target == module {
                    continue;
                }
                if target == layer || allowed.contains(&target) || allowed.contains(&module) && target == module {
                    continue;
                }
                violations.push(format!(
                    "src/{}:{line}: '{layer}' may not import '{target}': {}",
                    rel.display(),
                    code.trim()
                ));
            }
        }
    }
    assert!(violations.is_empty(), "imports against docs/ARCHITECTURE.md's layer table:\n{}", violations.join("\n"));
    for layer in table.keys() {
        assert!(seen_layers.contains(layer), "the table lists '{layer}', which is not a module of src/");
    }
}

#[test]
fn the_layer_table_has_no_cycle() {
    let table = table();
    // Depth-first search from every layer; a layer met again on the current
    // path closes a cycle.
    fn visit<'a>(
        layer: &'a str,
        table: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) {
        if done.contains(layer) {
            return;
        }
        if let Some(i) = path.iter().position(|l| *l == layer) {
            panic!("the layer table has a cycle: {} -> {layer}", path[i..].join(" -> "));
        }
        path.push(layer);
        for next in table.get(layer).into_iter().flatten() {
            // A file with its own row may import its module (it is above it).
            if layer.split("::").next() == Some(next.as_str()) && layer.contains("::") {
                continue;
            }
            visit(next, table, path, done);
        }
        path.pop();
        done.insert(layer);
    }
    let mut done = BTreeSet::new();
    for layer in table.keys() {
        visit(layer, &table, &mut Vec::new(), &mut done);
    }
}
