//! Every cron and at example of AWS's scheduled-scaling and cron-reference pages, with the fire
//! times AWS's stated meaning gives, worked out by hand from the calendar (not from this code):
//! once in UTC from Friday 2026-03-27 09:00Z, and once in Europe/Berlin from Sunday 2026-03-29
//! 01:30 CET, half an hour before the clocks jump from 02:00 CET to 03:00 CEST. Then examples
//! built on the pages' wildcard descriptions, cases taken from croner's and Quartz's own tests,
//! and what the pages say is invalid.
//!
//! Where a page's "Meaning" column and its fields disagree, the fields win and a comment says so.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use chrono_tz::Tz::{America__New_York as NEW_YORK, Etc__GMTPlus9 as GMT_MINUS_9, Europe__Berlin as BERLIN};

use super::super::schedule_at;
use super::super::schedule_expr::CronExpr;

/// Application Auto Scaling, "Schedule recurring scaling actions using cron expressions" (stored
/// copy: awsdocs/application-auto-scaling-user-guide, doc_source/scheduled-scaling-using-cron-expressions.md).
const AAS_CRON: &str = "https://docs.aws.amazon.com/autoscaling/application/userguide/scheduled-scaling-using-cron-expressions.html";
/// Application Auto Scaling, "Example scheduled actions" (doc_source/examples-scheduled-actions.md).
const AAS_EXAMPLES: &str =
    "https://docs.aws.amazon.com/autoscaling/application/userguide/examples-scheduled-actions.html";
/// Application Auto Scaling, "Manage scheduled scaling" CLI commands
/// (doc_source/scheduled-scaling-additional-cli-commands.md).
const AAS_CLI: &str = "https://docs.aws.amazon.com/autoscaling/application/userguide/scheduled-scaling-additional-cli-commands.html";
/// Application Auto Scaling, tutorial and getting-started exercise (doc_source/application-auto-scaling-tutorial.md,
/// doc_source/get-started-exercise.md).
const AAS_TUTORIAL: &str =
    "https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-tutorial.html";
const AAS_GET_STARTED: &str =
    "https://docs.aws.amazon.com/autoscaling/application/userguide/get-started-exercise.html";
/// Amazon EventBridge, "Cron expressions reference" (stored copy: awsdocs/amazon-eventbridge-user-guide,
/// doc_source/eb-create-rule-schedule.md at fc27724; earlier doc_source/scheduled-events.md).
const EB_CRON: &str = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html";
/// Amazon CloudWatch Events, "Schedule Expressions for Rules", EventBridge's predecessor page
/// (awsdocs/amazon-cloudwatch-events-user-guide, doc_source/ScheduledEvents.md).
const CWE_CRON: &str = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/events/ScheduledEvents.html";
/// croner 4.0.3's own tests (crates.io source, src/lib.rs and src/pattern.rs), in Quartz numbering.
const CRONER: &str = "https://github.com/Hexagon/croner-rust/blob/main/src/lib.rs";
/// Quartz's CronTrigger tutorial, the model of AWS's L, W and #.
const QUARTZ: &str = "https://www.quartz-scheduler.org/documentation/quartz-2.3.0/tutorials/crontrigger.html";

const UTC_NOW: &str = "2026-03-27T09:00:00Z"; // a Friday
const BERLIN_NOW: &str = "2026-03-29T01:30:00+01:00"; // Sunday, 30 minutes before the gap

/// The first occurrences after `now`, as wall-clock times with their offsets in `tz`.
fn fires(expr: &str, tz: Tz, now: &str, n: usize) -> Vec<String> {
    let e = CronExpr::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
    let now = DateTime::parse_from_rfc3339(now).unwrap().with_timezone(&Utc);
    e.occurrences_after(now, tz)
        .take(n)
        .map(|t| t.with_timezone(&tz).format("%Y-%m-%dT%H:%M%:z").to_string())
        .collect()
}

