//! Table-driven tests of each pool rule and refusal, and properties over random operations.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::waiting::key;
use super::*;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2027-01-18T09:00:00Z").unwrap().with_timezone(&Utc)
}

fn at(s: i64) -> DateTime<Utc> {
    t0() + TimeDelta::seconds(s)
}

fn secs(s: i64) -> TimeDelta {
    TimeDelta::seconds(s)
}

/// 1000 units, preemption on, waits up to 300 s, TTL 60 s by default and 3600 s at most; 4
/// may wait and 100 be held.
fn spec() -> PoolSpec {
    PoolSpec {
        capacity: 1000,
        preemption: true,
        max_wait: secs(300),
        default_ttl: secs(60),
        max_ttl: Some(secs(3600)),
        max_queue: 4,
        max_active: 100,
    }
}

fn ask(amount: u64, priority: Priority) -> Request {
    Request::new(amount, priority)
}

fn waiting(amount: u64, priority: Priority, wait_s: i64) -> Request {
    Request { wait: Some(secs(wait_s)), ..ask(amount, priority) }
}

fn lasting(amount: u64, priority: Priority, ttl_s: i64) -> Request {
    Request { ttl: Some(secs(ttl_s)), ..ask(amount, priority) }
}

fn granted(o: &Outcome) -> Id {
    match o {
        Outcome::Granted { id, .. } => *id,
        other => panic!("expected a grant, got {other:?}"),
    }
}

fn queued(o: &Outcome) -> Id {
    match o {
        Outcome::Queued { id, .. } => *id,
        other => panic!("expected to queue, got {other:?}"),
    }
}

fn state(pool: &mut Pool, id: Id, now: DateTime<Utc>) -> State {
    pool.get(id, now).expect("known id").state
}

/// Every reservation, a page at a time: the active ones by id, then the waiters in order.
fn listing(pool: &mut Pool, now: DateTime<Utc>) -> Vec<View> {
    let mut all: Vec<View> = Vec::new();
    loop {
        let page = pool.active_page(now, all.last().map_or(Id(0), |v| v.id), 3);
        if page.is_empty() {
            break;
        }
        all.extend(page);
    }
    let active = all.len();
    loop {
        let page = pool.queue_page(now, all.len() - active + 1, 2);
        if page.is_empty() {
            break;
        }
        all.extend(page);
    }
    all
}

use Priority::{Critical, High, Low, Medium};

#[test]
fn priorities_parse_order_and_serialize() {
    assert!(Low < Medium && Medium < High && High < Critical);
    for name in Priority::NAMES {
        let p: Priority = name.parse().unwrap();
        assert_eq!(
            (p.to_string().as_str(), serde_json::to_value(p).unwrap()),
            (*name, serde_json::json!(name))
        );
    }
    assert_eq!(" HIGH ".parse::<Priority>(), Ok(High));
    let e = "urgent".parse::<Priority>().unwrap_err();
    assert_eq!(e.to_string(), "unknown priority \"urgent\"; expected one of critical, high, medium, low");
    assert!(
        [Critical, High].iter().all(|p| p.may_preempt()) && ![Medium, Low].iter().any(|p| p.may_preempt())
    );
}

