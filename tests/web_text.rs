//! The pages' words: the Chinese and English dictionaries of every
//! `web/assets/js/strings/<area>.js` have the same keys, no key is defined
//! in two areas, every string is non-empty,
//! and Chinese text uses full-width punctuation next to Chinese characters
//! (“，” not “,”), as a Chinese procurement platform's pages do.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

/// `(key, value)` pairs of one language's block: lines `"key": "value",`
/// (or `key: "value",`) between `export const <lang> = {` and the next `};`.
fn dictionary(source: &str, lang: &str) -> BTreeMap<String, String> {
    let start = source.find(&format!("export const {lang} = {{\n")).unwrap_or_else(|| panic!("no {lang} block"));
    let body = &source[start..];
    let end = body.find("\n};").expect("end of block");
    let mut out = BTreeMap::new();
    for line in body[..end].lines().skip(1) {
        let line = line.trim();
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        let (key, rest) = line.split_once(": ").unwrap_or_else(|| panic!("{lang}: not a `key: value` line: {line}"));
        let key = key.trim_matches('"').to_string();
        let value = rest.trim_end_matches(',').trim();
        assert!(value.starts_with('"') && value.ends_with('"') && value.len() >= 2, "{lang}.{key}: {value}");
        let value = value[1..value.len() - 1].to_string();
        assert!(out.insert(key.clone(), value).is_none(), "{lang}.{key} is defined twice");
    }
    out
}

/// Every area's text file, `(file name, source)`, in name order.
fn areas() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/web/assets/js/strings");
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("strings/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "js"))
        .map(|p| {
            (p.file_name().expect("name").to_string_lossy().into_owned(), std::fs::read_to_string(&p).expect("read"))
        })
        .collect();
    out.sort();
    assert!(out.len() >= 5, "the areas were read: {out:?}");
    out
}

/// One language's words over all areas; a key in two areas is a mistake
/// (the page would show whichever area loads last).
fn all(lang: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (file, source) in areas() {
        for (k, v) in dictionary(&source, lang) {
            assert!(out.insert(k.clone(), v).is_none(), "{lang}.{k} is defined again in {file}");
        }
    }
    out
}

fn is_cjk(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c) || ('\u{3400}'..='\u{4dbf}').contains(&c)
}

/// Keys in one language only, and empty strings.
fn key_problems(en: &BTreeMap<String, String>, zh: &BTreeMap<String, String>) -> Vec<String> {
    let mut out: Vec<String> = en.keys().filter(|k| !zh.contains_key(*k)).map(|k| format!("only in en: {k}")).collect();
    out.extend(zh.keys().filter(|k| !en.contains_key(*k)).map(|k| format!("only in zh: {k}")));
    for (lang, dict) in [("en", en), ("zh", zh)] {
        out.extend(dict.iter().filter(|(_, v)| v.trim().is_empty()).map(|(k, _)| format!("{lang}.{k} is empty")));
    }
    out
}

/// Chinese strings with half-width punctuation next to a Chinese character,
/// or ending in a half-width full stop after one.
fn punctuation_problems(zh: &BTreeMap<String, String>) -> Vec<String> {
    let mut bad = Vec::new();
    for (key, value) in zh {
        let chars: Vec<char> = value.chars().collect();
        let beside_cjk = chars.iter().enumerate().any(|(i, c)| {
            matches!(c, ',' | ';' | ':' | '!' | '?' | '(' | ')')
                && (i.checked_sub(1).and_then(|j| chars.get(j)).copied().is_some_and(is_cjk)
                    || chars.get(i + 1).copied().is_some_and(is_cjk))
        });
        let full_stop = chars.len() >= 2 && chars[chars.len() - 1] == '.' && is_cjk(chars[chars.len() - 2]);
        if beside_cjk || full_stop {
            bad.push(format!("zh.{key}: {value}"));
        }
    }
    bad
}

