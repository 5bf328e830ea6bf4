//! Routing's state, kept by the commit thread — the one place every
//! assignment is decided, so two conversations arriving at once can never
//! both take an agent's last free slot.
//!
//! The rule: a new conversation of an auto-assigning site goes to an
//! available agent (subscribed to the site, not away, a member of the
//! conversation's team if it has one) with the fewest open conversations
//! under their capacity; among equals, the one after the agent picked last
//! for the site (round-robin). With nobody free it joins the site's queue,
//! which is served oldest first whenever a slot frees (a close, a transfer,
//! an agent coming online or back, a higher capacity).
//!
//! What it keeps: each agent's load (open conversations assigned to them,
//! from the store's `l` index, counted once per agent and then kept in
//! step), each site's queue (the `w` index, read at start), the
//! conversations whose visitor waits for an answer (for the no-answer and
//! away deadlines), and since when an agent with such a conversation has
//! been unavailable. Everything here can be rebuilt from the store: after a
//! failed group it is dropped with the conversation cache.

use crate::hub::Hub;
use crate::store::{keys, ConvRecord, Store, StoreError};
use protocol::{AgentId, ConvId, SiteId};
use std::collections::{BTreeSet, HashMap};

/// The routing-relevant part of a conversation record, before and after a
/// change: what [`Router::reindex`] compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routed {
    pub open: bool,
    pub assignee: Option<AgentId>,
    pub queued: Option<u64>,
    pub awaiting: Option<u64>,
}

impl Routed {
    pub fn of(c: &ConvRecord) -> Routed {
        Routed {
            open: c.open,
            assignee: c.assignee.clone(),
            queued: c.queued,
            awaiting: c.awaiting,
        }
    }

    /// The agent whose load this conversation counts in.
    fn load_of(&self) -> Option<&AgentId> {
        self.assignee.as_ref().filter(|_| self.open)
    }
}

#[derive(Default)]
pub struct Router {
    /// Open conversations per agent; an agent absent here is counted from
    /// the store on first use.
    load: HashMap<AgentId, u32>,
    /// Each site's queue, oldest first; read from the store once.
    queues: HashMap<SiteId, BTreeSet<(u64, ConvId)>>,
    queues_loaded: bool,
    /// The agent each site gave its last conversation to (round-robin).
    last: HashMap<SiteId, AgentId>,
    /// Sites whose queue changed since the last publication.
    pub dirty: BTreeSet<SiteId>,
    /// A slot may have freed since the queues were last served.
    pub freed: bool,
    /// Open, assigned conversations with a visitor waiting for an answer:
    /// conv → (site, agent, since). Read from the store at start.
    awaiting: Option<HashMap<ConvId, (SiteId, AgentId, u64)>>,
    /// Since when (tick clock) an agent with a waiting visitor has been
    /// unavailable on a site.
    gone: HashMap<(SiteId, AgentId), u64>,
    /// The last queue stamp handed out: stamps strictly increase, so two
    /// conversations queued in one millisecond keep their order.
    stamp: u64,
}

impl Router {
    /// Forgets everything derived (after a failed group): the store is the
    /// truth again.
    pub fn clear(&mut self) {
        *self = Router {
            last: std::mem::take(&mut self.last),
            stamp: self.stamp,
            ..Router::default()
        };
    }

    /// Reads every site's queue from the store (once), marking each for
    /// publication so visitors learn their places after a restart.
    pub fn load_queues(&mut self, store: &Store) -> Result<(), StoreError> {
        if self.queues_loaded {
            return Ok(());
        }
        for (site, since, conv) in store.queued_all()? {
            self.stamp = self.stamp.max(since);
            self.dirty.insert(site.clone());
            self.queues.entry(site).or_default().insert((since, conv));
        }
        self.queues_loaded = true;
        Ok(())
    }

    /// A queue stamp for `now`: later than every earlier one.
    pub fn stamp(&mut self, now: u64) -> u64 {
        self.stamp = now.max(self.stamp + 1);
        self.stamp
    }

    /// An agent's open conversations.
    pub fn load(&mut self, store: &Store, agent: &AgentId) -> Result<u32, StoreError> {
        if let Some(n) = self.load.get(agent) {
            return Ok(*n);
        }
        let n = store.load_count(agent)?;
        self.load.insert(agent.clone(), n);
        Ok(n)
    }

    /// A site's queue, oldest first.
    pub fn queue(&self, site: &SiteId) -> Vec<ConvId> {
        self.queues
            .get(site)
            .map(|q| q.iter().map(|(_, c)| c.clone()).collect())
            .unwrap_or_default()
    }

    /// Sites with someone waiting.
    pub fn waiting_sites(&self) -> Vec<SiteId> {
        self.queues
            .iter()
            .filter(|(_, q)| !q.is_empty())
            .map(|(s, _)| s.clone())
            .collect()
    }

    /// Keeps the indexes (in `batch`) and this state in step with one
    /// conversation's change from `before` to `after`.
    pub fn reindex(
        &mut self,
        store: &Store,
        batch: &mut sled::Batch,
        conv: &ConvId,
        site: &SiteId,
        before: &Routed,
        after: &Routed,
    ) -> Result<(), StoreError> {
        if before.load_of() != after.load_of() {
            if let Some(a) = before.load_of() {
                let n = self.load(store, a)?;
                self.load.insert(a.clone(), n.saturating_sub(1));
                batch.remove(keys::load(a, conv));
                self.freed = true;
            }
            if let Some(a) = after.load_of() {
                let n = self.load(store, a)?;
                self.load.insert(a.clone(), n + 1);
                batch.insert(keys::load(a, conv), &[][..]);
            }
        }
        if before.queued != after.queued {
            let q = self.queues.entry(site.clone()).or_default();
            if let Some(t) = before.queued {
                q.remove(&(t, conv.clone()));
                batch.remove(keys::queued(site, t, conv));
            }
            if let Some(t) = after.queued {
                q.insert((t, conv.clone()));
                batch.insert(keys::queued(site, t, conv), &[][..]);
            }
            self.dirty.insert(site.clone());
        }
        if let Some(w) = &mut self.awaiting {
            match (after.load_of(), after.awaiting) {
                (Some(a), Some(since)) => {
                    w.insert(conv.clone(), (site.clone(), a.clone(), since));
                }
                _ => {
                    w.remove(conv);
                }
            }
        }
        Ok(())
    }

