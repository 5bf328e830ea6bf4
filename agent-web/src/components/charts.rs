//! The Reports page's charts, drawn as SVG by the console itself (no chart
//! library: a few rectangles and lines are all they are): [`Chart`] (bars
//! or lines per day) and [`Heatmap`] (weekday × hour). Each scales with
//! the page's width (a `viewBox`, no fixed size), and every mark carries
//! its value (`data-value`) and a `<title>` for a tooltip and for tests.

use crate::i18n::tr;
use yew::prelude::*;

/// The drawing's own units; the SVG is scaled to the width it gets.
const W: f64 = 640.0;
const H: f64 = 220.0;
/// Room for the value axis on the left and the day labels below.
const LEFT: f64 = 76.0;
const BOTTOM: f64 = 26.0;
const TOP: f64 = 18.0;
const RIGHT: f64 = 8.0;
/// At most this many day labels under a chart (every n-th day beyond).
const MAX_X_LABELS: usize = 8;

/// One series of a chart: a value per day (none: no mark that day).
#[derive(Clone, PartialEq)]
pub struct Series {
    pub name: String,
    /// Its name in CSS (`s-…` classes: the colour) and the `data-series`
    /// of its marks.
    pub class: &'static str,
    pub values: Vec<Option<f64>>,
}

/// What a chart's values are, for how they read.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    /// Milliseconds, read as `45 s`, `2 min`…
    Duration,
}

/// Round tops for a duration axis (ms): seconds, minutes, hours, days.
const DURATION_TOPS: [f64; 20] = [
    10e3,
    20e3,
    30e3,
    60e3,
    120e3,
    300e3,
    600e3,
    900e3,
    1_200e3,
    1_800e3,
    3_600e3,
    7_200e3,
    14_400e3,
    21_600e3,
    43_200e3,
    86_400e3,
    172_800e3,
    604_800e3,
    1_209_600e3,
    2_592_000e3,
];

impl Unit {
    /// A value in full (tooltips).
    fn fmt(self, v: f64) -> String {
        match self {
            Unit::Count => crate::format::decimal(v.round()),
            Unit::Duration => crate::format::span(v),
        }
    }

    /// A value on the axis: short (`90 s`, `2.5 min`, `4 h`).
    fn axis(self, v: f64) -> String {
        use crate::format::decimal;
        use crate::i18n::trf;
        let one = |x: f64| decimal((x * 10.0).round() / 10.0);
        match self {
            Unit::Count => decimal(v.round()),
            Unit::Duration if v < 60e3 => trf("{} s", &[&one(v / 1e3)]),
            Unit::Duration if v < 3_600e3 => trf("{} min", &[&one(v / 60e3)]),
            Unit::Duration if v < 86_400e3 => trf("{} h", &[&one(v / 3_600e3)]),
            Unit::Duration => trf("{} d", &[&one(v / 86_400e3)]),
        }
    }

