//! Load traces: `t_seconds,value` CSV with a header, a fixed step between rows, and finite,
//! non-negative values in the trace's own unit (requests per minute, MHz, ...). Bad input is
//! refused with the file and line.

use std::path::{Path, PathBuf};

/// The NASA HTTP trace (July 1995, per minute), embedded so `simulate` works with no files.
pub const EMBEDDED_NASA: &str = include_str!("../../examples/traces/nasa_http_jul1995_60s.csv");
pub const EMBEDDED_NASA_NAME: &str = "<embedded examples/traces/nasa_http_jul1995_60s.csv>";

#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    pub name: String,
    /// Seconds between two values.
    pub step: u64,
    pub values: Vec<f64>,
    /// Interpolate linearly between values (the default for parsed traces), or hold each
    /// value for its whole step.
    pub interpolate: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("cannot read trace {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}: {message}")]
    Invalid { file: String, line: usize, message: String },
}

impl Trace {
    pub fn load(path: &Path) -> Result<Trace, TraceError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| TraceError::Read { path: path.to_owned(), source })?;
        Trace::parse(&path.display().to_string(), &text)
    }

    /// Parses CSV text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Trace, TraceError> {
        let bad = |line: usize, message: String| TraceError::Invalid { file: file.to_owned(), line, message };
        let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
        match lines.next() {
            Some((_, h)) if h.trim() == "t_seconds,value" => {}
            Some((i, h)) => {
                return Err(bad(i + 1, format!("expected the header t_seconds,value, found {h:?}")));
            }
            None => return Err(bad(1, "empty trace".into())),
        }
        let mut points: Vec<(usize, u64, f64)> = Vec::new();
        for (i, line) in lines {
            let (t, v) = parse_row(line).map_err(|m| bad(i + 1, m))?;
            points.push((i + 1, t, v));
        }
        let step = fixed_step(&points).map_err(|(line, m)| bad(line, m))?;
        let values = points.into_iter().map(|p| p.2).collect();
        Ok(Trace { name: file.to_owned(), step, values, interpolate: true })
    }

    /// Seconds the trace covers.
    pub fn duration(&self) -> u64 {
        self.step * self.values.len() as u64
    }

    pub fn peak(&self) -> f64 {
        self.values.iter().copied().fold(0.0, f64::max)
    }

    /// The load at `t` seconds: linear between samples (a per-minute or per-hour count describes
    /// a rate that changes smoothly, not in steps) unless `interpolate` is off; the last value
    /// holds after the end.
    pub fn at(&self, t: u64) -> f64 {
        let i = (t / self.step) as usize;
        let next = if self.interpolate { self.values.get(i + 1) } else { None };
        let Some(&next) = next else {
            return self.values[i.min(self.values.len() - 1)];
        };
        let frac = (t % self.step) as f64 / self.step as f64;
        self.values[i] + (next - self.values[i]) * frac
    }
}

fn parse_row(line: &str) -> Result<(u64, f64), String> {
    let (t, v) = line.split_once(',').ok_or_else(|| format!("expected t_seconds,value, found {line:?}"))?;
    let t: u64 = t.trim().parse().map_err(|_| format!("t_seconds {t:?} is not a whole number of seconds"))?;
    let v: f64 = v.trim().parse().map_err(|_| format!("value {v:?} is not a number"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("value {v} must be a finite number >= 0"));
    }
    Ok((t, v))
}

/// The constant step between rows `(line, t, value)`, or the line where it breaks.
fn fixed_step(points: &[(usize, u64, f64)]) -> Result<u64, (usize, String)> {
    let [first, second, ..] = points else {
        let line = points.last().map_or(1, |p| p.0);
        return Err((line, "a trace needs at least two rows".into()));
    };
    let step = second.1.checked_sub(first.1).filter(|s| *s > 0);
    let step = step.ok_or((second.0, "t_seconds must increase".to_owned()))?;
    for w in points.windows(2) {
        if w[1].1 != w[0].1 + step {
            return Err((w[1].0, format!("t_seconds {} breaks the fixed step of {step}s", w[1].1)));
        }
    }
    Ok(step)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_interpolates_between_samples() {
        let t = Trace::parse("t.csv", "t_seconds,value\n0,5\n60,7.5\n120,0\n").unwrap();
        assert_eq!((t.step, t.values.len(), t.duration(), t.peak()), (60, 3, 180, 7.5));
        assert_eq!((t.at(0), t.at(30), t.at(60), t.at(90), t.at(1000)), (5.0, 6.25, 7.5, 3.75, 0.0));
        let held = Trace { interpolate: false, ..t };
        assert_eq!((held.at(30), held.at(90)), (5.0, 7.5));
    }

    #[test]
    fn bad_input_names_file_and_line() {
        let cases = [
            ("time,value\n0,1\n", "t.csv:1: expected the header"),
            ("t_seconds,value\n0,1\n60,x\n", "t.csv:3: value \"x\" is not a number"),
            ("t_seconds,value\n0,1\n60,-2\n", "t.csv:3: value -2 must be"),
            ("t_seconds,value\n0,1\n60,1\n150,1\n", "t.csv:4: t_seconds 150 breaks the fixed step of 60s"),
            ("t_seconds,value\n0,1\n", "t.csv:2: a trace needs at least two rows"),
            ("", "t.csv:1: empty trace"),
        ];
        for (text, want) in cases {
            let e = Trace::parse("t.csv", text).unwrap_err().to_string();
            assert!(e.starts_with(want), "{e} (wanted {want})");
        }
    }

    #[test]
    fn embedded_trace_is_the_nasa_month() {
        let t = Trace::parse(EMBEDDED_NASA_NAME, EMBEDDED_NASA).unwrap();
        assert_eq!((t.step, t.values.len(), t.peak()), (60, 39_692, 405.0));
    }
}
