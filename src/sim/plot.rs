//! SVG chart of one simulated run: tasks over time for one controller, compared with others.
//!
//! The chart plots time (x, labelled in minutes, hours or days depending on the span) against
//! tasks (y, from 0 to a rounded maximum). From the primary timeline it draws demand as a light
//! filled area, `running` as a thick step line and `desired` as a thin dark dashed step line on
//! top; each other timeline adds its `running` as a thin step line in its own colour. The primary
//! controller's decisions are triangles at `(t, to)`, pointing up for scale out and down for scale
//! in, each with a `<title>` tooltip; a legend and notes (event counts, thinning, downsampling)
//! sit on the right.
//!
//! Downsampling: a series with more than [`MAX_BUCKETS`] rows is split into that many equal time
//! buckets (about one per pixel column). Each bucket keeps its first time, min, max and last value.
//! Step lines draw a vertical stroke from min to max at the bucket's x and continue at the last
//! value, so peaks and dips are never lost; the demand area follows the per-bucket max, so a spike
//! of a single step stays visible. Flat stretches collapse to one segment, which keeps the SVG small
//! even for millions of rows. Shorter series are drawn exactly, one bucket per row.

use std::fmt::Write;

use super::timeline::{Event, Row, Timeline};

/// Canvas size, in px.
const WIDTH: f64 = 1200.0;
const HEIGHT: f64 = 600.0;
/// The plot area inside the canvas, in px.
const LEFT: f64 = 70.0;
const RIGHT: f64 = 950.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 530.0;
/// Left edge of the legend and notes column.
const LEGEND_X: f64 = 975.0;
/// Series longer than this are downsampled into this many time buckets.
const MAX_BUCKETS: usize = 1500;
/// With more events than this, only every k-th marker is drawn.
const MAX_MARKERS: usize = 400;
/// Legend labels are cut to this many characters.
const MAX_LABEL_CHARS: usize = 30;

const DEMAND_FILL: &str = "#e3e8ee";
const DEMAND_STROKE: &str = "#9aa5b1";
const PRIMARY_COLOR: &str = "#1f77b4";
/// Darker than the running line, so the dashes stay visible where desired equals running.
const DESIRED_COLOR: &str = "#0b2f52";
const OUT_COLOR: &str = "#2ca02c";
const IN_COLOR: &str = "#d62728";
const OTHER_COLORS: [&str; 6] = ["#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf"];

/// A self-contained SVG (no external fonts, scripts or URLs) showing one simulation run.
pub fn render_svg(
    title: &str,
    primary_name: &str,
    primary: &Timeline,
    others: &[(&str, &Timeline)],
) -> String {
    let Some(frame) = Frame::new(primary, others) else {
        return no_data_svg(title);
    };
    let mut svg = open_svg();
    write_title(&mut svg, title);
    write_axes(&mut svg, &frame);
    write_demand(&mut svg, &frame, primary);
    for (i, (_, timeline)) in others.iter().enumerate() {
        write_step_line(&mut svg, &frame, timeline, |r| r.running, &other_series(i));
    }
    write_step_line(&mut svg, &frame, primary, |r| r.running, &RUNNING);
    write_step_line(&mut svg, &frame, primary, |r| r.desired, &DESIRED);
    let markers = write_markers(&mut svg, &frame, &primary.events);
    let legend_end = write_legend(&mut svg, primary_name, others, &markers);
    write_notes(&mut svg, legend_end, &markers, primary.rows.len());
    svg.push_str("</svg>\n");
    svg
}

/// The SVG returned when there is nothing to plot.
fn no_data_svg(title: &str) -> String {
    let mut svg = open_svg();
    write_title(&mut svg, title);
    let _ = writeln!(
        svg,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="20" fill="#666">no data</text>"##,
        WIDTH / 2.0,
        HEIGHT / 2.0
    );
    svg.push_str("</svg>\n");
    svg
}

fn open_svg() -> String {
    let mut svg = String::with_capacity(64 * 1024);
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#);
    svg
}

fn write_title(svg: &mut String, title: &str) {
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="30" text-anchor="middle" font-size="18" font-weight="bold">{}</text>"#,
        (LEFT + RIGHT) / 2.0,
        escape(title)
    );
}

