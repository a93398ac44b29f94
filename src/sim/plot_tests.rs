//! Tests of the SVG chart: well-formed, escaped, small for huge timelines, peaks kept.
use super::*;

fn row(t: u64, demand: u32, desired: u32, running: u32) -> Row {
    Row { t, load: f64::from(demand) * 100.0, demand, desired, running, cpu_pct: 50.0 }
}

fn event(t: u64, from: u32, to: u32, reason: &str) -> Event {
    Event { t, from, to, reason: reason.to_string() }
}

/// A diurnal timeline of `n` rows, `step` seconds apart.
fn diurnal(n: usize, step: u64) -> Timeline {
    let rows = (0..n as u64)
        .map(|i| {
            let t = i * step;
            let phase = (t % 86_400) as f64 / 86_400.0 * std::f64::consts::TAU;
            let demand = (12.0 + 8.0 * phase.sin()).round() as u32;
            row(t, demand, demand + 1, demand + u32::from(i % 7 == 0))
        })
        .collect();
    Timeline { step, rows, events: Vec::new() }
}

/// Checks that every opened tag is closed in order; returns the number of elements.
fn check_tags(svg: &str) -> usize {
    let mut stack: Vec<&str> = Vec::new();
    let mut count = 0;
    let mut rest = svg;
    while let Some(start) = rest.find('<') {
        let end = start + rest[start..].find('>').expect("unterminated tag");
        let tag = &rest[start + 1..end];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop(), Some(name.trim()), "mismatched </{name}>");
        } else {
            let name = tag.split_whitespace().next().expect("empty tag").trim_end_matches('/');
            assert!(name.chars().all(|c| c.is_ascii_alphanumeric()), "bad tag name {name:?}");
            count += 1;
            if !tag.ends_with('/') {
                stack.push(name);
            }
        }
        rest = &rest[end + 1..];
    }
    assert!(stack.is_empty(), "unclosed tags: {stack:?}");
    count
}

fn attr_points<'a>(svg: &'a str, marker: &str) -> &'a str {
    let at = svg.find(marker).expect("element present");
    let from = at + svg[at..].find("points=\"").expect("points attribute") + 8;
    &svg[from..from + svg[from..].find('"').expect("closing quote")]
}

fn ys(points: &str) -> Vec<f64> {
    points.split(' ').map(|p| p.split(',').nth(1).expect("x,y").parse().expect("number")).collect()
}

fn assert_svg_shape(svg: &str) {
    let trimmed = svg.trim();
    assert!(trimmed.starts_with("<svg"), "starts with <svg");
    assert!(trimmed.ends_with("</svg>"), "ends with </svg>");
    check_tags(svg);
    assert!(!svg.contains("href"), "no links");
}

#[test]
fn renders_well_formed_svg_with_all_series() {
    let mut primary = diurnal(3 * 1440, 60);
    primary.events = vec![event(3600, 3, 6, "scale_out"), event(7200, 6, 4, "scale_in")];
    let other = diurnal(3 * 1440, 60);
    let svg = render_svg("run", "trimtab", &primary, &[("target tracking", &other)]);
    assert_svg_shape(&svg);
    for text in ["demand (tasks)", "trimtab running", "trimtab desired", "target tracking running"] {
        assert!(svg.contains(text), "legend has {text}");
    }
    assert!(svg.contains("1 scale-out, 1 scale-in events"));
    assert!(svg.contains(">0h<") && svg.contains(">6h<") && svg.contains(">12h<"));
    assert!(svg.contains("viewBox=\"0 0 1200 600\""));
}

#[test]
fn escapes_xml_in_title_names_and_reasons() {
    let mut primary = diurnal(10, 60);
    primary.events = vec![event(60, 1, 2, "a<b & \"c\"")];
    let svg = render_svg("load <&> test", "x<y", &primary, &[("o&o", &diurnal(10, 60))]);
    assert_svg_shape(&svg);
    assert!(svg.contains("load &lt;&amp;&gt; test"));
    assert!(!svg.contains("<&>"));
    assert!(svg.contains("x&lt;y running") && svg.contains("o&amp;o running"));
    assert!(svg.contains("a&lt;b &amp; &quot;c&quot;"));
}

