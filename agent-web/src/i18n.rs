//! The console's two languages: English (the source strings) and
//! Simplified Chinese (the [`ZH`] table).
//!
//! Every string an agent reads goes through [`tr`] (a fixed text) or
//! [`trf`] (a text with `{}` holes filled in order), with the English text
//! as its key: `tr("Send")`, `trf("{} unread", &[&n])`. The language is
//! one per page ([`set_lang`], from the top bar's picker or the browser),
//! read by every call, so a view renders in one language throughout.
//! A test over the sources checks that every `tr`/`trf` key has a Chinese
//! entry and that the table holds no entry nobody uses.

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt::Display;

/// A language the console speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    /// Simplified Chinese (`zh-CN`).
    Zh,
}

impl Lang {
    /// Every language, in the picker's order.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Zh];

    /// The BCP 47 tag (`Intl`, `lang=` attributes, storage).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh-CN",
        }
    }

    /// The language's own name, as the picker shows it.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Zh => "简体中文",
        }
    }

    /// `zh`, `zh-CN`, `zh-Hans-SG`… → Chinese; anything else → English.
    pub fn from_tag(tag: &str) -> Lang {
        if tag.trim().to_ascii_lowercase().starts_with("zh") {
            Lang::Zh
        } else {
            Lang::En
        }
    }
}

thread_local! {
    static LANG: Cell<Lang> = const { Cell::new(Lang::En) };
    static ZH_MAP: HashMap<&'static str, &'static str> = ZH.iter().copied().collect();
}

/// The language every [`tr`] answers in from now on.
pub fn set_lang(l: Lang) {
    LANG.with(|c| c.set(l));
}

/// The language views render in.
pub fn lang() -> Lang {
    LANG.with(Cell::get)
}

/// `en` in the console's language (itself when untranslated; the
/// translation test keeps that from happening).
pub fn tr(en: &'static str) -> &'static str {
    match lang() {
        Lang::En => en,
        Lang::Zh => ZH_MAP.with(|m| m.get(en).copied().unwrap_or(en)),
    }
}

/// [`tr`] with each `{}` replaced by the next of `args`.
pub fn trf(en: &'static str, args: &[&dyn Display]) -> String {
    fill(tr(en), args)
}

fn fill(template: &str, args: &[&dyn Display]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut args = args.iter();
    let mut rest = template;
    while let Some(i) = rest.find("{}") {
        out.push_str(&rest[..i]);
        if let Some(a) = args.next() {
            out.push_str(&a.to_string());
        }
        rest = &rest[i + 2..];
    }
    out.push_str(rest);
    out
}

/// English → Simplified Chinese, one entry per distinct console string.
/// Holes (`{}`) keep their order; reword around them, never reorder.
pub static ZH: &[(&str, &str)] = &[
    ("Language", "语言"),
    // Blocking visitors and visitor data rights (profile actions, Settings).
    (" ({} conversations, {} files, {} page views)", "（{} 个会话、{} 个文件、{} 次页面浏览）"),
    ("Also block", "同时封禁"),
    ("Also their /24", "同时封禁其 /24 网段"),
    ("Also their /64", "同时封禁其 /64 网段"),
    ("Also their IP", "同时封禁其 IP"),
    ("Block visitor", "封禁访客"),
    ("Blocked visitors", "已封禁的访客"),
    ("Blocked: their messages and uploads are refused.", "已封禁：该访客的消息和上传将被拒绝。"),
    ("Cancel", "取消"),
    ("Erase visitor", "删除访客"),
    ("Erase visitor…", "删除访客…"),
    ("Erase", "删除"),
    ("Erasure log", "删除记录"),
    ("Every message of this visitor's conversations is replaced by [erased], their files, profile and pages are deleted. This cannot be undone.", "该访客会话中的所有消息将被替换为 [erased]，其文件、资料和浏览记录将被删除。此操作无法撤销。"),
    ("Export data", "导出数据"),
    ("Exported: the archive is downloading.", "已导出：压缩包正在下载。"),
    ("Last IP: {}", "最近 IP：{}"),
    ("Loading…", "加载中…"),
    ("No visitor has been erased.", "尚未删除任何访客。"),
    ("Nobody is blocked.", "暂无封禁的访客。"),
    ("Not blocked: {}", "封禁失败：{}"),
    ("Not erased: {}", "删除失败：{}"),
    ("Not exported: {}", "导出失败：{}"),
    ("Not unblocked: {}", "解除封禁失败：{}"),
    ("This visitor is blocked.", "该访客已被封禁。"),
    ("Type ERASE to confirm", "输入 ERASE 以确认"),
    ("Type {} or ERASE to confirm", "输入 {} 或 ERASE 以确认"),
    ("Unblock", "解除封禁"),
    ("Unblocked.", "已解除封禁。"),
    ("Visitor only", "仅封禁访客"),
    ("by {} · {}", "由 {} 封禁 · {}"),
    ("{} erased {} · {}", "{} 删除了 {} · {}"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holes_fill_in_order_and_missing_args_leave_nothing() {
        assert_eq!(fill("{} of {}", &[&1, &"two"]), "1 of two");
        assert_eq!(fill("{} left", &[]), " left");
        assert_eq!(fill("none", &[&3]), "none");
    }

    #[test]
    fn one_language_answers_everywhere() {
        set_lang(Lang::Zh);
        assert_eq!(tr("Language"), "语言");
        set_lang(Lang::En);
        assert_eq!(tr("Language"), "Language");
        assert_eq!(Lang::from_tag("zh-Hans-SG"), Lang::Zh);
        assert_eq!(Lang::from_tag("en-GB"), Lang::En);
    }
}
