//! The client side of the aggregator's API (`flowctl get`): where the server is, one GET, and an
//! error a person can read when the answer is not what was asked for.

use anyhow::Context;
use serde::de::DeserializeOwned;

use super::RecordMetrics;
use super::records::RecordQuery;

/// Longest part of an error body quoted in a message; a server's error page can be any size.
const QUOTED_BODY: usize = 200;

/// The base URL of `--server`: `HOST:PORT` without a scheme is `http://HOST:PORT`.
pub fn server_url(server: &str) -> String {
    let s = server.trim().trim_end_matches('/');
    if s.contains("://") { s.to_owned() } else { format!("http://{s}") }
}

/// `GET /recordmetrics`.
pub fn record_metrics(server: &str) -> anyhow::Result<RecordMetrics> {
    let url = format!("{}/recordmetrics", server_url(server));
    get(&url, "record metrics", |_| None)
}

/// `GET /flowrecords?…`: the records as the server wrote them.
pub fn flow_records(server: &str, query: &RecordQuery) -> anyhow::Result<Vec<serde_json::Value>> {
    let url = format!("{}/flowrecords?{}", server_url(server), query.to_query_string());
    get(&url, "flow records", |status| {
        // A proxy-mode aggregator (and antctl's) has no record store, hence no such route.
        (status == reqwest::StatusCode::NOT_FOUND).then(|| {
            format!(
                "{url} has no flow records: an aggregator keeps flow records only in aggregate mode \
                 (--mode aggregate), and this one answered {status}"
            )
        })
    })
}

fn get<T: DeserializeOwned>(
    url: &str,
    what: &str,
    explain: impl Fn(reqwest::StatusCode) -> Option<String>,
) -> anyhow::Result<T> {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the async runtime")?;
    runtime.block_on(async {
        let response = reqwest::get(url).await.with_context(|| format!("cannot reach {url}"))?;
        let status = response.status();
        if !status.is_success() {
            if let Some(message) = explain(status) {
                anyhow::bail!(message);
            }
            let text = response.text().await.unwrap_or_default();
            match quoted_body(&text) {
                Some(body) => anyhow::bail!("{url} answered {status}: {body}"),
                None => anyhow::bail!("{url} answered {status}"),
            }
        }
        response.json().await.with_context(|| format!("{url} did not answer with {what}"))
    })
}

/// What of an error body goes into a message: its text without markup (an HTML page's title
/// when it has one), on one line, cut at [`QUOTED_BODY`] characters; `None` when nothing is left.
fn quoted_body(body: &str) -> Option<String> {
    let body = body.trim();
    let text = if body.starts_with('<') {
        let lower = body.to_ascii_lowercase();
        let title = lower
            .find("<title>")
            .and_then(|start| lower[start..].find("</title>").map(|end| &body[start + 7..start + end]));
        title.map_or_else(|| strip_tags(body), str::to_owned)
    } else {
        body.to_owned()
    };
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.is_empty() {
        return None;
    }
    Some(match line.char_indices().nth(QUOTED_BODY) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    })
}

fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue #22 (6): `--server 127.0.0.1:10348` (no scheme) did not work.
    #[test]
    fn a_server_without_a_scheme_is_http() {
        assert_eq!(server_url("127.0.0.1:10348"), "http://127.0.0.1:10348");
        assert_eq!(server_url("http://10.0.0.5:10348/"), "http://10.0.0.5:10348");
        assert_eq!(server_url("https://agg.example"), "https://agg.example");
    }

    /// Issue #22 (6): an HTML error page was printed whole.
    #[test]
    fn an_html_error_page_is_quoted_by_its_title_or_its_text_cut_short() {
        let page =
            "<!DOCTYPE html>\n<html><head><TITLE>502 Bad Gateway</TITLE></head><body>\n<h1>502</h1>\n</body></html>";
        assert_eq!(quoted_body(page).as_deref(), Some("502 Bad Gateway"));
        let untitled = format!("<html><body><p>{}</p></body></html>", "word ".repeat(100));
        let q = quoted_body(&untitled).unwrap();
        assert!(!q.contains('<') && q.starts_with("word word") && q.chars().count() == QUOTED_BODY + 1, "{q}");
        assert_eq!(quoted_body("srcip=\"x\" is not valid").as_deref(), Some("srcip=\"x\" is not valid"));
        assert_eq!(quoted_body("  \n"), None);
    }
}
