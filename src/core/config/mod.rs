//! Configuration files in the formats and keys of Antrea's, so an existing deployment's
//! ConfigMap can be handed to flowctl as it is. Precedence, applied by the commands: command-line
//! flags over the file over the defaults.

pub mod agent;
pub mod aggregator;

use std::time::Duration;

use serde_json::{Map, Value};

/// A configuration value that is present but not acceptable: names the key, what was found and
/// what is accepted.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {found} is not valid; expected {expected}")]
pub struct InvalidValue {
    pub key: String,
    pub found: String,
    pub expected: String,
}

impl InvalidValue {
    pub fn new(key: &str, found: impl std::fmt::Display, expected: impl Into<String>) -> Self {
        InvalidValue { key: key.to_owned(), found: found.to_string(), expected: expected.into() }
    }
}

/// Every key path in `doc` that `known` does not list, as dotted paths (`flowCollector.adress`).
/// `known` holds dotted paths of leaves and sections; a section's children are checked only
/// when the section is itself known.
pub fn unknown_keys(doc: &Map<String, Value>, known: &[&str]) -> Vec<String> {
    fn walk(prefix: &str, map: &Map<String, Value>, known: &[&str], out: &mut Vec<String>) {
        for (key, value) in map {
            let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
            if !known.contains(&path.as_str()) {
                out.push(path);
            } else if let Value::Object(inner) = value {
                walk(&path, inner, known, out);
            }
        }
    }
    let mut out = Vec::new();
    walk("", doc, known, &mut out);
    out
}

/// A Go duration as Antrea's files write them (`60s`, `1m30s`, `500ms`, `1h`).
pub fn duration(key: &str, text: &str) -> Result<Duration, InvalidValue> {
    humantime::parse_duration(text.trim())
        .map_err(|_| InvalidValue::new(key, format!("{text:?}"), "a duration such as 60s, 1m30s or 500ms"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_found_at_any_depth_but_not_under_unknown_sections() {
        let doc: Value = serde_json::json!({
            "mode": "Proxy",
            "flowColector": {"address": "x"},
            "flowCollector": {"adress": "x", "enable": true, "tls": {"enable": false, "cert": 1}},
        });
        let known = ["mode", "flowCollector", "flowCollector.enable", "flowCollector.tls", "flowCollector.tls.enable"];
        let mut found = unknown_keys(doc.as_object().unwrap(), &known);
        found.sort();
        assert_eq!(found, ["flowColector", "flowCollector.adress", "flowCollector.tls.cert"]);
    }

    #[test]
    fn go_durations_parse_and_bad_ones_name_the_key() {
        assert_eq!(duration("t", "1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(duration("t", "500ms").unwrap(), Duration::from_millis(500));
        let e = duration("activeFlowRecordTimeout", "soon").unwrap_err().to_string();
        assert!(e.starts_with("activeFlowRecordTimeout: \"soon\" is not valid"), "{e}");
    }
}
