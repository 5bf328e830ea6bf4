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
    // Search (the inbox's search box and results).
    ("Search messages and visitors", "搜索消息和访客"),
    ("Clear search", "清除搜索"),
    ("Note", "备注"),
    ("Profile", "访客资料"),
    ("Closed", "已结束"),
    ("Searching…", "搜索中…"),
    ("Search failed: {}", "搜索失败：{}"),
    ("Results: {}", "结果：{} 条"),
    (
        "(the index is still being built: results may be missing)",
        "（索引仍在建立中，结果可能不全）",
    ),
    ("Nothing found.", "没有找到结果。"),
    ("More results", "更多结果"),
    (
        "This visitor has no conversation yet.",
        "该访客还没有会话。",
    ),
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
