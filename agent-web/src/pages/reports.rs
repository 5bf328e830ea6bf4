//! Reports: a site's figures over a range of its days — conversations and
//! messages per day, first-response and resolution times (median and
//! p90), missed conversations, CSAT, the busiest hours, a row per agent —
//! with the range picker, a team filter and the CSV download.

use crate::app::Handlers;
use crate::components::charts::{Chart, Heatmap, Kind, Series, Unit};
use crate::format::{day_label, decimal, percent, span};
use crate::i18n::{tr, trf};
use crate::state::{Action, ReportsAction, State, REPORT_PRESETS};
use protocol::api::{Durations, Ratings, Stats};
use web_sys::HtmlInputElement;
use yew::prelude::*;

fn csat_text(r: &Ratings) -> String {
    r.csat().map(percent).unwrap_or_else(|| "–".into())
}

fn dur(d: Option<u64>) -> String {
    d.map(|v| span(v as f64)).unwrap_or_else(|| "–".into())
}

pub fn view(s: &State, h: &Handlers) -> Html {
    let r = &s.reports;
    let d = &h.dispatch;
    let on_date = |f: fn(String) -> ReportsAction| {
        d.reform(move |e: Event| {
            Action::Reports(f(e.target_unchecked_into::<HtmlInputElement>().value()))
        })
    };
    let teams = s
        .model
        .site
        .as_ref()
        .and_then(|id| s.sites.iter().find(|v| &v.id == id))
        .map(|v| v.routing.teams.clone())
        .unwrap_or_default();
    let on_team = d.reform(|e: Event| {
        Action::Reports(ReportsAction::Team(
            e.target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value(),
        ))
    });
    html! {
        <div class="reports">
            <div class="reports-head">
                <h2>{ tr("Reports") }</h2>
                <div class="range" role="group" aria-label={tr("Date range")}>
                    <label>{ tr("From") }
                        <input type="date" name="from" value={r.from.clone()} onchange={on_date(ReportsAction::From)} />
                    </label>
                    <label>{ tr("To") }
                        <input type="date" name="to" value={r.to.clone()} onchange={on_date(ReportsAction::To)} />
                    </label>
                    { for REPORT_PRESETS.iter().map(|&n| html! {
                        <button class={classes!("preset", (r.preset == Some(n)).then_some("active"))} data-days={n.to_string()}
                            onclick={d.reform(move |_| Action::Reports(ReportsAction::Preset(n)))}>
                            { trf("{} days", &[&n]) }
                        </button>
                    }) }
                    if !teams.is_empty() {
                        <select name="team" onchange={on_team} aria-label={tr("Team")}>
                            <option value="" selected={r.team.is_empty()}>{ tr("All teams") }</option>
                            { for teams.iter().map(|t| html! {
                                <option value={t.id.to_string()} selected={r.team == t.id.as_str()}>{ t.name.clone() }</option>
                            }) }
                        </select>
                    }
                    <button class="download" disabled={r.downloading || r.stats.is_none()}
                        onclick={d.reform(|_| Action::Reports(ReportsAction::Download))}>
                        { tr("Download CSV") }
                    </button>
                </div>
            </div>
            if let Some(e) = &r.error {
                <p class="error" role="alert">{ e.clone() }</p>
            }
            {
                match &r.stats {
                    None if r.loading => html! { <p class="empty">{ tr("Loading…") }</p> },
                    None => html! {},
                    Some(st) => figures(st),
                }
            }
        </div>
    }
}

/// Whether a range has nothing at all to show.
fn empty(st: &Stats) -> bool {
    st.days
        .iter()
        .all(|d| d.conversations == 0 && d.messages == 0 && d.ratings.count == 0)
}

fn card(key: &'static str, label: &str, value: String, sub: Option<String>) -> Html {
    html! {
        <div class="card" data-figure={key}>
            <span class="label">{ label.to_string() }</span>
            <strong class="value">{ value }</strong>
            if let Some(s) = sub { <span class="sub">{ s }</span> }
        </div>
    }
}

fn pair(d: &Durations) -> Option<String> {
    d.p90.map(|p| trf("p90 {}", &[&span(p as f64)]))
}