#[test]
fn refusals_have_stable_codes_and_read_well() {
    struct Case {
        /// Requests made first (all must be granted or queued).
        before: Vec<Request>,
        req: Request,
        code: &'static str,
        text: &'static str,
    }
    let cases = [
        Case {
            before: vec![],
            req: ask(0, Low),
            code: "zero_amount",
            text: "asked for 0 units; a reservation needs at least 1",
        },
        Case {
            before: vec![],
            req: ask(1200, Critical),
            code: "over_capacity",
            text: "asked for 1200 but the whole pool holds only 1000, so it can never fit",
        },
        Case {
            before: vec![ask(800, High)],
            req: ask(300, Medium),
            code: "insufficient",
            text: "asked for 300 but only 200 of 1000 are available and the request does not wait",
        },
        Case {
            before: vec![],
            req: waiting(10, Low, 600),
            code: "wait_too_long",
            text: "asked to wait 600s but a request may wait at most 300s",
        },
        Case {
            before: vec![],
            req: Request { wait: Some(TimeDelta::milliseconds(300_500)), ..ask(10, Low) },
            code: "wait_too_long",
            text: "asked to wait 300500ms but a request may wait at most 300s",
        },
        Case {
            before: vec![],
            req: lasting(10, Low, 0),
            code: "zero_ttl",
            text: "the ttl must be positive, not 0s",
        },
        Case {
            before: vec![],
            req: lasting(10, Low, 7200),
            code: "ttl_too_long",
            text: "asked for a ttl of 7200s but the pool allows at most 3600s",
        },
        Case {
            before: [vec![ask(1000, Critical)], vec![waiting(10, Low, 60); 4]].concat(),
            req: waiting(10, Critical, 60),
            code: "queue_full",
            text: "the queue is full: 4 queued requests wait already",
        },
        Case {
            before: vec![ask(800, High), waiting(900, High, 60), waiting(900, Medium, 60)],
            req: ask(100, Medium),
            code: "queue_ahead",
            text: "2 queued requests are ahead of this one and the request does not wait",
        },
        Case {
            before: vec![ask(800, High), waiting(900, High, 60)],
            req: ask(100, High),
            code: "queue_ahead",
            text: "1 queued request is ahead of this one and the request does not wait",
        },
    ];
    for (i, c) in cases.into_iter().enumerate() {
        let mut pool = Pool::new(spec());
        for r in c.before {
            assert!(!matches!(pool.request(r, t0()), Outcome::Refused(_)), "case {i}: setup");
        }
        let Outcome::Refused(r) = pool.request(c.req, t0()) else { panic!("case {i}: not refused") };
        assert_eq!((r.code(), r.to_string().as_str()), (c.code, c.text), "case {i}");
        let json = serde_json::to_value(Outcome::Refused(r.clone())).unwrap();
        assert_eq!(
            (json["outcome"].as_str(), json["code"].as_str()),
            (Some("refused"), Some(c.code)),
            "case {i}"
        );
    }
    let mut pool = Pool::new(PoolSpec { max_queue: 0, ..spec() });
    granted(&pool.request(ask(1000, Critical), t0()));
    let Outcome::Refused(r) = pool.request(waiting(10, Critical, 60), t0()) else { panic!("queued") };
    assert_eq!((r.code(), r.to_string().as_str()), ("queue_full", "the pool does not queue requests"));
}

#[test]
fn a_waiter_whose_deadline_comes_is_refused_at_the_deadline_not_before() {
    let mut pool = Pool::new(spec());
    granted(&pool.request(lasting(1000, High, 3600), t0()));
    // The holder's TTL runs far past the deadline, but holders release early: no prediction.
    let w = queued(&pool.request(waiting(100, Low, 30), t0()));
    assert_eq!(state(&mut pool, w, at(29)), State::Queued);
    let v = pool.get(w, at(30)).unwrap();
    assert_eq!(v.state.to_string(), "refused (deadline_passed)");
    assert_eq!(
        v.reason.as_deref(),
        Some(
            "the deadline passed after 30s in the queue: asked for 100 while 0 of 1000 were available \
             and no queued request was ahead"
        )
    );
    // A deadline is exclusive: capacity freed at the very deadline comes too late.
    let mut pool = Pool::new(spec());
    granted(&pool.request(lasting(1000, High, 30), t0()));
    let w = queued(&pool.request(waiting(100, Low, 30), t0()));
    let v = pool.get(w, at(45)).unwrap();
    assert!(v.reason.unwrap().contains("1000 of 1000 were available"));
    assert_eq!(pool.status(at(45)).totals.refused_total, 1);
}

#[test]
fn ids_count_from_one_and_refusals_take_none() {
    let mut pool = Pool::new(spec());
    assert_eq!(granted(&pool.request(ask(100, Low), t0())), Id(1));
    assert!(matches!(pool.request(ask(0, Low), t0()), Outcome::Refused(_)));
    assert_eq!(granted(&pool.request(ask(100, Low), t0())), Id(2));
    assert_eq!(queued(&pool.request(waiting(900, Low, 10), t0())), Id(3));
    assert_eq!(Id(3).to_string(), "3");
}

#[test]
fn grants_fill_the_pool_exactly_and_no_further() {
    let mut pool = Pool::new(spec());
    for _ in 0..4 {
        granted(&pool.request(ask(250, Medium), t0()));
    }
    assert_eq!((pool.available(), pool.utilization()), (0, 1.0));
    let refused = Outcome::Refused(Refusal::Insufficient { asked: 1, available: 0, capacity: 1000 });
    assert_eq!(pool.request(ask(1, Medium), t0()), refused);
    assert_eq!(pool.check(), Ok(()));
}

