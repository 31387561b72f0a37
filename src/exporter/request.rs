//! An HTTP request head, parsed by `httparse` from bytes as they arrive: what the answer
//! depends on (method, path, the format asked for, Prometheus's scrape timeout), or the error
//! status to answer with.

use std::time::Duration;

use super::Format;

const MAX_HEADERS: usize = 32;

/// What the answer depends on, copied out of the parsed head.
pub struct Request {
    pub head_only: bool,
    pub path: String,
    pub format: Format,
    /// Prometheus's own scrape timeout (X-Prometheus-Scrape-Timeout-Seconds).
    pub scrape_timeout: Option<Duration>,
}

pub enum Head {
    Complete(Request),
    Answer(u16, &'static str),
    /// The client closed, or the server stops: nothing to answer.
    Gone,
}

/// The head if complete (Ok(None): not yet).
pub fn parse(bytes: &[u8]) -> Result<Option<Head>, ()> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(bytes) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Ok(Some(Head::Answer(431, "too many request headers\n")));
        }
        Err(_) => return Err(()),
    }
    let head_only = match request.method {
        Some("GET") => false,
        Some("HEAD") => true,
        _ => return Ok(Some(Head::Answer(405, "only GET and HEAD\n"))),
    };
    let header = |name: &str| {
        request
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
    };
    let path = request.path.unwrap_or("/");
    Ok(Some(Head::Complete(Request {
        head_only,
        path: path.split('?').next().unwrap_or(path).to_string(),
        format: negotiate(header("accept").unwrap_or("")),
        scrape_timeout: header("x-prometheus-scrape-timeout-seconds")
            .and_then(|t| t.trim().parse::<f64>().ok())
            .filter(|t| t.is_finite() && *t > 0.0)
            .map(|t| Duration::from_secs_f64(t.min(3600.0))),
    })))
}

/// OpenMetrics when the Accept header lists it with a non-zero weight, else the Prometheus
/// text format.
fn negotiate(accept: &str) -> Format {
    let openmetrics = accept.split(',').any(|range| {
        let mut parts = range.split(';').map(str::trim);
        parts.next() == Some("application/openmetrics-text")
            && parts.all(|p| {
                p.strip_prefix("q=")
                    .is_none_or(|q| q.parse::<f64>().is_ok_and(|q| q > 0.0))
            })
    });
    if openmetrics {
        Format::OpenMetrics
    } else {
        Format::Prometheus
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_gets_openmetrics_others_the_text_format() {
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
                          version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(negotiate(prometheus), Format::OpenMetrics);
        assert_eq!(negotiate("*/*"), Format::Prometheus);
        assert_eq!(negotiate(""), Format::Prometheus);
        assert_eq!(
            negotiate("application/openmetrics-text; q=0, text/plain"),
            Format::Prometheus
        );
    }

    #[test]
    fn heads_parsed_or_refused() {
        let get = b"GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nX-Prometheus-Scrape-Timeout-Seconds: 2.5\r\n\r\n";
        let Ok(Some(Head::Complete(request))) = parse(get) else {
            panic!("complete");
        };
        assert_eq!(request.path, "/metrics");
        assert!(!request.head_only);
        assert_eq!(request.scrape_timeout, Some(Duration::from_millis(2500)));
        assert!(matches!(parse(b"GET /metrics HTTP/1.1\r\nHo"), Ok(None)));
        assert!(matches!(
            parse(b"POST /metrics HTTP/1.1\r\n\r\n"),
            Ok(Some(Head::Answer(405, _)))
        ));
        assert!(parse(b"\x01\x02 nonsense\r\n\r\n").is_err());
        let many = format!("GET / HTTP/1.1\r\n{}\r\n", "A: b\r\n".repeat(40));
        assert!(matches!(
            parse(many.as_bytes()),
            Ok(Some(Head::Answer(431, _)))
        ));
    }
}
