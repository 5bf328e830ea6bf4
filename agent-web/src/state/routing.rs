//! The reducer's routing settings (owners): the mode, no-answer
//! reassignment, teams and their members, the site's labels, each agent's
//! capacity. The form edits a working copy saved with one PATCH, checked
//! first with the relay's own [`Routing::validate`] and [`check_capacity`].

use super::{Effect, State};
use crate::i18n::{tr, trf};
use crate::services::api::Fetch;
use protocol::api::{check_capacity, Label, Routing, RoutingMode, SitePatch, Team};
use protocol::limits::MAX_ID_BYTES;
use protocol::{AgentId, TeamId};

/// The colour a new label starts with (the picker changes it).
pub const NEW_LABEL_COLOR: &str = "#1c7ed6";
/// A team id made from a name is at most this long, before any `-2`
/// that keeps it apart from another team's.
const TEAM_ID_STEM_BYTES: usize = 24;

/// The routing section's own state.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingForm {
    /// The working copy (from the site, saved with "Save routing").
    pub draft: Option<Routing>,
    /// The "new team" name box.
    pub new_team: String,
    /// The "new label" name box and colour picker.
    pub new_label: String,
    pub new_color: String,
    /// A save of this form is under way (its answer is this form's).
    pub saving: bool,
}

impl Default for RoutingForm {
    fn default() -> Self {
        RoutingForm {
            draft: None,
            new_team: String::new(),
            new_label: String::new(),
            new_color: NEW_LABEL_COLOR.into(),
            saving: false,
        }
    }
}

/// What the routing section does.
#[derive(Debug)]
pub enum RoutingAction {
    /// `manual` or `auto`.
    Mode(String),
    /// Minutes, as typed (0 or empty: off).
    ReassignAfter(String),
    TeamName {
        team: String,
        name: String,
    },
    Member {
        team: String,
        agent: String,
        on: bool,
    },
    RemoveTeam(String),
    NewTeam(String),
    AddTeam,
    NewLabel(String),
    NewColor(String),
    AddLabel,
    RemoveLabel(String),
    Save,
    /// An agent's capacity as typed: saved at once when valid.
    Capacity {
        agent: String,
        value: String,
    },
}

/// An id for a new team named `name`: its letters and digits, lowercased,
/// other runs as `-` ("Sales EU" → `sales-eu`), `team` when none are
/// left; `-2`, `-3`… when another team has it.
pub fn team_id(name: &str, teams: &[Team]) -> TeamId {
    let mut stem = String::new();
    for ch in name.chars() {
        if ch.is_ascii_alphanumeric() {
            stem.push(ch.to_ascii_lowercase());
        } else if !stem.is_empty() && !stem.ends_with('-') {
            stem.push('-');
        }
        if stem.len() >= TEAM_ID_STEM_BYTES {
            break;
        }
    }
    let stem = match stem.trim_end_matches('-') {
        "" => "team",
        s => s,
    };
    let taken = |id: &str| teams.iter().any(|t| t.id.as_str() == id);
    let id = (1..)
        .map(|n| match n {
            1 => stem.to_string(),
            n => format!("{stem}-{n}"),
        })
        .find(|id| !taken(id) && id.len() <= MAX_ID_BYTES)
        .unwrap_or_else(|| unreachable!("some suffix is free"));
    TeamId::new(id).unwrap_or_else(|_| unreachable!("letters, digits and - are an id"))
}

impl State {
    pub(super) fn reduce_routing(&mut self, a: RoutingAction, fx: &mut Vec<Effect>) -> bool {
        let st = &mut self.settings;
        let form = &mut st.routing;
        match a {
            RoutingAction::NewTeam(v) => {
                form.new_team = v;
                return false;
            }
            RoutingAction::NewLabel(v) => {
                form.new_label = v;
                return false;
            }
            RoutingAction::NewColor(v) => {
                form.new_color = v;
                return false;
            }
            RoutingAction::Save => self.save_routing(fx),
            RoutingAction::Capacity { agent, value } => self.save_capacity(agent, &value, fx),
            RoutingAction::AddTeam | RoutingAction::AddLabel => {
                let Some(draft) = &form.draft else {
                    return false;
                };
                // An addition the relay would refuse is not made: its
                // reason shows instead.
                let mut next = draft.clone();
                if matches!(a, RoutingAction::AddTeam) {
                    let name = form.new_team.trim().to_string();
                    let id = team_id(&name, &next.teams);
                    next.teams.push(Team {
                        id,
                        name,
                        members: Vec::new(),
                    });
                } else {
                    next.labels.push(Label {
                        name: form.new_label.trim().to_string(),
                        color: form.new_color.clone(),
                    });
                }
                match next.validate() {
                    Ok(()) => {
                        form.draft = Some(next);
                        form.new_team.clear();
                        form.new_label.clear();
                        st.notice = Some(tr("Added: “Save routing” applies it.").into());
                    }
                    Err(e) => st.notice = Some(trf("Not added: {}", &[&e.message])),
                }
            }
            edit => {
                let Some(draft) = &mut form.draft else {
                    return false;
                };
                edit_routing(draft, edit);
            }
        }
        true
    }