/// Maps times and task counts to canvas coordinates.
#[derive(Debug, Clone, Copy)]
struct Frame {
    /// First time on the x axis, seconds.
    t0: u64,
    /// Last time on the x axis, seconds (> `t0`).
    t_end: u64,
    /// Top of the y axis, tasks (> 0).
    y_max: u32,
    /// Distance between y ticks, tasks.
    y_step: u32,
}

impl Frame {
    /// The frame covering every series, or `None` when no series has rows.
    fn new(primary: &Timeline, others: &[(&str, &Timeline)]) -> Option<Frame> {
        let all = || std::iter::once(primary).chain(others.iter().map(|(_, t)| *t));
        let t0 = all().filter_map(|t| t.rows.first()).map(|r| r.t).min()?;
        let t_end = all().filter_map(series_end).max()?.max(t0 + 1);
        let row_max = all().flat_map(|t| &t.rows).map(|r| r.demand.max(r.desired).max(r.running)).max();
        let event_max = primary.events.iter().map(|e| e.to).max();
        let (y_max, y_step) = nice_axis(row_max.unwrap_or(0).max(event_max.unwrap_or(0)));
        Some(Frame { t0, t_end, y_max, y_step })
    }

    fn span(&self) -> u64 {
        self.t_end - self.t0
    }

    fn x(&self, t: u64) -> f64 {
        let frac = t.saturating_sub(self.t0) as f64 / self.span() as f64;
        LEFT + frac.min(1.0) * (RIGHT - LEFT)
    }

    fn y(&self, tasks: u32) -> f64 {
        BOTTOM - f64::from(tasks) / f64::from(self.y_max) * (BOTTOM - TOP)
    }

    /// The downsampling bucket holding time `t`, in `0..MAX_BUCKETS`.
    fn bucket(&self, t: u64) -> usize {
        let offset = u128::from(t.saturating_sub(self.t0));
        let index = offset * MAX_BUCKETS as u128 / u128::from(self.span());
        (index as usize).min(MAX_BUCKETS - 1)
    }
}

/// Where a series' last row stops holding: its time plus one step.
fn series_end(timeline: &Timeline) -> Option<u64> {
    timeline.rows.last().map(|r| r.t + timeline.step)
}

/// A rounded axis maximum `>= max` and a tick step of 1, 2 or 5 times a power of ten.
fn nice_axis(max: u32) -> (u32, u32) {
    let max = max.max(1);
    let mut magnitude = 1u32;
    loop {
        for factor in [1, 2, 5] {
            let step = factor * magnitude;
            if max.div_ceil(step) <= 8 {
                return (max.div_ceil(step) * step, step);
            }
        }
        magnitude *= 10;
    }
}

/// The unit of the time axis, chosen by span.
struct TimeUnit {
    seconds: u64,
    name: &'static str,
    label: fn(u64) -> String,
    /// Candidate tick intervals, in units.
    intervals: &'static [u64],
}

fn time_unit(span: u64) -> TimeUnit {
    const HOUR: u64 = 3600;
    if span < 2 * HOUR {
        let intervals = &[1, 2, 5, 10, 15, 20, 30, 60];
        TimeUnit { seconds: 60, name: "minutes", label: |n| format!("{n}m"), intervals }
    } else if span <= 84 * HOUR {
        let intervals = &[1, 2, 3, 6, 12, 24];
        TimeUnit { seconds: HOUR, name: "hours", label: |n| format!("{n}h"), intervals }
    } else {
        let intervals = &[1, 2, 5, 7, 14, 30, 60, 90, 180, 365, 730, 1825, 3650];
        TimeUnit { seconds: 24 * HOUR, name: "days", label: |n| format!("d{n}"), intervals }
    }
}

/// Tick times and labels for the x axis, plus the axis title.
fn time_ticks(frame: &Frame) -> (Vec<(u64, String)>, String) {
    let unit = time_unit(frame.span());
    let units = frame.span() as f64 / unit.seconds as f64;
    let fallback = unit.intervals[unit.intervals.len() - 1];
    let every = unit.intervals.iter().copied().find(|&n| units / n as f64 <= 16.0).unwrap_or(fallback);
    let interval = every * unit.seconds;
    let first = frame.t0.div_ceil(interval) * interval;
    let ticks = (first..=frame.t_end)
        .step_by(interval as usize)
        .map(|t| (t, (unit.label)(t / unit.seconds)))
        .collect();
    (ticks, format!("time since start ({})", unit.name))
}

