//! `[[schedule]]` times through the whole config path: both cron dialects, both `at` forms, and
//! each problem located at the part of the value at fault.

use chrono::{DateTime, Utc};

use super::*;
use crate::core::{ScheduleWindow, WindowTime};

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

const NOW: &str = "2026-03-27T09:00:00Z";

fn windows(text: &str) -> Vec<ScheduleWindow> {
    match from_str("t.toml", text) {
        Ok(c) => c.scaling.policy.schedules,
        Err(e) => panic!("{e}\nfor:\n{text}"),
    }
}

fn errors(text: &str) -> Vec<String> {
    match from_str("t.toml", text) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(e) => e.diagnostics().iter().map(ToString::to_string).collect(),
    }
}

/// One window with `time` (a `cron = ...` or `at = ...` line) and `extra` lines.
fn window(time: &str, extra: &str) -> String {
    format!(
        "[scaling]\nmin = 2\nmax = 10\n\n[[schedule]]\nname = \"w\"\n{time}\nduration = \"1h\"\nmin = 3\n{extra}"
    )
}

fn next_opening(w: &ScheduleWindow) -> String {
    match &w.time {
        WindowTime::Cron(c) => c.next_after(utc(NOW), w.tz).unwrap().to_rfc3339(),
        WindowTime::At(t) => t.to_rfc3339(),
    }
}

#[test]
fn issue_13_aws_expressions_and_unix_number_steps_that_croner_rejected_are_read() {
    // The first three AWS examples with N/step, and their Unix spelling, all rejected before.
    let cases = [
        ("cron = \"cron(0/15 * * * ? *)\"", "2026-03-27T09:15:00+00:00"),
        ("cron = \"cron(0/10 * ? * MON-FRI *)\"", "2026-03-27T09:10:00+00:00"),
        ("cron = \"cron(0/5 8-17 ? * MON-FRI *)\"", "2026-03-27T09:05:00+00:00"),
        ("cron = \"0/15 * * * *\"", "2026-03-27T09:15:00+00:00"),
        ("cron = \"0/10 * * * MON-FRI\"", "2026-03-27T09:10:00+00:00"),
        ("cron = \"0/5 8-17 * * MON-FRI\"", "2026-03-27T09:05:00+00:00"),
    ];
    for (time, next) in cases {
        let w = windows(&window(time, ""));
        assert_eq!(next_opening(&w[0]), next, "{time}");
    }
}

#[test]
fn an_expression_keeps_the_text_it_was_written_with() {
    let w = windows(&window("cron = \"cron(0 8 ? * mon-fri *)\"", "timezone = \"Europe/Berlin\""));
    let WindowTime::Cron(c) = &w[0].time else { panic!("a cron window") };
    assert_eq!(c.to_string(), "cron(0 8 ? * mon-fri *)");
    // Monday 08:00 CEST, after the weekend and the change to summer time.
    assert_eq!(c.next_after(utc("2026-03-27T08:00:00Z"), w[0].tz), Some(utc("2026-03-30T06:00:00Z")));
}

#[test]
fn a_bad_field_is_reported_at_its_line_and_column_with_the_rule() {
    let text = "[scaling]\nmin = 2\nmax = 10\n\n[[schedule]]\nname = \"weekdays\"\ncron = \"cron(0 8 * * MON-FRI *)\"\nduration = \"10h\"\nmin = 4\n\n[[schedule]]\ncron = \"cron(0 8 ? * 8 *)\"\nname = \"bad-day\"\nduration = \"1h\"\nmin = 3\n";
    let e = errors(text);
    assert_eq!(
        e,
        [
            "t.toml:7:18: schedule[0].cron: day-of-month is * and day-of-week \"MON-FRI\" is set, which AWS \
             rejects; use ? in day-of-month when day-of-week is set: cron(0 8 ? * MON-FRI *) in cron(0 8 * * \
             MON-FRI *)",
            "t.toml:12:22: schedule[1].cron: day-of-week \"8\" out of range 1-7 (SUN-SAT) in cron(0 8 ? * 8 *)",
        ]
    );
}

#[test]
fn an_escaped_string_is_located_at_its_key() {
    let e = errors(&window("cron = \"cron(0 8 ? * \\u0038 *)\"", ""));
    assert_eq!(
        e,
        ["t.toml:7:1: schedule[0].cron: day-of-week \"8\" out of range 1-7 (SUN-SAT) in cron(0 8 ? * 8 *)"]
    );
}