    /// Saves the routing form, unless the relay would refuse it.
    fn save_routing(&mut self, fx: &mut Vec<Effect>) {
        let Some(site) = self.model.site.clone() else {
            return;
        };
        let st = &mut self.settings;
        let Some(draft) = st.routing.draft.clone() else {
            return;
        };
        if let Err(e) = draft.validate() {
            st.notice = Some(trf("Not saved: {}", &[&e.message]));
            return;
        }
        let patch = SitePatch {
            routing: Some(draft),
            ..Default::default()
        };
        st.routing.saving = true;
        st.notice = Some(tr("Saving routing…").into());
        fx.push(Effect::Fetch(Fetch::PatchSite(site, Box::new(patch))));
    }

    /// Saves an agent's capacity when it is one the relay takes.
    fn save_capacity(&mut self, agent: String, value: &str, fx: &mut Vec<Effect>) {
        // Not a number is refused like 0 (with the same reason).
        let n = value.trim().parse::<u32>().unwrap_or(0);
        match check_capacity(n) {
            Ok(()) => {
                self.settings.notice = Some(tr("Saving…").into());
                fx.push(Effect::Fetch(Fetch::Capacity(agent, n)));
            }
            Err(e) => self.settings.notice = Some(trf("Not saved: {}", &[&e.message])),
        }
    }

    /// An agent's capacity was saved (or refused).
    pub(super) fn capacity_saved(&mut self, agent: &str, capacity: u32, r: Result<(), String>) {
        let notice = match r {
            Ok(()) => {
                for t in self.team.iter_mut().filter(|t| t.id.as_str() == agent) {
                    t.capacity = capacity;
                }
                for a in self.settings.agents.iter_mut() {
                    if a.id.as_str() == agent {
                        a.capacity = capacity;
                    }
                }
                let name = self.team_name(agent).unwrap_or_else(|| agent.to_string());
                if capacity == 1 {
                    trf("{} now takes up to 1 open conversation.", &[&name])
                } else {
                    trf(
                        "{} now takes up to {} open conversations.",
                        &[&name, &capacity],
                    )
                }
            }
            Err(e) => trf("Not saved: {}", &[&e]),
        };
        self.settings.notice = Some(notice);
    }
}

/// The draft's team `id`.
fn team<'a>(r: &'a mut Routing, id: &str) -> Option<&'a mut Team> {
    r.teams.iter_mut().find(|t| t.id.as_str() == id)
}

/// One edit of the routing draft.
fn edit_routing(r: &mut Routing, a: RoutingAction) {
    match a {
        RoutingAction::Mode(m) => {
            r.mode = if m == "auto" {
                RoutingMode::Auto
            } else {
                RoutingMode::Manual
            }
        }
        RoutingAction::ReassignAfter(v) => {
            // Empty is off; a number past any limit stays one, for
            // `validate` to refuse.
            r.reassign_after_min = v
                .trim()
                .parse::<u64>()
                .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
                .unwrap_or(0);
        }
        RoutingAction::TeamName { team: id, name } => {
            if let Some(t) = team(r, &id) {
                t.name = name;
            }
        }
        RoutingAction::Member {
            team: id,
            agent,
            on,
        } => {
            let (Some(t), Ok(agent)) = (team(r, &id), AgentId::new(agent)) else {
                return;
            };
            t.members.retain(|m| *m != agent);
            if on {
                t.members.push(agent);
            }
        }
        RoutingAction::RemoveTeam(id) => r.teams.retain(|t| t.id.as_str() != id),
        RoutingAction::RemoveLabel(name) => r.labels.retain(|l| l.name != name),
        _ => {}
    }
}
