//! Where a visitor talks from, as a small badge beside their name (inbox
//! row, profile); nothing for the widget on the site's own pages.

use crate::i18n::{en, tr};
use protocol::Channel;
use yew::prelude::*;

/// A channel's badge: its API name (for `data-channel`) and its label
/// (an English key: shown through `tr`).
/// `None`: no badge. One line per channel.
pub fn channel_badge(c: Channel) -> Option<(&'static str, &'static str)> {
    match c {
        Channel::Page => Some(("page", en("Chat page"))),
        Channel::Wechat => Some(("wechat", en("WeChat"))),
        _ => None,
    }
}

#[derive(Properties, PartialEq)]
pub struct ChannelBadgeProps {
    pub channel: Channel,
}

#[function_component]
pub fn ChannelBadge(p: &ChannelBadgeProps) -> Html {
    match channel_badge(p.channel) {
        Some((key, label)) => html! {
            <span class={classes!("channel", key)} data-channel={key} title={tr("Where the visitor talks from")}>{ tr(label) }</span>
        },
        None => html! {},
    }
}
