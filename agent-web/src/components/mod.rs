//! Components, one per file, each with its `XxxProps`: value-compared
//! props, so a presence update for one visitor re-renders that row only.

mod attachment;
mod avatar;
mod banner;
mod channel_badge;
pub mod charts;
mod chat_header;
pub mod composer;
mod contact_form;
mod conv_row;
mod label_chip;
pub mod message;
mod message_list;
mod privacy;
mod search_box;
mod toast;
pub mod topbar;
mod visitor_facts;
mod visitor_row;
mod welcome;
mod widget_preview;

pub use attachment::AttachmentView;
pub use avatar::Avatar;
pub use banner::Banner;
pub use channel_badge::{channel_badge, ChannelBadge};
pub use chat_header::ChatHeader;
pub use composer::Composer;
pub use contact_form::ContactForm;
pub use conv_row::ConvRow;
pub use label_chip::LabelChip;
pub use message::MessageItem;
pub use message_list::MessageList;
pub use privacy::{BlocksCard, PrivacyActions};
pub use search_box::{SearchBox, SearchHitRow};
pub use toast::Toast;
pub use topbar::Topbar;
pub use visitor_facts::VisitorFacts;
pub use visitor_row::VisitorRow;
pub use welcome::welcome_dialog;
pub use widget_preview::WidgetPreview;
