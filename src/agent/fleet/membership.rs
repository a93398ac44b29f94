//! Who scales which service, with no database: ECS itself is the membership service.
//!
//! **Members** are the controller service's RUNNING tasks whose trimtab container ECS reports
//! HEALTHY. Every controller reads them each tick and computes the same answer.
//!
//! **Owner**: each managed service belongs to one member by rendezvous (highest random weight)
//! hashing of the service's key over the member task ARNs. When a member leaves, only its
//! services move (spread over the others); when one joins, it takes about 1/N of each.
//!
//! **Handover rule.** Let `T` be the tick interval (at least 10 s in controller mode) and `C`
//! the bound on one `UpdateService` (8 s, [`crate::aws::OPERATION_TIMEOUT`]).
//! 1. A controller acts on a service only when it has owned it at every one of its ticks for
//!    at least `T` (by its own monotonic clock, membership read to membership read), with no
//!    two of those reads more than `1.5 T` apart. Otherwise the service is *settling*: it is
//!    decided and reported, not acted on.
//! 2. A controller starts no `UpdateService` later than `T − C` after its tick's membership
//!    read, so every change it makes has finished within `T` of that read.
//!
//! *No decision is applied twice.* Say controller A owned service S and membership changes at
//! time `c` so that B owns it. A's ticks that read membership after `c` see the change and do
//! not act on S; a tick that read before `c` finishes its changes by that read `+ T < c + T`
//! (rule 2). B owns S first at a read `r₁ ≥ c`, and acts first at a read `r ≥ r₁ + T ≥ c + T`
//! (rule 1): after every change A could still make, so B's `DescribeServices` (which follows
//! its membership read) sees A's result and B decides on it. Each decision is made on the
//! count the previous one left, and applied once; a count that moved since B last saw it
//! starts B's cooldown (`Reconciler::observe`), and B rebuilds S's cooldowns from its events and
//! published metrics when it first owns it. B counts its ownership from the *end* of the read
//! that showed it (it surely saw the change by then); the deadline of rule 2 runs from the
//! read's *start* (A surely had not seen it before then).
//!
//! What the argument assumes: every member runs the same `T` (a rolling deployment that
//! changes `agent.interval` should go through a longer one first); ECS's `DescribeTasks` and
//! `DescribeServices` show a change to every reader once one has seen it; an `UpdateService`
//! the SDK gave up on after 8 s does not land later; and each membership state holds for an
//! interval (a member flapping faster than `T` is settled again every time it is seen back, and
//! the gap limit in rule 1 resets a controller whose ticks were held up).
//!
//! *No service stays unowned for more than two ticks.* After a change, the new owner sees it at
//! its next tick (within `T`) and acts at the one after (`T` later): S waits at most two of
//! its ticks.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use crate::aws::MemberTask;

/// The members of the controller service: RUNNING tasks whose member container is HEALTHY,
/// sorted by ARN.
pub fn members(tasks: &[MemberTask]) -> Vec<String> {
    let mut m: Vec<String> = tasks
        .iter()
        .filter(|t| t.last_status == "RUNNING" && t.health.as_deref() == Some("HEALTHY"))
        .map(|t| t.arn.clone())
        .collect();
    m.sort();
    m.dedup();
    m
}

/// 64-bit FNV-1a, then a final mix (SplitMix64's): stable across processes, versions and
/// platforms, which a rendezvous hash needs (std's hasher is seeded per process).
fn weight(member: &str, service: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in member.bytes().chain([0xff]).chain(service.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// A number in `0..n` that is the same for `member` in every process: spreads what members do
/// in time.
pub fn spread(member: &str, n: i32) -> i32 {
    i32::try_from(weight(member, "spread") % u64::from(n.max(1).unsigned_abs())).unwrap_or(0)
}

/// The member that owns `service`: the highest weight, ties by ARN. `None` without members.
pub fn owner<'a>(service: &str, members: &'a [String]) -> Option<&'a str> {
    members
        .iter()
        .max_by(|a, b| weight(a, service).cmp(&weight(b, service)).then_with(|| b.cmp(a)))
        .map(String::as_str)
}

pub use crate::status::Standing;

/// One controller's memory of what it has owned since when (handover rule 1).
#[derive(Debug)]
pub struct Ownership {
    interval: Duration,
    last_read: Option<Instant>,
    /// Owned services, with the read from which they have been owned without a break.
    since: BTreeMap<String, Instant>,
}

impl Ownership {
    pub fn new(interval: Duration) -> Self {
        Ownership { interval, last_read: None, since: BTreeMap::new() }
    }

