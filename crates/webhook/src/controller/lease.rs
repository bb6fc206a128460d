//! Leader election through a `coordination.k8s.io/v1` Lease, as client-go's leaderelection does
//! it: every write is conditional on the resourceVersion read just before (a lost race is a 409,
//! never two holders), another holder's lease is taken over only once its record has not
//! changed for a whole lease duration on *our* clock (clocks of different nodes are never
//! compared), and we act only while our last successful renewal is younger than the renew
//! deadline, which is shorter than the lease duration another candidate waits out.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};

/// Timing of the election.
#[derive(Debug, Clone, Copy)]
pub struct LeaseTiming {
    /// How long a holder's lease lasts unrenewed before another may take it.
    pub duration: Duration,
    /// How long the holder goes on acting without a successful renewal (< `duration`).
    pub renew_deadline: Duration,
    /// How often to try to acquire or renew.
    pub retry: Duration,
}

impl LeaseTiming {
    /// client-go's defaults scaled to a lease duration: renew deadline 2/3 of it, retry 2/15.
    pub fn from_duration(duration: Duration) -> Self {
        Self {
            duration,
            renew_deadline: duration * 2 / 3,
            retry: (duration * 2 / 15).max(Duration::from_millis(100)),
        }
    }
}

/// The part of a Lease the election reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaseRecord {
    /// `spec.holderIdentity` (empty: released).
    pub holder: String,
    /// `spec.renewTime`, as written (compared for change only, never as a time).
    pub renew_time: String,
    /// `spec.leaseDurationSeconds`.
    pub duration_seconds: Option<i32>,
    /// `spec.leaseTransitions`.
    pub transitions: i32,
}

impl LeaseRecord {
    /// From a Lease.
    pub fn of(lease: &Lease) -> Self {
        let spec = lease.spec.clone().unwrap_or_default();
        Self {
            holder: spec.holder_identity.unwrap_or_default(),
            renew_time: spec.renew_time.map(|t| t.0.to_string()).unwrap_or_default(),
            duration_seconds: spec.lease_duration_seconds,
            transitions: spec.lease_transitions.unwrap_or(0),
        }
    }
}

/// What to write next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseStep {
    /// No Lease yet: create it, held by us.
    Create,
    /// Ours: renew it.
    Renew,
    /// Free or expired: take it (one more transition).
    Acquire,
    /// Someone else holds it and it has not expired.
    Wait {
        /// Who.
        holder: String,
    },
}

/// One candidate's election state. Pure: the caller passes the time and what it read.
#[derive(Debug)]
pub struct Elector {
    identity: String,
    timing: LeaseTiming,
    /// The other holder's record last seen, and when (our clock) it last changed.
    observed: Option<(LeaseRecord, Instant)>,
    /// Our last successful create/renew/acquire.
    renewed_at: Option<Instant>,
}

impl Elector {
    /// A candidate.
    pub fn new(identity: impl Into<String>, timing: LeaseTiming) -> Self {
        Self {
            identity: identity.into(),
            timing,
            observed: None,
            renewed_at: None,
        }
    }

    /// Our identity.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// What to do, given the Lease as just read (`None`: it does not exist).
    pub fn step(&mut self, current: Option<&LeaseRecord>, now: Instant) -> LeaseStep {
        let Some(record) = current else {
            return LeaseStep::Create;
        };
        if record.holder == self.identity {
            return LeaseStep::Renew;
        }
        if record.holder.is_empty() {
            return LeaseStep::Acquire;
        }
        // Someone else's: expired only once unchanged for its duration, on our clock.
        let changed = self
            .observed
            .as_ref()
            .is_none_or(|(seen, _)| seen != record);
        if changed {
            self.observed = Some((record.clone(), now));
        }
        // We cannot be leader while someone else holds it.
        self.renewed_at = None;
        let duration = record
            .duration_seconds
            .and_then(|s| u64::try_from(s).ok())
            .map_or(self.timing.duration, Duration::from_secs);
        match &self.observed {
            Some((_, since)) if now.duration_since(*since) >= duration => LeaseStep::Acquire,
            _ => LeaseStep::Wait {
                holder: record.holder.clone(),
            },
        }
    }

    /// Our write succeeded at `now`.
    pub fn succeeded(&mut self, now: Instant) {
        self.renewed_at = Some(now);
        self.observed = None;
    }

    /// Our write failed (a conflict: someone else wrote first; or the API server).
    pub fn failed(&mut self) {}

    /// Whether we may act at `now`.
    pub fn is_leader(&self, now: Instant) -> bool {
        self.renewed_at
            .is_some_and(|t| now.duration_since(t) < self.timing.renew_deadline)
    }

