//! The words of kefu's mail, in the languages the widget speaks: a site
//! whose widget speaks Chinese (`widget.language` `zh-CN`) mails in
//! Chinese, every other site in English.

/// One language's phrases. `{…}` slots are filled by the composer.
pub struct MailTexts {
    /// Subject of an agent's notice: `{site}`.
    pub notice_subject: &'static str,
    /// First line of an agent's notice: `{name}`, `{site}`.
    pub notice_intro: &'static str,
    pub open_conversation: &'static str,
    pub reply_to_answer: &'static str,
    /// Subject of a continuity mail: `{site}`.
    pub continuity_subject: &'static str,
    pub continuity_intro: &'static str,
    pub continue_chat: &'static str,
    /// Subject of a transcript: `{site}`.
    pub transcript_subject: &'static str,
    pub transcript_intro: &'static str,
    pub unsubscribe: &'static str,
    /// Who a visitor without a name is.
    pub visitor: &'static str,
    /// Who an agent without a name is.
    pub agent: &'static str,
    /// The rating question at the end of a closed conversation's
    /// transcript, and the page its links open.
    pub rate_ask: &'static str,
    pub rate_good: &'static str,
    pub rate_bad: &'static str,
    pub rate_title: &'static str,
    /// The page's question: `{score}`.
    pub rate_confirm: &'static str,
    pub rate_button: &'static str,
    pub rate_done: &'static str,
    pub rate_invalid: &'static str,
    pub rate_open: &'static str,
    /// The unsubscribe page.
    pub unsub_title: &'static str,
    pub unsub_ask: &'static str,
    pub unsub_button: &'static str,
    pub unsub_done: &'static str,
}

pub const EN: MailTexts = MailTexts {
    notice_subject: "New message on {site}",
    notice_intro: "{name} wrote on {site} while nobody was available:",
    open_conversation: "Open the conversation:",
    reply_to_answer: "Reply to this email to answer in the chat.",
    continuity_subject: "New reply from {site}",
    continuity_intro: "Replies you have not read yet:",
    continue_chat: "Continue the chat:",
    transcript_subject: "Your chat with {site}",
    transcript_intro: "Here is your conversation:",
    unsubscribe: "No more emails about your chats with us:",
    visitor: "A visitor",
    agent: "Support",
    rate_ask: "How was this chat?",
    rate_good: "Good",
    rate_bad: "Bad",
    rate_title: "Rate this chat",
    rate_confirm: "Rate this chat {score}?",
    rate_button: "Send my rating",
    rate_done: "Thank you: your rating is saved.",
    rate_invalid: "This rating link is not valid or has expired.",
    rate_open: "This chat is open again: rate it once it is closed.",
    unsub_title: "Unsubscribe",
    unsub_ask: "Stop emails about your chats to this address?",
    unsub_button: "Unsubscribe",
    unsub_done: "Done: this address gets no more emails about your chats.",
};

pub const ZH: MailTexts = MailTexts {
    notice_subject: "{site} 有新消息",
    notice_intro: "{name} 在 {site} 留言(当时没有客服在线):",
    open_conversation: "打开会话:",
    reply_to_answer: "直接回复此邮件即可在会话中答复。",
    continuity_subject: "{site} 回复了您",
    continuity_intro: "您有尚未阅读的回复:",
    continue_chat: "继续聊天:",
    transcript_subject: "您与 {site} 的聊天记录",
    transcript_intro: "以下是您的聊天记录:",
    unsubscribe: "不再接收关于聊天的邮件:",
    visitor: "访客",
    agent: "客服",
    rate_ask: "您对本次聊天满意吗?",
    rate_good: "满意",
    rate_bad: "不满意",
    rate_title: "评价本次聊天",
    rate_confirm: "给本次聊天评价 {score}?",
    rate_button: "提交评价",
    rate_done: "谢谢:您的评价已保存。",
    rate_invalid: "此评价链接无效或已过期。",
    rate_open: "此聊天已重新开启:请在结束后再评价。",
    unsub_title: "退订",
    unsub_ask: "此邮箱不再接收关于聊天的邮件?",
    unsub_button: "退订",
    unsub_done: "已退订:此邮箱将不再收到关于聊天的邮件。",
};

/// The phrases for a site's widget language.
pub fn for_language(lang: Option<&str>) -> &'static MailTexts {
    match lang {
        Some(l) if protocol::names::is_chinese(l) => &ZH,
        _ => &EN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// zh-CN (and any zh tag) mails in Chinese, everything else in English.
    #[test]
    fn the_widget_language_picks_the_words() {
        assert_eq!(for_language(Some("zh-CN")).visitor, ZH.visitor);
        assert_eq!(for_language(Some("zh")).visitor, ZH.visitor);
        assert_eq!(for_language(Some("en")).visitor, EN.visitor);
        assert_eq!(for_language(None).visitor, EN.visitor);
        // Every slot a phrase has is one the composer fills.
        for t in [&EN, &ZH] {
            for p in [t.notice_subject, t.continuity_subject, t.transcript_subject] {
                assert!(p.contains("{site}"), "{p}");
            }
            assert!(t.notice_intro.contains("{name}") && t.notice_intro.contains("{site}"));
            assert!(t.rate_confirm.contains("{score}"));
        }
    }
}