fn figures(st: &Stats) -> Html {
    let conversations: u64 = st.days.iter().map(|d| d.conversations).sum();
    let messages: u64 = st.days.iter().map(|d| d.messages).sum();
    let range = trf(
        "{} – {} · times in {}",
        &[&day_label(&st.from), &day_label(&st.to), &st.tz],
    );
    if empty(st) {
        return html! {
            <>
                <p class="range-note">{ range }</p>
                <p class="empty no-data">{ tr("No conversations in these days.") }</p>
            </>
        };
    }
    let dates: Vec<String> = st.days.iter().map(|d| d.date.clone()).collect();
    let labels: Vec<String> = st.days.iter().map(|d| day_label(&d.date)).collect();
    let per_day = |f: &dyn Fn(&protocol::api::DayStats) -> Option<f64>| -> Vec<Option<f64>> {
        st.days.iter().map(f).collect()
    };
    let volume = vec![
        Series {
            name: tr("Conversations").into(),
            class: "conversations",
            values: per_day(&|d| Some(d.conversations as f64)),
        },
        Series {
            name: tr("Messages").into(),
            class: "messages",
            values: per_day(&|d| Some(d.messages as f64)),
        },
    ];
    let times = |f: fn(&protocol::api::DayStats) -> &Durations| {
        vec![
            Series {
                name: tr("Median").into(),
                class: "median",
                values: per_day(&|d| f(d).median.map(|v| v as f64)),
            },
            Series {
                name: tr("90th percentile").into(),
                class: "p90",
                values: per_day(&|d| f(d).p90.map(|v| v as f64)),
            },
        ]
    };
    let csat = if st.ratings.count > 0 {
        card(
            "csat",
            tr("CSAT"),
            csat_text(&st.ratings),
            Some(trf("{} ratings", &[&decimal(st.ratings.count as f64)])),
        )
    } else {
        card(
            "csat",
            tr("CSAT"),
            "–".into(),
            Some(tr("No ratings yet").into()),
        )
    };
    html! {
        <>
            <p class="range-note">{ range }</p>
            <div class="cards">
                { card("conversations", tr("Conversations"), decimal(conversations as f64), None) }
                { card("messages", tr("Messages"), decimal(messages as f64), None) }
                { card("missed", tr("Missed"), decimal(st.missed as f64), Some(tr("no agent reply").into())) }
                { card("first-response", tr("First response"), dur(st.first_response_ms.median), pair(&st.first_response_ms)) }
                { card("resolution", tr("Resolution"), dur(st.resolution_ms.median), pair(&st.resolution_ms)) }
                { csat }
            </div>
            <div class="charts">
            <section class="panel" data-chart="volume">
                <h3>{ tr("Conversations and messages per day") }</h3>
                <Chart kind={Kind::Bars} dates={dates.clone()} labels={labels.clone()} series={volume} unit={Unit::Count}
                    title={tr("Conversations and messages per day")} />
            </section>
            <section class="panel" data-chart="first-response">
                <h3>{ tr("First response time") }</h3>
                <Chart kind={Kind::Lines} dates={dates.clone()} labels={labels.clone()} series={times(|d| &d.first_response_ms)}
                    unit={Unit::Duration} title={tr("First response time")} />
            </section>
            <section class="panel" data-chart="resolution">
                <h3>{ tr("Resolution time") }</h3>
                <Chart kind={Kind::Lines} {dates} {labels} series={times(|d| &d.resolution_ms)}
                    unit={Unit::Duration} title={tr("Resolution time")} />
            </section>
            <section class="panel" data-chart="heatmap">
                <h3>{ trf("Busiest hours ({})", &[&st.tz]) }</h3>
                <Heatmap cells={st.heatmap.clone()} title={tr("Conversations started per weekday and hour")} />
            </section>
            </div>
            <section class="panel">
                <h3>{ tr("Agents") }</h3>
                <div class="table-scroll">
                    <table class="agents-report">
                        <thead><tr>
                            <th>{ tr("Agent") }</th><th>{ tr("Conversations") }</th><th>{ tr("Messages") }</th>
                            <th>{ tr("Median first response") }</th><th>{ tr("Ratings") }</th><th>{ tr("CSAT") }</th>
                        </tr></thead>
                        <tbody>
                            { for st.agents.iter().map(|a| html! {
                                <tr data-agent={a.agent.to_string()}>
                                    <td>{ if a.name.is_empty() { a.agent.to_string() } else { a.name.clone() } }</td>
                                    <td class="num">{ decimal(a.conversations as f64) }</td>
                                    <td class="num">{ decimal(a.messages as f64) }</td>
                                    <td class="num">{ dur(a.first_response_ms.median) }</td>
                                    <td class="num">{ decimal(a.ratings.count as f64) }</td>
                                    <td class="num">{ csat_text(&a.ratings) }</td>
                                </tr>
                            }) }
                        </tbody>
                    </table>
                    if st.agents.is_empty() { <p class="empty">{ tr("No agent wrote in these days.") }</p> }
                </div>
            </section>
        </>
    }
}