    /// The record we write for `step` over `current`.
    pub fn record_for(&self, step: &LeaseStep, current: Option<&LeaseRecord>) -> LeaseRecord {
        let transitions = current.map_or(0, |c| c.transitions);
        LeaseRecord {
            holder: self.identity.clone(),
            renew_time: String::new(),
            duration_seconds: Some(i32::try_from(self.timing.duration.as_secs()).unwrap_or(15)),
            transitions: match step {
                LeaseStep::Acquire => transitions + 1,
                _ => transitions,
            },
        }
    }
}

/// Whether this process may act now; shared between the election and the reconciler.
#[derive(Debug, Clone)]
pub struct Leadership(Arc<Mutex<Option<Elector>>>);

impl Leadership {
    /// Always leader (election off: one replica).
    pub fn always() -> Self {
        Self(Arc::new(Mutex::new(None)))
    }

    /// Decided by `elector`.
    pub fn elected(elector: Elector) -> Self {
        Self(Arc::new(Mutex::new(Some(elector))))
    }

    /// Whether we may act now.
    pub fn is_leader(&self) -> bool {
        match self.0.lock() {
            Ok(guard) => guard.as_ref().is_none_or(|e| e.is_leader(Instant::now())),
            Err(_) => false,
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Elector) -> R) -> Option<R> {
        self.0.lock().ok()?.as_mut().map(f)
    }
}

fn lease_object(
    name: &str,
    rv: Option<String>,
    record: &LeaseRecord,
    acquired: bool,
    previous: Option<&Lease>,
) -> Lease {
    let now = MicroTime(Timestamp::now());
    let old = previous.and_then(|l| l.spec.clone()).unwrap_or_default();
    Lease {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            resource_version: rv,
            ..previous.map(|l| l.metadata.clone()).unwrap_or_default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(record.holder.clone()),
            lease_duration_seconds: record.duration_seconds,
            acquire_time: if acquired {
                Some(now.clone())
            } else {
                old.acquire_time
            },
            renew_time: Some(now),
            lease_transitions: Some(record.transitions),
            ..old
        }),
    }
}

/// Runs the election until `stop` fires; then releases the Lease if we hold it, so that
/// another replica takes over at once instead of after a lease duration.
pub async fn run(
    api: Api<Lease>,
    name: String,
    leadership: Leadership,
    timing: LeaseTiming,
    mut stop: tokio::sync::watch::Receiver<bool>,
    on_change: impl Fn(bool, &str) + Send + 'static,
) {
    let mut was_leader = false;
    loop {
        let current = api.get_opt(&name).await;
        let now = Instant::now();
        match current {
            Ok(lease) => {
                let record = lease.as_ref().map(LeaseRecord::of);
                let Some(step) = leadership.with(|e| e.step(record.as_ref(), now)) else {
                    return;
                };
                let write = match &step {
                    LeaseStep::Wait { .. } => None,
                    s => leadership.with(|e| e.record_for(s, record.as_ref())),
                };
                if let Some(new) = write {
                    let acquired = !matches!(step, LeaseStep::Renew);
                    let rv = lease
                        .as_ref()
                        .and_then(|l| l.metadata.resource_version.clone());
                    let obj = lease_object(&name, rv, &new, acquired, lease.as_ref());
                    let result = match step {
                        LeaseStep::Create => {
                            api.create(&PostParams::default(), &obj).await.map(|_| ())
                        }
                        _ => api
                            .replace(&name, &PostParams::default(), &obj)
                            .await
                            .map(|_| ()),
                    };
                    match result {
                        Ok(()) => {
                            leadership.with(|e| e.succeeded(now));
                        }
                        Err(e) => {
                            leadership.with(Elector::failed);
                            tracing::debug!("lease {name}: write lost or failed: {e}");
                        }
                    }
                }
            }
            Err(e) => tracing::warn!("lease {name}: cannot read it (retrying): {e}"),
        }
        let leader = leadership.is_leader();
        if leader != was_leader {
            let holder = leadership
                .with(|e| e.identity().to_string())
                .unwrap_or_default();
            on_change(leader, &holder);
            was_leader = leader;
        }
        tokio::select! {
            _ = tokio::time::sleep(timing.retry) => {}
            _ = stop.changed() => break,
        }
    }
    if leadership.is_leader() {
        release(&api, &name, &leadership).await;
    }
}