fn write_axes(svg: &mut String, frame: &Frame) {
    svg.push_str(r##"<g stroke="#e5e5e5" stroke-width="1">"##);
    for tasks in (0..=frame.y_max).step_by(frame.y_step as usize) {
        let y = frame.y(tasks);
        let _ = write!(svg, r#"<line x1="{LEFT}" y1="{y:.1}" x2="{RIGHT}" y2="{y:.1}"/>"#);
    }
    svg.push_str("</g>\n");
    write_y_labels(svg, frame);
    write_x_labels(svg, frame);
    let _ = writeln!(
        svg,
        r##"<polyline points="{LEFT},{TOP} {LEFT},{BOTTOM} {RIGHT},{BOTTOM}" fill="none" stroke="#333" stroke-width="1"/>"##
    );
}

fn write_y_labels(svg: &mut String, frame: &Frame) {
    svg.push_str(r#"<g text-anchor="end">"#);
    for tasks in (0..=frame.y_max).step_by(frame.y_step as usize) {
        let _ = write!(svg, r#"<text x="{:.1}" y="{:.1}">{tasks}</text>"#, LEFT - 6.0, frame.y(tasks) + 4.0);
    }
    svg.push_str("</g>\n");
    let (x, y) = (20.0, (TOP + BOTTOM) / 2.0);
    let _ = writeln!(
        svg,
        r#"<text x="{x}" y="{y}" transform="rotate(-90 {x} {y})" text-anchor="middle" font-size="13">tasks</text>"#
    );
}

fn write_x_labels(svg: &mut String, frame: &Frame) {
    let (ticks, axis_title) = time_ticks(frame);
    svg.push_str(r##"<g text-anchor="middle" stroke="#333">"##);
    for (t, _) in &ticks {
        let x = frame.x(*t);
        let _ = write!(svg, r#"<line x1="{x:.1}" y1="{BOTTOM}" x2="{x:.1}" y2="{:.1}"/>"#, BOTTOM + 5.0);
    }
    svg.push_str("</g>\n<g text-anchor=\"middle\">");
    for (t, label) in &ticks {
        let _ = write!(svg, r#"<text x="{:.1}" y="{:.1}">{label}</text>"#, frame.x(*t), BOTTOM + 19.0);
    }
    svg.push_str("</g>\n");
    let (x, y) = ((LEFT + RIGHT) / 2.0, BOTTOM + 45.0);
    let _ = writeln!(
        svg,
        r#"<text x="{x:.1}" y="{y:.1}" text-anchor="middle" font-size="13">{axis_title}</text>"#
    );
}

/// One downsampling bucket of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Bucket {
    /// Time of the bucket's first row.
    t: u64,
    min: u32,
    max: u32,
    last: u32,
}

/// Splits `rows` into at most [`MAX_BUCKETS`] time buckets (one per row when there are few rows).
fn buckets(rows: &[Row], value: impl Fn(&Row) -> u32, frame: &Frame) -> Vec<Bucket> {
    let exact = rows.len() <= MAX_BUCKETS;
    let mut out: Vec<Bucket> = Vec::with_capacity(rows.len().min(MAX_BUCKETS));
    let mut key = usize::MAX;
    for (i, row) in rows.iter().enumerate() {
        let v = value(row);
        let k = if exact { i } else { frame.bucket(row.t) };
        match out.last_mut() {
            Some(b) if k == key => {
                b.min = b.min.min(v);
                b.max = b.max.max(v);
                b.last = v;
            }
            _ => out.push(Bucket { t: row.t, min: v, max: v, last: v }),
        }
        key = k;
    }
    out
}

/// Polyline vertices as (x in px, tasks); collapses repeats and runs of horizontal points.
#[derive(Debug, Default)]
struct Points(Vec<(f64, u32)>);

impl Points {
    fn push(&mut self, x: f64, v: u32) {
        let n = self.0.len();
        if n >= 1 && self.0[n - 1] == (x, v) {
            return;
        }
        if n >= 2 && self.0[n - 1].1 == v && self.0[n - 2].1 == v {
            self.0[n - 1].0 = x;
            return;
        }
        self.0.push((x, v));
    }

    /// The SVG `points` attribute value.
    fn render(&self, frame: &Frame) -> String {
        let mut out = String::with_capacity(self.0.len() * 12);
        for (i, &(x, v)) in self.0.iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            let _ = write!(out, "{sep}{x:.1},{:.1}", frame.y(v));
        }
        out
    }
}

/// Which per-bucket values a step line follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Envelope {
    /// Only the maximum (for the demand area).
    Max,
    /// A vertical stroke over min..max, then the last value.
    MinMax,
}

/// Step-line vertices for `buckets`, ending at `end` (seconds).
fn step_points(points: &mut Points, buckets: &[Bucket], end: u64, envelope: Envelope, frame: &Frame) {
    let mut prev = None;
    for b in buckets {
        let x = frame.x(b.t);
        if let Some(p) = prev {
            points.push(x, p);
        }
        points.push(x, b.max);
        if envelope == Envelope::MinMax {
            points.push(x, b.min);
            points.push(x, b.last);
        }
        prev = Some(if envelope == Envelope::Max { b.max } else { b.last });
    }
    if let Some(p) = prev {
        points.push(frame.x(end), p);
    }
}

fn write_demand(svg: &mut String, frame: &Frame, timeline: &Timeline) {
    let (Some(first), Some(end)) = (timeline.rows.first(), series_end(timeline)) else {
        return;
    };
    let mut points = Points::default();
    points.push(frame.x(first.t), 0);
    step_points(&mut points, &buckets(&timeline.rows, |r| r.demand, frame), end, Envelope::Max, frame);
    points.push(frame.x(end), 0);
    let _ = writeln!(
        svg,
        r#"<polygon id="demand" points="{}" fill="{DEMAND_FILL}" stroke="{DEMAND_STROKE}" stroke-width="1"/>"#,
        points.render(frame)
    );
}

/// How one step line looks.
#[derive(Debug, Clone, Copy)]
struct Series {
    /// The polyline's `class`.
    id: &'static str,
    color: &'static str,
    width: f64,
    dash: bool,
}

const RUNNING: Series = Series { id: "running", color: PRIMARY_COLOR, width: 2.6, dash: false };
const DESIRED: Series = Series { id: "desired", color: DESIRED_COLOR, width: 1.2, dash: true };

impl Series {
    fn dash_attr(&self) -> &'static str {
        if self.dash { r#" stroke-dasharray="6 4""# } else { "" }
    }
}

/// The line of the `i`-th other timeline.
fn other_series(i: usize) -> Series {
    Series { id: "other", color: OTHER_COLORS[i % OTHER_COLORS.len()], width: 1.3, dash: false }
}

fn marker_color(up: bool) -> &'static str {
    if up { OUT_COLOR } else { IN_COLOR }
}

fn write_step_line(
    svg: &mut String,
    frame: &Frame,
    timeline: &Timeline,
    value: impl Fn(&Row) -> u32,
    series: &Series,
) {
    let Some(end) = series_end(timeline) else {
        return;
    };
    let mut points = Points::default();
    step_points(&mut points, &buckets(&timeline.rows, value, frame), end, Envelope::MinMax, frame);
    let dash = series.dash_attr();
    let _ = writeln!(
        svg,
        r#"<polyline class="{}" points="{}" fill="none" stroke="{}" stroke-width="{}" stroke-linejoin="round"{dash}/>"#,
        series.id,
        points.render(frame),
        series.color,
        series.width
    );
}

/// What the markers showed, for the legend and notes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct MarkerSummary {
    scale_out: usize,
    scale_in: usize,
    /// Every `every`-th event was drawn (1 = all).
    every: usize,
}

fn write_markers(svg: &mut String, frame: &Frame, events: &[Event]) -> MarkerSummary {
    let scale_out = events.iter().filter(|e| e.to > e.from).count();
    let every = events.len().div_ceil(MAX_MARKERS).max(1);
    svg.push_str(r#"<g stroke="white" stroke-width="0.6">"#);
    for event in events.iter().step_by(every) {
        if event.t >= frame.t0 && event.t <= frame.t_end {
            write_marker(svg, frame, event);
        }
    }
    svg.push_str("</g>\n");
    MarkerSummary { scale_out, scale_in: events.len() - scale_out, every }
}

fn write_marker(svg: &mut String, frame: &Frame, event: &Event) {
    let (x, y) = (frame.x(event.t), frame.y(event.to));
    let up = event.to > event.from;
    let _ = write!(
        svg,
        r#"<polygon points="{}" fill="{}"><title>t={}, {} → {}, {}</title></polygon>"#,
        triangle(x, y, up),
        marker_color(up),
        fmt_time(event.t),
        event.from,
        event.to,
        escape(&event.reason)
    );
}

/// A small triangle centred on (x, y), pointing up or down.
fn triangle(x: f64, y: f64, up: bool) -> String {
    let d = if up { 1.0 } else { -1.0 };
    format!("{x:.1},{:.1} {:.1},{:.1} {:.1},{:.1}", y - 5.5 * d, x - 5.0, y + 4.0 * d, x + 5.0, y + 4.0 * d)
}

/// Seconds as `HhMMmSSs`, e.g. `27h05m00s`.
fn fmt_time(t: u64) -> String {
    format!("{}h{:02}m{:02}s", t / 3600, t / 60 % 60, t % 60)
}

/// The sample drawn before a legend label.
enum Swatch {
    Area,
    Line(Series),
    Marker { up: bool },
}

/// Writes the legend; returns the y just below it.
fn write_legend(
    svg: &mut String,
    primary_name: &str,
    others: &[(&str, &Timeline)],
    m: &MarkerSummary,
) -> f64 {
    let mut entries = vec![
        (Swatch::Area, "demand (tasks)".to_string()),
        (Swatch::Line(RUNNING), label(primary_name, "running")),
        (Swatch::Line(DESIRED), label(primary_name, "desired")),
    ];
    for (i, (name, _)) in others.iter().enumerate() {
        entries.push((Swatch::Line(other_series(i)), label(name, "running")));
    }
    entries.push((Swatch::Marker { up: true }, format!("scale out ({})", m.scale_out)));
    entries.push((Swatch::Marker { up: false }, format!("scale in ({})", m.scale_in)));
    let mut y = TOP + 10.0;
    for (swatch, text) in &entries {
        write_swatch(svg, swatch, y);
        let _ = writeln!(svg, r#"<text x="{:.1}" y="{:.1}">{text}</text>"#, LEGEND_X + 32.0, y + 4.0);
        y += 22.0;
    }
    y
}

/// Draws a 24 px wide legend sample centred vertically on `y`.
fn write_swatch(svg: &mut String, swatch: &Swatch, y: f64) {
    let (x0, x1) = (LEGEND_X, LEGEND_X + 24.0);
    let _ = match swatch {
        Swatch::Area => write!(
            svg,
            r#"<rect x="{x0}" y="{:.1}" width="24" height="10" fill="{DEMAND_FILL}" stroke="{DEMAND_STROKE}"/>"#,
            y - 5.0
        ),
        Swatch::Line(s) => write!(
            svg,
            r#"<line x1="{x0}" y1="{y:.1}" x2="{x1}" y2="{y:.1}" stroke="{}" stroke-width="{}"{}/>"#,
            s.color,
            s.width,
            s.dash_attr()
        ),
        Swatch::Marker { up } => {
            write!(svg, r#"<polygon points="{}" fill="{}"/>"#, triangle(x0 + 12.0, y, *up), marker_color(*up))
        }
    };
}

/// An escaped legend label `"<name> <what>"`, with the name cut to fit the legend column.
fn label(name: &str, what: &str) -> String {
    let short: String = if name.chars().count() > MAX_LABEL_CHARS {
        name.chars().take(MAX_LABEL_CHARS - 1).chain(std::iter::once('…')).collect()
    } else {
        name.to_string()
    };
    escape(&format!("{short} {what}"))
}

/// Notes under the legend: decision counts, marker thinning and downsampling.
fn write_notes(svg: &mut String, y: f64, m: &MarkerSummary, rows: usize) {
    let mut lines = vec![format!("{} scale-out, {} scale-in events", m.scale_out, m.scale_in)];
    if m.every > 1 {
        lines.push(format!("markers: 1 in {} of {} shown", m.every, m.scale_out + m.scale_in));
    }
    if rows > MAX_BUCKETS {
        lines.push(format!("{rows} rows per series, drawn"));
        lines.push(format!("as {MAX_BUCKETS} min/max buckets"));
    }
    svg.push_str(r##"<g font-size="11" fill="#555">"##);
    for (i, line) in lines.iter().enumerate() {
        let _ = write!(svg, r#"<text x="{LEGEND_X}" y="{:.1}">{line}</text>"#, y + 10.0 + 16.0 * i as f64);
    }
    svg.push_str("</g>\n");
}

/// Escapes the XML special characters in `text`.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
#[path = "plot_tests.rs"]
mod tests;