    /// The agent a conversation of `site` goes to now, if anyone is free:
    /// among `available` (with capacities; an agent may come twice), members
    /// of `team` when given, not `exclude`, under capacity — the fewest open
    /// conversations, ties round-robin (by id) after the site's last pick.
    pub fn pick(
        &mut self,
        store: &Store,
        site: &SiteId,
        available: &mut dyn Iterator<Item = (&AgentId, u32)>,
        team: Option<&[AgentId]>,
        exclude: Option<&AgentId>,
    ) -> Result<Option<AgentId>, StoreError> {
        let mut least = u32::MAX;
        let mut tied: Vec<&AgentId> = Vec::new();
        for (a, cap) in available {
            if Some(a) == exclude || team.is_some_and(|m| !m.contains(a)) {
                continue;
            }
            let n = self.load(store, a)?;
            if n >= cap {
                continue;
            }
            if n < least {
                least = n;
                tied.clear();
            }
            if n == least {
                tied.push(a);
            }
        }
        tied.sort();
        tied.dedup();
        let last = self.last.get(site);
        let chosen = tied
            .iter()
            .find(|a| last.is_some_and(|l| **a > l))
            .or_else(|| tied.first())
            .map(|a| (*a).clone());
        if let Some(a) = &chosen {
            self.last.insert(site.clone(), a.clone());
        }
        Ok(chosen)
    }

    /// The waiting conversations (read from the store at the first call,
    /// when nothing is staged), for the deadline checks: (conv, site,
    /// agent, since).
    pub fn awaiting(
        &mut self,
        store: &Store,
    ) -> Result<Vec<(ConvId, SiteId, AgentId, u64)>, StoreError> {
        if self.awaiting.is_none() {
            let mut w = HashMap::new();
            for c in store.assigned_open()? {
                if let (Some(a), Some(since)) = (c.assignee.clone(), c.awaiting) {
                    w.insert(c.id.clone(), (c.site.clone(), a, since));
                }
            }
            self.awaiting = Some(w);
        }
        Ok(self
            .awaiting
            .iter()
            .flatten()
            .map(|(c, (s, a, t))| (c.clone(), s.clone(), a.clone(), *t))
            .collect())
    }

    /// Whether `agent` has been unavailable on `site` for `grace` ms by
    /// the tick clock `now` (the first unavailable tick starts the wait).
    pub fn gone_for(
        &mut self,
        hub: &Hub,
        site: &SiteId,
        agent: &AgentId,
        now: u64,
        grace: u64,
    ) -> bool {
        let key = (site.clone(), agent.clone());
        if hub.with_available(site, |mut a| Iterator::any(&mut a, |(a, _)| a == agent)) {
            self.gone.remove(&key);
            return false;
        }
        let since = *self.gone.entry(key).or_insert(now);
        now.saturating_sub(since) >= grace
    }
}

/// Sends the commit thread a [`crate::commit::Write::Tick`] every
/// [`ROUTING_TICK_MS`] until shutdown.
///
/// [`ROUTING_TICK_MS`]: protocol::limits::ROUTING_TICK_MS
pub async fn clock(
    commit: crate::commit::Committer,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let period = std::time::Duration::from_millis(protocol::limits::ROUTING_TICK_MS);
    let mut every = tokio::time::interval(period);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = every.tick() => commit.tick(crate::now_ms()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> AgentId {
        AgentId::new(s).expect("id")
    }

    /// Fewest open conversations first; among equals round-robin; full or
    /// excluded agents and non-members are skipped.
    #[test]
    fn pick_takes_the_least_loaded_round_robin_within_capacity() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let store = Store::open(dir.path())?;
        let site = SiteId::new("s")?;
        let mut r = Router::default();
        let avail = [(id("a"), 2), (id("b"), 2), (id("c"), 1)];
        let mut picks = Vec::new();
        let avail: Vec<(&AgentId, u32)> = avail.iter().map(|(a, c)| (a, *c)).collect();
        let pick = |r: &mut Router, team: Option<&[AgentId]>, ex: Option<&AgentId>| {
            r.pick(&store, &site, &mut avail.iter().copied(), team, ex)
        };
        for _ in 0..5 {
            let a = pick(&mut r, None, None)?;
            if let Some(a) = &a {
                *r.load.entry(a.clone()).or_default() += 1;
            }
            picks.push(a.map(|a| a.to_string()));
        }
        assert_eq!(
            picks,
            vec![
                Some("a".into()),
                Some("b".into()),
                Some("c".into()),
                Some("a".into()),
                Some("b".into())
            ]
        );
        assert_eq!(pick(&mut r, None, None)?, None, "all full");
        r.load.insert(id("b"), 0);
        let team = [id("a"), id("c")];
        assert_eq!(pick(&mut r, Some(&team), None)?, None);
        assert_eq!(
            pick(&mut r, None, Some(&id("b")))?,
            None,
            "the only free agent is excluded"
        );
        assert_eq!(pick(&mut r, None, None)?, Some(id("b")));
        Ok(())
    }
}