/// (source, expression, AWS's meaning, next fires in UTC from `UTC_NOW`, in Berlin from `BERLIN_NOW`).
type Case = (&'static str, &'static str, &'static str, &'static [&'static str], &'static [&'static str]);

#[rustfmt::skip]
const PAGE_EXAMPLES: &[Case] = &[
    // The examples table, identical on AAS_CRON and EB_CRON (which says UTC+0).
    (AAS_CRON, "cron(0 10 * * ? *)", "10:00 am every day",
        &["2026-03-27T10:00+00:00", "2026-03-28T10:00+00:00", "2026-03-29T10:00+00:00", "2026-03-30T10:00+00:00"],
        &["2026-03-29T10:00+02:00", "2026-03-30T10:00+02:00", "2026-03-31T10:00+02:00", "2026-04-01T10:00+02:00"]),
    (AAS_CRON, "cron(15 12 * * ? *)", "12:15 pm every day",
        &["2026-03-27T12:15+00:00", "2026-03-28T12:15+00:00", "2026-03-29T12:15+00:00", "2026-03-30T12:15+00:00"],
        &["2026-03-29T12:15+02:00", "2026-03-30T12:15+02:00", "2026-03-31T12:15+02:00", "2026-04-01T12:15+02:00"]),
    (AAS_CRON, "cron(0 18 ? * MON-FRI *)", "6:00 pm every Monday through Friday",
        &["2026-03-27T18:00+00:00", "2026-03-30T18:00+00:00", "2026-03-31T18:00+00:00", "2026-04-01T18:00+00:00"],
        &["2026-03-30T18:00+02:00", "2026-03-31T18:00+02:00", "2026-04-01T18:00+02:00", "2026-04-02T18:00+02:00"]),
    (AAS_CRON, "cron(0 8 1 * ? *)", "8:00 am the 1st day of every month",
        &["2026-04-01T08:00+00:00", "2026-05-01T08:00+00:00", "2026-06-01T08:00+00:00", "2026-07-01T08:00+00:00"],
        &["2026-04-01T08:00+02:00", "2026-05-01T08:00+02:00", "2026-06-01T08:00+02:00", "2026-07-01T08:00+02:00"]),
    // In Berlin 02:00-02:59 does not exist that night: the quarter hours in it do not happen.
    (AAS_CRON, "cron(0/15 * * * ? *)", "every 15 minutes",
        &["2026-03-27T09:15+00:00", "2026-03-27T09:30+00:00", "2026-03-27T09:45+00:00", "2026-03-27T10:00+00:00"],
        &["2026-03-29T01:45+01:00", "2026-03-29T03:00+02:00", "2026-03-29T03:15+02:00", "2026-03-29T03:30+02:00"]),
    (AAS_CRON, "cron(0/10 * ? * MON-FRI *)", "every 10 minutes Monday through Friday",
        &["2026-03-27T09:10+00:00", "2026-03-27T09:20+00:00", "2026-03-27T09:30+00:00", "2026-03-27T09:40+00:00"],
        &["2026-03-30T00:00+02:00", "2026-03-30T00:10+02:00", "2026-03-30T00:20+02:00", "2026-03-30T00:30+02:00"]),
    (AAS_CRON, "cron(0/5 8-17 ? * MON-FRI *)", "every 5 minutes Monday through Friday between 8:00 am and 5:55 pm",
        &["2026-03-27T09:05+00:00", "2026-03-27T09:10+00:00", "2026-03-27T09:15+00:00", "2026-03-27T09:20+00:00"],
        &["2026-03-30T08:00+02:00", "2026-03-30T08:05+02:00", "2026-03-30T08:10+02:00", "2026-03-30T08:15+02:00"]),
    // The page's prose example (the older copy wrote `30 6 * * 2 *`, which AWS's rule rejects).
    (AAS_CRON, "cron(30 6 ? * MON *)", "every Monday at 6:30 AM",
        &["2026-03-30T06:30+00:00", "2026-04-06T06:30+00:00", "2026-04-13T06:30+00:00", "2026-04-20T06:30+00:00"],
        &["2026-03-30T06:30+02:00", "2026-04-06T06:30+02:00", "2026-04-13T06:30+02:00", "2026-04-20T06:30+02:00"]),
    (AAS_EXAMPLES, "cron(0 9 * * ? *)", "every day at 9:00 AM",
        &["2026-03-28T09:00+00:00", "2026-03-29T09:00+00:00", "2026-03-30T09:00+00:00", "2026-03-31T09:00+00:00"],
        &["2026-03-29T09:00+02:00", "2026-03-30T09:00+02:00", "2026-03-31T09:00+02:00", "2026-04-01T09:00+02:00"]),
    (AAS_TUTORIAL, "cron(0 20 * * ? *)", "every day at 8:00 PM",
        &["2026-03-27T20:00+00:00", "2026-03-28T20:00+00:00", "2026-03-29T20:00+00:00", "2026-03-30T20:00+00:00"],
        &["2026-03-29T20:00+02:00", "2026-03-30T20:00+02:00", "2026-03-31T20:00+02:00", "2026-04-01T20:00+02:00"]),
    // EB_CRON's last table row. The page's meaning says "between 10:00 pm on the starting day to
    // 2:00 am on the following day ... from 12:00 am to 2:00 am on Monday morning"; the fields say
    // hours 20-23 and 0-2 (20 is 8:00 pm, and minute 30 of hour 2 is in), on Monday to Friday
    // only: Friday night stops at 23:30 and Saturday's early hours are out.
    (EB_CRON, "cron(0/30 20-2 ? * MON-FRI *)", "every 30 minutes Monday through Friday, 20:00 to 2:59",
        &["2026-03-27T20:00+00:00", "2026-03-27T20:30+00:00", "2026-03-27T21:00+00:00", "2026-03-27T21:30+00:00",
          "2026-03-27T22:00+00:00", "2026-03-27T22:30+00:00", "2026-03-27T23:00+00:00", "2026-03-27T23:30+00:00",
          "2026-03-30T00:00+00:00"],
        &["2026-03-30T00:00+02:00", "2026-03-30T00:30+02:00", "2026-03-30T01:00+02:00", "2026-03-30T01:30+02:00",
          "2026-03-30T02:00+02:00", "2026-03-30T02:30+02:00", "2026-03-30T20:00+02:00"]),
    (EB_CRON, "cron(0 12 * * ? *)", "every day at 12:00pm",
        &["2026-03-27T12:00+00:00", "2026-03-28T12:00+00:00", "2026-03-29T12:00+00:00", "2026-03-30T12:00+00:00"],
        &["2026-03-29T12:00+02:00", "2026-03-30T12:00+02:00", "2026-03-31T12:00+02:00", "2026-04-01T12:00+02:00"]),
    (EB_CRON, "cron(5,35 14 * * ? *)", "every day, at 2:05pm and 2:35pm",
        &["2026-03-27T14:05+00:00", "2026-03-27T14:35+00:00", "2026-03-28T14:05+00:00", "2026-03-28T14:35+00:00"],
        &["2026-03-29T14:05+02:00", "2026-03-29T14:35+02:00", "2026-03-30T14:05+02:00", "2026-03-30T14:35+02:00"]),
    // Its years are over: it never fires again (see `in_other_zones_and_years` for 2022).
    (EB_CRON, "cron(15 10 ? * 6L 2019-2022)", "10:15am on the last Friday of each month during 2019 to 2022", &[], &[]),
    (CWE_CRON, "cron(15 10 ? * 6L 2002-2005)", "10:15am on the last Friday of each month during 2002 to 2005", &[], &[]),
    // The current EB_CRON page's table (cited in trimtab issue 13; not in the stored copies).
    (EB_CRON, "cron(0 9 ? * 2#1 *)", "9:00 am on the first Monday of each month",
        &["2026-04-06T09:00+00:00", "2026-05-04T09:00+00:00", "2026-06-01T09:00+00:00", "2026-07-06T09:00+00:00"],
        &["2026-04-06T09:00+02:00", "2026-05-04T09:00+02:00", "2026-06-01T09:00+02:00", "2026-07-06T09:00+02:00"]),
];

/// EB_CRON's wildcard descriptions, each value put in an expression of its own.
#[rustfmt::skip]
const WILDCARD_EXAMPLES: &[Case] = &[
    (EB_CRON, "cron(0 8 1 JAN,FEB,MAR ? *)", "JAN,FEB,MAR includes January, February, and March",
        &["2027-01-01T08:00+00:00", "2027-02-01T08:00+00:00", "2027-03-01T08:00+00:00", "2028-01-01T08:00+00:00"],
        &["2027-01-01T08:00+01:00", "2027-02-01T08:00+01:00", "2027-03-01T08:00+01:00", "2028-01-01T08:00+01:00"]),
    (EB_CRON, "cron(0 8 1-15 * ? *)", "1-15 includes days 1 through 15",
        &["2026-04-01T08:00+00:00", "2026-04-02T08:00+00:00", "2026-04-03T08:00+00:00", "2026-04-04T08:00+00:00"],
        &["2026-04-01T08:00+02:00", "2026-04-02T08:00+02:00", "2026-04-03T08:00+02:00", "2026-04-04T08:00+02:00"]),
    (EB_CRON, "cron(1/10 * * * ? *)", "1/10: every tenth minute from the first (the 11th, 21st, 31st ...)",
        &["2026-03-27T09:01+00:00", "2026-03-27T09:11+00:00", "2026-03-27T09:21+00:00", "2026-03-27T09:31+00:00"],
        &["2026-03-29T01:31+01:00", "2026-03-29T01:41+01:00", "2026-03-29T01:51+01:00", "2026-03-29T03:01+02:00"]),
    (EB_CRON, "cron(0 8 7 * ? *)", "day-of-month 7, and ? as any day of the week",
        &["2026-04-07T08:00+00:00", "2026-05-07T08:00+00:00", "2026-06-07T08:00+00:00", "2026-07-07T08:00+00:00"],
        &["2026-04-07T08:00+02:00", "2026-05-07T08:00+02:00", "2026-06-07T08:00+02:00", "2026-07-07T08:00+02:00"]),
    (EB_CRON, "cron(0 8 L * ? *)", "L in day-of-month: the last day of the month",
        &["2026-03-31T08:00+00:00", "2026-04-30T08:00+00:00", "2026-05-31T08:00+00:00", "2026-06-30T08:00+00:00"],
        &["2026-03-31T08:00+02:00", "2026-04-30T08:00+02:00", "2026-05-31T08:00+02:00", "2026-06-30T08:00+02:00"]),
    // "The last day of the week": Saturday, day 7 (Quartz reads L alone in day-of-week as 7).
    (EB_CRON, "cron(0 8 ? * L *)", "L in day-of-week: the last day of the week",
        &["2026-03-28T08:00+00:00", "2026-04-04T08:00+00:00", "2026-04-11T08:00+00:00", "2026-04-18T08:00+00:00"],
        &["2026-04-04T08:00+02:00", "2026-04-11T08:00+02:00", "2026-04-18T08:00+02:00", "2026-04-25T08:00+02:00"]),
    // 2026-05-03 is a Sunday: the nearest weekday is Monday the 4th.
    (EB_CRON, "cron(0 8 3W * ? *)", "3W: the weekday closest to the third day of the month",
        &["2026-04-03T08:00+00:00", "2026-05-04T08:00+00:00", "2026-06-03T08:00+00:00", "2026-07-03T08:00+00:00"],
        &["2026-04-03T08:00+02:00", "2026-05-04T08:00+02:00", "2026-06-03T08:00+02:00", "2026-07-03T08:00+02:00"]),
    (EB_CRON, "cron(0 8 ? * 3#2 *)", "3#2: the second Tuesday of the month",
        &["2026-04-14T08:00+00:00", "2026-05-12T08:00+00:00", "2026-06-09T08:00+00:00", "2026-07-14T08:00+00:00"],
        &["2026-04-14T08:00+02:00", "2026-05-12T08:00+02:00", "2026-06-09T08:00+02:00", "2026-07-14T08:00+02:00"]),
];

#[test]
fn every_page_example_fires_when_the_page_says_in_utc_and_across_berlin_dst() {
    for (source, expr, meaning, utc, berlin) in PAGE_EXAMPLES.iter().chain(WILDCARD_EXAMPLES) {
        let n = utc.len().max(1);
        assert_eq!(fires(expr, Tz::UTC, UTC_NOW, n), *utc, "{expr} ({meaning}) in UTC; {source}");
        let n = berlin.len().max(1);
        assert_eq!(fires(expr, BERLIN, BERLIN_NOW, n), *berlin, "{expr} ({meaning}) in Berlin; {source}");
    }
}

#[test]
fn in_other_zones_and_years() {
    // (source, expression, zone, now, next fires)
    #[rustfmt::skip]
    let cases: &[(&str, &str, Tz, &str, &[&str])] = &[
        // AAS_EXAMPLES runs this with --timezone "Etc/GMT+9", which is UTC-9 (POSIX sign).
        (AAS_EXAMPLES, "cron(0 18 ? * MON-FRI *)", GMT_MINUS_9, UTC_NOW, &["2026-03-27T18:00-09:00", "2026-03-30T18:00-09:00", "2026-03-31T18:00-09:00"]),
        // The last Fridays of 2022, then nothing: 2023 is past the year field.
        (EB_CRON, "cron(15 10 ? * 6L 2019-2022)", Tz::UTC, "2022-09-01T00:00:00Z",
            &["2022-09-30T10:15+00:00", "2022-10-28T10:15+00:00", "2022-11-25T10:15+00:00", "2022-12-30T10:15+00:00"]),
        (EB_CRON, "cron(15 10 ? * 6L 2019-2022)", BERLIN, "2022-09-01T00:00:00Z",
            &["2022-09-30T10:15+02:00", "2022-10-28T10:15+02:00", "2022-11-25T10:15+01:00", "2022-12-30T10:15+01:00"]),
        // US daylight saving time starts 2026-03-08: 6:00 pm stays 6:00 pm on the wall clock.
        (AAS_EXAMPLES, "cron(0 18 ? * MON-FRI *)", NEW_YORK, "2026-03-06T00:00:00Z",
            &["2026-03-06T18:00-05:00", "2026-03-09T18:00-04:00", "2026-03-10T18:00-04:00"]),
        // 17:55 is the last of the day; then Monday 08:00.
        (AAS_CRON, "cron(0/5 8-17 ? * MON-FRI *)", Tz::UTC, "2026-03-27T17:50:00Z",
            &["2026-03-27T17:55+00:00", "2026-03-30T08:00+00:00"]),
    ];
    for (source, expr, tz, now, want) in cases {
        assert_eq!(fires(expr, *tz, now, want.len()), *want, "{expr} in {tz} from {now}; {source}");
    }
    // Four last Fridays are all that is left after 2022-09-01: the year field ends the series.
    assert_eq!(fires("cron(15 10 ? * 6L 2019-2022)", BERLIN, "2022-09-01T00:00:00Z", 100).len(), 4);
}

#[test]
fn every_at_example_is_its_wall_clock_time_in_the_zone() {
    // (source, expression, zone, the instant)
    let cases: &[(&str, &str, Tz, &str)] = &[
        (AAS_EXAMPLES, "at(2021-03-31T22:00:00)", Tz::UTC, "2021-03-31T22:00:00Z"),
        (AAS_EXAMPLES, "at(2021-03-31T22:30:00)", Tz::UTC, "2021-03-31T22:30:00Z"),
        // Berlin is on summer time (+02:00) since 2021-03-28.
        (AAS_EXAMPLES, "at(2021-03-31T22:00:00)", BERLIN, "2021-03-31T20:00:00Z"),
        // With --timezone "America/New_York": January is EST, -05:00.
        (AAS_EXAMPLES, "at(2021-01-31T17:00:00)", NEW_YORK, "2021-01-31T22:00:00Z"),
        (AAS_CLI, "at(2021-01-31T17:00:00)", NEW_YORK, "2021-01-31T22:00:00Z"),
        (AAS_EXAMPLES, "at(2021-01-31T17:00:00)", BERLIN, "2021-01-31T16:00:00Z"),
        // describe-scheduled-actions output: a one-digit hour, America/New_York, EST.
        (AAS_CLI, "at(2020-12-08T9:36:00)", NEW_YORK, "2020-12-08T14:36:00Z"),
        (AAS_CLI, "at(2020-12-08T9:36:00)", Tz::UTC, "2020-12-08T09:36:00Z"),
        (AAS_GET_STARTED, "at(2019-05-20T17:05:00)", Tz::UTC, "2019-05-20T17:05:00Z"),
        (AAS_GET_STARTED, "at(2019-05-20T17:10:00)", Tz::UTC, "2019-05-20T17:10:00Z"),
        (AAS_GET_STARTED, "at(2019-05-20T18:35:00)", Tz::UTC, "2019-05-20T18:35:00Z"),
        (AAS_GET_STARTED, "at(2019-05-20T18:40:00)", BERLIN, "2019-05-20T16:40:00Z"),
    ];
    for (source, text, tz, want) in cases {
        let local = schedule_at::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let got = schedule_at::resolve(local, *tz).unwrap();
        assert_eq!(got, DateTime::parse_from_rfc3339(want).unwrap(), "{text} in {tz}; {source}");
    }
}

#[test]
fn peer_cases_for_l_w_and_hash() {
    // (source, expression, now in UTC, next fires)
    #[rustfmt::skip]
    let cases: &[(&str, &str, &str, &[&str])] = &[
        // croner: test_cron_expression_second_sunday_using_seven, "0 0 0 * * 7#2" (1 = SUN here).
        (CRONER, "cron(0 0 ? * 1#2 *)", "2024-10-01T00:00:00Z",
            &["2024-10-13T00:00+00:00", "2024-11-10T00:00+00:00", "2024-12-08T00:00+00:00", "2025-01-12T00:00+00:00",
              "2025-02-09T00:00+00:00"]),
        // croner: test_cron_expression_last_sunday_using_seven, "0 0 0 * * 7L".
        (CRONER, "cron(0 0 ? * 1L *)", "2024-10-01T00:00:00Z",
            &["2024-10-27T00:00+00:00", "2024-11-24T00:00+00:00", "2024-12-29T00:00+00:00"]),
        // croner: test_closest_weekday, 15W: the 15th of July 2023 is a Saturday, of October a Sunday.
        (CRONER, "cron(0 0 15W * ? *)", "2023-06-01T00:00:00Z",
            &["2023-06-15T00:00+00:00", "2023-07-14T00:00+00:00", "2023-08-15T00:00+00:00", "2023-09-15T00:00+00:00",
              "2023-10-16T00:00+00:00"]),
        // croner: test_closest_weekday_month_boundary; Quartz: "if the 1st is a Saturday, 1W fires
        // on Monday the 3rd" (W never leaves the month). June 2025 starts on a Sunday.
        (QUARTZ, "cron(0 0 1W * ? *)", "2025-05-15T00:00:00Z",
            &["2025-06-02T00:00+00:00", "2025-07-01T00:00+00:00", "2025-08-01T00:00+00:00", "2025-09-01T00:00+00:00",
              "2025-10-01T00:00+00:00", "2025-11-03T00:00+00:00"]),
        // Quartz: LW is the last weekday of the month (31 Jan 2026 is a Saturday, 31 May a Sunday).
        (QUARTZ, "cron(0 0 LW * ? *)", "2026-01-15T00:00:00Z",
            &["2026-01-30T00:00+00:00", "2026-02-27T00:00+00:00", "2026-03-31T00:00+00:00", "2026-04-30T00:00+00:00",
              "2026-05-29T00:00+00:00"]),
        // Quartz: "6L" is the last Friday of the month; names are accepted too.
        (QUARTZ, "cron(0 0 ? * FRIL 2022)", "2022-09-01T00:00:00Z",
            &["2022-09-30T00:00+00:00", "2022-10-28T00:00+00:00", "2022-11-25T00:00+00:00", "2022-12-30T00:00+00:00"]),
    ];
    for (source, expr, now, want) in cases {
        assert_eq!(fires(expr, Tz::UTC, now, want.len()), *want, "{expr}; {source}");
    }
    assert_eq!(fires("cron(0 0 ? * FRIL 2022)", Tz::UTC, "2022-09-01T00:00:00Z", 100).len(), 4);
}

#[test]
fn what_the_pages_call_invalid_is_rejected_with_the_rule() {
    // (source, expression, the start of the message)
    let cases = [
        // "If you use a '#' character, you can define only one expression in the day-of-week field."
        (
            EB_CRON,
            "cron(0 8 ? * 3#1,6#3 *)",
            "day-of-week \"3#1,6#3\": with L or # the field takes that one expression only",
        ),
        // "You can't use * in both the Day-of-month and Day-of-week fields."
        (EB_CRON, "cron(0 8 * * * *)", "AWS rejects * in both day-of-month and day-of-week"),
        // "You can't specify the Day-of-month and Day-of-week fields in the same cron expression."
        (EB_CRON, "cron(0 8 1 * MON *)", "day-of-month \"1\" and day-of-week \"MON\" are both set"),
        // The older AAS_CRON prose example breaks that rule; the page now writes `30 6 ? * MON *`.
        (AAS_CRON, "cron(30 6 * * 2 *)", "day-of-month is * and day-of-week \"2\" is set"),
        // Values: day-of-week 1-7 (SUN-SAT), year 1970-2199.
        (EB_CRON, "cron(0 8 ? * 8 *)", "day-of-week \"8\" out of range 1-7 (SUN-SAT)"),
        (EB_CRON, "cron(0 8 1 * ? 2200)", "year \"2200\" out of range 1970-2199"),
        // The wildcards table: no / in day-of-week, no W outside day-of-month.
        (EB_CRON, "cron(0 8 ? * 2/2 *)", "day-of-week takes no / in AWS cron"),
        (EB_CRON, "cron(0 8W * * ? *)", "hours \"8W\": cannot read \"8W\""),
    ];
    for (source, expr, want) in cases {
        let e = CronExpr::parse(expr).unwrap_err();
        assert!(e.message.starts_with(want), "{expr}: {e}; {source}");
    }
}