#[test]
fn the_queue_serves_priority_then_deadline_then_arrival() {
    let mut pool = Pool::new(spec());
    let holder = granted(&pool.request(lasting(1000, Low, 3600), t0()));
    let low = queued(&pool.request(waiting(1000, Low, 100), t0()));
    let late = queued(&pool.request(waiting(1000, Medium, 200), t0()));
    let early = queued(&pool.request(waiting(1000, Medium, 100), at(1)));
    let early_too = queued(&pool.request(waiting(1000, Medium, 99), at(2))); // same deadline, later
    let order: Vec<(Id, Option<usize>)> =
        listing(&mut pool, at(2)).iter().map(|v| (v.id, v.position)).collect();
    assert_eq!(
        order,
        [(holder, None), (early, Some(1)), (early_too, Some(2)), (late, Some(3)), (low, Some(4))]
    );
    let mut served = vec![];
    for (i, id) in [holder, early, early_too, late].into_iter().enumerate() {
        served.extend(pool.release(id, at(3 + i as i64)).unwrap().served);
    }
    assert_eq!(served, [early, early_too, late, low]);
}

#[test]
fn a_head_that_does_not_fit_blocks_those_behind_it() {
    let mut pool = Pool::new(spec());
    granted(&pool.request(lasting(900, High, 3600), t0()));
    let big = queued(&pool.request(waiting(500, Medium, 60), t0()));
    // 100 are free, but a small request of the same priority and deadline queues behind.
    let o = pool.request(waiting(50, Medium, 60), t0());
    assert!(matches!(o, Outcome::Queued { position: 2, .. }), "{o:?}");
    // One that will not wait has no deadline: it cannot overtake waiters of its priority.
    let Outcome::Refused(r) = pool.request(ask(50, Medium), t0()) else { panic!() };
    assert_eq!(r, Refusal::QueueAhead { ahead: 2 });
    // A higher priority goes first; so does an earlier deadline (the order's second key).
    granted(&pool.request(ask(20, High), t0()));
    granted(&pool.request(waiting(20, Medium, 30), t0()));
    assert_eq!(pool.get(big, t0()).unwrap().position, Some(1));
    assert_eq!(pool.check(), Ok(()));
}

/// Holders are granted one second apart, in order, on a pool of 1000 full to the brim.
fn preempt_case(preemption: bool, holders: &[(u64, Priority)], req: Request) -> (Outcome, Vec<State>) {
    let mut pool = Pool::new(PoolSpec { preemption, ..spec() });
    let ids: Vec<Id> = holders
        .iter()
        .enumerate()
        .map(|(i, (n, p))| granted(&pool.request(lasting(*n, *p, 3600), at(i as i64))))
        .collect();
    let o = pool.request(req, at(10));
    assert_eq!(pool.check(), Ok(()));
    (o, ids.into_iter().map(|id| state(&mut pool, id, at(10))).collect())
}

#[test]
fn preemption_only_downward_only_when_it_helps_and_as_little_as_it_can() {
    struct Case {
        name: &'static str,
        preemption: bool,
        /// Granted in this order, one second apart; together they fill the pool.
        holders: &'static [(u64, Priority)],
        req: Request,
        /// The holders preempted, by id (the holders are 1, 2, 3…).
        victims: &'static [u64],
    }
    let case = |name, preemption, holders, req, victims| Case { name, preemption, holders, req, victims };
    let cases = [
        case("disabled", false, &[(1000, Low)], ask(100, Critical), &[]),
        case("medium may not preempt", true, &[(1000, Low)], ask(100, Medium), &[]),
        case("never an equal priority", true, &[(1000, High)], ask(100, High), &[]),
        case("lowest priority first", true, &[(500, Low), (500, Medium)], ask(100, Critical), &[1]),
        case("youngest grant first", true, &[(500, Low), (500, Low)], ask(100, High), &[2]),
        case("as many as needed", true, &[(300, Medium), (300, Low), (400, Low)], ask(600, High), &[3, 2]),
        // Youngest first takes the 100, then the 500; the 100 turns out not to be needed: spared.
        case(
            "unneeded victims spared",
            true,
            &[(400, High), (500, Low), (100, Low)],
            ask(450, Critical),
            &[2],
        ),
        case("pointless: cannot fit anyway", true, &[(600, Critical), (400, Low)], ask(500, High), &[]),
    ];
    for c in cases {
        let (o, states) = preempt_case(c.preemption, c.holders, c.req);
        let me = Id(c.holders.len() as u64 + 1);
        let want: Vec<State> = (1..=c.holders.len() as u64)
            .map(|i| if c.victims.contains(&i) { State::Preempted { by: me } } else { State::Active })
            .collect();
        assert_eq!(states, want, "{}", c.name);
        let victims: Vec<Id> = c.victims.iter().map(|i| Id(*i)).collect();
        match o {
            Outcome::Granted { preempted, .. } => assert_eq!(preempted, victims, "{}", c.name),
            Outcome::Refused(r) => assert!(victims.is_empty() && r.code() == "insufficient", "{}", c.name),
            Outcome::Queued { .. } => panic!("{}: queued", c.name),
        }
    }
}

