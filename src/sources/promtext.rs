//! The Prometheus text exposition format (0.0.4), and the arithmetic to turn two scrapes into rates
//! and latency quantiles.
//!
//! An application's `/metrics` endpoint exposes counters and cumulative histogram buckets, which only
//! mean something as deltas. The agent scrapes once per tick, and computes increases and quantiles
//! between consecutive scrapes with the same semantics as PromQL's `increase` and
//! `histogram_quantile`, so that its numbers match the operators' dashboards.
//!
//! The scraped text is untrusted: nothing here panics, whatever the input.

use std::fmt;

/// Separators between the tokens of a line. The format allows only spaces and tabs.
const BLANK: [char; 2] = [' ', '\t'];

/// A sample's labels, in the order the line gave them.
type Labels = Vec<(String, String)>;

/// One parsed sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    /// The value of the label called `name`, if the sample has one.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Whether every matcher is one of this sample's labels.
    fn matches(&self, matchers: &[(String, String)]) -> bool {
        matchers.iter().all(|m| self.labels.contains(m))
    }
}

/// A whole scrape.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scrape {
    pub samples: Vec<Sample>,
}

/// One cumulative histogram bucket: `count` observations were `<= le`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub le: f64,
    pub count: f64,
}

/// A malformed line in a scrape.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    /// 1-based.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

impl Scrape {
    /// Every series called `name` whose labels include all of `matchers`.
    fn series<'a>(
        &'a self,
        name: &'a str,
        matchers: &'a [(String, String)],
    ) -> impl Iterator<Item = &'a Sample> {
        self.samples.iter().filter(move |s| s.name == name && s.matches(matchers))
    }

    /// Sum of the values of every series called `name` whose labels include all of `matchers` (label
    /// subset match). None if no series matched, so that a missing metric is not mistaken for zero.
    pub fn sum(&self, name: &str, matchers: &[(String, String)]) -> Option<f64> {
        self.series(name, matchers).map(|s| s.value).reduce(|a, b| a + b)
    }

    /// Cumulative buckets of histogram `base` (series `base_bucket`), summed across series matching
    /// `matchers` (ignoring the `le` label when grouping), sorted by upper bound, +Inf last. Buckets
    /// whose `le` is missing or not a number are skipped, as PromQL does. None if there are no buckets
    /// or no +Inf bucket: without the total, no quantile can be computed.
    pub fn histogram(&self, base: &str, matchers: &[(String, String)]) -> Option<Vec<Bucket>> {
        let name = format!("{base}_bucket");
        let buckets: Vec<Bucket> = self
            .series(&name, matchers)
            .filter_map(|s| Some(Bucket { le: parse_le(s.label("le")?)?, count: s.value }))
            .collect();
        let buckets = sorted_and_coalesced(&buckets);
        (buckets.last()?.le == f64::INFINITY).then_some(buckets)
    }
}

/// Parses a bucket's upper bound ("0.5", "+Inf"). NaN is no bound at all.
fn parse_le(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|le| !le.is_nan())
}

/// Sorts buckets by upper bound and merges buckets with the same bound by adding their counts,
/// which is how series that differ only in other labels add up to one histogram.
fn sorted_and_coalesced(buckets: &[Bucket]) -> Vec<Bucket> {
    let mut sorted = buckets.to_vec();
    sorted.sort_by(|a, b| a.le.total_cmp(&b.le));
    let mut merged: Vec<Bucket> = Vec::with_capacity(sorted.len());
    for bucket in sorted {
        match merged.last_mut() {
            Some(last) if last.le == bucket.le => last.count += bucket.count,
            _ => merged.push(bucket),
        }
    }
    merged
}

/// Increase of a counter between two scrapes; a reset (cur < prev) counts as cur (as PromQL's increase
/// does): the process restarted from zero and has counted `cur` since.
pub fn counter_increase(prev: f64, cur: f64) -> f64 {
    if cur < prev { cur } else { cur - prev }
}

/// Per-bucket increase between two cumulative bucket lists of the same histogram. If the bucket
/// layouts differ, or any bucket went down (a reset), return `cur` unchanged: the process restarted,
/// and everything it has counted happened since the previous scrape.
pub fn bucket_increase(prev: &[Bucket], cur: &[Bucket]) -> Vec<Bucket> {
    let same_layout = prev.len() == cur.len() && prev.iter().zip(cur).all(|(p, c)| p.le == c.le);
    let reset = prev.iter().zip(cur).any(|(p, c)| c.count < p.count);
    if !same_layout || reset {
        return cur.to_vec();
    }
    prev.iter().zip(cur).map(|(p, c)| Bucket { le: c.le, count: c.count - p.count }).collect()
}

