//! The pages' words: the Chinese and English dictionaries of
//! `web/assets/js/i18n.js` have the same keys, every string is non-empty,
//! and Chinese text uses full-width punctuation next to Chinese characters
//! (“，” not “,”), as a Chinese procurement platform's pages do.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

/// `(key, value)` pairs of one language's block: lines `"key": "value",`
/// (or `key: "value",`) between `  <lang>: {` and the next `  },`.
fn dictionary(source: &str, lang: &str) -> BTreeMap<String, String> {
    let start = source.find(&format!("\n  {lang}: {{\n")).unwrap_or_else(|| panic!("no {lang} block"));
    let body = &source[start..];
    let end = body.find("\n  },").expect("end of block");
    let mut out = BTreeMap::new();
    for line in body[..end].lines().skip(2) {
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

fn i18n() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/web/assets/js/i18n.js")).expect("i18n.js")
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
    let source = i18n();
    let (en, zh) = (dictionary(&source, "en"), dictionary(&source, "zh"));
    assert!(en.len() > 100, "the dictionary was read: {} keys", en.len());
    let problems = key_problems(&en, &zh);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn chinese_text_uses_full_width_punctuation() {
    let zh = dictionary(&i18n(), "zh");
    let bad = punctuation_problems(&zh);
    assert!(bad.is_empty(), "half-width punctuation in Chinese text:\n{}", bad.join("\n"));
}

#[test]
fn the_checks_find_a_bad_dictionary() {
    let source = "const STRINGS = {\n  en: {\n    \"a\": \"A\",\n    b: \"B\",\n    \"c\": \" \",\n  },\n  zh: {\n    \"a\": \"甲,乙\",\n    \"c\": \"已签到.\",\n    \"d\": \"好（对）：是，否。\",\n  },\n};\n";
    let (en, zh) = (dictionary(source, "en"), dictionary(source, "zh"));
    let keys = key_problems(&en, &zh);
    assert_eq!(keys, ["only in en: b", "only in zh: d", "en.c is empty"], "{keys:?}");
    assert_eq!(punctuation_problems(&zh), ["zh.a: 甲,乙", "zh.c: 已签到."]);
}