#[test]
fn a_preempting_request_still_waits_behind_higher_or_equal_waiters() {
    let mut pool = Pool::new(spec());
    granted(&pool.request(lasting(600, High, 3600), t0()));
    let low = granted(&pool.request(lasting(400, Low, 3600), t0()));
    queued(&pool.request(waiting(700, High, 60), t0())); // Low's 400 is not enough for it
    let Outcome::Refused(r) = pool.request(ask(300, High), t0()) else { panic!() };
    assert_eq!(r, Refusal::QueueAhead { ahead: 1 });
    let Outcome::Granted { id, preempted, .. } = pool.request(ask(300, Critical), t0()) else { panic!() };
    assert_eq!((preempted, state(&mut pool, low, t0())), (vec![low], State::Preempted { by: id }));
}

#[test]
fn a_waiter_preempts_when_it_reaches_the_head_and_can() {
    let mut pool = Pool::new(spec());
    let critical = granted(&pool.request(lasting(300, Critical, 30), t0()));
    let medium = granted(&pool.request(lasting(200, Medium, 3600), t0()));
    let low = granted(&pool.request(lasting(500, Low, 3600), t0()));
    // 800 needed; preempting Low and Medium frees only 700.
    let w = queued(&pool.request(waiting(800, High, 120), t0()));
    // At 30 s the Critical expires: 300 free, and Low's 500 makes up the rest.
    let v = pool.get(w, at(31)).unwrap();
    assert_eq!((v.state, v.granted_at, v.expires_at), (State::Active, Some(at(30)), Some(at(90))));
    assert_eq!(state(&mut pool, critical, at(31)), State::Expired);
    assert_eq!(state(&mut pool, medium, at(31)), State::Active);
    let v = pool.get(low, at(31)).unwrap();
    assert_eq!(v.state, State::Preempted { by: w });
    assert_eq!(v.reason.as_deref(), Some("preempted by reservation 4 of higher priority"));
}

#[test]
fn ttls_run_from_the_grant_and_waiters_are_served_the_moment_capacity_frees() {
    let mut polled = Pool::new(spec());
    let holder = granted(&polled.request(lasting(1000, Low, 60), t0()));
    let w = queued(&polled.request(Request { ttl: Some(secs(120)), ..waiting(500, Low, 300) }, at(10)));
    let mut quiet = polled.clone();
    assert_eq!(state(&mut polled, w, at(59)), State::Queued);
    assert_eq!(state(&mut polled, holder, at(60)), State::Expired);
    let v = polled.get(w, at(60)).unwrap();
    assert_eq!((v.state, v.granted_at, v.expires_at), (State::Active, Some(at(60)), Some(at(180))));
    // Nobody polled the quiet pool, and yet it tells the same story.
    assert_eq!(quiet.get(w, at(60)), polled.get(w, at(60)));
    assert_eq!(state(&mut quiet, w, at(500)), State::Expired);
    polled.advance(at(500));
    assert_eq!(polled, quiet);
    let s = quiet.status(at(500));
    assert_eq!(
        (s.allocated, s.totals.expired_total, s.totals.mean_wait_ms, s.totals.max_wait_ms_seen),
        (0, 2, Some(50_000), Some(50_000))
    );
}

#[test]
fn release_frees_and_serves_a_cancel_takes_back_and_errors_name_the_state() {
    let mut pool = Pool::new(spec());
    let a = granted(&pool.request(lasting(1000, Low, 3600), t0()));
    let w = queued(&pool.request(waiting(600, Medium, 60), t0()));
    let w2 = queued(&pool.request(waiting(600, Medium, 60), t0()));
    let r = pool.release(a, at(1)).unwrap();
    assert_eq!(r, Released { id: a, amount: 1000, cancelled: false, served: vec![w] });
    let r = pool.release(w2, at(2)).unwrap();
    assert_eq!(r, Released { id: w2, amount: 600, cancelled: true, served: vec![] });
    let e = pool.release(a, at(3)).unwrap_err();
    assert_eq!(
        (e.code(), e.to_string()),
        ("not_active", "reservation 1 is no longer held or queued: it is released".into())
    );
    let e = pool.release(Id(99), at(3)).unwrap_err();
    assert_eq!(e, PoolError::NotFound { id: Id(99) });
    assert_eq!(e.code(), "not_found");
    assert_eq!(
        pool.release(w, at(61)).unwrap_err().to_string(),
        "reservation 2 is no longer held or queued: it is expired"
    );
    let s = pool.status(at(61));
    assert_eq!(
        (s.totals.released_total, s.totals.expired_total, s.totals.queued_total, s.totals.granted_total),
        (2, 1, 2, 2)
    );
}

