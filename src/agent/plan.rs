//! `plan`: what a tick does with its decision, as a value. These are the rules that sit between
//! `core::decide` and the world: who may act (the sole agent, the elected leader, the controller
//! that owns the service since an interval), a pause set in the service's tags, dry run, a
//! tick that may no longer start a change (its deadline passed, or shutdown), and a desired
//! count changed by someone else. Pure and table-tested; the agent's `act` only carries out an
//! [`Intent::Update`], through the service port.

use crate::core::Decision;
use crate::status::Action;

/// What the tick knows besides the decision.
#[derive(Clone, Copy, Debug, Default)]
pub struct Context<'a> {
    /// This agent acts: the only one, or the elected leader.
    pub acts: bool,
    pub dry_run: bool,
    /// A controller that owns the service since less than an interval (the handover rule, see
    /// [`super::fleet::membership`]).
    pub settling: bool,
    /// `trimtab:paused = true` on the service.
    pub paused: bool,
    /// Why no change may start this tick (its deadline passed, or shutdown), if so.
    pub cut: Option<&'a str>,
    /// Why a scale-in waits: every running task has scale-in protection (a sentence starting
    /// with [`crate::core::protection::TASKS_PROTECTED`]), if so.
    pub tasks_protected: Option<&'a str>,
}

/// The tick's intent.
#[derive(Clone, Debug, PartialEq)]
pub enum Intent {
    /// The decision keeps the count.
    Keep,
    /// A change the decision asks for that is not made this tick, as `/status` reports it.
    Withhold(Action),
    /// Set the desired count.
    Update { from: u32, to: u32 },
}

impl Intent {
    /// How `/status` and the logs report an intent that is not carried out (`Update` is reported
    /// by what the call did).
    pub fn action(&self) -> Option<Action> {
        match self {
            Intent::Keep => Some(Action::None),
            Intent::Withhold(a) => Some(a.clone()),
            Intent::Update { .. } => None,
        }
    }
}

/// The intent for decision `d`: keep, withhold (and say why), or update.
pub fn plan(d: &Decision, cx: &Context<'_>) -> Intent {
    let (from, to) = (d.current.get(), d.desired.get());
    if from == to {
        Intent::Keep
    } else if !cx.acts {
        // Never acts: a sidecar follower does not even decide (see `agent::leader`).
        Intent::Withhold(Action::NotLeader { from, to })
    } else if cx.settling {
        // The previous owner may still be finishing a change: decide on the count it leaves.
        Intent::Withhold(Action::Handover { from, to })
    } else if cx.paused {
        Intent::Withhold(Action::Paused { from, to })
    } else if cx.dry_run {
        Intent::Withhold(Action::DryRun { from, to })
    } else if let (Some(why), true) = (cx.tasks_protected, to < from) {
        // ECS stops no protected task: the lower count would be recorded (cooldowns, history)
        // and not happen. A scale-out is never held back by it.
        Intent::Withhold(Action::Deferred { from, to, why: why.to_owned() })
    } else if let Some(why) = cx.cut {
        // A change is only started while the tick may still finish it in time.
        Intent::Withhold(Action::Failed { from, to, error: why.to_owned() })
    } else {
        Intent::Update { from, to }
    }
}

