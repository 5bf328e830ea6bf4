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
    /// The built-in offline text when the relay sends no mail (it never
    /// mentions email then).
    pub offline_nomail: &'static str,
    /// Form labels.
    pub name: &'static str,
    pub email: &'static str,
    pub phone: &'static str,
    /// After a label: the field may be left empty.
    pub optional: &'static str,
    /// A required field left empty, or an address that is not one.
    pub required: &'static str,
    pub bad_email: &'static str,
    /// Above the pre-chat form.
    pub prechat: &'static str,
    /// The pre-chat form's button.
    pub start: &'static str,
    /// The offline form's button (the message goes with it).
    pub leave: &'static str,
    /// After the offline form: the address the reply will go to follows.
    pub will_email: &'static str,
    /// The rating prompt after an agent closed the chat.
    pub rate: &'static str,
    pub comment: &'static str,
    pub thanks: &'static str,
    /// "Email me this chat" and its confirmation.
    pub transcript: &'static str,
    pub mailed: &'static str,
}

impl Texts {
    /// Every text with its field's name, in declaration order: what the
    /// tests compare (the Chinese table is no copy of the English one, and
    /// `fallback.js` says the same).
    pub fn fields(&self) -> [(&'static str, &'static str); 44] {
        [
            ("title", self.title),
            ("greeting", self.greeting),
            ("offline", self.offline),
            ("placeholder", self.placeholder),
            ("send", self.send),
            ("sending", self.sending),
            ("sent", self.sent),
            ("read", self.read),
            ("typing", self.typing),
            ("agent", self.agent),
            ("open", self.open),
            ("close", self.close),
            ("online", self.online),
            ("away", self.away),
            ("reconnecting", self.reconnecting),
            ("you", self.you),
            ("attach", self.attach),
            ("uploading", self.uploading),
            ("too_big", self.too_big),
            ("bad_type", self.bad_type),
            ("up_failed", self.up_failed),
            ("new_message", self.new_message),
            ("closed", self.closed),
            ("unavailable", self.unavailable),
            ("yesterday", self.yesterday),
            ("dismiss", self.dismiss),
            ("queue_pre", self.queue_pre),
            ("queue_post", self.queue_post),
            ("offline_nomail", self.offline_nomail),
            ("name", self.name),
            ("email", self.email),
            ("phone", self.phone),
            ("optional", self.optional),
            ("required", self.required),
            ("bad_email", self.bad_email),
            ("prechat", self.prechat),
            ("start", self.start),
            ("leave", self.leave),
            ("will_email", self.will_email),
            ("rate", self.rate),
            ("comment", self.comment),
            ("thanks", self.thanks),
            ("transcript", self.transcript),
            ("mailed", self.mailed),
        ]
    }
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
    offline_nomail: "We're away right now. Leave a message and we'll reply here as soon as we're back.",
    name: "Name",
    email: "Email",
    phone: "Phone",
    optional: "(optional)",
    required: "Please fill this in",
    bad_email: "Please enter a valid email address",
    prechat: "Tell us a little about yourself to start the chat.",
    start: "Start chat",
    leave: "Leave a message",
    will_email: "We'll reply by email to ",
    rate: "How was this chat?",
    comment: "Add a comment (optional)",
    thanks: "Thanks for your feedback!",
    transcript: "Email me this chat",
    mailed: "We've emailed you this chat.",
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
    offline_nomail: "我们暂时不在线。请留言，我们回来后会在这里回复您。",
    name: "姓名",
    email: "邮箱",
    phone: "电话",
    optional: "（选填）",
    required: "请填写此项",
    bad_email: "请输入有效的邮箱地址",
    prechat: "开始对话前，请简单介绍一下您自己。",
    start: "开始对话",
    leave: "留言",
    will_email: "我们会通过邮件回复到 ",
    rate: "您对本次对话满意吗？",
    comment: "补充评价（选填）",
    thanks: "感谢您的评价！",
    transcript: "将聊天记录发到我的邮箱",
    mailed: "聊天记录已发送到您的邮箱。",
};

/// `zh…` → Chinese, anything else → English.
pub fn pick(lang: &str) -> &'static Texts {
    if lang.to_ascii_lowercase().starts_with("zh") {
        &ZH
    } else {
        &EN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every visitor-side text is Chinese in the Chinese table: none is
    /// left an English copy (a new field added with the English text in
    /// both tables fails here).
    #[test]
    fn chinese_texts_are_not_english_copies() {
        for ((name, en), (_, zh)) in EN.fields().into_iter().zip(ZH.fields()) {
            assert!(!zh.trim().is_empty(), "ZH.{name} is empty");
            assert_ne!(en, zh, "ZH.{name} is the English text");
            assert!(
                zh.chars().any(|c| ('\u{3000}'..='\u{9fff}').contains(&c)
                    || ('\u{ff00}'..='\u{ffef}').contains(&c)),
                "ZH.{name} has no Chinese in it: {zh:?}"
            );
            assert!(!en.trim().is_empty(), "EN.{name} is empty");
        }
        assert_eq!(pick("zh-TW").title, ZH.title);
        assert_eq!(pick("fr").title, EN.title);
    }
}