#[test]
fn finished_reservations_are_remembered_up_to_the_limit() {
    let mut pool = Pool::new(spec());
    for _ in 0..TOMBSTONES + 6 {
        let id = granted(&pool.request(ask(1, Low), t0()));
        pool.release(id, t0()).unwrap();
    }
    assert_eq!(pool.get(Id(6), t0()), None);
    assert_eq!(pool.release(Id(6), t0()).unwrap_err().code(), "not_found");
    assert_eq!(state(&mut pool, Id(7), t0()), State::Released);
    assert_eq!(pool.finished.len(), TOMBSTONES);
}

#[test]
fn time_going_backwards_counts_as_the_last_time_seen() {
    let mut pool = Pool::new(spec());
    granted(&pool.request(ask(100, Low), at(100)));
    let Outcome::Granted { id, expires_at, .. } = pool.request(ask(100, Low), at(50)) else { panic!() };
    assert_eq!(expires_at, at(160));
    assert_eq!(pool.get(id, t0()).unwrap().granted_at, Some(at(100)));
    assert_eq!(pool.status(at(159)).active, 2);
    assert_eq!(pool.status(at(0)).active, 2);
    assert_eq!(pool.status(at(160)).active, 0);
}

#[test]
fn status_counts_and_pressure_shows_saturation() {
    let mut pool = Pool::new(spec());
    granted(&pool.request(lasting(800, Medium, 3600), t0()));
    queued(&pool.request(waiting(400, Medium, 60), t0()));
    queued(&pool.request(waiting(300, Low, 60), at(10)));
    pool.request(ask(0, Low), at(10));
    let s = pool.status(at(30));
    assert_eq!((s.allocated, s.available, s.active, s.queued, s.queued_amount), (800, 200, 1, 2, 700));
    assert_eq!((s.oldest_wait_ms, s.utilization, s.pressure), (Some(30_000), 0.8, 150.0));
    assert_eq!(
        (s.totals.granted_total, s.totals.queued_total, s.totals.refused_total, s.totals.mean_wait_ms),
        (1, 2, 1, None)
    );
    assert_eq!((pool.queue_depth(), pool.pressure()), (2, 150.0));
    let s = pool.status(at(60));
    assert_eq!((s.totals.refused_total, s.queued, s.pressure), (2, 1, 110.0));
    assert_eq!(Pool::new(PoolSpec { capacity: 0, ..spec() }).pressure(), 0.0);
}

#[test]
fn json_shapes_for_the_api() {
    let mut pool = Pool::new(spec());
    let low = granted(&pool.request(Request { holder: Some("batch".into()), ..ask(1000, Low) }, t0()));
    let o = pool.request(ask(10, Critical), t0());
    let json = serde_json::to_value(&o).unwrap();
    assert_eq!(json["outcome"], "granted");
    assert_eq!(json["preempted"], serde_json::json!([1]));
    let v = serde_json::to_value(pool.get(low, t0()).unwrap()).unwrap();
    assert_eq!(
        (&v["state"], &v["by"], &v["holder"], &v["priority"]),
        (&"preempted".into(), &2.into(), &"batch".into(), &"low".into())
    );
    let o = pool.request(waiting(995, Medium, 5), t0());
    assert_eq!(serde_json::to_value(&o).unwrap()["position"], 1);
    let v = serde_json::to_value(pool.get(Id(3), at(5)).unwrap()).unwrap();
    assert_eq!(
        (&v["state"], &v["code"], &v["waited_ms"]),
        (&"refused".into(), &"deadline_passed".into(), &5000.into())
    );
    let s = serde_json::to_value(pool.status(at(5))).unwrap();
    assert_eq!((&s["preempted_total"], &s["max_wait_ms_seen"]), (&1.into(), &serde_json::Value::Null));
}

#[test]
fn check_reports_broken_invariants() {
    let mut pool = Pool::new(PoolSpec { preemption: false, ..spec() });
    granted(&pool.request(lasting(1000, Low, 3600), t0()));
    queued(&pool.request(waiting(10, Low, 60), t0()));
    queued(&pool.request(waiting(10, High, 60), t0()));
    assert_eq!(pool.check(), Ok(()));
    let mut broken = pool.clone();
    broken.held.allocated -= 1;
    assert_eq!(broken.check(), Err("allocated is not the sum of the active amounts".into()));
    // The head filed under the key of a later place.
    let mut broken = pool.clone();
    let head = broken.waiting.head().unwrap().clone();
    let k = broken.waiting.keys[&head.id];
    broken.waiting.line.remove(&k);
    broken.waiting.line.insert((k.0, at(3600), k.2), head);
    assert_eq!(broken.check(), Err("the queue is out of order".into()));
    let mut broken = pool.clone();
    broken.waiting.deadlines.clear();
    assert_eq!(broken.check(), Err("an index disagrees with what it indexes".into()));
    let mut broken = pool.clone();
    let mut held = broken.held.remove(Id(1)).unwrap();
    held.amount = 900;
    broken.held.insert(held);
    assert_eq!(broken.check(), Err("the queue's head could be served".into()));
}