#[test]
fn two_million_rows_stay_under_one_megabyte() {
    let mut primary = diurnal(2_000_000, 60);
    primary.events = (0..5000).map(|i| event(i * 20_000, 3, 4 + (i % 2) as u32 * 2, "scale_out")).collect();
    let other = diurnal(2_000_000, 60);
    let start = std::time::Instant::now();
    let svg = render_svg("big", "trimtab", &primary, &[("other", &other)]);
    let elapsed = start.elapsed();
    assert!(svg.len() < 1_000_000, "svg is {} bytes", svg.len());
    assert_svg_shape(&svg);
    assert!(svg.contains("markers: 1 in 13 of 5000 shown"));
    assert!(svg.contains(">d0<"), "day labels for a long span");
    assert!(svg.matches("<title>").count() <= MAX_MARKERS);
    eprintln!("2M rows: {} bytes in {elapsed:?}", svg.len());
}

#[test]
fn single_step_spike_in_demand_reaches_its_peak() {
    let mut rows: Vec<Row> = (0..1_000_000u64).map(|i| row(i * 60, 5, 5, 5)).collect();
    rows[654_321].demand = 37;
    let primary = Timeline { step: 60, rows, events: Vec::new() };
    let svg = render_svg("spike", "trimtab", &primary, &[]);
    let frame = Frame::new(&primary, &[]).expect("rows");
    assert_eq!(frame.y_max, 40);
    let top = ys(attr_points(&svg, "id=\"demand\"")).into_iter().fold(f64::INFINITY, f64::min);
    assert!((top - frame.y(37)).abs() < 0.06, "peak plotted at y={top}, expected {}", frame.y(37));
}

#[test]
fn running_keeps_min_and_max_per_bucket() {
    let mut rows: Vec<Row> = (0..100_000u64).map(|i| row(i * 60, 5, 5, 5)).collect();
    rows[50_001].running = 0;
    rows[70_001].running = 30;
    let primary = Timeline { step: 60, rows, events: Vec::new() };
    let svg = render_svg("dip", "p", &primary, &[]);
    let frame = Frame::new(&primary, &[]).expect("rows");
    let plotted = ys(attr_points(&svg, "class=\"running\""));
    assert!(plotted.iter().any(|y| (y - frame.y(0)).abs() < 0.06), "dip to 0 kept");
    assert!(plotted.iter().any(|y| (y - frame.y(30)).abs() < 0.06), "peak of 30 kept");
}

#[test]
fn markers_carry_titles_with_reasons() {
    let mut primary = diurnal(500, 60);
    primary.events = vec![event(3_600, 2, 5, "scale_out"), event(7_260, 5, 3, "cooldown_done")];
    let svg = render_svg("m", "trimtab", &primary, &[]);
    assert_svg_shape(&svg);
    assert!(svg.contains("<title>t=1h00m00s, 2 → 5, scale_out</title>"));
    assert!(svg.contains("<title>t=2h01m00s, 5 → 3, cooldown_done</title>"));
    assert!(svg.contains(&format!("fill=\"{OUT_COLOR}\"><title>")));
    assert!(svg.contains(&format!("fill=\"{IN_COLOR}\"><title>")));
}

#[test]
fn empty_timeline_says_no_data() {
    let svg = render_svg("nothing <here>", "trimtab", &Timeline::default(), &[]);
    assert_svg_shape(&svg);
    assert!(svg.contains(">no data<"));
    assert!(svg.contains("nothing &lt;here&gt;"));
}

#[test]
fn time_ticks_follow_the_span() {
    let frame = |t_end| Frame { t0: 0, t_end, y_max: 10, y_step: 2 };
    let (ticks, axis) = time_ticks(&frame(3600));
    assert!(axis.contains("minutes") && ticks[1].1 == "5m");
    let (ticks, axis) = time_ticks(&frame(3 * 86_400));
    assert!(axis.contains("hours"));
    assert_eq!(ticks.iter().take(3).map(|t| t.1.as_str()).collect::<Vec<_>>(), ["0h", "6h", "12h"]);
    let (ticks, axis) = time_ticks(&frame(10 * 86_400));
    assert!(axis.contains("days") && ticks[1].1 == "d1");
}

#[test]
fn nice_axis_rounds_up() {
    assert_eq!(nice_axis(0), (1, 1));
    assert_eq!(nice_axis(7), (7, 1));
    assert_eq!(nice_axis(37), (40, 5));
    assert_eq!(nice_axis(101), (120, 20));
}
