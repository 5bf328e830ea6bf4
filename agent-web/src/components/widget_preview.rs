//! The widget as visitors will see it, drawn from the settings form's
//! values with the widget's own default texts ([`protocol::texts`]), in
//! one language: the texts a visitor of `lang` gets
//! ([`WidgetSettings::for_visitor`]).

use protocol::{Position, WidgetSettings};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct WidgetPreviewProps {
    pub widget: WidgetSettings,
    /// The visitor's language shown (`en`, `zh-CN`); the site's own
    /// language, when it has one, decides as it does for visitors.
    pub lang: String,
}

#[function_component]
pub fn WidgetPreview(p: &WidgetPreviewProps) -> Html {
    let w = p.widget.for_visitor(Some(&p.lang));
    let lang = w.language.clone().unwrap_or_else(|| p.lang.clone());
    let texts = protocol::texts::pick(&lang);
    let side = if w.position == Position::Left {
        "left"
    } else {
        "right"
    };
    // `#rgb` and `#rrggbb` as the relay accepts them; anything else
    // (a half-typed value) shows the default.
    let color = w.color_rrggbb();
    html! {
        <div class="wpreview" aria-label={crate::i18n::tr("Preview")} lang={lang.clone()} data-lang={lang.clone()}>
            <div class={classes!("pv-panel", side)}>
                <div class="pv-head" style={format!("background:{color}")}>{ texts.title }</div>
                <div class="pv-body">
                    <div class="pv-bubble">{ w.greeting_or_default(&lang) }</div>
                    if !w.offline_message.is_empty() { <div class="pv-bubble muted">{ w.offline_message.clone() }</div> }
                </div>
                <div class="pv-input">{ texts.placeholder }</div>
            </div>
            <div class={classes!("pv-launcher", side)} style={format!("background:{color}")}>
                <svg width="24" height="24" viewBox="0 0 24 24" aria-hidden="true"><path fill="#fff" d="M4 4h16a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg>
            </div>
        </div>
    }
}