/// The `q`-quantile of cumulative `buckets`, exactly as PromQL's `histogram_quantile` computes it:
///
/// - q < 0 gives -Inf, q > 1 gives +Inf, a NaN q gives NaN (checked first, as Prometheus does);
/// - None when there are no buckets, no +Inf bucket, or no observations (Prometheus returns NaN);
/// - buckets are sorted and same-bound buckets merged, and counts that go down from one bucket to the
///   next are raised to the running max, since the search below needs them monotonic;
/// - inside a bucket the value is interpolated linearly; the first bucket starts at 0 if its upper
///   bound is positive, otherwise that bound is the answer; a quantile in the +Inf bucket is the
///   upper bound of the second-highest bucket, the largest value known to be finite.
///
/// Prometheus also snaps counts within a relative 1e-12 of each other together; that only matters
/// for float noise in sums of rates, which whole-number bucket deltas don't have.
pub fn histogram_quantile(q: f64, buckets: &[Bucket]) -> Option<f64> {
    if buckets.is_empty() {
        return None;
    }
    if q.is_nan() {
        return Some(f64::NAN);
    }
    if q < 0.0 {
        return Some(f64::NEG_INFINITY);
    }
    if q > 1.0 {
        return Some(f64::INFINITY);
    }
    let mut buckets = sorted_and_coalesced(buckets);
    let n = buckets.len();
    if n < 2 || buckets[n - 1].le != f64::INFINITY {
        return None;
    }
    force_monotonic(&mut buckets);
    let total = buckets[n - 1].count;
    if total == 0.0 {
        return None;
    }
    let rank = q * total;
    let b = buckets[..n - 1].partition_point(|bucket| bucket.count < rank);
    if b == n - 1 {
        return Some(buckets[n - 2].le);
    }
    let upper = buckets[b];
    if b == 0 && upper.le <= 0.0 {
        return Some(upper.le);
    }
    let lower = if b > 0 { buckets[b - 1] } else { Bucket { le: 0.0, count: 0.0 } };
    Some(lower.le + (upper.le - lower.le) * ((rank - lower.count) / (upper.count - lower.count)))
}

/// Raises every count that is below an earlier one to the running max, as Prometheus does.
fn force_monotonic(buckets: &mut [Bucket]) {
    let Some(mut max) = buckets.first().map(|b| b.count) else { return };
    for bucket in buckets.iter_mut().skip(1) {
        if bucket.count > max {
            max = bucket.count;
        } else if bucket.count < max {
            bucket.count = max;
        }
    }
}

/// Parses a whole scrape. The first malformed line fails it: a half-understood scrape could silently
/// drop the series a rate is computed from.
pub fn parse(text: &str) -> Result<Scrape, ParseError> {
    let mut samples = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let sample = parse_line(line).map_err(|message| ParseError { line: index + 1, message })?;
        samples.extend(sample);
    }
    Ok(Scrape { samples })
}

/// Parses `name{label="value",...} value [timestamp]`; None for blank and `#` lines. The timestamp
/// is checked but dropped: the agent timestamps scrapes itself.
fn parse_line(line: &str) -> Result<Option<Sample>, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let (name, rest) = split_metric_name(line)?;
    let after_name = rest.trim_start_matches(BLANK);
    let (labels, rest) = match after_name.strip_prefix('{') {
        Some(after_brace) => parse_labels(after_brace)?,
        None if rest.is_empty() || after_name.len() < rest.len() => (Vec::new(), after_name),
        None => return Err(format!("unexpected {} after metric name {name:?}", found(rest))),
    };
    let mut fields = rest.split(BLANK).filter(|field| !field.is_empty());
    let value = fields.next().ok_or_else(|| format!("expected a value after metric name {name:?}"))?;
    let value = value.parse::<f64>().map_err(|_| format!("invalid value {value:?} for metric {name:?}"))?;
    if let Some(timestamp) = fields.next() {
        timestamp
            .parse::<i64>()
            .map_err(|_| format!("invalid timestamp {timestamp:?} for metric {name:?}"))?;
    }
    if let Some(extra) = fields.next() {
        return Err(format!("unexpected {extra:?} after the timestamp of metric {name:?}"));
    }
    Ok(Some(Sample { name: name.to_string(), labels, value }))
}