#[test]
fn issue_14_a_pool_holds_at_most_max_active_reservations() {
    let mut pool = Pool::new(PoolSpec { max_active: 3, preemption: false, ..spec() });
    for _ in 0..3 {
        granted(&pool.request(ask(1, High), t0()));
    }
    // Units to spare, but no slot: refused unless it waits; a waiter is served when one ends.
    let Outcome::Refused(r) = pool.request(ask(1, Critical), t0()) else { panic!("not refused") };
    assert_eq!(
        (r.code(), r.to_string().as_str()),
        (
            "active_full",
            "the pool already holds 3 reservations, the most it holds at once, and the request does not wait"
        )
    );
    let w = queued(&pool.request(waiting(1, Low, 60), t0()));
    let r = pool.release(Id(2), at(1)).unwrap();
    assert_eq!((r.served, state(&mut pool, w, at(1))), (vec![w], State::Active));
    assert_eq!(pool.status(at(1)).active, 3);
    // Short of units as well as of a slot: the units are the shortage named.
    let Outcome::Refused(r) = pool.request(ask(999, Low), at(1)) else { panic!() };
    assert_eq!(r.code(), "insufficient");
    assert_eq!(pool.check(), Ok(()));
}

#[test]
fn issue_14_preemption_frees_a_slot_as_it_frees_units() {
    let mut pool = Pool::new(PoolSpec { max_active: 3, ..spec() });
    let old = granted(&pool.request(lasting(1, Low, 3600), t0()));
    let young = granted(&pool.request(lasting(1, Low, 3600), at(1)));
    granted(&pool.request(lasting(1, High, 3600), at(2)));
    // 997 units are free; the slot is what is short, and one victim, the youngest low, frees it.
    let Outcome::Granted { id, preempted, .. } = pool.request(ask(5, Critical), at(3)) else { panic!() };
    assert_eq!(preempted, vec![young]);
    assert_eq!(state(&mut pool, young, at(3)), State::Preempted { by: id });
    assert_eq!(state(&mut pool, old, at(3)), State::Active);
    // A medium request may not preempt: it is refused for want of a slot.
    assert_eq!(pool.request(ask(1, Medium), at(3)), Outcome::Refused(Refusal::ActiveFull { max_active: 3 }));
    assert_eq!(pool.check(), Ok(()));
}

fn secret(b: u8) -> Secret {
    Secret::from_bytes([b; Secret::LEN])
}

#[test]
fn issue_14_only_the_reservations_own_secret_releases_it() {
    let mut pool = Pool::new(spec());
    let mine = granted(&pool.request(Request { secret: Some(secret(1)), ..ask(600, Low) }, t0()));
    let bare = granted(&pool.request(ask(10, Low), t0()));
    let w = queued(&pool.request(Request { secret: Some(secret(2)), ..waiting(600, Low, 60) }, t0()));
    let wrong = |id| PoolError::WrongSecret { id };
    assert_eq!(pool.release_with(mine, Some(&secret(2)), at(1)), Err(wrong(mine)));
    assert_eq!(pool.release_with(mine, None, at(1)), Err(wrong(mine)));
    assert_eq!(pool.release_with(bare, Some(&secret(0)), at(1)), Err(wrong(bare)), "made without one");
    assert_eq!(pool.release_with(Id(99), Some(&secret(1)), at(1)), Err(PoolError::NotFound { id: Id(99) }));
    assert_eq!(state(&mut pool, mine, at(1)), State::Active);
    let r = pool.release_with(mine, Some(&secret(1)), at(1)).unwrap();
    assert_eq!(r.served, vec![w]);
    // A finished reservation still asks for its secret before it tells its state.
    assert_eq!(pool.release_with(mine, Some(&secret(2)), at(2)), Err(wrong(mine)));
    assert_eq!(pool.release_with(mine, Some(&secret(1)), at(2)).unwrap_err().code(), "not_active");
    assert_eq!(wrong(mine).code(), "wrong_secret");
    assert_eq!(pool.release_with(w, Some(&secret(2)), at(2)).unwrap().amount, 600);
}

