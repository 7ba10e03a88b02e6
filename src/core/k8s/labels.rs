//! Pod labels as the JSON text Antrea's Flow Aggregator puts in sourcePodLabels and
//! destinationPodLabels: exactly what Go's `json.Marshal(map[string]string)` writes, so a
//! collector comparing our records with Antrea's sees the same bytes.
//!
//! Go sorts map keys bytewise (a `BTreeMap<String, _>` is already in that order), writes no
//! spaces, and escapes more than JSON requires: `<`, `>` and `&` (HTML safety), U+2028 and
//! U+2029 (JSONP safety), and control characters as `\b \f \n \r \t` or `\u00XX` with lowercase
//! hex. `serde_json` escapes differently, hence this writer.

use std::collections::BTreeMap;

/// The JSON object text of `labels`; `{}` when there are none (a Pod without labels).
pub fn labels_json(labels: &BTreeMap<String, String>) -> String {
    let len: usize = labels.iter().map(|(k, v)| k.len() + v.len() + 6).sum();
    let mut out = String::with_capacity(len + 2);
    out.push('{');
    for (i, (key, value)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_go_string(&mut out, key);
        out.push(':');
        push_go_string(&mut out, value);
    }
    out.push('}');
    out
}

/// Appends `s` as a quoted JSON string escaped as Go's `encoding/json` does with HTML escaping on.
fn push_go_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let escape: Option<&str> = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\u{8}' => Some("\\b"),
            '\u{c}' => Some("\\f"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            '\u{2028}' => Some("\\u2028"),
            '\u{2029}' => Some("\\u2029"),
            c if (c as u32) < 0x20 || c == '<' || c == '>' || c == '&' => None,
            _ => continue,
        };
        out.push_str(&s[start..i]);
        match escape {
            Some(e) => out.push_str(e),
            None => {
                let b = c as u8;
                out.push_str("\\u00");
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 0xf)] as char);
            }
        }
        start = i + c.len_utf8();
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(pairs: &[(&str, &str)]) -> String {
        labels_json(&pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn a_pod_without_labels_is_an_empty_object() {
        assert_eq!(json(&[]), "{}");
    }

    #[test]
    fn keys_are_sorted_bytewise_with_no_spaces() {
        // Go's sort.Strings order: uppercase before '_' before lowercase; '/' and '.' early.
        let got = json(&[("b", "2"), ("a", "1"), ("B", "3"), ("_x", "4"), ("app.kubernetes.io/name", "web")]);
        assert_eq!(got, r#"{"B":"3","_x":"4","a":"1","app.kubernetes.io/name":"web","b":"2"}"#);
    }

    #[test]
    fn html_characters_are_escaped_as_go_does() {
        assert_eq!(json(&[("a<b>", "x&y")]), r#"{"a\u003cb\u003e":"x\u0026y"}"#);
    }

    #[test]
    fn quotes_backslashes_and_control_characters_are_escaped_as_go_does() {
        let got = json(&[("k", "\"\\\u{8}\u{c}\n\r\t\u{0}\u{1}\u{1f}\u{7f}")]);
        assert_eq!(got, r#"{"k":"\"\\\b\f\n\r\t\u0000\u0001\u001f"#.to_string() + "\u{7f}\"}");
    }

    #[test]
    fn line_and_paragraph_separators_are_escaped_other_unicode_is_not() {
        assert_eq!(json(&[("k", "é\u{2028}ü\u{2029}😀")]), r#"{"k":"é\u2028ü\u2029😀"}"#);
    }

    #[test]
    fn the_text_is_valid_json_that_reads_back_as_the_labels() {
        let labels: BTreeMap<String, String> = [("a&b", "<v>"), ("t", "x\ny\u{2028}"), ("z", "\u{1}")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let back: BTreeMap<String, String> = serde_json::from_str(&labels_json(&labels)).unwrap();
        assert_eq!(back, labels);
    }
}