/// Gives the Lease up: holder cleared, conditional on it being ours still.
async fn release(api: &Api<Lease>, name: &str, leadership: &Leadership) {
    let Ok(Some(mut lease)) = api.get_opt(name).await else {
        return;
    };
    let me = leadership
        .with(|e| e.identity().to_string())
        .unwrap_or_default();
    let Some(spec) = lease.spec.as_mut() else {
        return;
    };
    if spec.holder_identity.as_deref() != Some(me.as_str()) {
        return;
    }
    spec.holder_identity = Some(String::new());
    spec.lease_duration_seconds = Some(1);
    match api.replace(name, &PostParams::default(), &lease).await {
        Ok(_) => tracing::info!("lease {name}: released"),
        Err(e) => tracing::debug!("lease {name}: release failed: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing() -> LeaseTiming {
        LeaseTiming::from_duration(Duration::from_secs(15))
    }

    /// An in-memory Lease with resourceVersion-conditional writes, as the API server keeps it.
    #[derive(Default)]
    struct FakeLease {
        record: Option<LeaseRecord>,
        rv: u64,
    }

    impl FakeLease {
        fn read(&self) -> (Option<LeaseRecord>, u64) {
            (self.record.clone(), self.rv)
        }
        fn write(
            &mut self,
            rv: u64,
            mut r: LeaseRecord,
            create: bool,
            now: Instant,
            t0: Instant,
        ) -> bool {
            if (create && self.record.is_some()) || (!create && rv != self.rv) {
                return false;
            }
            r.renew_time = format!("{:?}", now.duration_since(t0));
            self.record = Some(r);
            self.rv += 1;
            true
        }
    }

    /// One round for `e` at `now`; returns whether it is leader afterwards.
    fn round(e: &mut Elector, lease: &mut FakeLease, now: Instant, t0: Instant) -> bool {
        let (record, rv) = lease.read();
        let step = e.step(record.as_ref(), now);
        if !matches!(step, LeaseStep::Wait { .. }) {
            let new = e.record_for(&step, record.as_ref());
            if lease.write(rv, new, step == LeaseStep::Create, now, t0) {
                e.succeeded(now);
            } else {
                e.failed();
            }
        }
        e.is_leader(now)
    }

    #[test]
    fn one_leader_at_a_time_and_a_takeover_only_after_a_full_lease_duration() {
        let t0 = Instant::now();
        let mut lease = FakeLease::default();
        let mut a = Elector::new("a", timing());
        let mut b = Elector::new("b", timing());
        assert!(round(&mut a, &mut lease, t0, t0), "a creates the lease");
        assert!(!round(&mut b, &mut lease, t0, t0), "b waits");
        assert_eq!(lease.record.as_ref().unwrap().transitions, 0);
        // a renews every 2 s; b never takes over.
        for s in (2..60).step_by(2) {
            let now = t0 + Duration::from_secs(s);
            assert!(round(&mut a, &mut lease, now, t0), "a renews at {s}s");
            assert!(!round(&mut b, &mut lease, now, t0), "b waits at {s}s");
        }
        // a stops (crash): after the renew deadline it no longer acts, and b takes over only
        // once the record has stood still for a lease duration on b's clock.
        let last = t0 + Duration::from_secs(58);
        assert!(!a.is_leader(last + timing().renew_deadline));
        let mut took_over = None;
        for s in (60..90).step_by(2) {
            let now = t0 + Duration::from_secs(s);
            if round(&mut b, &mut lease, now, t0) {
                took_over = Some(now.duration_since(last));
                break;
            }
        }
        let gap = took_over.expect("b takes over");
        assert!(gap >= timing().duration, "taken over after {gap:?}");
        assert!(
            gap >= timing().renew_deadline,
            "never while a could still act"
        );
        assert_eq!(lease.record.as_ref().unwrap().holder, "b");
        assert_eq!(lease.record.as_ref().unwrap().transitions, 1);
        // a comes back: it sees b's live lease and waits.
        let now = t0 + Duration::from_secs(92);
        assert!(!round(&mut a, &mut lease, now, t0));
    }

    #[test]
    fn a_lost_race_is_not_leadership() {
        let t0 = Instant::now();
        let mut lease = FakeLease::default();
        let mut a = Elector::new("a", timing());
        let mut b = Elector::new("b", timing());
        // Both read "no lease" and both try to create it: one wins.
        let (ra, _) = lease.read();
        let (rb, _) = lease.read();
        let sa = a.step(ra.as_ref(), t0);
        let sb = b.step(rb.as_ref(), t0);
        assert_eq!(
            (sa.clone(), sb.clone()),
            (LeaseStep::Create, LeaseStep::Create)
        );
        let wa = lease.write(0, a.record_for(&sa, None), true, t0, t0);
        let wb = lease.write(0, b.record_for(&sb, None), true, t0, t0);
        assert!(wa && !wb);
        a.succeeded(t0);
        b.failed();
        assert!(a.is_leader(t0) && !b.is_leader(t0));
        // A released lease (empty holder) is taken at once.
        lease.record.as_mut().unwrap().holder.clear();
        assert!(round(&mut b, &mut lease, t0 + Duration::from_secs(1), t0));
    }

    #[test]
    fn a_leader_that_cannot_renew_stops_acting_before_anyone_may_take_over() {
        let t = timing();
        assert!(t.renew_deadline < t.duration);
        let t0 = Instant::now();
        let mut a = Elector::new("a", t);
        a.succeeded(t0);
        assert!(a.is_leader(t0 + t.renew_deadline - Duration::from_millis(1)));
        assert!(!a.is_leader(t0 + t.renew_deadline));
    }
}
