use super::*;

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(1_800_000_000 + secs, 0).unwrap()
}

const RULE: Rule = Rule { expires: TimeDelta::minutes(60), grace: TimeDelta::seconds(30) };
const HOUR: Step = Step::Set { minutes: 60 };

fn busy() -> Busy {
    Busy::Yes("pool jobs holds 1 reservation".into())
}

#[test]
fn the_step_table() {
    let unknown = State::default();
    let unprotected = State { known: Some(None), idle_since: None };
    let fresh = State { known: Some(Some(t(3600))), idle_since: None };
    let half_gone = State { known: Some(Some(t(1800))), idle_since: None };
    let expired = State { known: Some(Some(t(-1))), idle_since: None };
    let idle_10s = State { known: Some(Some(t(3000))), idle_since: Some(t(-10)) };
    let idle_30s = State { known: Some(Some(t(3000))), idle_since: Some(t(-30)) };
    let unknown_idle_30s = State { known: None, idle_since: Some(t(-30)) };
    let unknown_why = Busy::Unknown("GET http://127.0.0.1:8080/busy: HTTP 500".into());
    // (case, state, busy, step, idle clock after)
    type Case = (&'static str, State, Busy, Step, Option<DateTime<Utc>>);
    let cases: [Case; 12] = [
        ("busy, never set: set", unknown, busy(), HOUR, None),
        ("busy, unprotected: set", unprotected, busy(), HOUR, None),
        ("busy, just set: nothing", fresh, busy(), Step::Nothing, None),
        ("busy, half the expiry left: renew", half_gone, busy(), HOUR, None),
        ("busy, expired: set again", expired, busy(), HOUR, None),
        ("busy again within the grace: renew not needed", idle_10s, busy(), Step::Nothing, None),
        ("idle now: the grace starts", fresh, Busy::No, Step::Nothing, Some(t(0))),
        ("idle 10 s of 30: wait", idle_10s, Busy::No, Step::Nothing, Some(t(-10))),
        ("idle 30 s: clear", idle_30s, Busy::No, Step::Clear, Some(t(-30))),
        (
            "idle, unknown after a restart: clear after the grace",
            unknown_idle_30s,
            Busy::No,
            Step::Clear,
            Some(t(-30)),
        ),
        (
            "idle, already unprotected: nothing",
            State { idle_since: Some(t(-99)), ..unprotected },
            Busy::No,
            Step::Nothing,
            Some(t(-99)),
        ),
        (
            "unknown busy-ness: nothing, the idle clock kept",
            idle_30s,
            unknown_why,
            Step::Nothing,
            Some(t(-30)),
        ),
    ];
    for (case, state, b, step, idle) in cases {
        assert_eq!(next(&RULE, &state, &b, t(0)), (step, idle), "{case}");
    }
}

#[test]
fn an_expired_protection_is_not_cleared_again() {
    let expired = State { known: Some(Some(t(-1))), idle_since: Some(t(-300)) };
    assert_eq!(next(&RULE, &expired, &Busy::No, t(0)).0, Step::Nothing);
}

#[test]
fn a_zero_grace_clears_on_the_first_idle_tick() {
    let rule = Rule { grace: TimeDelta::zero(), ..RULE };
    let fresh = State { known: Some(Some(t(3600))), idle_since: None };
    assert_eq!(next(&rule, &fresh, &Busy::No, t(0)), (Step::Clear, Some(t(0))));
}

#[test]
fn minutes_stay_within_what_ecs_accepts() {
    assert_eq!(minutes(TimeDelta::seconds(20)), 1);
    assert_eq!(minutes(TimeDelta::minutes(90)), 90);
    assert_eq!(minutes(TimeDelta::days(30)), MAX_MINUTES);
}

#[test]
fn recording_a_step() {
    let mut s = State::default();
    assert!(!s.protected(t(0)));
    s.set(t(60));
    assert!(s.protected(t(0)) && !s.protected(t(60)));
    s.cleared();
    assert_eq!(s.known, Some(None));
}

fn task(n: u32, enabled: bool, expires: i64) -> TaskProtection {
    TaskProtection { task: format!("arn:task/{n}"), enabled, expires_at: Some(t(expires)) }
}

#[test]
fn a_scale_in_waits_only_when_every_running_task_is_protected() {
    let running: Vec<String> = (1..=3).map(|n| format!("arn:task/{n}")).collect();
    let all = [task(1, true, 600), task(2, true, 120), task(3, true, 3600)];
    let why = all_protected(&running, &all, t(0)).unwrap();
    assert_eq!(
        why,
        "tasks_protected: all 3 running tasks have scale-in protection; the first protection ends at 2027-01-15T08:02:00Z"
    );
    let one_off = [task(1, true, 600), task(2, false, 120), task(3, true, 3600)];
    assert_eq!(all_protected(&running, &one_off, t(0)), None, "task 2 is not protected");
    let one_expired = [task(1, true, 600), task(2, true, -5), task(3, true, 3600)];
    assert_eq!(all_protected(&running, &one_expired, t(0)), None, "task 2's protection ran out");
    assert_eq!(all_protected(&running, &all[..2], t(0)), None, "task 3 not reported: not protected");
    assert_eq!(all_protected(&[], &all, t(0)), None, "no tasks");
}