    /// A round top for the axis at or above `max`.
    fn top(self, max: f64) -> f64 {
        match self {
            Unit::Count => nice_max(max),
            Unit::Duration => DURATION_TOPS
                .iter()
                .copied()
                .find(|&t| t >= max)
                .unwrap_or_else(|| nice_max(max)),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Side by side per day.
    Bars,
    /// A line per series through the days that have a value.
    Lines,
}

#[derive(Properties, PartialEq)]
pub struct ChartProps {
    pub kind: Kind,
    /// `YYYY-MM-DD` per day (the marks' `data-date`).
    pub dates: Vec<String>,
    /// The same days as shown under the chart.
    pub labels: Vec<String>,
    pub series: Vec<Series>,
    /// How a value reads (axis and tooltips).
    pub unit: Unit,
    /// What the chart shows, for screen readers.
    pub title: AttrValue,
}

/// A round top for the value axis at or above `max`.
fn nice_max(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|&v| v >= max)
        .unwrap_or(max)
}

#[function_component]
pub fn Chart(p: &ChartProps) -> Html {
    let n = p.dates.len().max(1);
    let max = p
        .series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .fold(0.0f64, |m, v| m.max(*v));
    let top = p.unit.top(max);
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let slot = plot_w / n as f64;
    let y = |v: f64| TOP + plot_h * (1.0 - v / top);
    let x_mid = |i: usize| LEFT + slot * (i as f64 + 0.5);
    let ticks = [0.0, top / 2.0, top];
    let step = n.div_ceil(MAX_X_LABELS);
    let tip = |i: usize, s: &Series, v: f64| {
        let day = p.labels.get(i).cloned().unwrap_or_default();
        format!("{day} · {}: {}", s.name, p.unit.fmt(v))
    };
    let date = |i: usize| p.dates.get(i).cloned().unwrap_or_default();
    let mut marks: Vec<Html> = Vec::new();
    match p.kind {
        Kind::Bars => {
            let k = p.series.len().max(1) as f64;
            let bw = slot * 0.8 / k;
            for (si, s) in p.series.iter().enumerate() {
                for (i, v) in s.values.iter().enumerate() {
                    let Some(v) = *v else { continue };
                    let x = LEFT + slot * i as f64 + slot * 0.1 + bw * si as f64;
                    marks.push(html! {
                        <rect class={classes!("bar", format!("s-{}", s.class))} data-series={s.class} data-date={date(i)}
                            data-value={v.to_string()} x={format!("{x:.1}")} y={format!("{:.1}", y(v))}
                            width={format!("{:.1}", bw.max(0.5))} height={format!("{:.1}", (plot_h * v / top).max(0.0))}>
                            <title>{ tip(i, s, v) }</title>
                        </rect>
                    });
                }
            }
        }
        Kind::Lines => {
            for s in &p.series {
                let pts: Vec<(usize, f64)> = s
                    .values
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| Some((i, (*v)?)))
                    .collect();
                let line = pts
                    .iter()
                    .map(|(i, v)| format!("{:.1},{:.1}", x_mid(*i), y(*v)))
                    .collect::<Vec<_>>()
                    .join(" ");
                let points: Vec<Html> = pts
                    .iter()
                    .map(|&(i, v)| {
                        html! {
                            <circle class="point" data-series={s.class} data-date={date(i)} data-value={v.to_string()}
                                cx={format!("{:.1}", x_mid(i))} cy={format!("{:.1}", y(v))} r="3.5">
                                <title>{ tip(i, s, v) }</title>
                            </circle>
                        }
                    })
                    .collect();
                marks.push(html! {
                    <g class={classes!("line", format!("s-{}", s.class))}>
                        <polyline points={line} />
                        { for points }
                    </g>
                });
            }
        }
    }
    html! {
        <figure class="chart">
            <svg viewBox={format!("0 0 {W} {H}")} role="img" aria-label={p.title.clone()}>
                { for ticks.iter().map(|t| html! {
                    <g class="tick">
                        <line x1={LEFT.to_string()} x2={(W - RIGHT).to_string()} y1={format!("{:.1}", y(*t))} y2={format!("{:.1}", y(*t))} />
                        <text x={(LEFT - 6.0).to_string()} y={format!("{:.1}", y(*t) + 4.0)} text-anchor="end">{ p.unit.axis(*t) }</text>
                    </g>
                }) }
                { for marks }
                { for p.labels.iter().enumerate().filter(|(i, _)| i % step == 0).map(|(i, l)| html! {
                    <text class="xlabel" x={format!("{:.1}", x_mid(i))} y={(H - 8.0).to_string()} text-anchor="middle">{ l.clone() }</text>
                }) }
            </svg>
            <figcaption class="legend">
                { for p.series.iter().map(|s| html! {
                    <span class={classes!("key", format!("s-{}", s.class))}><i></i>{ s.name.clone() }</span>
                }) }
            </figcaption>
        </figure>
    }
}

/// Heatmap geometry: day names on the left, hours on top.
const HM_LEFT: f64 = 44.0;
const HM_TOP: f64 = 22.0;
const CELL_W: f64 = (W - HM_LEFT - RIGHT) / 24.0;
const CELL_H: f64 = 28.0;

#[derive(Properties, PartialEq)]
pub struct HeatmapProps {
    /// Seven rows (Monday first) of 24 counts.
    pub cells: Vec<Vec<u64>>,
    pub title: AttrValue,
}

/// Weekday names, Monday first, in the console's language.
pub fn weekdays() -> [&'static str; 7] {
    [
        tr("Mon"),
        tr("Tue"),
        tr("Wed"),
        tr("Thu"),
        tr("Fri"),
        tr("Sat"),
        tr("Sun"),
    ]
}

#[function_component]
pub fn Heatmap(p: &HeatmapProps) -> Html {
    let max = p.cells.iter().flatten().copied().max().unwrap_or(0).max(1) as f64;
    let days = weekdays();
    let h = HM_TOP + CELL_H * 7.0 + 4.0;
    html! {
        <figure class="chart heatmap">
            <svg viewBox={format!("0 0 {W} {h}")} role="img" aria-label={p.title.clone()}>
                { for (0..24).step_by(3).map(|hr| html! {
                    <text class="hour" x={format!("{:.1}", HM_LEFT + CELL_W * (hr as f64 + 0.5))} y="15" text-anchor="middle">{ format!("{hr:02}") }</text>
                }) }
                { for p.cells.iter().take(7).enumerate().map(|(d, row)| html! {
                    <g class="row" data-day={d.to_string()}>
                        <text class="day" x={(HM_LEFT - 6.0).to_string()} y={format!("{:.1}", HM_TOP + CELL_H * (d as f64 + 0.5) + 5.0)} text-anchor="end">{ days[d] }</text>
                        { for row.iter().take(24).enumerate().map(|(hr, c)| {
                            let shade = if *c == 0 { 0.0 } else { 0.15 + 0.85 * *c as f64 / max };
                            html! {
                                <rect class={classes!("cell", (*c == 0).then_some("zero"))} data-day={d.to_string()} data-hour={hr.to_string()}
                                    data-count={c.to_string()} x={format!("{:.1}", HM_LEFT + CELL_W * hr as f64 + 1.0)}
                                    y={format!("{:.1}", HM_TOP + CELL_H * d as f64 + 1.0)} width={format!("{:.1}", CELL_W - 2.0)}
                                    height={(CELL_H - 2.0).to_string()} style={format!("fill-opacity:{shade:.2}")}>
                                    <title>{ format!("{} {hr:02}:00 · {c}", days[d]) }</title>
                                </rect>
                            }
                        }) }
                    </g>
                }) }
            </svg>
        </figure>
    }
}