#[test]
fn zh_and_en_have_the_same_keys() {
    // Per area, so a key lands in the same file in both languages.
    let mut problems = Vec::new();
    for (file, source) in areas() {
        let (en, zh) = (dictionary(&source, "en"), dictionary(&source, "zh"));
        problems.extend(key_problems(&en, &zh).into_iter().map(|p| format!("{file}: {p}")));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let en = all("en");
    assert!(en.len() > 100, "the dictionary was read: {} keys", en.len());
}

#[test]
fn chinese_text_uses_full_width_punctuation() {
    let zh = all("zh");
    let bad = punctuation_problems(&zh);
    assert!(bad.is_empty(), "half-width punctuation in Chinese text:\n{}", bad.join("\n"));
}

#[test]
fn the_checks_find_a_bad_dictionary() {
    let source = "export const en = {\n  \"a\": \"A\",\n  b: \"B\",\n  \"c\": \" \",\n};\n\nexport const zh = {\n  \"a\": \"甲,乙\",\n  \"c\": \"已签到.\",\n  \"d\": \"好（对）：是，否。\",\n};\n";
    let (en, zh) = (dictionary(source, "en"), dictionary(source, "zh"));
    let keys = key_problems(&en, &zh);
    assert_eq!(keys, ["only in en: b", "only in zh: d", "en.c is empty"], "{keys:?}");
    assert_eq!(punctuation_problems(&zh), ["zh.a: 甲,乙", "zh.c: 已签到."]);
}

// --- Errors by code: every code the API can return has words in both languages. ---

/// A string literal starting at `s[i..]` after whitespace, if it looks like an error code.
fn code_at(s: &str, i: usize) -> Option<String> {
    let rest = s.get(i..)?.trim_start();
    let body = rest.strip_prefix('"')?;
    let end = body.find('"')?;
    let lit = &body[..end];
    let ok = !lit.is_empty()
        && lit.starts_with(|c: char| c.is_ascii_lowercase())
        && lit.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    ok.then(|| lit.to_string())
}

/// Positions just after each occurrence of `needle`.
fn after<'a>(s: &'a str, needle: &'a str) -> impl Iterator<Item = usize> + 'a {
    s.match_indices(needle).map(move |(i, _)| i + needle.len())
}

/// Calls of the functions taking `code: &str` first (`conflict(`, `error(`), from any file.
fn helpers_in(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    for i in after(source, "fn ") {
        let name: String = source[i..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if source[i + name.len()..].starts_with("(code: &") {
            out.push(format!("{name}("));
        }
    }
    out
}

/// The error codes in one Rust source (its code outside `#[cfg(test)]`), in
/// the shapes the server builds them: `AppError::new(kind, "code", …)`
/// (and `ApiError`, `Self`), `with_field("code", …)`, `code: "code"`,
/// helpers taking `code: &str` (`conflict("code", …)`), `let code = … "a" … "b";`,
/// `let (code, message) = match … { … ("code", …) … };`, and status arms `StatusCode::X => "code"`.
fn codes_in(source: &str, helpers: &[String]) -> std::collections::BTreeSet<String> {
    let s = source.split("#[cfg(test)]").next().unwrap_or(source);
    let mut out = std::collections::BTreeSet::new();
    for needle in ["AppError::new(", "ApiError::new(", "Self::new("] {
        for i in after(s, needle) {
            // The code is the second argument; the first has no comma.
            if let Some(comma) = s[i..].find(',') {
                out.extend(code_at(s, i + comma + 1));
            }
        }
    }
    let direct = ["with_field(".to_string(), "code: ".to_string()];
    for needle in direct.iter().chain(helpers) {
        for i in after(s, needle) {
            out.extend(code_at(s, i));
        }
    }
    for i in after(s, "let code = ") {
        let end = s[i..].find(';').map_or(s.len(), |e| i + e);
        out.extend(after(&s[i..end], "\"").step_by(2).filter_map(|j| code_at(s, i + j - 1)));
    }
    for i in after(s, "let (code, ") {
        let end = s[i..].find("\n        };").map_or(s.len(), |e| i + e);
        for j in after(&s[i..end], "(") {
            let lit = code_at(s, i + j);
            if let Some(lit) = lit {
                let close = s[i + j..].find('"').map_or(0, |q| q + 1) + lit.len() + 1;
                if s[i + j + close..].trim_start().starts_with(',') {
                    out.insert(lit);
                }
            }
        }
    }
    for line in s.lines().filter(|l| l.contains("StatusCode::") && l.contains("=> \"")) {
        out.extend(line.find("=> \"").and_then(|i| code_at(line, i + 2)));
    }
    out
}

/// The codes the server's side (app, http, live) can answer with.
fn server_codes() -> std::collections::BTreeMap<String, String> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).expect("read src dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    for part in ["app", "http", "live", "opening", "store"] {
        walk(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(part), &mut files);
    }
    let sources: Vec<(std::path::PathBuf, String)> =
        files.into_iter().map(|f| (f.clone(), std::fs::read_to_string(&f).expect("read source"))).collect();
    let helpers: Vec<String> = sources.iter().flat_map(|(_, s)| helpers_in(s)).collect();
    let mut codes = std::collections::BTreeMap::new();
    for (f, source) in sources {
        for c in codes_in(&source, &helpers) {
            codes.entry(c).or_insert_with(|| f.display().to_string());
        }
    }
    codes
}

#[test]
fn every_error_code_has_zh_and_en_text() {
    let (en, zh) = (all("en"), all("zh"));
    let codes = server_codes();
    // The scan sees every shape the server builds codes in.
    for known in [
        "deadline_passed",
        "policy_mismatch",
        "unknown_field",
        "not_bidder_held",
        "storage_full",
        "rate_limited",
        "too_many_connections",
        "uri_too_long",
        "sign_in_refused",
    ] {
        assert!(codes.contains_key(known), "the scan missed {known}: {codes:?}");
    }
    assert!(codes.len() > 50, "{codes:?}");
    let missing: Vec<String> = codes
        .iter()
        .flat_map(|(code, file)| {
            let key = format!("code.{code}");
            [("en", &en), ("zh", &zh)]
                .into_iter()
                .filter(|(_, d)| !d.contains_key(&key))
                .map(|(lang, _)| format!("{lang}.{key} (returned in {file})"))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(missing.is_empty(), "error codes without text in web/assets/js/strings/codes.js:\n{}", missing.join("\n"));
}

#[test]
fn the_code_scan_finds_each_shape() {
    let src = r#"
        fn conflict(code: &'static str, m: &str) -> AppError { AppError::new(ErrorKind::Conflict, code, m) }
        fn a() { AppError::new(ErrorKind::Conflict, "one_a", "text"); Self::new(
            ErrorKind::X,
            "one_b",
            "text",
        ); with_field("two", f); conflict("three", "m"); }
        let code = if x { "four" } else { "five" };
        let (code, message) = match &e {
            A => ("six", "a message".to_string()),
            B => (
                "seven",
                "x".to_string(),
            ),
        };
        StatusCode::NOT_FOUND => "eight",
        ErrorBody { code: "nine", message: "not a code" };
        #[cfg(test)]
        AppError::new(ErrorKind::Conflict, "in_tests", "m");
    "#;
    let got: Vec<String> = codes_in(src, &helpers_in(src)).into_iter().collect();
    assert_eq!(got, ["eight", "five", "four", "nine", "one_a", "one_b", "seven", "six", "three", "two"]);
}
