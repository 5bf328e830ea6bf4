//! The reducer's Reports half: the range picked (two dates, or a preset
//! of the last 7/30/90 days), the team, the figures the relay answered
//! for it, and the CSV download.
//!
//! Days are the site's own (the relay reads them in the site's time
//! zone), so the console never does date arithmetic: a preset asks the
//! relay for the last `days`, and the dates it answers fill the pickers.

use super::{Effect, State};
use crate::services::api::{ApiResult, Fetch};
use protocol::api::{Stats, StatsQuery};
use std::rc::Rc;

/// The presets the page offers, in days.
pub const REPORT_PRESETS: [u64; 3] = [7, 30, 90];

/// What the Reports page shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReportsState {
    /// The first day picked, `YYYY-MM-DD` (empty: the relay's default).
    pub from: String,
    /// The last day picked, inclusive.
    pub to: String,
    /// The preset in use, if the range is one.
    pub preset: Option<u64>,
    /// Only this team's conversations (empty: the whole site).
    pub team: String,
    /// The figures of the range last answered.
    pub stats: Option<Rc<Stats>>,
    /// A request is under way.
    pub loading: bool,
    /// Why the last request was refused (the relay's reason).
    pub error: Option<String>,
    /// A CSV download is under way.
    pub downloading: bool,
}

#[derive(Debug)]
pub enum ReportsAction {
    /// The first date input changed.
    From(String),
    /// The second date input changed.
    To(String),
    /// The last `n` days up to today.
    Preset(u64),
    /// The team picker (empty: all).
    Team(String),
    Download,
}

impl ReportsState {
    /// The query for what is picked.
    pub fn query(&self) -> StatsQuery {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let team = some(&self.team);
        match self.preset {
            Some(days) => StatsQuery {
                days: Some(days),
                team,
                ..StatsQuery::default()
            },
            None => StatsQuery {
                from: some(&self.from),
                to: some(&self.to),
                team,
                ..StatsQuery::default()
            },
        }
    }
}

impl State {
    /// Asks for the figures of the range picked, for the site on screen.
    pub(crate) fn load_reports(&mut self, fx: &mut Vec<Effect>) {
        let Some(site) = self.model.site.clone() else {
            return;
        };
        self.reports.loading = true;
        fx.push(Effect::Fetch(Fetch::Stats(site, self.reports.query())));
    }

    pub(super) fn reduce_reports(&mut self, a: ReportsAction, fx: &mut Vec<Effect>) -> bool {
        let r = &mut self.reports;
        match a {
            ReportsAction::From(d) => {
                r.from = d;
                r.preset = None;
            }
            ReportsAction::To(d) => {
                r.to = d;
                r.preset = None;
            }
            ReportsAction::Preset(days) => r.preset = Some(days),
            ReportsAction::Team(t) => r.team = t,
            ReportsAction::Download => {
                let Some(site) = self.model.site.clone() else {
                    return false;
                };
                r.downloading = true;
                fx.push(Effect::Fetch(Fetch::StatsCsv(site, r.query())));
                return true;
            }
        }
        self.load_reports(fx);
        true
    }

    /// The figures came back: shown, with their dates in the pickers, if
    /// they answer what is picked now (an older answer is dropped). A
    /// refusal keeps the figures shown and says why.
    pub(super) fn stats_answered(&mut self, q: StatsQuery, res: ApiResult<Box<Stats>>) -> bool {
        let r = &mut self.reports;
        if q != r.query() {
            return false;
        }
        r.loading = false;
        match res {
            Ok(s) => {
                r.error = None;
                r.from = s.from.clone();
                r.to = s.to.clone();
                r.stats = Some(Rc::from(s));
            }
            Err(e) => r.error = Some(e),
        }
        true
    }

    pub(super) fn csv_answered(
        &mut self,
        res: ApiResult<(String, String)>,
        fx: &mut Vec<Effect>,
    ) -> bool {
        self.reports.downloading = false;
        match res {
            Ok((name, text)) => fx.push(Effect::Download { name, text }),
            Err(e) => self.reports.error = Some(e),
        }
        true
    }
}