/// Splits a leading metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`) from the rest of the line.
fn split_metric_name(line: &str) -> Result<(&str, &str), String> {
    let (name, rest) = split_identifier(line, |c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!("expected a metric name, found {}", found(line)));
    }
    Ok((name, rest))
}

/// Splits a leading label name (`[a-zA-Z_][a-zA-Z0-9_]*`) from the rest.
fn split_label_name(text: &str) -> Result<(&str, &str), String> {
    let (name, rest) = split_identifier(text, |c| c.is_ascii_alphanumeric() || c == '_');
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!("expected a label name or '}}', found {}", found(text)));
    }
    Ok((name, rest))
}

/// Splits the longest prefix made of `allowed` characters from the rest.
fn split_identifier(text: &str, allowed: impl Fn(char) -> bool) -> (&str, &str) {
    let end = text.find(|c| !allowed(c)).unwrap_or(text.len());
    text.split_at(end)
}

/// Parses `name="value", ...}`, the opening brace already consumed, and returns the labels and the
/// text after the closing brace. A trailing comma is allowed; a repeated label name is not.
fn parse_labels(mut rest: &str) -> Result<(Labels, &str), String> {
    let mut labels = Labels::new();
    // Names seen on this line: a set, so a line of thousands of labels stays linear.
    let mut seen = std::collections::HashSet::new();
    loop {
        rest = rest.trim_start_matches(BLANK);
        if let Some(after_brace) = rest.strip_prefix('}') {
            return Ok((labels, after_brace));
        }
        let (name, after_name) = split_label_name(rest)?;
        let after_name = after_name.trim_start_matches(BLANK);
        let after_equals = after_name
            .strip_prefix('=')
            .ok_or_else(|| format!("expected '=' after label name {name:?}, found {}", found(after_name)))?
            .trim_start_matches(BLANK);
        let after_quote = after_equals.strip_prefix('"').ok_or_else(|| {
            format!("expected '\"' to open the value of label {name:?}, found {}", found(after_equals))
        })?;
        let (value, after_value) =
            split_label_value(after_quote).map_err(|problem| format!("{problem} of label {name:?}"))?;
        if !seen.insert(name) {
            return Err(format!("duplicate label {name:?}"));
        }
        labels.push((name.to_string(), value));
        rest = after_value.trim_start_matches(BLANK);
        match rest.strip_prefix(',') {
            Some(after_comma) => rest = after_comma,
            None if rest.starts_with('}') => {}
            None => return Err(format!("expected ',' or '}}' after label {name:?}, found {}", found(rest))),
        }
    }
}

/// Reads a label value up to its closing quote, the opening one already consumed, undoing the
/// escapes `\\`, `\"` and `\n`. Returns the value and the text after the closing quote.
fn split_label_value(text: &str) -> Result<(String, &str), String> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &text[i + 1..])),
            '\\' => match chars.next() {
                Some((_, '\\')) => value.push('\\'),
                Some((_, '"')) => value.push('"'),
                Some((_, 'n')) => value.push('\n'),
                Some((_, other)) => return Err(format!("invalid escape sequence '\\{other}' in the value")),
                None => break,
            },
            _ => value.push(c),
        }
    }
    Err("unterminated value".to_string())
}