#[test]
fn issue_14_secrets_read_back_compare_and_never_show() {
    let s = Secret::from_bytes(std::array::from_fn(|i| i as u8 * 7));
    let hex = s.to_hex();
    assert_eq!((hex.len(), &hex[..8]), (64, "00070e15"));
    assert_eq!(Secret::from_hex(&format!(" {} ", hex.to_uppercase())), Some(s.clone()));
    for bad in ["", "00", &hex[1..], &format!("{}zz", &hex[2..])] {
        assert_eq!(Secret::from_hex(bad), None, "{bad:?}");
    }
    assert!(!s.matches(&secret(0)) && s.matches(&s.clone()));
    assert_eq!(format!("{s:?}"), "Secret(…)");
    let mut pool = Pool::new(spec());
    let id = granted(&pool.request(Request { secret: Some(s), ..ask(1, Low) }, t0()));
    let v = pool.get(id, t0()).unwrap();
    assert!(
        !serde_json::to_string(&v).unwrap().contains(&hex[..16]) && !format!("{v:?}").contains(&hex[..16])
    );
}

#[test]
fn issue_14_pages_list_held_by_id_and_waiters_by_position() {
    let mut pool = Pool::new(PoolSpec { max_queue: 10, preemption: false, ..spec() });
    for _ in 0..5 {
        granted(&pool.request(lasting(200, Low, 3600), t0()));
    }
    let low = queued(&pool.request(waiting(1, Low, 60), t0()));
    let high = queued(&pool.request(waiting(1, High, 60), t0()));
    let ids = |page: Vec<View>| page.iter().map(|v| v.id.0).collect::<Vec<_>>();
    assert_eq!(ids(pool.active_page(t0(), Id(0), 2)), [1, 2]);
    assert_eq!(ids(pool.active_page(t0(), Id(2), 100)), [3, 4, 5]);
    assert_eq!(ids(pool.active_page(t0(), Id(5), 100)), Vec::<u64>::new());
    let q = pool.queue_page(t0(), 1, 10);
    assert_eq!(q.iter().map(|v| (v.id, v.position)).collect::<Vec<_>>(), [(high, Some(1)), (low, Some(2))]);
    assert_eq!(pool.queue_page(t0(), 2, 10)[0].position, Some(2));
    assert!(pool.queue_page(t0(), 3, 10).is_empty());
}

// ---- properties ----

#[derive(Clone, Debug)]
enum Op {
    Ask {
        amount: u64,
        priority: Priority,
        ttl_s: Option<i64>,
        wait_s: i64,
    },
    Release(usize),
    Wait(i64),
    /// The clock goes backwards by this many ms.
    Back(i64),
}

fn arb_op() -> impl Strategy<Value = Op> {
    let priority = prop::sample::select(vec![Low, Medium, High, Critical]);
    prop_oneof![
        5 => (prop_oneof![9 => 1u64..=50, 1 => 0u64..=110], priority, prop::option::of(0i64..=33), 0i64..=21)
            .prop_map(|(amount, priority, ttl_s, wait_s)| Op::Ask { amount, priority, ttl_s, wait_s }),
        2 => any::<usize>().prop_map(Op::Release),
        2 => (0i64..20_000).prop_map(Op::Wait),
        1 => (0i64..5_000).prop_map(Op::Back),
    ]
}

/// 100 units; waits up to 20 s; TTLs 10 s by default, 30 s at most; held at most a few
/// reservations at once, or as many as the units allow.
fn arb_spec() -> impl Strategy<Value = PoolSpec> {
    let max_active = prop_oneof![1 => 1usize..6, 1 => Just(1000)];
    (any::<bool>(), 0usize..6, max_active).prop_map(|(preemption, max_queue, max_active)| PoolSpec {
        capacity: 100,
        preemption,
        max_wait: secs(20),
        default_ttl: secs(10),
        max_ttl: Some(secs(30)),
        max_queue,
        max_active,
    })
}

fn request_of(op: &Op) -> Option<Request> {
    let Op::Ask { amount, priority, ttl_s, wait_s } = *op else { return None };
    Some(Request { ttl: ttl_s.map(secs), wait: Some(secs(wait_s)), ..ask(amount, priority) })
}

/// The id a release op aims at: a known one, or sometimes one never handed out.
fn target(known: &[Id], i: usize) -> Id {
    known.get(i % (known.len() + 1)).copied().unwrap_or(Id(9_999))
}

fn queued_views(pool: &mut Pool, now: DateTime<Utc>) -> Vec<View> {
    pool.queue_page(now, 1, usize::MAX)
}

