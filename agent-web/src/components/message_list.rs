//! The scrolling list of a conversation's messages: opens at the newest,
//! follows new ones while the agent is at the bottom, counts them in a
//! "N new messages ↓" pill while scrolled up, and keeps the reading
//! position when older messages are prepended.

use crate::i18n::{tr, trf};
use web_sys::Element;
use yew::prelude::*;

/// Within this many px of the bottom counts as "at the bottom".
const BOTTOM_SLACK_PX: i32 = 8;

#[derive(Properties, PartialEq)]
pub struct MessageListProps {
    /// The conversation shown: another one starts at its bottom again.
    pub conv: String,
    /// The message events in order: `(seq, from someone else)`; only
    /// messages from someone else count in the pill, the agent's own
    /// ones scroll to the bottom.
    pub seqs: Vec<(u64, bool)>,
    /// The agent's replies not shown back yet (sending, uploading).
    pub pending: usize,
    /// The list items (`<li>`, messages carrying `data-seq`).
    pub children: Html,
    /// A message a search result opened: scrolled to and marked once it
    /// is in the list.
    #[prop_or_default]
    pub found: Option<u64>,
}

pub enum Msg {
    Scrolled,
    ToBottom,
}

/// Where a message sat before older ones were prepended above it.
struct Anchor {
    seq: u64,
    /// Its top, relative to the list's visible top (px).
    offset: i32,
}

pub struct MessageList {
    list: NodeRef,
    /// Scroll to the bottom after the next render.
    stick: bool,
    anchor: Option<Anchor>,
    /// Messages that arrived while scrolled up, not yet scrolled to.
    unseen: usize,
    /// The found message already scrolled to.
    found_shown: Option<u64>,
}

fn at_bottom(el: &Element) -> bool {
    el.scroll_height() - el.scroll_top() - el.client_height() <= BOTTOM_SLACK_PX
}

/// The top of the message `seq` inside `el`, relative to `el`'s visible top.
fn top_of(el: &Element, seq: u64) -> Option<i32> {
    let item = el.query_selector(&format!("[data-seq=\"{seq}\"]")).ok()??;
    let item_top = item.get_bounding_client_rect().top();
    let list_top = el.get_bounding_client_rect().top();
    Some((item_top - list_top) as i32)
}

impl Component for MessageList {
    type Message = Msg;
    type Properties = MessageListProps;

    fn create(_ctx: &Context<Self>) -> Self {
        MessageList {
            list: NodeRef::default(),
            stick: true,
            anchor: None,
            unseen: 0,
            found_shown: None,
        }
    }

    fn update(&mut self, _ctx: &Context<Self>, msg: Msg) -> bool {
        let Some(el) = self.list.cast::<Element>() else {
            return false;
        };
        match msg {
            Msg::Scrolled => {
                if self.unseen > 0 && at_bottom(&el) {
                    self.unseen = 0;
                    return true;
                }
                false
            }
            Msg::ToBottom => {
                el.set_scroll_top(el.scroll_height());
                self.unseen = 0;
                true
            }
        }
    }

    /// Runs before the new items reach the page: what the agent sees now
    /// decides where the list scrolls to after it.
    fn changed(&mut self, ctx: &Context<Self>, old: &MessageListProps) -> bool {
        let new = ctx.props();
        let Some(el) = self.list.cast::<Element>() else {
            return true;
        };
        if new.conv != old.conv {
            self.stick = true;
            self.unseen = 0;
            self.anchor = None;
            self.found_shown = None;
            return true;
        }
        let bottom = at_bottom(&el);
        let old_first = old.seqs.first().map(|s| s.0);
        let new_first = new.seqs.first().map(|s| s.0);
        self.anchor = match (old_first, new_first) {
            (Some(o), Some(n)) if n < o && !bottom => {
                top_of(&el, o).map(|offset| Anchor { seq: o, offset })
            }
            _ => None,
        };
        let old_last = old.seqs.last().map(|s| s.0).unwrap_or(0);
        let arrived = new.seqs.iter().filter(|s| s.0 > old_last);
        let (others, mine) = arrived.fold(
            (0, 0),
            |(o, m), s| if s.1 { (o + 1, m) } else { (o, m + 1) },
        );
        let sent = mine > 0 || new.pending > old.pending;
        self.stick = bottom || sent;
        if self.stick {
            self.unseen = 0;
        } else {
            self.unseen += others;
        }
        true
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let onscroll = ctx.link().callback(|_: Event| Msg::Scrolled);
        let n = self.unseen;
        html! {
            <div class="messages-wrap">
                <ol class="messages" aria-live="polite" ref={self.list.clone()} {onscroll}>
                    { ctx.props().children.clone() }
                </ol>
                if n > 0 {
                    <button class="new-pill" onclick={ctx.link().callback(|_| Msg::ToBottom)}>
                        { if n == 1 { tr("1 new message ↓").to_string() } else { trf("{} new messages ↓", &[&n]) } }
                    </button>
                }
            </div>
        }
    }

    fn rendered(&mut self, ctx: &Context<Self>, first_render: bool) {
        let Some(el) = self.list.cast::<Element>() else {
            return;
        };
        if let Some(seq) = ctx.props().found.filter(|s| self.found_shown != Some(*s)) {
            let item = el
                .query_selector(&format!("[data-seq=\"{seq}\"]"))
                .ok()
                .flatten();
            if let Some(item) = item {
                // An attribute Yew does not manage, so it stays on the item.
                let _ = item.set_attribute("data-found", "");
                let opts = web_sys::ScrollIntoViewOptions::new();
                opts.set_block(web_sys::ScrollLogicalPosition::Center);
                item.scroll_into_view_with_scroll_into_view_options(&opts);
                self.found_shown = Some(seq);
                self.stick = false;
                return;
            }
        }
        if first_render || self.stick {
            el.set_scroll_top(el.scroll_height());
            self.stick = false;
        } else if let Some(a) = self.anchor.take() {
            if let Some(now) = top_of(&el, a.seq) {
                el.set_scroll_top(el.scroll_top() + now - a.offset);
            }
        }
    }
}
