//! Built-in texts of the visitor's side (widget, fallback, previews in the
//! console): English and Simplified Chinese, one table each. The console's
//! settings preview and the defaults agents see come from here too, so the
//! copies cannot disagree; `www/fallback.js` is checked against it by a test.

/// Every string a visitor sees, in one language.
#[derive(Debug)]
pub struct Texts {
    pub title: &'static str,
    pub greeting: &'static str,
    pub offline: &'static str,
    pub placeholder: &'static str,
    pub send: &'static str,
    pub sending: &'static str,
    pub sent: &'static str,
    pub read: &'static str,
    pub typing: &'static str,
    pub agent: &'static str,
    pub open: &'static str,
    pub close: &'static str,
    pub online: &'static str,
    pub away: &'static str,
    pub reconnecting: &'static str,
    pub you: &'static str,
    pub attach: &'static str,
    pub uploading: &'static str,
    /// After a file name: why it was not sent.
    pub too_big: &'static str,
    pub bad_type: &'static str,
    pub up_failed: &'static str,
    /// The tab title while an agent's message is unread in a hidden tab:
    /// "(N) New message — title".
    pub new_message: &'static str,
    /// The line where an agent closed the conversation.
    pub closed: &'static str,
    /// The relay refused the page's origin: no chat on this page.
    pub unavailable: &'static str,
    /// Before the time of a message written yesterday.
    pub yesterday: &'static str,
    /// The preview card's close button.
    pub dismiss: &'static str,
    /// The visitor's place in line for a free agent, around the number:
    /// "You are number 3 in line".
    pub queue_pre: &'static str,
    pub queue_post: &'static str,
}

pub const EN: Texts = Texts {
    title: "Chat with us",
    greeting: "Hi! How can we help you today?",
    offline: "We're away right now. Leave a message and we'll reply here (or by email if you gave us one) as soon as we're back.",
    placeholder: "Write a message…",
    send: "Send",
    sending: "Sending…",
    sent: "Sent",
    read: "Read",
    typing: "is typing…",
    agent: "Support",
    open: "Open chat",
    close: "Close chat",
    online: "We're online",
    away: "We're away — leave a message",
    reconnecting: "Reconnecting…",
    you: "You",
    attach: "Attach a file",
    uploading: "Uploading…",
    too_big: "is too large to send",
    bad_type: "is a kind of file that can't be sent here",
    up_failed: "could not be sent; try again later",
    new_message: "New message",
    closed: "This chat was closed",
    unavailable: "Chat unavailable",
    yesterday: "Yesterday",
    dismiss: "Dismiss",
    queue_pre: "You are number ",
    queue_post: " in line",
};

pub const ZH: Texts = Texts {
    title: "在线客服",
    greeting: "您好！有什么可以帮您？",
    offline: "我们暂时不在线。请留言，我们回来后会在这里（或通过您留下的邮箱）回复您。",
    placeholder: "输入消息…",
    send: "发送",
    sending: "发送中…",
    sent: "已发送",
    read: "已读",
    typing: "正在输入…",
    agent: "客服",
    open: "打开聊天",
    close: "关闭聊天",
    online: "客服在线",
    away: "客服不在线，请留言",
    reconnecting: "正在重新连接…",
    you: "我",
    attach: "添加附件",
    uploading: "上传中…",
    too_big: "文件太大，无法发送",
    bad_type: "此类文件无法在这里发送",
    up_failed: "发送失败，请稍后再试",
    new_message: "新消息",
    closed: "本次对话已结束",
    unavailable: "聊天暂不可用",
    yesterday: "昨天",
    dismiss: "关闭",
    queue_pre: "排队中：您是第 ",
    queue_post: " 位",
};

/// `zh…` → Chinese, anything else → English.
pub fn pick(lang: &str) -> &'static Texts {
    if lang.to_ascii_lowercase().starts_with("zh") {
        &ZH
    } else {
        &EN
    }
}