/// The ids an outcome handed out.
fn id_of(o: &Outcome) -> Option<Id> {
    match o {
        Outcome::Granted { id, .. } | Outcome::Queued { id, .. } => Some(*id),
        Outcome::Refused(_) => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_under_any_sequence(spec in arb_spec(), ops in prop::collection::vec(arb_op(), 1..60)) {
        let mut pool = Pool::new(spec.clone());
        let mut now = t0();
        let (mut known, mut priority) = (Vec::new(), BTreeMap::new());
        let (mut asked, mut cancelled) = (0u64, 0u64);
        for op in &ops {
            let before = queued_views(&mut pool, now);
            match *op {
                Op::Ask { amount, priority: p, .. } => {
                    let available = pool.available();
                    let slot_short = pool.status(now).active >= spec.max_active;
                    let o = pool.request(request_of(op).unwrap(), now);
                    asked += 1;
                    if let Some(id) = id_of(&o) {
                        known.push(id);
                        priority.insert(id, p);
                    }
                    if let Outcome::Granted { preempted, .. } = &o && !preempted.is_empty() {
                        // Preemption happens only when needed (units or a slot short), and every
                        // victim was needed (without it, units or the slot would be short).
                        let freed: u64 = preempted.iter().map(|v| pool.get(*v, now).unwrap().amount).sum();
                        prop_assert!((amount > available || slot_short) && available + freed >= amount);
                        for v in preempted {
                            let without = available + freed - pool.get(*v, now).unwrap().amount;
                            prop_assert!(without < amount || (slot_short && preempted.len() == 1));
                        }
                    }
                }
                Op::Release(i) => {
                    if let Ok(r) = pool.release(target(&known, i), now) {
                        cancelled += u64::from(r.cancelled);
                    }
                }
                Op::Wait(ms) => {
                    now += TimeDelta::milliseconds(ms);
                    pool.advance(now);
                }
                Op::Back(ms) => {
                    now -= TimeDelta::milliseconds(ms);
                    pool.advance(now);
                }
            }
            prop_assert_eq!(pool.check(), Ok(()));
            let s = pool.status(now);
            prop_assert!(s.allocated <= s.capacity && s.allocated + s.available == s.capacity);
            prop_assert!(s.active <= spec.max_active && s.queued <= spec.max_queue);
            // Every request ends granted, refused or withdrawn, or is still waiting.
            prop_assert_eq!(asked, s.totals.granted_total + s.totals.refused_total + cancelled + s.queued as u64);
            let ended = s.totals.expired_total + s.totals.preempted_total + (s.totals.released_total - cancelled);
            prop_assert_eq!(s.totals.granted_total, ended + s.active as u64);
            // A waiter granted in this step had no one still waiting ahead of it.
            let after = queued_views(&mut pool, now);
            for w in &before {
                let v = pool.get(w.id, now).unwrap();
                if v.granted_at.is_some() {
                    let overtaken = after.iter().find(|a| before.iter().any(|b| b.id == a.id) && key(a) < key(&v));
                    prop_assert!(overtaken.is_none(), "{:?} granted ahead of {:?}", v.id, overtaken);
                }
            }
            // Preemption only downward, by High or Critical, and never when disabled.
            for id in &known {
                if let State::Preempted { by } = state(&mut pool, *id, now) {
                    prop_assert!(spec.preemption);
                    prop_assert!(priority[&by].may_preempt() && priority[&by] > priority[id]);
                }
            }
        }
        // With no new requests, every TTL and deadline runs out.
        let s = pool.status(now + TimeDelta::hours(1));
        prop_assert_eq!((s.allocated, s.active, s.queued, s.queued_amount), (0, 0, 0, 0));
        prop_assert_eq!(pool.check(), Ok(()));
    }

    #[test]
    fn polling_never_changes_outcomes(spec in arb_spec(), ops in prop::collection::vec(arb_op(), 1..60)) {
        // `polled` sees every moment; `quiet` only the requests and releases.
        let (mut polled, mut quiet) = (Pool::new(spec.clone()), Pool::new(spec));
        let mut now = t0();
        let mut known = Vec::new();
        for op in &ops {
            match *op {
                Op::Ask { .. } => {
                    let o = polled.request(request_of(op).unwrap(), now);
                    prop_assert_eq!(&o, &quiet.request(request_of(op).unwrap(), now));
                    known.extend(id_of(&o));
                }
                Op::Release(i) => {
                    let id = target(&known, i);
                    prop_assert_eq!(polled.release(id, now), quiet.release(id, now));
                }
                Op::Wait(ms) => {
                    now += TimeDelta::milliseconds(ms);
                    polled.advance(now);
                    polled.status(now);
                }
                // The polled pool may have seen a later time than the quiet one: not comparable.
                Op::Back(_) => {}
            }
            prop_assert_eq!(polled.check(), Ok(()));
            prop_assert_eq!(quiet.check(), Ok(()));
        }
        let end = now + TimeDelta::seconds(15);
        polled.advance(end);
        quiet.advance(end);
        prop_assert_eq!(polled, quiet);
    }
}