/// A desired count that differs from what this agent saw (or set) last was changed by someone
/// else: an operator, a deployment tool, another scaler. It counts as a scaling action for the
/// cooldowns, so trimtab does not undo it at once. `(from, to)` when it did.
pub fn outside_change(last_seen: Option<u32>, desired: u32) -> Option<(u32, u32)> {
    last_seen.filter(|prev| *prev != desired).map(|prev| (prev, desired))
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::core::{History, Observation, Policy, decide};

    /// A decision from `current` to `desired` (the example policy, CPU driving it).
    fn decision(current: u32, cpu: f64) -> Decision {
        let policy: Policy =
            crate::config::from_str("t.toml", "[scaling]\nmin = 1\nmax = 40\n").unwrap().scaling.policy;
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let obs = Observation::new(current).with_sample("cpu", cpu, now).with_sample("memory", 40.0, now);
        decide(&policy, &obs, &History::default(), now)
    }

    #[test]
    fn the_intent_table() {
        let out = decision(4, 130.0); // 4 × 130 / 65 = 8
        let hold = decision(4, 65.0);
        assert_eq!((out.current.get(), out.desired.get(), hold.desired.get()), (4, 8, 4));
        let cut = "tick deadline (15s) passed during cloudwatch:GetMetricData";
        let paused = Context { acts: true, paused: true, ..Context::default() };
        assert_eq!(plan(&out, &paused), Intent::Withhold(Action::Paused { from: 4, to: 8 }));
        assert_eq!(plan(&hold, &paused), Intent::Keep);
        let settling =
            Context { acts: true, settling: true, paused: true, dry_run: true, ..Context::default() };
        assert_eq!(plan(&out, &settling), Intent::Withhold(Action::Handover { from: 4, to: 8 }));
        let paused_dry = Context { acts: true, paused: true, dry_run: true, ..Context::default() };
        assert_eq!(plan(&out, &paused_dry), Intent::Withhold(Action::Paused { from: 4, to: 8 }));
        // (case, decision, acts, dry run, cut, intent)
        type Case<'a> = (&'a str, &'a Decision, bool, bool, Option<&'a str>, Intent);
        let cases: [Case; 7] = [
            ("no change", &hold, true, false, None, Intent::Keep),
            ("no change, follower", &hold, false, true, Some(cut), Intent::Keep),
            ("leader acts", &out, true, false, None, Intent::Update { from: 4, to: 8 }),
            ("follower", &out, false, false, None, Intent::Withhold(Action::NotLeader { from: 4, to: 8 })),
            (
                "follower in dry run",
                &out,
                false,
                true,
                None,
                Intent::Withhold(Action::NotLeader { from: 4, to: 8 }),
            ),
            ("dry run", &out, true, true, Some(cut), Intent::Withhold(Action::DryRun { from: 4, to: 8 })),
            (
                "out of time",
                &out,
                true,
                false,
                Some(cut),
                Intent::Withhold(Action::Failed { from: 4, to: 8, error: cut.to_owned() }),
            ),
        ];
        for (case, d, acts, dry_run, cut, want) in cases {
            assert_eq!(plan(d, &Context { acts, dry_run, cut, ..Context::default() }), want, "{case}");
        }
        assert_eq!(Intent::Keep.action(), Some(Action::None));
        assert_eq!(Intent::Update { from: 4, to: 8 }.action(), None);
    }

    #[test]
    fn a_scale_in_waits_while_every_task_is_protected() {
        let scale_in = decision(8, 20.0); // 8 × 20 / 65 → 3
        let out = decision(4, 130.0);
        assert!(scale_in.desired.get() < 8);
        let why = "tasks_protected: all 8 running tasks have scale-in protection";
        let cx = Context { acts: true, tasks_protected: Some(why), ..Context::default() };
        let to = scale_in.desired.get();
        assert_eq!(
            plan(&scale_in, &cx),
            Intent::Withhold(Action::Deferred { from: 8, to, why: why.to_owned() })
        );
        assert_eq!(plan(&out, &cx), Intent::Update { from: 4, to: 8 }, "a scale-out goes ahead");
        let unprotected = Context { tasks_protected: None, ..cx };
        assert_eq!(plan(&scale_in, &unprotected), Intent::Update { from: 8, to });
        let dry = Context { dry_run: true, ..cx };
        assert_eq!(
            plan(&scale_in, &dry),
            Intent::Withhold(Action::DryRun { from: 8, to }),
            "dry run says so first"
        );
        let cut = Context { cut: Some("shutdown"), ..cx };
        assert!(matches!(plan(&scale_in, &cut), Intent::Withhold(Action::Deferred { .. })));
    }

    #[test]
    fn a_count_changed_by_someone_else_is_noticed() {
        assert_eq!(outside_change(None, 5), None, "nothing seen yet");
        assert_eq!(outside_change(Some(5), 5), None);
        assert_eq!(outside_change(Some(4), 7), Some((4, 7)));
    }
}