/// Names what a parser found where it expected something else, for error messages.
fn found(text: &str) -> String {
    match text.chars().next() {
        Some(c) => format!("{c:?}"),
        None => "end of line".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPOSITION: &str = r#"# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="500"}    3 1395066363000
http_requests_total{method="get",code="200",} 4000

# Escapes in label values.
file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9
metric_without_timestamp_and_labels 12.47
something_weird{problem="division by zero"} +Inf -3982045

# HELP http_request_duration_seconds A histogram of the request duration.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="0.1"} 33444
http_request_duration_seconds_bucket{le="0.5"} 129389
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320
"#;

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn buckets(pairs: &[(f64, f64)]) -> Vec<Bucket> {
        pairs.iter().map(|&(le, count)| Bucket { le, count }).collect()
    }

    fn assert_close(actual: f64, expected: f64) {
        assert!((actual - expected).abs() < 1e-9, "{actual} != {expected}");
    }

    fn error_of(text: &str) -> ParseError {
        parse(text).expect_err("should not parse")
    }

    #[test]
    fn parses_a_realistic_exposition() {
        let scrape = parse(EXPOSITION).unwrap();
        assert_eq!(scrape.samples.len(), 12);
        assert_eq!(
            scrape.samples[0],
            Sample {
                name: "http_requests_total".into(),
                labels: labels(&[("method", "post"), ("code", "200")]),
                value: 1027.0,
            }
        );
        assert_eq!(scrape.samples[2].labels, labels(&[("method", "get"), ("code", "200")]));
        let file = &scrape.samples[3];
        assert_eq!(file.label("path"), Some(r"C:\DIR\FILE.TXT"));
        assert_eq!(file.label("error"), Some("Cannot find file:\n\"FILE.TXT\""));
        assert_eq!(file.value, 1.458255915e9);
        assert_eq!(scrape.samples[4].labels, vec![]);
        assert_eq!(scrape.samples[5].value, f64::INFINITY);
        assert_eq!(scrape.sum("http_request_duration_seconds_count", &[]), Some(144320.0));
    }

    #[test]
    fn tolerates_crlf_blanks_and_empty_braces() {
        let scrape = parse("a{} 1 \r\n\r\n  b\t{ x = \"1\" , } \t2\t \r\n c{x=\"1\"}3\r\n").unwrap();
        let values: Vec<f64> = scrape.samples.iter().map(|s| s.value).collect();
        assert_eq!(values, [1.0, 2.0, 3.0]);
        assert_eq!(scrape.samples[1].labels, labels(&[("x", "1")]));
    }

    #[test]
    fn parses_special_values() {
        let scrape = parse("a NaN\nb +Inf\nc -Inf\nd Inf\ne -1.5e-3\nf 7 -12").unwrap();
        let values: Vec<f64> = scrape.samples.iter().map(|s| s.value).collect();
        assert!(values[0].is_nan());
        assert_eq!(values[1..], [f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, -1.5e-3, 7.0]);
    }

    #[test]
    fn errors_name_the_line_and_the_problem() {
        let cases = [
            (
                "# ok\n\nhttp_requests_total\n",
                3,
                "expected a value after metric name \"http_requests_total\"",
            ),
            ("a 1\nb{x=\"1\"}\n", 2, "expected a value after metric name \"b\""),
            ("a 1\r\n1abc 2\r\n", 2, "expected a metric name, found '1'"),
            ("{x=\"1\"} 2", 1, "expected a metric name, found '{'"),
            ("a-b 1", 1, "unexpected '-' after metric name \"a\""),
            ("a one", 1, "invalid value \"one\" for metric \"a\""),
            ("a 1 1.5", 1, "invalid timestamp \"1.5\" for metric \"a\""),
            ("a 1 2 3", 1, "unexpected \"3\" after the timestamp of metric \"a\""),
            ("a{x=\"1\" 2", 1, "expected ',' or '}' after label \"x\", found '2'"),
            ("a{x=\"1} 2", 1, "unterminated value of label \"x\""),
            ("a{x=\"\\t\"} 2", 1, "invalid escape sequence '\\t' in the value of label \"x\""),
            ("a{x 1", 1, "expected '=' after label name \"x\", found '1'"),
            ("a{x=1} 1", 1, "expected '\"' to open the value of label \"x\", found '1'"),
            ("a{,} 1", 1, "expected a label name or '}', found ','"),
            ("a{x=\"1\",x=\"2\"} 1", 1, "duplicate label \"x\""),
        ];
        for (text, line, message) in cases {
            assert_eq!(error_of(text), ParseError { line, message: message.to_string() }, "{text:?}");
        }
        assert_eq!(error_of("a 1\n\n\nb").to_string(), "line 4: expected a value after metric name \"b\"");
    }

    #[test]
    fn sum_matches_label_subsets() {
        let scrape = parse(EXPOSITION).unwrap();
        assert_eq!(scrape.sum("http_requests_total", &[]), Some(5030.0));
        assert_eq!(scrape.sum("http_requests_total", &labels(&[("method", "post")])), Some(1030.0));
        assert_eq!(scrape.sum("http_requests_total", &labels(&[("code", "200")])), Some(5027.0));
        let post_500 = labels(&[("code", "500"), ("method", "post")]);
        assert_eq!(scrape.sum("http_requests_total", &post_500), Some(3.0));
        assert_eq!(scrape.sum("http_requests_total", &labels(&[("code", "404")])), None);
        assert_eq!(scrape.sum("missing_total", &[]), None);
    }

    #[test]
    fn histogram_sums_series_across_labels() {
        let scrape = parse(
            r#"lat_bucket{route="/a",le="+Inf"} 10
lat_bucket{route="/a",le="0.5"} 8
lat_bucket{route="/a",le="0.1"} 2
lat_bucket{route="/b",le="0.1"} 1
lat_bucket{route="/b",le="0.5"} 4
lat_bucket{route="/b",le="+Inf"} 5
lat_bucket{route="/b",le="soon"} 5
lat_bucket{route="/b"} 5
other_bucket{le="0.1"} 1
"#,
        )
        .unwrap();
        let all = buckets(&[(0.1, 3.0), (0.5, 12.0), (f64::INFINITY, 15.0)]);
        assert_eq!(scrape.histogram("lat", &[]), Some(all));
        let route_b = buckets(&[(0.1, 1.0), (0.5, 4.0), (f64::INFINITY, 5.0)]);
        assert_eq!(scrape.histogram("lat", &labels(&[("route", "/b")])), Some(route_b));
        assert_eq!(scrape.histogram("lat", &labels(&[("route", "/c")])), None);
        assert_eq!(scrape.histogram("other", &[]), None, "no +Inf bucket");
        let from_exposition = parse(EXPOSITION).unwrap().histogram("http_request_duration_seconds", &[]);
        assert_eq!(from_exposition.map(|b| b.len()), Some(4));
    }

    #[test]
    fn counter_increase_treats_a_drop_as_a_reset() {
        assert_eq!(counter_increase(100.0, 130.0), 30.0);
        assert_eq!(counter_increase(100.0, 100.0), 0.0);
        assert_eq!(counter_increase(100.0, 7.0), 7.0);
    }

    #[test]
    fn bucket_increase_subtracts_or_restarts() {
        let prev = buckets(&[(0.1, 5.0), (1.0, 8.0), (f64::INFINITY, 9.0)]);
        let cur = buckets(&[(0.1, 7.0), (1.0, 12.0), (f64::INFINITY, 14.0)]);
        assert_eq!(bucket_increase(&prev, &cur), buckets(&[(0.1, 2.0), (1.0, 4.0), (f64::INFINITY, 5.0)]));
        let reset = buckets(&[(0.1, 1.0), (1.0, 9.0), (f64::INFINITY, 10.0)]);
        assert_eq!(bucket_increase(&prev, &reset), reset);
        let relaid = buckets(&[(0.2, 6.0), (1.0, 9.0), (f64::INFINITY, 10.0)]);
        assert_eq!(bucket_increase(&prev, &relaid), relaid);
        assert_eq!(bucket_increase(&prev, &cur[1..]), cur[1..].to_vec());
    }

    #[test]
    fn histogram_quantile_interpolates_like_promql() {
        let b = buckets(&[(0.1, 10.0), (0.5, 60.0), (1.0, 90.0), (f64::INFINITY, 100.0)]);
        // Rank 50 falls in (0.1, 0.5], which holds observations 11..=60.
        assert_close(histogram_quantile(0.5, &b).unwrap(), 0.1 + (0.5 - 0.1) * (50.0 - 10.0) / (60.0 - 10.0));
        assert_close(histogram_quantile(0.5, &b).unwrap(), 0.42);
        assert_close(histogram_quantile(0.9, &b).unwrap(), 1.0);
        assert_eq!(histogram_quantile(0.95, &b), Some(1.0), "+Inf bucket gives the second-highest bound");
        assert_close(histogram_quantile(0.05, &b).unwrap(), 0.05);
        assert_eq!(histogram_quantile(0.0, &b), Some(0.0));
        assert_eq!(histogram_quantile(1.0, &b), Some(1.0));
        let mut shuffled = b.clone();
        shuffled.reverse();
        assert_eq!(histogram_quantile(0.5, &shuffled), histogram_quantile(0.5, &b));
    }

    #[test]
    fn histogram_quantile_edge_cases() {
        let b = buckets(&[(0.1, 10.0), (f64::INFINITY, 20.0)]);
        assert_eq!(histogram_quantile(-0.1, &b), Some(f64::NEG_INFINITY));
        assert_eq!(histogram_quantile(1.1, &b), Some(f64::INFINITY));
        assert!(histogram_quantile(f64::NAN, &b).unwrap().is_nan());
        assert_eq!(histogram_quantile(0.5, &[]), None);
        assert_eq!(histogram_quantile(0.5, &buckets(&[(0.1, 0.0), (f64::INFINITY, 0.0)])), None);
        assert_eq!(histogram_quantile(0.5, &buckets(&[(0.1, 5.0), (1.0, 9.0)])), None);
        assert_eq!(histogram_quantile(0.5, &buckets(&[(f64::INFINITY, 9.0)])), None);
        let negative_first = buckets(&[(-1.0, 5.0), (0.0, 8.0), (f64::INFINITY, 10.0)]);
        assert_eq!(histogram_quantile(0.2, &negative_first), Some(-1.0));
        assert_close(histogram_quantile(0.65, &negative_first).unwrap(), -0.5);
        // The dip to 4 is raised to the running max 10, so rank 10 ends in the first bucket.
        let dipping = buckets(&[(0.1, 10.0), (0.5, 4.0), (1.0, 20.0), (f64::INFINITY, 20.0)]);
        assert_close(histogram_quantile(0.5, &dipping).unwrap(), 0.1);
        assert_close(histogram_quantile(0.75, &dipping).unwrap(), 0.75);
        let duplicated = buckets(&[(0.1, 5.0), (0.1, 5.0), (f64::INFINITY, 20.0)]);
        assert_close(histogram_quantile(0.25, &duplicated).unwrap(), 0.05);
    }

    #[test]
    fn quantile_of_the_delta_between_two_scrapes() {
        let before =
            parse("lat_bucket{le=\"0.1\"} 100\nlat_bucket{le=\"1\"} 150\nlat_bucket{le=\"+Inf\"} 160")
                .unwrap()
                .histogram("lat", &[])
                .unwrap();
        let after =
            parse("lat_bucket{le=\"0.1\"} 110\nlat_bucket{le=\"1\"} 170\nlat_bucket{le=\"+Inf\"} 180")
                .unwrap()
                .histogram("lat", &[])
                .unwrap();
        let delta = bucket_increase(&before, &after);
        assert_eq!(delta, buckets(&[(0.1, 10.0), (1.0, 20.0), (f64::INFINITY, 20.0)]));
        assert_close(histogram_quantile(0.75, &delta).unwrap(), 0.55);
    }

    /// A tiny xorshift generator: the tests need reproducible noise, not quality.
    struct Noise(u64);

    impl Noise {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n.max(1) as u64) as usize
        }
    }

    #[test]
    fn parse_never_panics_on_mutated_input() {
        let alphabet: Vec<char> = "{}\"\\=, \t\n\r#+-.eE0129_:leInfNaé𝄞\u{0}".chars().collect();
        let seed: Vec<char> = EXPOSITION.chars().collect();
        let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
        for round in 0..3000 {
            let mut text = if round % 10 == 0 { Vec::new() } else { seed.clone() };
            for _ in 0..1 + noise.below(8) {
                let at = noise.below(text.len() + 1);
                let c = alphabet[noise.below(alphabet.len())];
                match noise.below(4) {
                    0 => text.insert(at, c),
                    1 if at < text.len() => {
                        text.remove(at);
                    }
                    2 if at < text.len() => text[at] = c,
                    _ => text.truncate(at.max(text.len().saturating_sub(noise.below(50)))),
                }
            }
            let text: String = text.into_iter().collect();
            if let Ok(scrape) = parse(&text) {
                let _ = scrape.sum("http_requests_total", &labels(&[("code", "200")]));
                if let Some(h) = scrape.histogram("http_request_duration_seconds", &[]) {
                    let _ = histogram_quantile(0.99, &bucket_increase(&h, &h));
                }
            }
        }
    }

    /// Issue 14, defect 8: the duplicate-label check compared every label with every earlier one.
    /// A line of 100,000 labels now parses in linear time (it took minutes), and a repeat late
    /// in the line is still found.
    #[test]
    fn a_line_of_very_many_labels_is_checked_in_linear_time() {
        let labels: Vec<String> = (0..100_000).map(|i| format!("l{i}=\"v\"")).collect();
        let line = format!("m{{{}}} 1", labels.join(","));
        let started = std::time::Instant::now();
        assert_eq!(parse(&line).unwrap().samples[0].labels.len(), 100_000);
        let repeated = format!("m{{{},l7=\"w\"}} 1", labels.join(","));
        assert_eq!(error_of(&repeated).message, "duplicate label \"l7\"");
        // A hang guard, not a benchmark: linear takes milliseconds, quadratic took minutes.
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "{:?}", started.elapsed());
    }
}