    /// Records a membership read at `at` in which this controller owns `owned` (empty when it is
    /// not a member, or the read failed), and returns the standing of each owned service.
    pub fn observe<'a>(
        &mut self,
        at: Instant,
        owned: impl IntoIterator<Item = &'a str>,
    ) -> BTreeMap<String, Standing> {
        let held_up =
            self.last_read.is_some_and(|last| at.saturating_duration_since(last) > self.interval * 3 / 2);
        if held_up {
            self.since.clear();
        }
        self.last_read = Some(at);
        let mut since = BTreeMap::new();
        let mut standing = BTreeMap::new();
        for s in owned {
            let from = self.since.get(s).copied().unwrap_or(at);
            let st = if at.saturating_duration_since(from) >= self.interval {
                Standing::Acting
            } else {
                Standing::Settling
            };
            since.insert(s.to_owned(), from);
            standing.insert(s.to_owned(), st);
        }
        self.since = since;
        standing
    }

    /// Forgets everything: the next read starts over (a failed membership read).
    pub fn reset(&mut self, at: Instant) {
        self.since.clear();
        self.last_read = Some(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(arn: &str, status: &str, health: Option<&str>) -> MemberTask {
        MemberTask {
            arn: arn.into(),
            last_status: status.into(),
            health: health.map(Into::into),
            started_at: None,
        }
    }

    #[test]
    fn members_are_running_and_healthy() {
        let tasks = [
            task("arn:c", "RUNNING", Some("HEALTHY")),
            task("arn:a", "RUNNING", Some("HEALTHY")),
            task("arn:b", "RUNNING", Some("UNHEALTHY")),
            task("arn:d", "RUNNING", Some("UNKNOWN")),
            task("arn:e", "PENDING", Some("HEALTHY")),
            task("arn:f", "DEACTIVATING", Some("HEALTHY")),
            task("arn:g", "RUNNING", None),
        ];
        assert_eq!(members(&tasks), ["arn:a", "arn:c"]);
    }

    #[test]
    fn rendezvous_spreads_services_and_moves_only_the_leavers() {
        let three: Vec<String> =
            (1..=3).map(|i| format!("arn:aws:ecs:eu-west-1:1:task/ops/{i:032x}")).collect();
        let services: Vec<String> = (0..3000).map(|i| format!("prod/svc-{i}")).collect();
        let before: Vec<&str> = services.iter().map(|s| owner(s, &three).unwrap()).collect();
        for m in &three {
            let n = before.iter().filter(|o| *o == m).count();
            assert!((850..=1150).contains(&n), "{m} owns {n} of 3000");
        }
        // The second member leaves: only its services move.
        let two = vec![three[0].clone(), three[2].clone()];
        for (s, was) in services.iter().zip(&before) {
            let now = owner(s, &two).unwrap();
            if *was != three[1] {
                assert_eq!(now, *was, "{s} moved though its owner stayed");
            }
        }
        // The weight is fixed: these owners are the same in every process and every version
        // (a changed hash would move every service at the next deployment of the controller).
        assert_eq!(weight("a", "b"), 6_137_638_104_319_202_169);
        assert_eq!(owner("prod/checkout", &three), Some(three[2].as_str()));
        assert_ne!(weight("ab", "c"), weight("a", "bc"));
        assert_eq!(owner("prod/checkout", &[]), None);
        let spreads: Vec<i32> = three.iter().map(|m| spread(m, 1000)).collect();
        assert!(spreads.iter().all(|s| (0..1000).contains(s)), "{spreads:?}");
        assert_eq!(spreads[0], 759, "the same moment in every process");
        assert_ne!(spreads[0], spreads[1]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_service_acts_after_an_interval_of_unbroken_ownership() {
        let t = Duration::from_secs(15);
        let mut o = Ownership::new(t);
        let start = Instant::now();
        let at = |s: u64| start + Duration::from_secs(s);
        let st = |m: &BTreeMap<String, Standing>, s: &str| m.get(s).copied().unwrap_or(Standing::Elsewhere);
        let m = o.observe(at(0), ["a", "b"]);
        assert_eq!((st(&m, "a"), st(&m, "b")), (Standing::Settling, Standing::Settling), "new: settle first");
        let m = o.observe(at(15), ["a", "c"]);
        assert_eq!(
            (st(&m, "a"), st(&m, "b"), st(&m, "c")),
            (Standing::Acting, Standing::Elsewhere, Standing::Settling)
        );
        let m = o.observe(at(30), ["a", "b", "c"]);
        assert_eq!(
            (st(&m, "b"), st(&m, "c")),
            (Standing::Settling, Standing::Acting),
            "b came back: it settles again"
        );
        // Ticks held up for more than 1.5 intervals: everything settles again.
        let m = o.observe(at(53), ["a", "b", "c"]);
        assert_eq!(m.values().copied().collect::<Vec<_>>(), [Standing::Settling; 3]);
        let m = o.observe(at(68), ["a"]);
        assert_eq!(st(&m, "a"), Standing::Acting);
        o.reset(at(70));
        assert_eq!(st(&o.observe(at(85), ["a"]), "a"), Standing::Settling, "a failed read starts over");
    }
}