#[test]
fn a_window_whose_years_are_past_is_valid_and_stays_shut() {
    // Validity never depends on the date: the agent that ran this config in 2022 must not fail
    // to start with it in 2026. The window simply never opens again.
    let w = windows(&window("cron = \"cron(15 10 ? * 6L 2019-2022)\"", ""));
    let WindowTime::Cron(c) = &w[0].time else { panic!("a cron window") };
    assert_eq!(c.next_after(utc(NOW), w[0].tz), None);
    assert_eq!(c.last_year(), Some(2022));
    // In 2022 it fired on the last Friday of June at 10:15 UTC.
    assert_eq!(c.next_after(utc("2022-06-01T00:00:00Z"), w[0].tz), Some(utc("2022-06-24T10:15:00Z")));
    // A date that never comes is an error.
    let e = errors(&window("cron = \"cron(0 8 30 FEB ? *)\"", ""));
    assert_eq!(e, ["t.toml:7:1: schedule[0].cron: cron expression \"cron(0 8 30 FEB ? *)\" never fires"]);
}

#[test]
fn at_in_aws_form_is_read_on_the_window_clock() {
    let cases = [
        // UTC without a timezone, as AWS reads it.
        ("at = \"at(2026-12-24T18:00:00)\"", "", "2026-12-24T18:00:00+00:00"),
        ("at = \"at(2026-12-24T18:00:00)\"", "timezone = \"Europe/Berlin\"", "2026-12-24T17:00:00+00:00"),
        ("at = 'at(2026-07-01T9:30:00)'", "timezone = \"America/New_York\"", "2026-07-01T13:30:00+00:00"),
        // 02:30 happens twice in Berlin that night: the earlier, still on summer time.
        ("at = \"at(2026-10-25T02:30:00)\"", "timezone = \"Europe/Berlin\"", "2026-10-25T00:30:00+00:00"),
        // The TOML date-time with offset keeps working; the timezone does not change it.
        ("at = 2026-12-24T18:00:00+01:00", "timezone = \"America/New_York\"", "2026-12-24T17:00:00+00:00"),
    ];
    for (time, extra, want) in cases {
        let w = windows(&window(time, extra));
        assert_eq!(next_opening(&w[0]), want, "{time} {extra}");
    }
}

#[test]
fn bad_at_values_say_what_to_write() {
    let cases = [
        (
            "at = \"at(2026-03-29T02:30:00)\"",
            "timezone = \"Europe/Berlin\"",
            "t.toml:7:10: schedule[0].at: 2026-03-29T02:30:00 does not exist in Europe/Berlin: the clocks jump \
             forward over it (daylight saving time); the same instant reads 2026-03-29T03:30:00 on the clock, so \
             write at(2026-03-29T03:30:00) or a time outside the gap",
        ),
        (
            "at = \"at(2026-3-29T10:00:00)\"",
            "",
            "t.toml:7:10: schedule[0].at: write at(yyyy-mm-ddThh:mm:ss), e.g. at(2026-12-24T18:00:00) in \
             at(2026-3-29T10:00:00)",
        ),
        (
            "at = \"at(2026-02-29T10:00:00)\"",
            "",
            "t.toml:7:10: schedule[0].at: 2026-02-29 is not a calendar date in at(2026-02-29T10:00:00)",
        ),
        (
            "at = 2026-12-24T18:00:00",
            "",
            "t.toml:7:1: schedule[0].at: 2026-12-24T18:00:00 has no offset: add one (e.g. \
             2026-12-24T18:00:00+01:00), or write at = \"at(2026-12-24T18:00:00)\" to read it in the window's \
             timezone",
        ),
        (
            "at = \"tomorrow\"",
            "",
            "t.toml:7:1: schedule[0].at: expected a TOML date-time with offset (2026-12-24T18:00:00+01:00) or \
             \"at(yyyy-mm-ddThh:mm:ss)\", found \"tomorrow\"",
        ),
        (
            "at = 5",
            "",
            "t.toml:7:1: schedule[0].at: expected a TOML date-time with offset (2026-12-24T18:00:00+01:00) or \
             \"at(yyyy-mm-ddThh:mm:ss)\", found a TOML integer",
        ),
    ];
    for (time, extra, want) in cases {
        assert_eq!(errors(&window(time, extra)), [want], "{time}");
    }
}
